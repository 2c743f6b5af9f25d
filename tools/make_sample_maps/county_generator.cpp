#include "county_generator.hpp"

#include <geos_c.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <numbers>
#include <numeric>
#include <queue>
#include <random>
#include <set>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace qiancun::sample {

const char *road_grade_label(RoadGrade grade) noexcept {
    switch (grade) {
    case RoadGrade::county:
        return "县道";
    case RoadGrade::township:
        return "乡道";
    case RoadGrade::village:
        return "村道";
    }
    return "";
}

namespace {

/// EPSG:4549 position of 120.87°E 30.02°N (Shangyu), from `gdaltransform` with PROJ 9.
constexpr XY kShangyuCentre{583927.85, 3322649.26};
constexpr double kCentralMeridianEasting_m = 500000.0;
/// Largest distance from CM 120E that stays inside 118.5–121.5°E up to 32.5°N, where 1.5° of
/// longitude is about 141 km.
constexpr double kMaxHalfWidth_m = 136000.0;
/// Largest radial factor of the county border relative to its mean ellipse.
constexpr double kMaxBorderBulge = 1.15;
/// Coordinates are snapped to this grid, so shared vertices stay exactly shared.
constexpr double kGrid_m = 0.01;
constexpr int kCurrentYear = 2024;

double snap(double v) {
    return std::round(v / kGrid_m) * kGrid_m;
}
XY snap(XY p) {
    return {snap(p.x_m), snap(p.y_m)};
}
double dist(XY a, XY b) {
    return std::hypot(a.x_m - b.x_m, a.y_m - b.y_m);
}

/// Uniform and normal variates made from the raw bits of mt19937_64, so the output does not
/// depend on the standard library's distribution implementations.
class Rng {
public:
    Rng(std::uint64_t seed, std::uint64_t stream)
        : engine_(seed ^ (stream * 0x9E3779B97F4A7C15ULL)) {}

    /// Uniform in [0, 1), 53 random bits.
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    /// Uniform integer in [lo, hi], both inclusive.
    int uniform_int(int lo, int hi) {
        return lo + static_cast<int>(std::floor(uniform() * static_cast<double>(hi - lo + 1)));
    }
    bool chance(double p) { return uniform() < p; }
    /// Standard normal by Box–Muller (no cached second value, to keep streams simple).
    double normal() {
        const double u1 = 1.0 - uniform(); // (0, 1]
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }
    double normal(double mean, double sd) { return mean + sd * normal(); }
    /// Index drawn with the given relative weights.
    std::size_t weighted(std::initializer_list<double> weights) {
        const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
        double r = uniform() * total;
        std::size_t i = 0;
        for (double w : weights) {
            if (r < w)
                return i;
            r -= w;
            ++i;
        }
        return weights.size() - 1;
    }
    template <typename T> const T &pick(const std::vector<T> &items) {
        return items[static_cast<std::size_t>(uniform_int(0, static_cast<int>(items.size()) - 1))];
    }

private:
    std::mt19937_64 engine_;
};

/// One reentrant GEOS context; records the last error message instead of throwing from the
/// callback.
class GeosContext {
public:
    GeosContext() : handle_(GEOS_init_r()) {
        GEOSContext_setErrorMessageHandler_r(handle_, &GeosContext::on_error, &last_error_);
    }
    ~GeosContext() noexcept { GEOS_finish_r(handle_); }
    GeosContext(const GeosContext &) = delete;
    GeosContext &operator=(const GeosContext &) = delete;
    GeosContext(GeosContext &&) = delete;
    GeosContext &operator=(GeosContext &&) = delete;

    GEOSContextHandle_t get() const noexcept { return handle_; }
    const std::string &last_error() const noexcept { return last_error_; }

private:
    static void on_error(const char *message, void *userdata) {
        *static_cast<std::string *>(userdata) = message ? message : "";
    }
    std::string last_error_;
    GEOSContextHandle_t handle_;
};

struct GeomDeleter {
    GEOSContextHandle_t ctx = nullptr;
    void operator()(GEOSGeometry *g) const noexcept { GEOSGeom_destroy_r(ctx, g); }
};
using GeomPtr = std::unique_ptr<GEOSGeometry, GeomDeleter>;

struct PreparedDeleter {
    GEOSContextHandle_t ctx = nullptr;
    void operator()(const GEOSPreparedGeometry *g) const noexcept {
        GEOSPreparedGeom_destroy_r(ctx, g);
    }
};
using PreparedPtr = std::unique_ptr<const GEOSPreparedGeometry, PreparedDeleter>;

/// Thin helpers over the GEOS C API that own their results and throw on failure.
class Geos {
public:
    GEOSContextHandle_t ctx() const noexcept { return context_.get(); }
    const std::string &last_error() const noexcept { return context_.last_error(); }

    GeomPtr own(GEOSGeometry *g, std::string_view what) const {
        if (!g)
            throw std::runtime_error(
                fmt::format("GEOS {} failed: {}", what, context_.last_error()));
        return GeomPtr(g, GeomDeleter{ctx()});
    }
    PreparedPtr prepare(const GEOSGeometry *g) const {
        const GEOSPreparedGeometry *p = GEOSPrepare_r(ctx(), g);
        if (!p)
            throw std::runtime_error(fmt::format("GEOS prepare failed: {}", context_.last_error()));
        return PreparedPtr(p, PreparedDeleter{ctx()});
    }
    /// Reads a GEOS predicate, which returns 2 on exception.
    bool predicate(char result, std::string_view what) const {
        if (result == 2)
            throw std::runtime_error(
                fmt::format("GEOS {} failed: {}", what, context_.last_error()));
        return result == 1;
    }

    GeomPtr point(XY p) const {
        return own(GEOSGeom_createPointFromXY_r(ctx(), p.x_m, p.y_m), "point");
    }
    GEOSCoordSequence *sequence(const std::vector<XY> &points) const {
        GEOSCoordSequence *seq =
            GEOSCoordSeq_create_r(ctx(), static_cast<unsigned>(points.size()), 2);
        for (unsigned i = 0; i < points.size(); ++i)
            GEOSCoordSeq_setXY_r(ctx(), seq, i, points[i].x_m, points[i].y_m);
        return seq;
    }
    GeomPtr line(const LineString &points) const {
        return own(GEOSGeom_createLineString_r(ctx(), sequence(points)), "line");
    }
    GeomPtr polygon(const Polygon &polygon) const {
        GEOSGeometry *shell = GEOSGeom_createLinearRing_r(ctx(), sequence(polygon.outer));
        std::vector<GEOSGeometry *> holes;
        for (const Ring &ring : polygon.holes)
            holes.push_back(GEOSGeom_createLinearRing_r(ctx(), sequence(ring)));
        return own(GEOSGeom_createPolygon_r(ctx(), shell, holes.data(),
                                            static_cast<unsigned>(holes.size())),
                   "polygon");
    }
    GeomPtr multipoint(const std::vector<XY> &points) const {
        std::vector<GEOSGeometry *> parts;
        parts.reserve(points.size());
        for (XY p : points)
            parts.push_back(point(p).release());
        return own(GEOSGeom_createCollection_r(ctx(), GEOS_MULTIPOINT, parts.data(),
                                               static_cast<unsigned>(parts.size())),
                   "multipoint");
    }

    std::vector<XY> coordinates(const GEOSGeometry *g) const {
        const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(ctx(), g);
        unsigned size = 0;
        GEOSCoordSeq_getSize_r(ctx(), seq, &size);
        std::vector<XY> out(size);
        for (unsigned i = 0; i < size; ++i)
            GEOSCoordSeq_getXY_r(ctx(), seq, i, &out[i].x_m, &out[i].y_m);
        return out;
    }
    /// Appends the polygons of a polygonal (or mixed) geometry; lines and points are dropped.
    void collect_polygons(const GEOSGeometry *g, MultiPolygon &out) const {
        const int type = GEOSGeomTypeId_r(ctx(), g);
        if (type == GEOS_POLYGON) {
            if (GEOSisEmpty_r(ctx(), g) == 1)
                return;
            Polygon p;
            p.outer = coordinates(GEOSGetExteriorRing_r(ctx(), g));
            const int holes = GEOSGetNumInteriorRings_r(ctx(), g);
            for (int i = 0; i < holes; ++i)
                p.holes.push_back(coordinates(GEOSGetInteriorRingN_r(ctx(), g, i)));
            out.push_back(std::move(p));
        } else if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
            const int n = GEOSGetNumGeometries_r(ctx(), g);
            for (int i = 0; i < n; ++i)
                collect_polygons(GEOSGetGeometryN_r(ctx(), g, i), out);
        }
    }
    MultiPolygon polygons(const GEOSGeometry *g) const {
        MultiPolygon out;
        collect_polygons(g, out);
        return out;
    }

private:
    GeosContext context_;
};

