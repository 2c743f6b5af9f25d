#include "qiancun/config.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/importer.hpp"
#include "qiancun/network.hpp"

#include "testing/testing.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <random>

namespace qiancun {
namespace {

using network::Attachment;
using network::Source;
using network::XY;
using testing::TempDir;

/// Both sides add the same lengths along the same path; only ties may differ in order.
constexpr double kSameDistanceTolM = 1e-6;
constexpr std::size_t kSettlements = 200;

std::size_t column(const Rows &rows, const std::string &name) {
    const auto it = std::find(rows.columns.begin(), rows.columns.end(), name);
    if (it == rows.columns.end())
        throw std::logic_error("no column " + name);
    return static_cast<std::size_t>(it - rows.columns.begin());
}

std::optional<double> number(const Value &v) {
    if (const auto *d = std::get_if<double>(&v))
        return *d;
    if (const auto *i = std::get_if<std::int64_t>(&v))
        return static_cast<double>(*i);
    return std::nullopt;
}

XY point_of(const std::string &wkt) {
    XY p;
    if (std::sscanf(wkt.c_str(), "POINT (%lf %lf)", &p.x, &p.y) != 2 &&
        std::sscanf(wkt.c_str(), "POINT(%lf %lf)", &p.x, &p.y) != 2)
        throw std::logic_error("not a point: " + wkt);
    return p;
}

/// The multi-source search (one Dijkstra from every serving asset of a type) gives, for 200
/// random settlements of the sample county, the same nearest distance and the same coverage
/// as the minimum over one single-source Dijkstra per asset.
TEST(NetworkCrossCheck, MultiSourceEqualsMinimumOverSingleSourceSearches) {
    TempDir dir;
    auto reg = Registry::create(dir / "county.sqlite", std::nullopt);
    importers::load_manifest(reg,
                             importers::read_manifest(testing::sample_maps_dir() / "county.toml"));
    const auto config = MetricsConfig::defaults(reg.kinds());
    const auto graph = build_road_graph(reg, config);
    ASSERT_GT(graph.edge_count(), 100u);

    ListFilter with_wkt;
    with_wkt.with_wkt = true;
    const Rows settlements = reg.list("settlement", with_wkt);
    ASSERT_GE(settlements.rows.size(), kSettlements);
    std::mt19937 rng(20240611);
    std::vector<std::size_t> picked(settlements.rows.size());
    for (std::size_t i = 0; i < picked.size(); ++i)
        picked[i] = i;
    std::shuffle(picked.begin(), picked.end(), rng);
    picked.resize(kSettlements);
    std::vector<std::optional<Attachment>> targets;
    const std::size_t wkt_col = column(settlements, "wkt");
    for (const std::size_t i : picked)
        targets.push_back(
            graph.attach(point_of(std::get<std::string>(settlements.rows[i][wkt_col]))));

    std::size_t compared = 0;
    std::size_t reached = 0;
    std::size_t covered = 0;
    for (const auto &kind : reg.kinds()) {
        if (!kind.is_asset() || kind.geometry == GeometryKind::line)
            continue;
        const Rows assets = reg.list(kind.key, with_wkt);
        std::vector<Source> nearest_sources;
        std::vector<Source> cover_sources;
        std::vector<std::vector<Source>> per_asset; // a footprint crossed by roads: several
        const std::size_t status = column(assets, "status");
        const std::size_t own = column(assets, "service_radius_m");
        const int band = kind.attribute_index("band");
        const std::size_t wkt = column(assets, "wkt");
        for (const auto &row : assets.rows) {
            const auto *s = std::get_if<std::string>(&row[status]);
            if (!s || !config.serves(*s))
                continue;
            const auto ats =
                graph.attach_footprint_all(geometry::wkb_from_wkt(std::get<std::string>(row[wkt])));
            ASSERT_FALSE(ats.empty());
            const double r = config.radius_for(
                kind.key, number(row[own]),
                band >= 0 ? value_to_text(row[column(assets, "band")]) : std::string());
            per_asset.emplace_back();
            for (const Attachment &at : ats) {
                nearest_sources.push_back({at, 0.0});
                cover_sources.push_back({at, r});
                per_asset.back().push_back({at, 0.0});
            }
            per_asset.back().front().radius_m = r; // carried for the check below
        }
        if (nearest_sources.empty())
            continue;

        const auto nearest = graph.search(nearest_sources);
        const auto cover = graph.search(cover_sources, 0.0);
        std::vector<double> best(targets.size(), std::numeric_limits<double>::infinity());
        std::vector<bool> any(targets.size(), false);
        for (auto sources : per_asset) {
            const double radius = sources.front().radius_m;
            sources.front().radius_m = 0.0;
            const auto single = graph.search(sources);
            for (std::size_t t = 0; t < targets.size(); ++t) {
                if (!targets[t])
                    continue;
                if (const auto r = single.reach(*targets[t])) {
                    best[t] = std::min(best[t], r->distance_m);
                    any[t] = any[t] || r->distance_m <= radius;
                }
            }
        }
        for (std::size_t t = 0; t < targets.size(); ++t) {
            const auto multi = targets[t] ? nearest.reach(*targets[t]) : std::nullopt;
            if (best[t] == std::numeric_limits<double>::infinity()) {
                EXPECT_FALSE(multi) << kind.key << " settlement #" << picked[t];
            } else {
                ASSERT_TRUE(multi) << kind.key << " settlement #" << picked[t];
                EXPECT_NEAR(multi->distance_m, best[t], kSameDistanceTolM)
                    << kind.key << " settlement #" << picked[t];
                ++reached;
            }
            const bool multi_covered = targets[t] && cover.reach(*targets[t]).has_value();
            EXPECT_EQ(multi_covered, any[t]) << kind.key << " settlement #" << picked[t];
            covered += any[t] ? 1 : 0;
            ++compared;
        }
    }
    // The check means something: several types, most settlements reached, some covered and
    // some not.
    EXPECT_GE(compared, 3 * kSettlements);
    EXPECT_GT(reached, compared / 2);
    EXPECT_GT(covered, 0u);
    EXPECT_LT(covered, compared);
}

} // namespace
} // namespace qiancun
