#include "qiancun/importer.hpp"

#include "field_plan.hpp"
#include "gdal_source.hpp"
#include "qiancun/check.hpp"
#include "qiancun/crs.hpp"
#include "qiancun/digest.hpp"
#include "qiancun/error.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/log.hpp"

#include <cpl_string.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <tuple>
#include <unordered_set>

#include "qiancun/i18n.hpp"

namespace qiancun::importers {

namespace {

using detail::CoordinatePipeline;
using detail::FieldPlan;
using detail::find_field;
using detail::GdalSource;
using detail::SourceRecord;

/// Errors listed in the log before giving up; the first one is thrown.
constexpr std::size_t kMaxErrorsLogged = 20;

std::string lower(std::string s) {
    for (auto &c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string list_fields(const std::vector<std::string> &fields) {
    std::string s;
    for (const auto &f : fields) {
        s += s.empty() ? "" : ", ";
        if (CPLIsUTF8(f.c_str(), static_cast<int>(f.size()))) {
            s += f;
        } else {
            // Show undecoded names as the GBK they most likely are, so the user recognises them.
            char *guess = CPLRecode(f.c_str(), "CP936", CPL_ENC_UTF8);
            s += fmt::format("{} (undecoded GBK?)", guess ? guess : "?");
            CPLFree(guess);
        }
    }
    return s.empty() ? "(none)" : s;
}

std::optional<double> parse_coordinate(const std::string &text) {
    std::string s;
    for (char c : text)
        if (c != ' ' && c != '\t')
            s += c;
    if (s.empty())
        return std::nullopt;
    // std::from_chars reads '.' as the decimal point whatever LC_NUMERIC says; it takes no '+'.
    const char *begin = s.data() + (s.size() > 1 && s[0] == '+' && s[1] != '-' ? 1 : 0);
    const char *end = s.data() + s.size();
    double v = 0.0;
    const auto [ptr, ec] = std::from_chars(begin, end, v);
    if (ec != std::errc() || ptr != end)
        return std::nullopt;
    return v;
}

std::string content_hash(const std::filesystem::path &source) {
    Sha256 h;
    std::vector<std::filesystem::path> parts{source};
    auto ext = lower(source.extension().string());
    if (ext == ".shp")
        for (const char *e : {".shx", ".dbf", ".prj", ".cpg"})
            parts.push_back(std::filesystem::path(source).replace_extension(e));
    for (const auto &p : parts)
        if (std::filesystem::is_regular_file(p))
            h.update(sha256_file(p));
    return h.hex();
}

/// Collects row errors; the first is thrown once reading is done.
struct ErrorList {
    std::string file;
    std::string layer;
    std::vector<std::pair<std::int64_t, std::string>> errors;
    void add(std::int64_t row, std::string msg) { errors.emplace_back(row, std::move(msg)); }
    void throw_if_any() const {
        if (errors.empty())
            return;
        for (std::size_t i = 0; i < errors.size() && i < kMaxErrorsLogged; ++i)
            qiancun::log(LogLevel::error, fmt::format(fmt::runtime(_("{}, row {}: {}")), file,
                                                      errors[i].first, errors[i].second));
        if (errors.size() > kMaxErrorsLogged)
            qiancun::log(LogLevel::error, fmt::format(fmt::runtime(_("{}: {} more errors")), file,
                                                      errors.size() - kMaxErrorsLogged));
        std::string problem = errors.front().second;
        if (errors.size() > 1)
            problem += fmt::format(fmt::runtime(_(" (and {} more errors; nothing was imported)")),
                                   errors.size() - 1);
        else
            problem += _(" (nothing was imported)");
        throw InputError(file, layer, errors.front().first, problem);
    }
};

} // namespace

namespace detail {

int find_field(const std::vector<std::string> &fields, const std::string &name) {
    for (std::size_t i = 0; i < fields.size(); ++i)
        if (fields[i] == name)
            return static_cast<int>(i);
    for (std::size_t i = 0; i < fields.size(); ++i)
        if (lower(fields[i]) == lower(name))
            return static_cast<int>(i);
    return -1;
}

FieldPlan plan_fields(const KindDef &kind, const GdalSource &src, const ImportOptions &opt) {
    const auto &fields = src.fields();
    const bool mojibake = std::any_of(fields.begin(), fields.end(), detail::looks_mis_decoded);
    std::string hint =
        mojibake ? _(" (the names look mis-decoded: if the source is GBK, pass --encoding GBK)")
                 : "";
    // GDAL names a column whose header cell is empty "FieldN": a merged or blank header.
    for (std::size_t i = 0; i < fields.size(); ++i)
        if (fields[i] == fmt::format("Field{}", i + 1)) {
            hint += fmt::format(
                fmt::runtime(_(" (column {} has no name in the header row: merged or blank "
                               "header cells? give every column its own name)")),
                i + 1);
            break;
        }
    FieldPlan plan;
    for (const auto &[target, source] : opt.field_map) {
        if (kind.attribute_index(target) < 0) {
            std::string attrs;
            for (const auto &a : kind.attributes)
                attrs += (attrs.empty() ? "" : ", ") + a.name;
            throw UsageError(fmt::format(
                fmt::runtime(_("--field {}={}: {} has no attribute '{}'; its attributes "
                               "are {}")),
                target, source, kind.key, target, attrs));
        }
        if (find_field(fields, source) < 0)
            throw InputError(
                src.file(), src.layer_name(), std::nullopt,
                fmt::format(fmt::runtime(_("--field {}={}: no field '{}'; fields are: {}{}")),
                            target, source, source, list_fields(fields), hint));
    }
    for (const auto &m : match_attributes(kind, fields, opt))
        plan.source_index.push_back(m.index);
    // The key may be missing: villages need their code; other kinds get "<file>:<row>".
    if (plan.source_index.front() < 0 && kind.role == KindRole::village)
        throw InputError(
            src.file(), src.layer_name(), std::nullopt,
            fmt::format(fmt::runtime(_("no field for the village code; map one with --field "
                                       "code=FIELD (fields are: {}){}")),
                        list_fields(fields), hint));

    // Events have no geometry: their rows name an asset instead.
    if (kind.geometry == GeometryKind::none)
        return plan;
    if (!opt.x_field.empty() || !opt.y_field.empty()) {
        if (opt.x_field.empty() || opt.y_field.empty())
            throw UsageError(_("--x and --y go together"));
        plan.x = find_field(fields, opt.x_field);
        plan.y = find_field(fields, opt.y_field);
        if (plan.x < 0 || plan.y < 0)
            throw InputError(
                src.file(), src.layer_name(), std::nullopt,
                fmt::format(fmt::runtime(_("no coordinate field '{}'; fields are: {}{}")),
                            plan.x < 0 ? opt.x_field : opt.y_field, list_fields(fields), hint));
    } else if (!src.has_geometry()) {
        std::tie(plan.x, plan.y) = coordinate_columns(fields, opt, false);
        if (plan.x < 0 || plan.y < 0)
            throw InputError(
                src.file(), src.layer_name(), std::nullopt,
                fmt::format(
                    fmt::runtime(_("the source has no geometry and no lon/lat columns; name "
                                   "them with --x and --y (fields are: {}){}")),
                    list_fields(fields), hint));
    }
    if (kind.role == KindRole::village) {
        plan.seat_x = kind.attribute_index("seat_x");
        plan.seat_y = kind.attribute_index("seat_y");
    }
    return plan;
}

std::vector<AttributeMatch> match_attributes(const KindDef &kind,
                                             const std::vector<std::string> &fields,
                                             const ImportOptions &opt) {
    std::vector<AttributeMatch> out;
    for (const auto &a : kind.attributes) {
        AttributeMatch m;
        if (auto it = opt.field_map.find(a.name); it != opt.field_map.end()) {
            m.index = find_field(fields, it->second);
            m.by = "option";
        } else if ((m.index = find_field(fields, a.name)) >= 0) {
            m.by = "name";
        } else if (!a.label.empty() && (m.index = find_field(fields, a.label)) >= 0) {
            m.by = "label";
        }
        if (m.index < 0)
            m.by = "";
        out.push_back(m);
    }
    return out;
}

std::pair<int, int> coordinate_columns(const std::vector<std::string> &fields,
                                       const ImportOptions &opt, bool has_geometry) {
    if (!opt.x_field.empty() || !opt.y_field.empty())
        return {opt.x_field.empty() ? -1 : find_field(fields, opt.x_field),
                opt.y_field.empty() ? -1 : find_field(fields, opt.y_field)};
    if (has_geometry)
        return {-1, -1};
    int x = -1, y = -1;
    for (const char *n : {"lon", "lng", "longitude", "x", "经度"})
        if (x < 0)
            x = find_field(fields, n);
    for (const char *n : {"lat", "latitude", "y", "纬度"})
        if (y < 0)
            y = find_field(fields, n);
    return {x, y};
}

} // namespace detail

namespace detail {

PreparedImport prepare(const Registry &registry, const ImportOptions &options,
                       const Progress &progress, std::optional<crs::Definition> working,
                       const std::optional<crs::Definition> &fixed) {
    PreparedImport out;
    out.options = options;
    out.kind = &registry.kind(options.kind);
    const KindDef &kind = *out.kind;
    if (!options.as_of.empty() && !is_iso_date(options.as_of))
        throw UsageError(fmt::format(fmt::runtime(_("as-of date '{}' is not a date YYYY-MM-DD")),
                                     options.as_of));
    for (const auto &[attr, text] : options.defaults)
        if (kind.attribute_index(attr) < 0)
            throw UsageError(fmt::format(
                fmt::runtime(_("default for '{}': {} has no such attribute")), attr, kind.key));

    GdalSource src(options);
    const FieldPlan plan = detail::plan_fields(kind, src, options);
    const bool from_columns = plan.x >= 0;
    const OGRSpatialReference *layer_srs = from_columns ? nullptr : src.layer_srs();
    // Events have no coordinates: their pipeline (any valid CRS) is never used.
    const bool events = kind.geometry == GeometryKind::none;
    CoordinatePipeline coords(src.file(), events ? std::string("EPSG:4490") : options.src_crs,
                              layer_srs);

    ErrorList errors{src.file(), src.layer_name(), {}};
    auto &report = out.report;
    report.record.kind = kind.key;
    report.record.source = options.source.string();
    report.record.layer = src.layer_name();
    report.record.content_hash = content_hash(options.source);
    report.record.effective_date = options.as_of;

    struct Pending {
        Feature feature;
        OGRGeometryUniquePtr geometry; ///< in the source CRS
        std::optional<std::pair<double, double>> seat;
        std::optional<OGREnvelope> lonlat; ///< bounding box in lon/lat; empty geometry: none
    };
    std::vector<Pending> pending;
    const std::string stem = options.source.stem().string();
    const std::int64_t total = src.feature_count();
    bool warned_mojibake = false;
    double lon_min = 1e9, lon_max = -1e9, lat_min = 1e9, lat_max = -1e9;

    SourceRecord rec;
    while (src.next(rec)) {
        ++report.record.rows_read;
        if (progress && rec.row % 1000 == 0)
            progress(rec.row, total);
        if (!rec.read_error.empty()) {
            errors.add(rec.row, fmt::format(fmt::runtime(_("GDAL cannot read the feature: {}")),
                                            rec.read_error));
            continue;
        }
        Pending p;
        p.feature.row = rec.row;
        bool row_ok = true;
        for (std::size_t i = 0; i < kind.attributes.size(); ++i) {
            const auto &attr = kind.attributes[i];
            std::string text;
            if (plan.source_index[i] >= 0)
                text = rec.fields[static_cast<std::size_t>(plan.source_index[i])];
            if (text.empty())
                if (auto it = options.defaults.find(attr.name); it != options.defaults.end())
                    text = it->second;
            if (i == 0 && text.empty() && kind.role != KindRole::village &&
                plan.source_index[0] < 0)
                text = fmt::format("{}:{}", stem, rec.row);
            if (!text.empty() && !CPLIsUTF8(text.c_str(), static_cast<int>(text.size()))) {
                errors.add(rec.row, fmt::format(fmt::runtime(_(
                                                    "{} is not valid UTF-8 text (if the source is "
                                                    "GBK, pass --encoding GBK)")),
                                                attr.name));
                row_ok = false;
                continue;
            }
            if (!warned_mojibake && detail::looks_mis_decoded(text)) {
                warned_mojibake = true;
                report.issues.push_back(
                    {ImportIssue::Severity::warning, rec.row,
                     fmt::format(
                         fmt::runtime(_("{} '{}' looks mis-decoded; if the source is GBK, pass "
                                        "--encoding GBK")),
                         attr.name, text)});
            }
            auto parsed = parse_value(attr, text);
            if (auto *problem = std::get_if<std::string>(&parsed)) {
                errors.add(rec.row, *problem);
                row_ok = false;
                p.feature.values.emplace_back();
            } else {
                p.feature.values.push_back(std::get<Value>(parsed));
            }
        }
        if (!row_ok)
            continue;
        if (events) {
            out.features.push_back(std::move(p.feature));
            continue;
        }

        if (from_columns) {
            const auto &xt = rec.fields[static_cast<std::size_t>(plan.x)];
            const auto &yt = rec.fields[static_cast<std::size_t>(plan.y)];
            auto x = parse_coordinate(xt);
            auto y = parse_coordinate(yt);
            const auto &xn = src.fields()[static_cast<std::size_t>(plan.x)];
            const auto &yn = src.fields()[static_cast<std::size_t>(plan.y)];
            if (xt.empty() || yt.empty()) {
                errors.add(rec.row,
                           fmt::format(fmt::runtime(_("{} is empty")), xt.empty() ? xn : yn));
                continue;
            }
            if (!x || !y || !std::isfinite(*x) || !std::isfinite(*y)) {
                errors.add(rec.row,
                           fmt::format(fmt::runtime(_("coordinate {} '{}' is not a number")),
                                       (!x || !std::isfinite(*x)) ? xn : yn,
                                       (!x || !std::isfinite(*x)) ? xt : yt));
                continue;
            }
            if (coords.source_is_geographic()) {
                if (std::fabs(*y) > 90.0 && std::fabs(*x) <= 90.0) {
                    errors.add(rec.row,
                               fmt::format(fmt::runtime(_("{} {} and {} {} look swapped (longitude "
                                                          "first, then latitude)")),
                                           xn, xt, yn, yt));
                    continue;
                }
                if (std::fabs(*x) > 180.0 || std::fabs(*y) > 90.0) {
                    errors.add(
                        rec.row,
                        fmt::format(fmt::runtime(_("{} {} / {} {} is not a longitude/latitude")),
                                    xn, xt, yn, yt));
                    continue;
                }
            }
            p.geometry.reset(new OGRPoint(*x, *y));
        } else {
            p.geometry = std::move(rec.geometry);
            if (!p.geometry) {
                errors.add(rec.row, _("the feature has no geometry"));
                continue;
            }
        }
        if (plan.seat_x >= 0) {
            const auto &sx = p.feature.values[static_cast<std::size_t>(plan.seat_x)];
            const auto &sy = p.feature.values[static_cast<std::size_t>(plan.seat_y)];
            const bool hx = !std::holds_alternative<std::monostate>(sx);
            const bool hy = !std::holds_alternative<std::monostate>(sy);
            if (hx != hy) {
                errors.add(rec.row, _("seat_x and seat_y must both be given or both be empty"));
                continue;
            }
            if (hx)
                p.seat = {std::get<double>(sx), std::get<double>(sy)};
        }

        // Lon/lat copy: the area-of-use check and the choice of zone.
        OGRGeometryUniquePtr ll(p.geometry->clone());
        if (!coords.to_lonlat(*ll)) {
            errors.add(rec.row,
                       fmt::format(fmt::runtime(_("coordinates cannot be transformed from {}")),
                                   coords.source_description()));
            continue;
        }
        OGREnvelope env;
        ll->getEnvelope(&env);
        if (!ll->IsEmpty()) {
            lon_min = std::min(lon_min, env.MinX);
            lon_max = std::max(lon_max, env.MaxX);
            lat_min = std::min(lat_min, env.MinY);
            lat_max = std::max(lat_max, env.MaxY);
            p.lonlat = env;
        }
        pending.push_back(std::move(p));
    }
    if (progress)
        progress(report.record.rows_read, report.record.rows_read);
    if (const auto m = src.utf8_declared_gbk())
        // First: the other errors of such a file are consequences of this one.
        errors.errors.insert(
            errors.errors.begin(),
            {m->row, fmt::format(fmt::runtime(_("{} '{}' is UTF-8 text, but --encoding {} was "
                                                "given: drop --encoding")),
                                 m->field, m->text, options.encoding)});
    errors.throw_if_any();
    if (events) {
        if (out.features.empty())
            throw InputError(src.file(), src.layer_name(), std::nullopt,
                             _("the source has no rows"));
        for (const auto &issue : report.issues)
            qiancun::log(LogLevel::warning,
                         fmt::format("{}, row {}: {}", src.file(), issue.row, issue.message));
        return out;
    }
    if (pending.empty())
        throw InputError(src.file(), src.layer_name(), std::nullopt,
                         _("the source has no features"));

    if (lon_min <= lon_max)
        out.data_lon = (lon_min + lon_max) / 2.0;
    const bool fixes_crs = !fixed && !registry.working_srid().has_value();
    if (fixed)
        working = fixed;
    else if (!fixes_crs)
        working = registry.working_crs();
    else if (working)
        crs::check_working(*working, out.data_lon);
    else if (out.data_lon)
        working = crs::from_epsg(crs::gauss_kruger_3deg_epsg(*out.data_lon));
    if (!working)
        throw InputError(src.file(), src.layer_name(), std::nullopt,
                         _("every geometry is empty; cannot choose a working CRS"));
    if (fixes_crs)
        out.chosen_crs = working;
    const auto area = crs::area_of_use(*working);
    const crs::ScaleGauge gauge(*working);
    coords.set_working(*working);
    const std::string crs_text = working->describe();
    // Said once per source, after the refusals: data that fit the scale bound although they
    // lie beyond the nominal area of use of an EPSG CRS.
    std::int64_t beyond_area = 0;
    double beyond_worst = 0.0;
    const auto scale_problem = [&](double lon, double lat, double error) {
        std::string hint;
        if (fixes_crs)
            hint = fmt::format(
                fmt::runtime(_("; the data span {:.2f}-{:.2f}E: create the registry with a "
                               "transverse Mercator centred on them, e.g. qiancun init --crs "
                               "'+proj=tmerc +lon_0={:.1f} +k=1 +x_0=500000 +ellps=GRS80 "
                               "+units=m'")),
                lon_min, lon_max, std::round((lon_min + lon_max) * 5.0) / 10.0);
        return fmt::format(
            fmt::runtime(_("coordinates ({:.6f}, {:.6f}) lie where the working CRS {} has a "
                           "scale error of {:.3f} %, above the {} % that planar metrics allow "
                           "(SPEC §8){}")),
            lon, lat, crs_text, error * 100.0, crs::kMaxScaleError * 100.0, hint);
    };
    // The largest scale error over a bounding box in lon/lat, from its corners (one for a
    // point): over a feature's extent the scale error of the transverse Mercator and conic
    // projections is monotonic in longitude offset and latitude, so its maximum lies at a
    // corner. Returns the error and where.
    const auto worst_corner = [&](const OGREnvelope &e) {
        std::array<std::pair<double, double>, 4> corners{
            std::pair{e.MinX, e.MinY}, std::pair{e.MaxX, e.MinY}, std::pair{e.MinX, e.MaxY},
            std::pair{e.MaxX, e.MaxY}};
        const std::size_t n = (e.MinX == e.MaxX && e.MinY == e.MaxY) ? 1 : corners.size();
        std::tuple<double, double, double> worst{-1.0, e.MinX, e.MinY};
        for (std::size_t i = 0; i < n; ++i) {
            const double err = gauge.at(corners[i].first, corners[i].second);
            if (err > std::get<0>(worst))
                worst = {err, corners[i].first, corners[i].second};
        }
        return worst;
    };

    for (auto &p : pending) {
        if (p.lonlat) {
            const auto [error, lon, lat] = worst_corner(*p.lonlat);
            if (!(error <= crs::kMaxScaleError)) {
                errors.add(p.feature.row, scale_problem(lon, lat, error));
                continue;
            }
            if (area && !(area->contains(p.lonlat->MinX, p.lonlat->MinY) &&
                          area->contains(p.lonlat->MaxX, p.lonlat->MaxY))) {
                ++beyond_area;
                beyond_worst = std::max(beyond_worst, error);
            }
        }
        if (!coords.to_working(*p.geometry)) {
            errors.add(p.feature.row, _("coordinates cannot be transformed to the working CRS"));
            continue;
        }
        if (p.seat) {
            OGRPoint seat(p.seat->first, p.seat->second);
            OGRPoint seat_ll(seat);
            if (!coords.to_lonlat(seat_ll) || !coords.to_working(seat)) {
                errors.add(
                    p.feature.row,
                    fmt::format(
                        fmt::runtime(_("seat ({}, {}) cannot be transformed to the working CRS")),
                        p.seat->first, p.seat->second));
                continue;
            }
            if (const double error = gauge.at(seat_ll.getX(), seat_ll.getY());
                !(error <= crs::kMaxScaleError)) {
                errors.add(p.feature.row,
                           "seat: " + scale_problem(seat_ll.getX(), seat_ll.getY(), error));
                continue;
            }
            p.feature.values[static_cast<std::size_t>(plan.seat_x)] = seat.getX();
            p.feature.values[static_cast<std::size_t>(plan.seat_y)] = seat.getY();
        }
        std::string wkb(static_cast<std::size_t>(p.geometry->WkbSize()), '\0');
        p.geometry->exportToWkb(wkbNDR, reinterpret_cast<unsigned char *>(wkb.data()),
                                wkbVariantIso);
        auto checked =
            geometry::check(wkb, kind.geometry, options.policy == GeometryPolicy::repair);
        if (!checked.problem.empty()) {
            errors.add(p.feature.row, checked.problem);
            continue;
        }
        if (!checked.repair.empty()) {
            ++report.record.repaired;
            report.issues.push_back(
                {ImportIssue::Severity::repaired, p.feature.row, checked.repair});
        }
        p.feature.wkb = std::move(checked.wkb);
        out.features.push_back(std::move(p.feature));
    }
    errors.throw_if_any();
    if (beyond_area > 0)
        report.issues.push_back(
            {ImportIssue::Severity::warning, 0,
             fmt::format(
                 fmt::runtime(P_("{} feature lies beyond the area of use of the working CRS {} "
                                 "({:.1f}-{:.1f}E, {:.1f}-{:.1f}N), with a scale error of at most "
                                 "{:.3f} % there (bound {} %): accepted",
                                 "{} features lie beyond the area of use of the working CRS {} "
                                 "({:.1f}-{:.1f}E, {:.1f}-{:.1f}N), with a scale error of at most "
                                 "{:.3f} % there (bound {} %): accepted",
                                 static_cast<unsigned long>(beyond_area))),
                 beyond_area, crs_text, area->west_lon, area->east_lon, area->south_lat,
                 area->north_lat, beyond_worst * 100.0, crs::kMaxScaleError * 100.0)});
    for (const auto &issue : report.issues)
        qiancun::log(
            issue.severity == ImportIssue::Severity::warning ? LogLevel::warning : LogLevel::info,
            issue.row > 0 ? fmt::format("{}, row {}: {}", src.file(), issue.row, issue.message)
                          : fmt::format("{}: {}", src.file(), issue.message));
    return out;
}

} // namespace detail

PreparedImport prepare_import(const Registry &registry, const ImportOptions &options,
                              const Progress &progress, std::optional<crs::Definition> working) {
    return detail::prepare(registry, options, progress, std::move(working), std::nullopt);
}

namespace {

/// Refuses the events whose asset_id names no asset of their kind in the registry (as it stands
/// in this transaction, so assets loaded just before count): every such row is logged, the first
/// thrown, naming the source and the row.
void check_event_assets(const Registry &registry, const PreparedImport &prepared) {
    const KindDef &kind = *prepared.kind;
    const int at = kind.attribute_index("asset_id");
    if (at < 0)
        return;
    std::unordered_set<std::string> ids;
    if (registry.has_table(kind.asset_kind))
        registry.scan({.table = kind.asset_kind, .columns = {"id"}},
                      [&](const ScanRow &r) { ids.insert(r.text(0)); });
    ErrorList errors{prepared.report.record.source, prepared.report.record.layer, {}};
    const std::string assets = message_name(registry.kind(kind.asset_kind));
    for (const auto &f : prepared.features) {
        const std::string id = value_to_text(f.values[static_cast<std::size_t>(at)]);
        if (!ids.count(id))
            errors.add(f.row, fmt::format(fmt::runtime(_("asset_id '{}' is no {} of the registry: "
                                                         "import the {} first, or correct the id")),
                                          id, assets, assets));
    }
    errors.throw_if_any();
}

} // namespace

void commit_import(Registry &registry, PreparedImport &prepared) {
    if (prepared.kind->is_event())
        check_event_assets(registry, prepared);
    if (!registry.working_srid() && prepared.chosen_crs)
        registry.set_working_crs(*prepared.chosen_crs, prepared.data_lon);
    registry.write(*prepared.kind, prepared.features,
                   prepared.options.replace  ? WriteMode::replace
                   : prepared.options.update ? WriteMode::update_any
                                             : WriteMode::upsert,
                   prepared.report.record);
}

std::set<std::string> feature_keys(const std::vector<Feature> &features) {
    std::set<std::string> keys;
    for (const auto &f : features)
        if (!f.values.empty())
            keys.insert(value_to_text(f.values.front()));
    return keys;
}

void hint_likely_duplicates(const Registry &registry, std::string_view kind,
                            const std::set<std::string> &keys) {
    std::set<std::string> involved;
    std::vector<std::string> pairs;
    for (const auto &p : likely_duplicates(registry, kind)) {
        if (!keys.count(p.id_a) && !keys.count(p.id_b))
            continue;
        involved.insert(p.id_a);
        involved.insert(p.id_b);
        pairs.push_back(
            fmt::format(fmt::runtime(_("{} and {} {:.1f} m apart")), p.id_a, p.id_b, p.distance_m));
    }
    if (pairs.empty())
        return;
    constexpr std::size_t kShown = 3;
    const std::size_t more = pairs.size() > kShown ? pairs.size() - kShown : 0;
    pairs.resize(std::min(pairs.size(), kShown));
    // The section of `qiancun check` that lists them, as that report names it.
    const auto &defs = check_defs();
    const auto check = std::find_if(defs.begin(), defs.end(),
                                    [](const CheckDef &d) { return d.key == "duplicate_asset"; });
    qiancun::log(
        LogLevel::warning,
        fmt::format(
            fmt::runtime(_("{} likely duplicate {} rows (same or near-same name within 50 m: "
                           "{}{}), see `qiancun check {}` ({})")),
            involved.size(), message_name(registry.kind(kind)), fmt::join(pairs, _("; ")),
            more ? fmt::format(fmt::runtime(_("; {} more")), more) : std::string(),
            registry.display(), message_name(check->key, check->label_zh)));
}

ImportReport import_file(Registry &registry, const ImportOptions &options,
                         const Progress &progress) {
    // A manifest's village attributes first, in the import's transaction: the villages are
    // read with their columns, and a failed import leaves the registry without them.
    std::optional<Registry::Transaction> early;
    if (!options.village_attributes.empty()) {
        early.emplace(registry);
        registry.add_village_attributes(options.village_attributes);
    }
    auto prepared = prepare_import(registry, options, progress);
    std::optional<Registry::Transaction> late;
    if (!early)
        late.emplace(registry);
    commit_import(registry, prepared);
    // New villages move every link; anything else only needs its own rows linked.
    registry.link_villages(prepared.kind->role == KindRole::village ? std::string_view{}
                                                                    : prepared.kind->key);
    (early ? *early : *late).commit();
    if (prepared.kind->is_asset())
        hint_likely_duplicates(registry, prepared.kind->key, feature_keys(prepared.features));
    return prepared.report;
}

} // namespace qiancun::importers