/// A dense bucket grid over a bounding box for neighbour queries on points.
class PointGrid {
public:
    PointGrid(double xmin, double ymin, double xmax, double ymax, double cell_m)
        : xmin_(xmin), ymin_(ymin), cell_(cell_m),
          nx_(static_cast<int>((xmax - xmin) / cell_m) + 1),
          ny_(static_cast<int>((ymax - ymin) / cell_m) + 1),
          buckets_(static_cast<std::size_t>(nx_) * static_cast<std::size_t>(ny_)) {}
    int cx(double x) const { return std::clamp(static_cast<int>((x - xmin_) / cell_), 0, nx_ - 1); }
    int cy(double y) const { return std::clamp(static_cast<int>((y - ymin_) / cell_), 0, ny_ - 1); }
    void insert(XY p, int id) { bucket(cx(p.x_m), cy(p.y_m)).push_back(id); }
    std::vector<int> &bucket(int ix, int iy) {
        return buckets_[static_cast<std::size_t>(iy) * static_cast<std::size_t>(nx_) +
                        static_cast<std::size_t>(ix)];
    }
    /// Calls f(id) for every point in cells overlapping the box.
    template <typename F> void visit(double x0, double y0, double x1, double y1, F &&f) {
        for (int iy = cy(y0); iy <= cy(y1); ++iy)
            for (int ix = cx(x0); ix <= cx(x1); ++ix)
                for (int id : bucket(ix, iy))
                    f(id);
    }

private:
    double xmin_, ymin_, cell_;
    int nx_, ny_;
    std::vector<std::vector<int>> buckets_;
};

struct Box {
    double xmin = 0, ymin = 0, xmax = 0, ymax = 0;
};

Box bounds(const std::vector<XY> &points) {
    Box b{points[0].x_m, points[0].y_m, points[0].x_m, points[0].y_m};
    for (XY p : points) {
        b.xmin = std::min(b.xmin, p.x_m);
        b.ymin = std::min(b.ymin, p.y_m);
        b.xmax = std::max(b.xmax, p.x_m);
        b.ymax = std::max(b.ymax, p.y_m);
    }
    return b;
}

Box bounds(const MultiPolygon &mp) {
    std::vector<XY> all;
    for (const Polygon &p : mp)
        all.insert(all.end(), p.outer.begin(), p.outer.end());
    return bounds(all);
}

double ring_area(const Ring &ring) {
    double a = 0.0;
    for (std::size_t i = 0; i + 1 < ring.size(); ++i)
        a += ring[i].x_m * ring[i + 1].y_m - ring[i + 1].x_m * ring[i].y_m;
    return 0.5 * a;
}

/// A star-shaped ring around `centre`: radius(θ) = r(θ) · (a cos θ, b sin θ) with r a sum of
/// random low harmonics, clamped to [2 − bulge, bulge].
Ring star_ring(Rng &rng, XY centre, double a_m, double b_m, int vertices, double roughness,
               double bulge) {
    std::array<double, 6> amp{}, phase{};
    for (std::size_t k = 0; k < amp.size(); ++k) {
        amp[k] = roughness * rng.uniform(0.3, 1.0) / std::sqrt(static_cast<double>(k + 1));
        phase[k] = rng.uniform(0.0, 2.0 * std::numbers::pi);
    }
    Ring ring;
    for (int i = 0; i < vertices; ++i) {
        const double t = 2.0 * std::numbers::pi * i / vertices;
        double r = 1.0 + rng.normal(0.0, roughness * 0.08);
        for (std::size_t k = 0; k < amp.size(); ++k)
            r += amp[k] * std::cos(static_cast<double>(k + 2) * t + phase[k]);
        r = std::clamp(r, 2.0 - bulge, bulge);
        ring.push_back(
            snap(XY{centre.x_m + a_m * r * std::cos(t), centre.y_m + b_m * r * std::sin(t)}));
    }
    ring.push_back(ring.front());
    return ring;
}

struct Syllables {
    std::vector<std::string> village_head{
        "东", "西", "南", "北", "上", "下", "前", "后", "大", "小", "新", "长", "高", "横",
        "石", "金", "青", "白", "黄", "杨", "梅", "竹", "桃", "松", "马", "龙", "凤", "花",
        "沙", "丰", "永", "太", "安", "和", "兴", "福", "联", "光", "朝", "章", "溪", "湖"};
    std::vector<std::string> village_tail{
        "山", "溪", "塘", "岙", "湖", "桥", "岭", "坞", "港", "田", "浦", "埠", "林", "墩",
        "溇", "堰", "头", "湾", "庄", "峰", "坑", "岸", "园", "潭", "渡", "门", "里", "家",
        "庙", "堡", "畈", "垟", "河", "江", "岗", "坝", "泾", "泉", "阳", "亭"};
    std::vector<std::string> township_head{
        "百", "丰", "汤", "章", "永", "谢", "盖", "道", "崧", "梁", "驿", "长", "岭", "陈",
        "下", "小", "沥", "东", "曹", "上", "崇", "蒿", "横", "梁", "凤", "松", "华", "嵩"};
    std::vector<std::string> township_tail{"官", "惠", "浦", "和", "塘", "北", "墟", "厦",
                                           "湖", "亭", "山", "溪", "南", "娥", "关", "管",
                                           "仁", "桥", "镇", "岙", "阳", "口", "里", "坝"};
    std::vector<std::string> surnames{"张", "王", "李", "陈", "徐", "胡", "何", "沈", "顾", "金",
                                      "朱", "周", "吴", "孙", "俞", "蒋", "杜", "陶", "姚", "范",
                                      "钱", "魏", "谢", "章", "丁", "袁", "潘", "冯", "罗", "许"};
    std::vector<std::string> surname_suffix{"家", "家岙", "家湾", "家埠", "家桥", "家塘", "宅"};
    std::vector<std::string> place_tail{"头", "下", "口", "脚", "边", "里", "外", "底", "岗", "湾"};
    std::vector<std::string> rivers{"曹娥江", "小舜江", "隐潭溪", "下管溪", "四十里河",
                                    "范洋江", "驿亭溪", "梁湖港", "永和溪", "百官河"};
};

std::string village_name(Rng &rng, const Syllables &s, std::set<std::string> &used) {
    std::string name;
    for (int attempt = 0; attempt < 60; ++attempt) {
        name = rng.pick(s.village_head) + rng.pick(s.village_tail);
        if (attempt >= 20)
            name = rng.pick(s.village_head) + rng.pick(s.village_tail) + rng.pick(s.place_tail);
        name += "村";
        if (used.insert(name).second)
            return name;
    }
    return name; // the province set runs out of names: duplicates across townships are real
}

std::string settlement_name(Rng &rng, const Syllables &s) {
    switch (rng.weighted({0.45, 0.3, 0.25})) {
    case 0:
        return rng.pick(s.surnames) + rng.pick(s.surname_suffix);
    case 1:
        return rng.pick(s.village_head) + rng.pick(s.village_tail);
    default:
        return rng.pick(s.village_tail) + rng.pick(s.place_tail);
    }
}

/// Per-village GEOS geometries used for sampling points inside it.
struct VillageGeometry {
    GeomPtr area;
    PreparedPtr area_prepared;
    GeomPtr border;
    PreparedPtr border_prepared;
};

class Generator {
public:
    explicit Generator(const GenerationConfig &config) : config_(config) {}

    County run() {
        make_boundary();
        const std::vector<XY> seeds = throw_seeds();
        std::vector<MultiPolygon> cells = voronoi_cells(seeds);
        make_townships_and_villages(seeds, std::move(cells));
        prepare_villages();
        make_settlements();
        make_roads();
        make_assets();
        make_urban_area();
        make_hazard_zones();
        make_plan_facilities();
        make_water_tests();
        make_village_plan_attributes();
        return std::move(county_);
    }

private:
    Rng stream(std::uint64_t salt) const { return Rng(config_.seed, salt); }
    double spacing_m() const { return std::sqrt(config_.area_per_village_km2) * 1000.0; }

    void make_boundary() {
        Rng rng = stream(1);
        const double area_m2 = config_.villages * config_.area_per_village_km2 * 1e6;
        const double radius_m = std::sqrt(area_m2 / std::numbers::pi);
        // A province-size set cannot be round and stay inside the 3° zone: stretch it N–S.
        a_m_ = std::min(radius_m, kMaxHalfWidth_m / kMaxBorderBulge / 1.02);
        b_m_ = area_m2 / (std::numbers::pi * a_m_);
        const double room_m = kMaxHalfWidth_m - kMaxBorderBulge * 1.02 * a_m_;
        centre_ = {std::clamp(kShangyuCentre.x_m, kCentralMeridianEasting_m - room_m,
                              kCentralMeridianEasting_m + room_m),
                   kShangyuCentre.y_m};
        const int vertices = std::clamp(config_.villages * 2, 120, 1440);
        Ring ring = star_ring(rng, centre_, a_m_, b_m_, vertices, 0.06, kMaxBorderBulge);
        // Rescale to the wanted area (at most ±2 %, allowed for in the half-width above).
        const double k = std::sqrt(area_m2 / std::abs(ring_area(ring)));
        for (XY &p : ring)
            p = snap(XY{centre_.x_m + (p.x_m - centre_.x_m) * k,
                        centre_.y_m + (p.y_m - centre_.y_m) * k});
        county_.boundary.outer = std::move(ring);
        boundary_ = geos_.polygon(county_.boundary);
        boundary_prepared_ = geos_.prepare(boundary_.get());
        boundary_line_ = geos_.own(GEOSBoundary_r(geos_.ctx(), boundary_.get()), "boundary");
        boundary_line_prepared_ = geos_.prepare(boundary_line_.get());
        box_ = bounds(county_.boundary.outer);
    }

    bool inside_county(XY p, double margin_m) const {
        GeomPtr pt = geos_.point(p);
        if (!geos_.predicate(
                GEOSPreparedContainsProperly_r(geos_.ctx(), boundary_prepared_.get(), pt.get()),
                "contains"))
            return false;
        if (margin_m <= 0.0)
            return true;
        double d = 0.0;
        if (!GEOSPreparedDistance_r(geos_.ctx(), boundary_line_prepared_.get(), pt.get(), &d))
            throw std::runtime_error("GEOS distance failed: " + geos_.last_error());
        return d >= margin_m;
    }

    /// Village seeds by dart throwing: uniform, at least 0.65 spacing apart, away from the
    /// border so every village committee sits well inside its village.
    std::vector<XY> throw_seeds() {
        Rng rng = stream(2);
        double min_m = 0.65 * spacing_m();
        seed_grid_ = std::make_unique<PointGrid>(box_.xmin, box_.ymin, box_.xmax, box_.ymax, min_m);
        std::vector<XY> seeds;
        int failures = 0;
        while (static_cast<int>(seeds.size()) < config_.villages) {
            const XY p =
                snap(XY{rng.uniform(box_.xmin, box_.xmax), rng.uniform(box_.ymin, box_.ymax)});
            bool close = false;
            seed_grid_->visit(
                p.x_m - min_m, p.y_m - min_m, p.x_m + min_m, p.y_m + min_m, [&](int id) {
                    close = close || dist(seeds[static_cast<std::size_t>(id)], p) < min_m;
                });
            if (close || !inside_county(p, 0.25 * spacing_m())) {
                if (++failures > 20000) {
                    min_m *= 0.95; // jammed: relax the spacing (the grid stays valid)
                    failures = 0;
                }
                continue;
            }
            failures = 0;
            seed_grid_->insert(p, static_cast<int>(seeds.size()));
            seeds.push_back(p);
        }
        return seeds;
    }

    /// Voronoi cells of the seeds clipped to the county, in seed order.
    std::vector<MultiPolygon> voronoi_cells(const std::vector<XY> &seeds) {
        const GEOSContextHandle_t ctx = geos_.ctx();
        GeomPtr points = geos_.multipoint(seeds);
        GeomPtr diagram =
            geos_.own(GEOSVoronoiDiagram_r(ctx, points.get(), boundary_.get(), 0.0, 0), "voronoi");
        std::vector<MultiPolygon> cells(seeds.size());
        std::vector<char> done(seeds.size(), 0);
        const int n = GEOSGetNumGeometries_r(ctx, diagram.get());
        for (int i = 0; i < n; ++i) {
            const GEOSGeometry *cell = GEOSGetGeometryN_r(ctx, diagram.get(), i);
            double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
            GEOSGeom_getXMin_r(ctx, cell, &x0);
            GEOSGeom_getYMin_r(ctx, cell, &y0);
            GEOSGeom_getXMax_r(ctx, cell, &x1);
            GEOSGeom_getYMax_r(ctx, cell, &y1);
            PreparedPtr prepared = geos_.prepare(cell);
            int owner = -1;
            seed_grid_->visit(x0, y0, x1, y1, [&](int id) {
                if (owner >= 0)
                    return;
                GeomPtr pt = geos_.point(seeds[static_cast<std::size_t>(id)]);
                if (geos_.predicate(GEOSPreparedContains_r(ctx, prepared.get(), pt.get()),
                                    "contains"))
                    owner = id;
            });
            if (owner < 0 || done[static_cast<std::size_t>(owner)])
                throw std::runtime_error("Voronoi cell without a unique seed");
            done[static_cast<std::size_t>(owner)] = 1;
            GeomPtr clipped =
                geos_.predicate(GEOSPreparedContains_r(ctx, boundary_prepared_.get(), cell),
                                "contains")
                    ? geos_.own(GEOSGeom_setPrecision_r(ctx, cell, kGrid_m, 0), "precision")
                    : geos_.own(GEOSIntersectionPrec_r(ctx, cell, boundary_.get(), kGrid_m),
                                "intersection");
            cells[static_cast<std::size_t>(owner)] = geos_.polygons(clipped.get());
        }
        for (std::size_t i = 0; i < seeds.size(); ++i)
            if (!done[i] || cells[i].empty())
                throw std::runtime_error(fmt::format("seed {} has no Voronoi cell", i));
        return cells;
    }

    /// Townships by k-means over the seeds (about 20 villages each), numbered outwards from
    /// the county centre; villages numbered outwards from their township seat.
    void make_townships_and_villages(const std::vector<XY> &seeds,
                                     std::vector<MultiPolygon> cells) {
        Rng rng = stream(3);
        const Syllables syl;
        const std::size_t n = seeds.size();
        const std::size_t k = std::max<std::size_t>(
            1, static_cast<std::size_t>(std::lround(static_cast<double>(n) / 20.0)));

        // k-means++ initialisation, then Lloyd iterations.
        std::vector<XY> centres{
            seeds[static_cast<std::size_t>(rng.uniform_int(0, static_cast<int>(n) - 1))]};
        std::vector<double> d2(n, std::numeric_limits<double>::max());
        while (centres.size() < k) {
            double total = 0.0;
            for (std::size_t i = 0; i < n; ++i) {
                const double d = dist(seeds[i], centres.back());
                d2[i] = std::min(d2[i], d * d);
                total += d2[i];
            }
            double r = rng.uniform() * total;
            std::size_t chosen = n - 1;
            for (std::size_t i = 0; i < n; ++i) {
                if (r < d2[i]) {
                    chosen = i;
                    break;
                }
                r -= d2[i];
            }
            centres.push_back(seeds[chosen]);
        }
        std::vector<std::size_t> assign(n, 0);
        auto nearest_centre = [&](XY p) {
            std::size_t best = 0;
            double best_d = std::numeric_limits<double>::max();
            for (std::size_t c = 0; c < centres.size(); ++c) {
                const double d = dist(p, centres[c]);
                if (d < best_d) {
                    best_d = d;
                    best = c;
                }
            }
            return best;
        };
        for (int iteration = 0; iteration < 12; ++iteration) {
            std::vector<XY> sum(k);
            std::vector<int> count(k, 0);
            for (std::size_t i = 0; i < n; ++i) {
                assign[i] = nearest_centre(seeds[i]);
                sum[assign[i]].x_m += seeds[i].x_m;
                sum[assign[i]].y_m += seeds[i].y_m;
                ++count[assign[i]];
            }
            for (std::size_t c = 0; c < k; ++c)
                if (count[c] > 0)
                    centres[c] = {sum[c].x_m / count[c], sum[c].y_m / count[c]};
        }
        for (std::size_t i = 0; i < n; ++i)
            assign[i] = nearest_centre(seeds[i]);

        std::vector<std::vector<std::size_t>> members(k);
        for (std::size_t i = 0; i < n; ++i)
            members[assign[i]].push_back(i);
        std::erase_if(members, [](const auto &m) { return m.empty(); });
        // Township seat: the member village nearest to the cluster mean.
        std::vector<std::size_t> seat(members.size());
        for (std::size_t t = 0; t < members.size(); ++t) {
            XY mean{};
            for (std::size_t i : members[t]) {
                mean.x_m += seeds[i].x_m / static_cast<double>(members[t].size());
                mean.y_m += seeds[i].y_m / static_cast<double>(members[t].size());
            }
            seat[t] = *std::min_element(members[t].begin(), members[t].end(), [&](auto a, auto b) {
                return dist(seeds[a], mean) < dist(seeds[b], mean);
            });
        }
        std::vector<std::size_t> order(members.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) {
            return dist(seeds[seat[a]], centre_) < dist(seeds[seat[b]], centre_);
        });

        const std::size_t n_town = order.size();
        const std::size_t n_jiedao = std::clamp<std::size_t>(n_town / 5, 1, 3);
        const std::size_t n_xiang = n_town / 7;
        std::set<std::string> used_township_names, used_village_names;
        for (std::size_t rank = 0; rank < n_town; ++rank) {
            const std::size_t t = order[rank];
            Township township;
            township.code = fmt::format("{}{:03d}", 330604 + rank / 899, 101 + rank % 899);
            std::string base;
            do {
                base = rng.pick(syl.township_head) + rng.pick(syl.township_tail);
                if (used_township_names.size() > 400)
                    base += rng.pick(syl.place_tail);
            } while (!used_township_names.insert(base).second);
            const char *suffix =
                rank < n_jiedao ? "街道" : (rank + n_xiang >= n_town ? "乡" : "镇");
            township.name = base + suffix;

            std::vector<std::size_t> villages = members[t];
            std::stable_sort(villages.begin(), villages.end(), [&](auto a, auto b) {
                return dist(seeds[a], seeds[seat[t]]) < dist(seeds[b], seeds[seat[t]]);
            });
            township.seat_village = static_cast<int>(county_.villages.size());
            for (std::size_t j = 0; j < villages.size(); ++j) {
                const std::size_t i = villages[j];
                Village v;
                v.code = fmt::format("{}{:03d}", township.code, 201 + j);
                v.name = village_name(rng, syl, used_village_names);
                v.township = static_cast<int>(county_.townships.size());
                v.hub = seeds[i];
                v.area = std::move(cells[i]);
                fill_village_attributes(rng, v, j == 0);
                county_.villages.push_back(std::move(v));
            }
            county_.townships.push_back(std::move(township));
        }
    }

    void fill_village_attributes(Rng &rng, Village &v, bool township_seat) {
        const double to_centre_m = dist(v.hub, centre_);
        double pop = std::exp(rng.normal(std::log(1100.0), 0.45));
        if (township_seat)
            pop *= 1.6;
        v.population = std::clamp(static_cast<int>(std::lround(pop)), 300, 3000);
        v.households = static_cast<int>(std::lround(v.population / rng.uniform(2.6, 3.0)));
        v.heritage = rng.chance(0.05);
        if (rng.chance(0.4))
            v.hemei_year = rng.uniform_int(2019, 2025);
        v.seat_recorded = township_seat || !rng.chance(0.1);
        if (rng.chance(0.5)) {
            v.planned_class.clear();
        } else if (v.heritage && rng.chance(0.8)) {
            v.planned_class = "特色保护类";
        } else if (to_centre_m < 6000.0 && rng.chance(0.8)) {
            v.planned_class = "城郊融合类";
        } else if (v.population < 650 && rng.chance(0.5)) {
            v.planned_class = "搬迁撤并类";
        } else if (v.population > 1500 && rng.chance(0.6)) {
            v.planned_class = "集聚建设类";
        } else {
            static const std::array<const char *, 5> kClasses{
                "整治提升类", "整治提升类", "集聚建设类", "整治提升类", "特色保护类"};
            v.planned_class = kClasses[static_cast<std::size_t>(rng.uniform_int(0, 4))];
        }
    }

    void prepare_villages() {
        for (const Village &v : county_.villages) {
            std::vector<GEOSGeometry *> parts;
            for (const Polygon &p : v.area)
                parts.push_back(geos_.polygon(p).release());
            VillageGeometry g;
            g.area =
                geos_.own(GEOSGeom_createCollection_r(geos_.ctx(), GEOS_MULTIPOLYGON, parts.data(),
                                                      static_cast<unsigned>(parts.size())),
                          "multipolygon");
            g.area_prepared = geos_.prepare(g.area.get());
            g.border = geos_.own(GEOSBoundary_r(geos_.ctx(), g.area.get()), "boundary");
            g.border_prepared = geos_.prepare(g.border.get());
            village_geoms_.push_back(std::move(g));
        }
    }

    /// True when p lies inside village v at least `margin_m` from its border.
    bool inside_village(std::size_t v, XY p, double margin_m) const {
        const VillageGeometry &g = village_geoms_[v];
        GeomPtr pt = geos_.point(p);
        if (!geos_.predicate(
                GEOSPreparedContainsProperly_r(geos_.ctx(), g.area_prepared.get(), pt.get()),
                "contains"))
            return false;
        double d = 0.0;
        if (!GEOSPreparedDistance_r(geos_.ctx(), g.border_prepared.get(), pt.get(), &d))
            throw std::runtime_error("GEOS distance failed: " + geos_.last_error());
        return d >= margin_m;
    }

    void make_settlements() {
        Rng rng = stream(4);
        const Syllables syl;
        for (std::size_t vi = 0; vi < county_.villages.size(); ++vi) {
            const Village &v = county_.villages[vi];
            const Box box = bounds(v.area);
            const int count = std::clamp(static_cast<int>(std::lround(rng.normal(6.1, 1.7))), 1, 8);
            std::vector<XY> placed;
            std::vector<double> weight;
            std::set<std::string> names;
            double spacing = 220.0;
            for (int s = 0; s < count; ++s) {
                XY p{};
                bool ok = false;
                for (int attempt = 0; attempt < 400 && !ok; ++attempt) {
                    if (attempt % 100 == 99)
                        spacing *= 0.6;
                    if (s == 0) {
                        // The main settlement grows around the village committee.
                        const double r = rng.uniform(60.0, 300.0),
                                     a = rng.uniform(0.0, 2.0 * std::numbers::pi);
                        p = snap(XY{v.hub.x_m + r * std::cos(a), v.hub.y_m + r * std::sin(a)});
                    } else {
                        p = snap(
                            XY{rng.uniform(box.xmin, box.xmax), rng.uniform(box.ymin, box.ymax)});
                    }
                    ok = dist(p, v.hub) >= 60.0 &&
                         std::all_of(placed.begin(), placed.end(),
                                     [&](XY q) { return dist(p, q) >= spacing; }) &&
                         inside_village(vi, p, 30.0);
                }
                if (!ok)
                    continue;
                placed.push_back(p);
                weight.push_back(std::exp(rng.normal(0.0, 0.6)) * (s == 0 ? 2.5 : 1.0));
                std::string name;
                do {
                    name = settlement_name(rng, syl);
                } while (!names.insert(name).second);
                Settlement st;
                st.id = fmt::format("{}{:02d}", v.code, placed.size());
                st.name = std::move(name);
                st.village = static_cast<int>(vi);
                st.position = p;
                county_.settlements.push_back(std::move(st));
            }
            // Populations in proportion to the weights; a few percent live scattered outside.
            const double total = std::accumulate(weight.begin(), weight.end(), 0.0);
            const double share = rng.uniform(0.93, 1.0);
            const std::size_t first = county_.settlements.size() - placed.size();
            for (std::size_t s = 0; s < placed.size(); ++s)
                county_.settlements[first + s].population = std::max(
                    5, static_cast<int>(std::lround(v.population * share * weight[s] / total)));
        }
    }

    struct RawRoad {
        RoadGrade grade;
        LineString line;
    };

    /// A gently bent line from a to b: interior vertices pushed sideways by up to `bend` × length.
    LineString bent_line(Rng &rng, XY a, XY b, double bend) const {
        const double len = dist(a, b);
        const int interior = len > 1500.0 ? 2 : 1;
        const double nx = -(b.y_m - a.y_m) / len, ny = (b.x_m - a.x_m) / len;
        LineString line{a};
        for (int i = 1; i <= interior; ++i) {
            const double t = static_cast<double>(i) / (interior + 1) + rng.uniform(-0.08, 0.08);
            const double off = rng.normal(0.0, bend * len);
            line.push_back(snap(XY{a.x_m + t * (b.x_m - a.x_m) + off * nx,
                                   a.y_m + t * (b.y_m - a.y_m) + off * ny}));
        }
        line.push_back(b);
        return line;
    }

    /// A bent line from a to b, or the straight one where bending would leave the county.
    LineString road_line(Rng &rng, XY a, XY b, double bend) const {
        LineString line = bent_line(rng, a, b, bend);
        for (std::size_t i = 0; i + 1 < line.size(); ++i)
            if (!line_inside_county(line[i], line[i + 1]))
                return {a, b};
        return line;
    }

    /// Edges of the Delaunay triangulation of `points`, as index pairs.
    std::vector<std::pair<int, int>> delaunay_edges(const std::vector<XY> &points) const {
        if (points.size() < 2)
            return {};
        if (points.size() == 2)
            return {{0, 1}};
        struct KeyHash {
            std::size_t
            operator()(const std::pair<std::uint64_t, std::uint64_t> &k) const noexcept {
                return std::hash<std::uint64_t>{}(k.first * 0x9E3779B97F4A7C15ULL ^ k.second);
            }
        };
        std::unordered_map<std::pair<std::uint64_t, std::uint64_t>, int, KeyHash> index;
        auto key = [](XY p) {
            return std::make_pair(std::bit_cast<std::uint64_t>(p.x_m),
                                  std::bit_cast<std::uint64_t>(p.y_m));
        };
        for (std::size_t i = 0; i < points.size(); ++i)
            index.emplace(key(points[i]), static_cast<int>(i));
        GeomPtr mp = geos_.multipoint(points);
        GeomPtr edges =
            geos_.own(GEOSDelaunayTriangulation_r(geos_.ctx(), mp.get(), 0.0, 1), "delaunay");
        std::vector<std::pair<int, int>> out;
        const int n = GEOSGetNumGeometries_r(geos_.ctx(), edges.get());
        for (int i = 0; i < n; ++i) {
            const std::vector<XY> ends =
                geos_.coordinates(GEOSGetGeometryN_r(geos_.ctx(), edges.get(), i));
            const auto a = index.find(key(ends.front())), b = index.find(key(ends.back()));
            if (a == index.end() || b == index.end())
                throw std::runtime_error("Delaunay edge does not end at an input point");
            out.emplace_back(std::min(a->second, b->second), std::max(a->second, b->second));
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    static int find(std::vector<int> &parent, int i) {
        while (parent[static_cast<std::size_t>(i)] != i) {
            parent[static_cast<std::size_t>(i)] =
                parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(i)])];
            i = parent[static_cast<std::size_t>(i)];
        }
        return i;
    }

    bool line_inside_county(XY a, XY b) const {
        GeomPtr l = geos_.line({a, b});
        return geos_.predicate(GEOSPreparedCovers_r(geos_.ctx(), boundary_prepared_.get(), l.get()),
                               "covers");
    }

    /// Kruskal over edges ordered by (outside the county, length): a spanning tree that leaves
    /// the county only where a concave border forces it. Returns a flag per edge.
    std::vector<char> spanning_tree(const std::vector<XY> &points,
                                    const std::vector<std::pair<int, int>> &edges,
                                    const std::vector<char> &inside) const {
        std::vector<std::size_t> order(edges.size());
        std::iota(order.begin(), order.end(), 0);
        auto len = [&](std::size_t e) {
            return dist(points[static_cast<std::size_t>(edges[e].first)],
                        points[static_cast<std::size_t>(edges[e].second)]);
        };
        std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) {
            return std::make_pair(!inside[a], len(a)) < std::make_pair(!inside[b], len(b));
        });
        std::vector<int> parent(points.size());
        std::iota(parent.begin(), parent.end(), 0);
        std::vector<char> in_tree(edges.size(), 0);
        for (std::size_t e : order) {
            const int a = find(parent, edges[e].first), b = find(parent, edges[e].second);
            if (a != b) {
                parent[static_cast<std::size_t>(a)] = b;
                in_tree[e] = 1;
            }
        }
        return in_tree;
    }

    void make_roads() {
        Rng rng = stream(5);
        const std::size_t nv = county_.villages.size();
        std::vector<XY> hubs;
        for (const Village &v : county_.villages)
            hubs.push_back(v.hub);

        // Township roads: a spanning tree of the hubs' Delaunay graph plus short extra edges.
        // Delaunay edges never cross, so hub-to-hub roads only meet at hubs.
        const auto edges = delaunay_edges(hubs);
        std::vector<char> inside(edges.size());
        for (std::size_t e = 0; e < edges.size(); ++e)
            inside[e] = line_inside_county(hubs[static_cast<std::size_t>(edges[e].first)],
                                           hubs[static_cast<std::size_t>(edges[e].second)]);
        const std::vector<char> tree = spanning_tree(hubs, edges, inside);
        std::vector<std::pair<int, int>> kept;
        for (std::size_t e = 0; e < edges.size(); ++e) {
            const double len = dist(hubs[static_cast<std::size_t>(edges[e].first)],
                                    hubs[static_cast<std::size_t>(edges[e].second)]);
            if (tree[e] || (inside[e] && len < 1.6 * spacing_m() && rng.chance(0.55)))
                kept.push_back(edges[e]);
        }
        std::vector<std::vector<std::pair<int, std::size_t>>> adjacency(nv);
        for (std::size_t e = 0; e < kept.size(); ++e) {
            adjacency[static_cast<std::size_t>(kept[e].first)].emplace_back(kept[e].second, e);
            adjacency[static_cast<std::size_t>(kept[e].second)].emplace_back(kept[e].first, e);
        }

        // County roads: links between township seats (their own Delaunay tree plus short extras),
        // each routed along the shortest path of the hub graph and upgraded to 县道.
        std::vector<RoadGrade> grade(kept.size(), RoadGrade::township);
        std::vector<XY> seats;
        for (const Township &t : county_.townships)
            seats.push_back(hubs[static_cast<std::size_t>(t.seat_village)]);
        const auto links = delaunay_edges(seats);
        std::vector<char> links_inside(links.size(), 1);
        const std::vector<char> link_tree = spanning_tree(seats, links, links_inside);
        for (std::size_t l = 0; l < links.size(); ++l) {
            const double len = dist(seats[static_cast<std::size_t>(links[l].first)],
                                    seats[static_cast<std::size_t>(links[l].second)]);
            if (!link_tree[l] && !(len < 2.2 * spacing_m() * std::sqrt(20.0) && rng.chance(0.4)))
                continue;
            const int from =
                county_.townships[static_cast<std::size_t>(links[l].first)].seat_village;
            const int to =
                county_.townships[static_cast<std::size_t>(links[l].second)].seat_village;
            for (std::size_t e : shortest_path(hubs, adjacency, from, to))
                grade[e] = RoadGrade::county;
        }

        std::vector<RawRoad> raw;
        for (std::size_t e = 0; e < kept.size(); ++e)
            raw.push_back(
                {grade[e], road_line(rng, hubs[static_cast<std::size_t>(kept[e].first)],
                                     hubs[static_cast<std::size_t>(kept[e].second)], 0.04)});
        // Village roads: from each settlement to its village committee.
        for (const Settlement &s : county_.settlements)
            raw.push_back(
                {RoadGrade::village,
                 road_line(rng, s.position,
                           county_.villages[static_cast<std::size_t>(s.village)].hub, 0.07)});

        std::vector<std::size_t> parent_of_piece;
        std::vector<LineString> pieces = node_roads(raw, parent_of_piece);
        check_connected(pieces);

        // Attributes are drawn per original road, so all pieces of one road agree.
        struct Attributes {
            std::string surface, status;
            std::optional<int> built, maintained;
        };
        std::vector<Attributes> attributes;
        for (const RawRoad &r : raw) {
            Attributes a;
            const bool village = r.grade == RoadGrade::village;
            a.surface = r.grade == RoadGrade::county ? "硬化"
                        : village
                            ? std::array{"硬化", "砂石", "土路"}[rng.weighted({0.85, 0.11, 0.04})]
                            : std::array{"硬化", "砂石"}[rng.weighted({0.97, 0.03})];
            // Only village roads (leaves of the network) are under construction, so the
            // serving network stays connected.
            a.status = village ? std::array{"运行", "在建", "改造中",
                                            ""}[rng.weighted({0.93, 0.02, 0.03, 0.02})]
                               : std::array{"运行", "改造中", ""}[rng.weighted({0.95, 0.03, 0.02})];
            const int first_year = r.grade == RoadGrade::county ? 1992 : village ? 2003 : 1998;
            if (a.status != "在建")
                a.built = rng.uniform_int(first_year, 2021);
            if (a.built && rng.chance(0.6))
                a.maintained = rng.uniform_int(*a.built + 1, kCurrentYear);
            attributes.push_back(std::move(a));
        }

        std::array<int, 3> counter{};
        std::array<std::size_t, 3> total{};
        for (std::size_t p : parent_of_piece)
            ++total[static_cast<std::size_t>(raw[p].grade)];
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            const RawRoad &r = raw[parent_of_piece[i]];
            const Attributes &a = attributes[parent_of_piece[i]];
            const auto g = static_cast<std::size_t>(r.grade);
            const int width = std::max(4, static_cast<int>(std::to_string(total[g]).size()));
            Road road;
            road.id = fmt::format("{}{:0{}d}", std::array{"X", "Y", "C"}[g], ++counter[g], width);
            road.grade = r.grade;
            road.surface = a.surface;
            road.status = a.status;
            road.built_year = a.built;
            road.maintained_year = a.maintained;
            road.line = std::move(pieces[i]);
            county_.roads.push_back(std::move(road));
        }
    }

    /// Edge indices of the shortest hub-graph path between two villages (Dijkstra).
    static std::vector<std::size_t>
    shortest_path(const std::vector<XY> &hubs,
                  const std::vector<std::vector<std::pair<int, std::size_t>>> &adjacency, int from,
                  int to) {
        std::vector<double> best(hubs.size(), std::numeric_limits<double>::infinity());
        std::vector<std::pair<int, std::size_t>> via(hubs.size(), {-1, 0});
        using Item = std::pair<double, int>;
        std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
        best[static_cast<std::size_t>(from)] = 0.0;
        queue.emplace(0.0, from);
        while (!queue.empty()) {
            const auto [d, u] = queue.top();
            queue.pop();
            if (u == to)
                break;
            if (d > best[static_cast<std::size_t>(u)])
                continue;
            for (const auto &[w, e] : adjacency[static_cast<std::size_t>(u)]) {
                const double nd =
                    d + dist(hubs[static_cast<std::size_t>(u)], hubs[static_cast<std::size_t>(w)]);
                if (nd < best[static_cast<std::size_t>(w)]) {
                    best[static_cast<std::size_t>(w)] = nd;
                    via[static_cast<std::size_t>(w)] = {u, e};
                    queue.emplace(nd, w);
                }
            }
        }
        std::vector<std::size_t> path;
        for (int v = to; v != from && via[static_cast<std::size_t>(v)].first >= 0;
             v = via[static_cast<std::size_t>(v)].first)
            path.push_back(via[static_cast<std::size_t>(v)].second);
        return path;
    }

    /// Splits every road where it properly crosses another, at a common snapped vertex, so
    /// roads meet only at their end points. `parent` receives the source road of each piece.
    std::vector<LineString> node_roads(const std::vector<RawRoad> &roads,
                                       std::vector<std::size_t> &parent) const {
        struct Segment {
            std::size_t road, index;
            XY a, b;
        };
        std::vector<Segment> segments;
        for (std::size_t r = 0; r < roads.size(); ++r)
            for (std::size_t i = 0; i + 1 < roads[r].line.size(); ++i)
                segments.push_back({r, i, roads[r].line[i], roads[r].line[i + 1]});
        const double cell = 800.0;
        PointGrid grid(box_.xmin - 1000.0, box_.ymin - 1000.0, box_.xmax + 1000.0,
                       box_.ymax + 1000.0, cell);
        for (std::size_t s = 0; s < segments.size(); ++s) {
            const Segment &g = segments[s];
            for (int iy = grid.cy(std::min(g.a.y_m, g.b.y_m));
                 iy <= grid.cy(std::max(g.a.y_m, g.b.y_m)); ++iy)
                for (int ix = grid.cx(std::min(g.a.x_m, g.b.x_m));
                     ix <= grid.cx(std::max(g.a.x_m, g.b.x_m)); ++ix)
                    grid.bucket(ix, iy).push_back(static_cast<int>(s));
        }
        struct Split {
            std::size_t index;
            double t;
            XY p;
        };
        std::vector<std::vector<Split>> splits(roads.size());
        auto cross = [](XY o, XY a, XY b) {
            return (a.x_m - o.x_m) * (b.y_m - o.y_m) - (a.y_m - o.y_m) * (b.x_m - o.x_m);
        };
        auto visit_cell = [&](int ix, int iy) {
            const std::vector<int> &list = grid.bucket(ix, iy);
            for (std::size_t i = 0; i < list.size(); ++i) {
                for (std::size_t j = i + 1; j < list.size(); ++j) {
                    const Segment &s1 = segments[static_cast<std::size_t>(list[i])];
                    const Segment &s2 = segments[static_cast<std::size_t>(list[j])];
                    if (s1.road == s2.road || s1.a == s2.a || s1.a == s2.b || s1.b == s2.a ||
                        s1.b == s2.b)
                        continue;
                    const double d1 = cross(s2.a, s2.b, s1.a), d2 = cross(s2.a, s2.b, s1.b);
                    const double d3 = cross(s1.a, s1.b, s2.a), d4 = cross(s1.a, s1.b, s2.b);
                    if (!(((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) &&
                          ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))))
                        continue;
                    const double t = d1 / (d1 - d2);
                    const XY p{s1.a.x_m + t * (s1.b.x_m - s1.a.x_m),
                               s1.a.y_m + t * (s1.b.y_m - s1.a.y_m)};
                    if (grid.cx(p.x_m) != ix || grid.cy(p.y_m) != iy)
                        continue; // counted in the cell that holds the crossing
                    const double u = d3 / (d3 - d4);
                    const XY q = snap(p);
                    splits[s1.road].push_back({s1.index, t, q});
                    splits[s2.road].push_back({s2.index, u, q});
                }
            }
        };
        const int nx = grid.cx(box_.xmax + 1000.0), ny = grid.cy(box_.ymax + 1000.0);
        for (int iy = 0; iy <= ny; ++iy)
            for (int ix = 0; ix <= nx; ++ix)
                visit_cell(ix, iy);

        std::vector<LineString> pieces;
        for (std::size_t r = 0; r < roads.size(); ++r) {
            std::vector<Split> &sp = splits[r];
            std::sort(sp.begin(), sp.end(), [](const Split &a, const Split &b) {
                return std::make_pair(a.index, a.t) < std::make_pair(b.index, b.t);
            });
            const LineString &line = roads[r].line;
            LineString current{line.front()};
            auto emit = [&] {
                if (current.size() >= 2) {
                    pieces.push_back(current);
                    parent.push_back(r);
                }
            };
            std::size_t k = 0;
            for (std::size_t i = 0; i + 1 < line.size(); ++i) {
                for (; k < sp.size() && sp[k].index == i; ++k) {
                    if (sp[k].p == current.back())
                        continue;
                    current.push_back(sp[k].p);
                    emit();
                    current = {sp[k].p};
                }
                if (!(line[i + 1] == current.back()))
                    current.push_back(line[i + 1]);
            }
            emit();
        }
        return pieces;
    }

    /// Throws unless the road end points form one connected graph.
    static void check_connected(const std::vector<LineString> &pieces) {
        struct KeyHash {
            std::size_t
            operator()(const std::pair<std::uint64_t, std::uint64_t> &k) const noexcept {
                return std::hash<std::uint64_t>{}(k.first * 0x9E3779B97F4A7C15ULL ^ k.second);
            }
        };
        std::unordered_map<std::pair<std::uint64_t, std::uint64_t>, int, KeyHash> node;
        std::vector<int> parent;
        auto id = [&](XY p) {
            const auto key = std::make_pair(std::bit_cast<std::uint64_t>(p.x_m),
                                            std::bit_cast<std::uint64_t>(p.y_m));
            const auto [it, added] = node.emplace(key, static_cast<int>(parent.size()));
            if (added)
                parent.push_back(it->second);
            return it->second;
        };
        for (const LineString &l : pieces) {
            const int a = find(parent, id(l.front())), b = find(parent, id(l.back()));
            if (a != b)
                parent[static_cast<std::size_t>(a)] = b;
        }
        std::size_t roots = 0;
        for (std::size_t i = 0; i < parent.size(); ++i)
            roots += find(parent, static_cast<int>(i)) == static_cast<int>(i);
        if (roots != 1)
            throw std::runtime_error(
                fmt::format("road network has {} components, expected 1", roots));
    }

    /// A point near `anchor` inside village v, at least `margin_m` from its border.
    XY place_near(Rng &rng, std::size_t v, XY anchor, double sigma_m, double margin_m) const {
        for (int attempt = 0; attempt < 40; ++attempt) {
            const double s = sigma_m * std::pow(0.8, attempt / 4);
            const XY p = snap(XY{anchor.x_m + rng.normal(0.0, s), anchor.y_m + rng.normal(0.0, s)});
            if (dist(p, anchor) >= 8.0 && inside_village(v, p, margin_m))
                return p;
        }
        for (XY offset : {XY{12.0, 9.0}, XY{-12.0, 9.0}, XY{12.0, -9.0}, XY{-12.0, -9.0}}) {
            const XY p = snap(XY{anchor.x_m + offset.x_m, anchor.y_m + offset.y_m});
            if (inside_village(v, p, 1.0))
                return p;
        }
        throw std::runtime_error(
            fmt::format("no room for an asset in village {}", county_.villages[v].code));
    }

    static std::string asset_id(std::string_view prefix, std::size_t number, std::size_t expected) {
        const int width = std::max(4, static_cast<int>(std::to_string(expected).size()));
        return fmt::format("{}{:0{}d}", prefix, number, width);
    }

    void make_assets() {
        Rng rng = stream(6);
        const std::size_t nv = county_.villages.size();
        // One township in twelve has no sewage terminals at all: a coverage gap a planner
        // must find. Township 0 holds the county town and is always served.
        std::vector<char> sewage_gap(county_.townships.size(), 0);
        for (std::size_t t = 1; t < sewage_gap.size(); ++t)
            sewage_gap[t] = rng.chance(1.0 / 12.0);
        if (sewage_gap.size() > 1 &&
            std::none_of(sewage_gap.begin(), sewage_gap.end(), [](char c) { return c; }))
            sewage_gap[sewage_gap.size() / 2] = 1;

        std::vector<std::vector<std::size_t>> settlements_of(nv);
        for (std::size_t s = 0; s < county_.settlements.size(); ++s)
            settlements_of[static_cast<std::size_t>(county_.settlements[s].village)].push_back(s);
        auto anchor = [&](std::size_t v, double hub_share) -> std::pair<XY, const Settlement *> {
            if (settlements_of[v].empty() || rng.chance(hub_share))
                return {county_.villages[v].hub, nullptr};
            const Settlement &s = county_.settlements[rng.pick(settlements_of[v])];
            return {s.position, &s};
        };
        // Expected totals only decide the id width, so ids keep 4 digits in the county.
        const std::size_t expect = nv * 2;

        for (std::size_t v = 0; v < nv; ++v) {
            const Village &village = county_.villages[v];
            const Township &township =
                county_.townships[static_cast<std::size_t>(village.township)];
            const bool township_seat = township.seat_village == static_cast<int>(v);

            const int sewage = sewage_gap[static_cast<std::size_t>(village.township)]
                                   ? 0
                                   : static_cast<int>(rng.weighted({0.18, 0.68, 0.14}));
            for (int i = 0; i < sewage; ++i) {
                const auto [at, settlement] = anchor(v, 0.25);
                SewagePlant p;
                p.id = asset_id("WS", county_.sewage_plants.size() + 1, expect);
                p.name = village.name + (settlement ? settlement->name : "") + "污水处理终端";
                const double capacity =
                    std::clamp(std::exp(rng.normal(std::log(30.0), 0.8)), 5.0, 200.0);
                p.capacity_m3d = capacity < 20.0
                                     ? static_cast<int>(std::lround(capacity))
                                     : static_cast<int>(std::lround(capacity / 5.0) * 5);
                p.status = std::array{"运行", "改造中", "停用", "在建",
                                      "规划"}[rng.weighted({0.78, 0.07, 0.04, 0.06, 0.05})];
                if (p.status == "运行" || p.status == "改造中")
                    p.effluent_ok = rng.chance(0.85) ? "是" : "否";
                else if (p.status == "停用")
                    p.effluent_ok = "否";
                if (p.status != "在建" && p.status != "规划") {
                    p.built_year = rng.uniform_int(2008, 2022);
                    if (*p.built_year + 3 <= kCurrentYear && rng.chance(0.35))
                        p.renovated_year = rng.uniform_int(*p.built_year + 3, kCurrentYear);
                }
                p.position = place_near(rng, v, at, 60.0, 5.0);
                county_.sewage_plants.push_back(std::move(p));
            }

            const int stations = static_cast<int>(rng.weighted({0.1, 0.55, 0.3, 0.05}));
            for (int i = 0; i < stations; ++i) {
                BaseStation b;
                b.id = asset_id("JZ", county_.base_stations.size() + 1, expect);
                const std::size_t op = rng.weighted({0.4, 0.25, 0.2, 0.15});
                b.operator_name = std::array{"中国移动", "中国电信", "中国联通", "中国广电"}[op];
                b.band_mhz = op == 0 ? std::array{2600, 4900, 700}[rng.weighted({0.7, 0.15, 0.15})]
                             : op == 3 ? std::array{700, 4900}[rng.weighted({0.85, 0.15})]
                                       : 3500;
                b.status = std::array{"运行", "在建", "规划"}[rng.weighted({0.88, 0.07, 0.05})];
                b.position = place_near(rng, v, anchor(v, 0.3).first, 250.0, 5.0);
                county_.base_stations.push_back(std::move(b));
            }

            const int halls = static_cast<int>(rng.weighted({0.25, 0.7, 0.05}));
            for (int i = 0; i < halls; ++i) {
                const auto [at, settlement] = anchor(v, i == 0 ? 0.8 : 0.0);
                CulturalHall h;
                h.id = asset_id("LT", county_.cultural_halls.size() + 1, expect);
                h.name = village.name + (settlement ? settlement->name + "文化家园" : "文化礼堂");
                h.stars = 1 + static_cast<int>(rng.weighted({0.15, 0.25, 0.3, 0.2, 0.1}));
                h.status = std::array{"运行", "在建", "规划",
                                      "改造中"}[rng.weighted({0.88, 0.05, 0.03, 0.04})];
                h.position = place_near(rng, v, at, 50.0, 25.0);
                if (rng.chance(1.0 / 3.0)) {
                    const double angle = rng.uniform(0.0, std::numbers::pi);
                    const double c = std::cos(angle), s = std::sin(angle);
                    Polygon footprint;
                    for (XY corner :
                         {XY{-10, -15}, XY{10, -15}, XY{10, 15}, XY{-10, 15}, XY{-10, -15}})
                        footprint.outer.push_back(
                            snap(XY{h.position.x_m + c * corner.x_m - s * corner.y_m,
                                    h.position.y_m + s * corner.x_m + c * corner.y_m}));
                    h.footprint = std::move(footprint);
                }
                county_.cultural_halls.push_back(std::move(h));
            }

            const std::vector<std::string> couriers{"中国邮政", "中国邮政", "菜鸟驿站", "中通",
                                                    "圆通",     "韵达",     "申通",     "极兔",
                                                    "顺丰",     "供销e家"};
            const int stations_c = township_seat ? 1 + static_cast<int>(rng.weighted({0.8, 0.2}))
                                                 : static_cast<int>(rng.weighted({0.2, 0.7, 0.1}));
            for (int i = 0; i < stations_c; ++i) {
                CourierStation c;
                c.id = asset_id("KD", county_.courier_stations.size() + 1, expect);
                if (township_seat && i == 0) {
                    const bool county_town = village.township == 0;
                    c.level = county_town ? "县级" : "乡镇级";
                    c.name = county_town ? township.name + "县级寄递物流共配中心"
                                         : township.name + "寄递物流综合服务中心";
                    c.operator_name = "中国邮政";
                } else {
                    c.level = "村级";
                    c.name = village.name + "村级寄递物流综合服务站";
                    c.operator_name = rng.pick(couriers);
                }
                c.status = std::array{"运行", "在建", "规划",
                                      "停用"}[rng.weighted({0.9, 0.04, 0.03, 0.03})];
                c.position = place_near(rng, v, anchor(v, 0.7).first, 40.0, 5.0);
                county_.courier_stations.push_back(std::move(c));
            }

            if (rng.chance(0.5)) {
                Clinic c;
                c.id = asset_id("WSZ", county_.clinics.size() + 1, expect);
                c.name = village.name + "卫生室";
                c.beds = static_cast<int>(rng.weighted({0.35, 0.25, 0.2, 0.1, 0.05, 0.05}));
                c.status = std::array{"运行", "改造中", "停用"}[rng.weighted({0.92, 0.04, 0.04})];
                c.position = place_near(rng, v, county_.villages[v].hub, 40.0, 5.0);
                county_.clinics.push_back(std::move(c));
            }
        }
    }

    /// The further facilities the plan counts (§二(一)1, §二(三)2, §二(四)2, §三(三)1, §三(三)3)
    /// and whether each clinic meets the standard (§三(三)2), from a stream of their own so that
    /// the other layers stay as they were.
    void make_plan_facilities() {
        Rng rng = stream(9);
        const std::size_t nv = county_.villages.size();
        const std::size_t expect = std::max<std::size_t>(nv, 1000);
        // Built between first_year and 2026; one finished in 2026 may still be planned or under
        // construction, and then has no built year yet.
        auto add = [&](std::vector<Facility> &to, std::string_view prefix, std::size_t v,
                       std::string name, int first_year) -> Facility & {
            Facility f;
            f.id = asset_id(prefix, to.size() + 1, expect);
            f.name = std::move(name);
            const int year = rng.uniform_int(first_year, 2026);
            f.status = year == 2026
                           ? std::array{"运行", "在建", "规划"}[rng.weighted({0.5, 0.35, 0.15})]
                           : std::array{"运行", "停用"}[rng.weighted({0.96, 0.04})];
            if (f.status != std::string("在建") && f.status != std::string("规划"))
                f.built_year = year;
            f.position = place_near(rng, v, county_.villages[v].hub, 120.0, 5.0);
            to.push_back(std::move(f));
            return to.back();
        };
        for (std::size_t v = 0; v < nv; ++v) {
            const Village &village = county_.villages[v];
            const Township &township =
                county_.townships[static_cast<std::size_t>(village.township)];
            const bool township_seat = township.seat_village == static_cast<int>(v);
            if (rng.chance(village.heritage ? 0.3 : 0.02))
                add(county_.village_museums, "BWG", v, village.name + "乡村博物馆", 2016);
            if (rng.chance(0.12))
                add(county_.sports_grounds, "TY", v, village.name + "全民健身广场", 2015);
            if (rng.chance(0.45))
                add(county_.workshops, "GF", v, village.name + "共富工坊", 2021);
            if (rng.chance(township_seat ? 0.5 : 0.01))
                add(county_.smart_life_halls, "SZ", v, village.name + "乡村数智生活馆", 2022);
            if (township_seat && rng.chance(0.3))
                add(county_.agri_facilities, "NS", v, township.name + "现代化农事服务中心", 2021)
                    .facility = "省级现代化农事服务中心";
            if (rng.chance(0.015))
                add(county_.agri_facilities, "NS", v, village.name + "未来农场", 2022).facility =
                    "未来农场";
            if (rng.chance(0.015))
                add(county_.agri_facilities, "NS", v, village.name + "数字农业工厂", 2022)
                    .facility = "数字农业工厂";
        }
        // 规范化: most clinics meet the standard; a few records say nothing.
        for (Clinic &c : county_.clinics)
            c.standardized = std::array{"是", "否", ""}[rng.weighted({0.86, 0.1, 0.04})];
    }

    /// The water bureau's quarterly effluent tests of the serving plants over the year to
    /// September 2026, from a stream of their own so that the other layers stay as they were.
    /// About one serving plant in eight was not tested; the latest test agrees with the plant
    /// list's 出水达标 where it has one, and earlier ones fail now and then.
    void make_water_tests() {
        Rng rng = stream(11);
        static constexpr std::array<const char *, 4> dates{"2025-12-10", "2026-03-10", "2026-06-10",
                                                           "2026-09-10"};
        for (const SewagePlant &p : county_.sewage_plants) {
            if (p.status != "运行" && p.status != "改造中")
                continue;
            if (rng.chance(0.125))
                continue;
            const char *agency = rng.chance(0.3) ? "绍兴市环境检测有限公司" : "区生态环境监测站";
            for (std::size_t q = 0; q < dates.size(); ++q) {
                const bool fail =
                    q + 1 == dates.size()
                        ? p.effluent_ok == "否" || (p.effluent_ok.empty() && rng.chance(0.25))
                        : rng.chance(1.0 / 12.0);
                county_.water_tests.push_back({p.id, dates[q], fail ? "不达标" : "达标", agency});
            }
        }
    }

    /// The plan's village-level numbers (§一(二)/(三), §二(一)3, §二(二)3, §三(三)1, §三(三)3),
    /// from a stream of their own so that everything else stays as it was. Amounts in 10,000
    /// yuan with one decimal.
    void make_village_plan_attributes() {
        Rng rng = stream(12);
        auto tenth = [](double x) { return std::round(x * 10.0) / 10.0; };
        for (Village &v : county_.villages) {
            if (rng.chance(0.07))
                v.future_village_year = rng.uniform_int(2021, 2026);
            if (rng.chance(0.3))
                v.electrified_year = rng.uniform_int(2020, 2026);
            v.scenic_level =
                std::array{"", "A级", "3A级", "金3A"}[rng.weighted({0.78, 0.15, 0.06, 0.01})];
            v.ecommerce = std::array{"否", "是", ""}[rng.weighted({0.92, 0.03, 0.05})];
            if (!rng.chance(0.03)) {
                const double total =
                    std::clamp(std::exp(rng.normal(std::log(220.0), 0.45)), 60.0, 1500.0);
                v.collective_income_10k = tenth(total);
                v.operating_income_10k = tenth(total * rng.uniform(0.3, 0.6));
            }
        }
    }

    MultiPolygon clip_to_county(const Polygon &polygon) const {
        GeomPtr g = geos_.polygon(polygon);
        GeomPtr valid = geos_.own(GEOSMakeValid_r(geos_.ctx(), g.get()), "make valid");
        GeomPtr clipped =
            geos_.own(GEOSIntersectionPrec_r(geos_.ctx(), valid.get(), boundary_.get(), kGrid_m),
                      "intersection");
        return geos_.polygons(clipped.get());
    }

    void make_urban_area() {
        Rng rng = stream(7);
        const Township &town = county_.townships.front();
        const Village &seat = county_.villages[static_cast<std::size_t>(town.seat_village)];
        const double radius = 0.55 * spacing_m() * std::sqrt(6.0);
        Polygon p;
        p.outer = star_ring(rng, seat.hub, radius, radius * rng.uniform(0.7, 1.0), 64, 0.25, 1.45);
        Area urban;
        urban.id = "CZ01";
        const std::string_view jiedao = "街道";
        urban.name = town.name.ends_with(jiedao)
                         ? town.name.substr(0, town.name.size() - jiedao.size()) + "城区"
                         : town.name + "建成区";
        urban.area = clip_to_county(p);
        county_.urban_areas.push_back(std::move(urban));
    }

    void make_hazard_zones() {
        Rng rng = stream(8);
        const Syllables syl;
        const int zones = 4 + config_.villages / 60;
        for (int z = 0; z < zones; ++z) {
            const Village &v = rng.pick(county_.villages);
            Area h;
            h.id = fmt::format("ZH{:03d}", z + 1);
            if (rng.chance(0.55)) {
                h.hazard_type = "flood";
                h.name =
                    fmt::format("{}{}段洪涝风险区", rng.pick(syl.rivers),
                                v.name.substr(0, v.name.size() - std::string_view("村").size()));
                LineString river{v.hub};
                double heading = rng.uniform(0.0, 2.0 * std::numbers::pi);
                const int steps = rng.uniform_int(4, 8);
                for (int s = 0; s < steps; ++s) {
                    heading += rng.normal(0.0, 0.35);
                    const double step = rng.uniform(700.0, 1200.0);
                    river.push_back(snap(XY{river.back().x_m + step * std::cos(heading),
                                            river.back().y_m + step * std::sin(heading)}));
                }
                GeomPtr line = geos_.line(river);
                GeomPtr zone = geos_.own(
                    GEOSBuffer_r(geos_.ctx(), line.get(), rng.uniform(200.0, 500.0), 4), "buffer");
                GeomPtr clipped = geos_.own(
                    GEOSIntersectionPrec_r(geos_.ctx(), zone.get(), boundary_.get(), kGrid_m),
                    "intersection");
                h.area = geos_.polygons(clipped.get());
            } else {
                h.hazard_type = "landslide";
                h.name = fmt::format("{}山体滑坡隐患区", v.name);
                const double r = rng.uniform(250.0, 700.0);
                const double a = rng.uniform(0.0, 2.0 * std::numbers::pi),
                             off = rng.uniform(200.0, 600.0);
                const XY centre{v.hub.x_m + off * std::cos(a), v.hub.y_m + off * std::sin(a)};
                Polygon p;
                p.outer = star_ring(rng, centre, r, r * rng.uniform(0.5, 1.0), 20, 0.2, 1.3);
                h.area = clip_to_county(p);
            }
            if (!h.area.empty())
                county_.hazard_zones.push_back(std::move(h));
        }
    }

    GenerationConfig config_;
    Geos geos_;
    County county_;
    XY centre_;
    double a_m_ = 0.0, b_m_ = 0.0;
    Box box_;
    GeomPtr boundary_;
    PreparedPtr boundary_prepared_;
    GeomPtr boundary_line_;
    PreparedPtr boundary_line_prepared_;
    std::unique_ptr<PointGrid> seed_grid_;
    std::vector<VillageGeometry> village_geoms_;
};

} // namespace

County generate_county(const GenerationConfig &config) {
    if (config.villages < 1)
        throw std::invalid_argument("at least one village is needed");
    return Generator(config).run();
}

} // namespace qiancun::sample
