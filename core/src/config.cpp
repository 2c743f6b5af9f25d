#include "qiancun/config.hpp"

#include "qiancun/error.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "qiancun/i18n.hpp"

namespace qiancun {

namespace {

/// Largest radius or distance a configuration may give, metres: 1,000 km, beyond any county or
/// province, and far below where a distance stops being exact or fitting an integer.
constexpr double kMaxDistanceM = 1e6;
/// Radius used for a configured asset type that defines no `default_radius_m`, metres.
constexpr double kFallbackRadiusM = 1000.0;
constexpr double kDefaultThreshold = 0.9;
/// SPEC §3: discs need at least 8 segments per quarter circle.
constexpr int kMinQuadrantSegments = 8;
/// Far more than any disc needs; guards against a typo costing minutes of buffering.
constexpr int kMaxQuadrantSegments = 1024;

std::optional<double> parse_number(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    double v = 0.0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v))
        return std::nullopt;
    return v;
}

/// A double as TOML writes it: always with a fraction or exponent, shortest round-trip.
std::string toml_number(double v) {
    std::string s = fmt::format("{}", v);
    if (s.find_first_of(".eEn") == std::string::npos)
        s += ".0";
    return s;
}

/// A TOML basic string with the escapes TOML requires.
std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20)
                out += fmt::format("\\u{:04X}", static_cast<unsigned>(c));
            else
                out += c;
        }
    }
    return out + "\"";
}

/// Text of a comment line: line breaks would end the comment.
std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    std::replace(s.begin(), s.end(), '\r', ' ');
    return s;
}

/// Reads one TOML document into a MetricsConfig, naming the file and line of every problem.
class TomlReader {
public:
    explicit TomlReader(std::string_view origin) : m_origin(origin) {}

    [[noreturn]] void fail(const toml::node &where, const std::string &problem) const {
        const auto line = where.source().begin.line;
        throw InputError(m_origin, "", std::nullopt,
                         line > 0 ? fmt::format(fmt::runtime(_("line {}: {}")), line, problem)
                                  : problem);
    }

    double number(const toml::node &node, const std::string &name) const {
        if (auto v = node.value<double>(); v && (node.is_integer() || node.is_floating_point()))
            return *v;
        fail(node, fmt::format(fmt::runtime(_("{} must be a number")), name));
    }

    double positive(const toml::node &node, const std::string &name) const {
        const double v = number(node, name);
        if (!(v > 0.0) || !std::isfinite(v))
            fail(node,
                 fmt::format(fmt::runtime(_("{} must be a positive number of metres, not {}")),
                             name, v));
        if (v > kMaxDistanceM)
            fail(node, fmt::format(fmt::runtime(_("{} = {} is out of range: at most {:g} m")), name,
                                   v, kMaxDistanceM));
        return v;
    }

    double positive_of(const toml::node &node, const std::string &name,
                       std::string_view unit) const {
        const double v = number(node, name);
        if (!(v > 0.0) || !std::isfinite(v))
            fail(node,
                 unit.empty()
                     ? fmt::format(fmt::runtime(_("{} must be a positive number, not {}")), name, v)
                     : fmt::format(fmt::runtime(_("{} must be a positive number of {}, not {}")),
                                   name, unit, v));
        return v;
    }

    double non_negative(const toml::node &node, const std::string &name) const {
        const double v = number(node, name);
        if (!(v >= 0.0) || !std::isfinite(v))
            fail(node, fmt::format(fmt::runtime(
                                       _("{} must be zero or a positive number of metres, not {}")),
                                   name, v));
        if (v > kMaxDistanceM)
            fail(node, fmt::format(fmt::runtime(_("{} = {} is out of range: at most {:g} m")), name,
                                   v, kMaxDistanceM));
        return v;
    }

    const toml::table &table(const toml::node &node, const std::string &name) const {
        if (const auto *t = node.as_table())
            return *t;
        fail(node, fmt::format(fmt::runtime(_("{} must be a table")), name));
    }

    void read(const toml::table &doc, MetricsConfig &config) const {
        for (const auto &[key, node] : doc) {
            const std::string k(key.str());
            if (k == "quadrant_segments")
                read_quadrant_segments(node, config);
            else if (k == "serving_statuses")
                read_statuses(node, config);
            else if (k == "network")
                read_network(table(node, k), config);
            else if (k == "types")
                read_types(table(node, k), config);
            else
                fail(node, fmt::format(fmt::runtime(_(
                                           "unknown key '{}'; expected quadrant_segments, "
                                           "serving_statuses, [network] or [types.<asset type>]")),
                                       k));
        }
    }

private:
    void read_quadrant_segments(const toml::node &node, MetricsConfig &config) const {
        const auto v = node.value_exact<std::int64_t>();
        if (!v)
            fail(node, _("quadrant_segments must be an integer"));
        if (*v < kMinQuadrantSegments || *v > kMaxQuadrantSegments)
            fail(node, fmt::format(fmt::runtime(
                                       _("quadrant_segments must be between {} and {} (SPEC §3: at "
                                         "least 8 segments per quarter circle), not {}")),
                                   kMinQuadrantSegments, kMaxQuadrantSegments, *v));
        config.quadrant_segments = static_cast<int>(*v);
    }

    void read_statuses(const toml::node &node, MetricsConfig &config) const {
        const auto *array = node.as_array();
        if (!array)
            fail(node, _("serving_statuses must be an array of statuses"));
        std::vector<std::string> statuses;
        for (const auto &item : *array) {
            const auto s = item.value_exact<std::string>();
            const auto &known = asset_statuses();
            if (!s || std::find(known.begin(), known.end(), *s) == known.end())
                fail(item,
                     fmt::format(
                         fmt::runtime(_("serving_statuses: '{}' is not one of planned, building, "
                                        "operating, renovating, closed")),
                         s.value_or("?")));
            if (std::find(statuses.begin(), statuses.end(), *s) == statuses.end())
                statuses.push_back(*s);
        }
        config.serving_statuses = std::move(statuses);
    }

    void read_network(const toml::table &network, MetricsConfig &config) const {
        for (const auto &[key, node] : network) {
            const std::string k(key.str());
            if (k == "snap_tolerance_m")
                config.snap_tolerance_m = non_negative(node, "network.snap_tolerance_m");
            else if (k == "offroad_cap_m")
                config.offroad_cap_m = non_negative(node, "network.offroad_cap_m");
            else if (k == "offroad_speed_kmh")
                config.offroad_speed_kmh = positive_of(node, "network.offroad_speed_kmh", "km/h");
            else if (k == "speed_kmh")
                read_known_keys(table(node, "network.speed_kmh"), "network.speed_kmh", "km/h",
                                config.grade_speed_kmh);
            else if (k == "surface_factor")
                read_known_keys(table(node, "network.surface_factor"), "network.surface_factor", "",
                                config.surface_factor);
            else
                fail(node,
                     fmt::format(
                         fmt::runtime(_("unknown key 'network.{}'; expected snap_tolerance_m, "
                                        "offroad_cap_m, offroad_speed_kmh, [network.speed_kmh] or "
                                        "[network.surface_factor]")),
                         k));
        }
    }

    /// Positive numbers for keys that `values` already has (road grades, surfaces).
    void read_known_keys(const toml::table &t, const std::string &name, std::string_view unit,
                         std::map<std::string, double> &values) const {
        for (const auto &[key, node] : t) {
            const std::string k(key.str());
            auto it = values.find(k);
            if (it == values.end()) {
                std::string known;
                for (const auto &[v, _] : values)
                    known += (known.empty() ? "" : ", ") + v;
                fail(node, fmt::format(fmt::runtime(_("unknown key '{}.{}'; expected {}")), name, k,
                                       known));
            }
            it->second = positive_of(node, name + "." + k, unit);
        }
    }

    void read_types(const toml::table &types, MetricsConfig &config) const {
        for (const auto &[key, node] : types) {
            const std::string type(key.str());
            auto it = config.types.find(type);
            if (it == config.types.end()) {
                std::string known;
                for (const auto &[k, _] : config.types)
                    known += (known.empty() ? "" : ", ") + k;
                fail(node, fmt::format(fmt::runtime(_("unknown asset type '{}'; known types: {}")),
                                       type, known));
            }
            read_type(type, table(node, "types." + type), it->second);
        }
    }

    void read_type(const std::string &type, const toml::table &t, TypeConfig &tc) const {
        const std::string prefix = "types." + type + ".";
        std::optional<double> radius;
        for (const auto &[key, node] : t) {
            const std::string k(key.str());
            if (k == "radius_m") {
                radius = positive(node, prefix + k);
            } else if (k == "radius_basis") {
                const auto s = node.value_exact<std::string>();
                if (!s)
                    fail(node, fmt::format(fmt::runtime(_("{}{} must be a string")), prefix, k));
                tc.radius_basis = *s;
            } else if (k == "gap_threshold") {
                const double v = number(node, prefix + k);
                if (!(v >= 0.0 && v <= 1.0))
                    fail(node, fmt::format(fmt::runtime(_("{}{} must be between 0 and 1, not {}")),
                                           prefix, k, v));
                tc.gap_threshold = v;
            } else if (k == "band_radius_m") {
                std::map<std::string, double> bands;
                for (const auto &[band, r] : table(node, prefix + k)) {
                    const std::string b(band.str());
                    if (!parse_number(b))
                        fail(r,
                             fmt::format(fmt::runtime(_("{}{}: band '{}' must be a number of MHz")),
                                         prefix, k, b));
                    bands[b] = positive(r, fmt::format("{}{}.{}", prefix, k, b));
                }
                tc.band_radius_m = std::move(bands);
            } else {
                fail(node, fmt::format(fmt::runtime(
                                           _("unknown key '{}{}'; expected radius_m, radius_basis, "
                                             "gap_threshold or band_radius_m")),
                                       prefix, k));
            }
        }
        if (radius)
            tc.radius_m = *radius;
    }

    std::string m_origin;
};

} // namespace

MetricsConfig MetricsConfig::defaults(const std::vector<KindDef> &kinds) {
    MetricsConfig config;
    for (const auto &k : kinds) {
        if (!k.is_asset())
            continue;
        TypeConfig tc;
        if (k.default_radius_m) {
            tc.radius_m = *k.default_radius_m;
            tc.radius_basis = k.radius_basis;
        } else {
            tc.radius_m = kFallbackRadiusM;
            tc.radius_basis = "stated assumption: 1000 m where the asset type defines no radius";
        }
        tc.gap_threshold = k.gap_threshold.value_or(kDefaultThreshold);
        if (k.key == "base_station_5g")
            tc.band_radius_m["700"] = 5000.0;
        config.types.emplace(k.key, std::move(tc));
    }
    return config;
}

MetricsConfig MetricsConfig::from_toml(std::string_view text, std::string_view origin,
                                       const std::vector<KindDef> &kinds) {
    MetricsConfig config = defaults(kinds);
    toml::table doc;
    try {
        doc = toml::parse(text, origin);
    } catch (const toml::parse_error &e) {
        throw InputError(std::string(origin), "", std::nullopt,
                         fmt::format(fmt::runtime(_("line {}, column {}: {}")),
                                     e.source().begin.line, e.source().begin.column,
                                     e.description()));
    }
    TomlReader(origin).read(doc, config);
    return config;
}

std::string MetricsConfig::to_toml() const {
    std::string out;
    out += "# Qiancun analysis configuration (SPEC §3): service radii, gap thresholds, disc\n"
           "# quality and road-network settings. Copy this file, edit it and pass it with\n"
           "# `qiancun metrics --config FILE`; any value left out keeps its default.\n"
           "# Lengths are metres in the working CRS, speeds km/h; thresholds are ratios in\n"
           "# [0, 1].\n\n";
    out +=
        "# Segments per quarter circle of the disc and corridor polygons drawn in gap layers and\n"
        "# service areas (SPEC §3: at least 8). The coverage ratios use exact circles.\n";
    out += fmt::format("quadrant_segments = {}\n", quadrant_segments);
    out += "# Asset statuses that count as serving.\n";
    std::string statuses;
    for (const auto &s : serving_statuses)
        statuses += (statuses.empty() ? "" : ", ") + toml_string(s);
    out += fmt::format("serving_statuses = [{}]\n\n", statuses);

    out += "[network]\n"
           "# Road vertices closer than this are joined into one graph node (metres).\n";
    out += fmt::format("snap_tolerance_m = {}\n", toml_number(snap_tolerance_m));
    out += "# Longest straight leg between a point and its nearest road that still reaches the\n"
           "# network (metres); a leg equal to the cap still reaches.\n";
    out += fmt::format("offroad_cap_m = {}\n", toml_number(offroad_cap_m));
    out += "# Travel time, for service areas and routes by time only (`service-area --minutes`,\n"
           "# `route --cost time`); the metrics stay distances. Walking speed on the off-road\n"
           "# legs (km/h). Planning assumption: an unhurried walking pace. The cap above stays in\n"
           "# metres.\n";
    out += fmt::format("offroad_speed_kmh = {}\n", toml_number(offroad_speed_kmh));
    out +=
        "\n[network.speed_kmh]\n"
        "# Travel speed by road grade (km/h); a road without a grade uses `village`. Planning\n"
        "# assumptions, not measured speeds: JTG B01-2014 (公路工程技术标准) sets design speeds\n"
        "# of 80 or 60 km/h for class-2 roads, 40 or 30 for class 3 and 30 or 20 for class 4.\n"
        "# A grade (county, township, village road) is not a technical class; these defaults\n"
        "# take county roads at 60 (class 2, lower speed), township roads at 40 (class 3) and\n"
        "# village roads at 30 (class 3, lower speed, or class 4).\n";
    for (const auto &[grade, v] : grade_speed_kmh)
        out += fmt::format("{} = {}\n", grade, toml_number(v));
    out += "\n[network.surface_factor]\n"
           "# Factor on the speed of the grade by road surface; a road without a surface keeps\n"
           "# its grade's speed (factor 1). Planning assumption, no standard: a gravel road is\n"
           "# driven at 0.6 and an earth road at 0.4 of the speed of a hardened one.\n";
    for (const auto &[surface, v] : surface_factor)
        out += fmt::format("{} = {}\n", surface, toml_number(v));

    for (const auto &[key, tc] : types) {
        out += fmt::format("\n[types.{}]\n", key);
        if (!tc.radius_basis.empty())
            out += fmt::format("# basis: {}\n", one_line(tc.radius_basis));
        if (key == "rural_road")
            out += "# radius_m: width of the access corridor on each side of a road (metres)\n";
        else
            out += "# radius_m: service radius of an asset without its own service_radius_m "
                   "(metres)\n";
        out += fmt::format("radius_m = {}\n", toml_number(tc.radius_m));
        out += "# radius_basis: where radius_m comes from; change it with the radius\n";
        out += fmt::format("radius_basis = {}\n", toml_string(tc.radius_basis));
        out += "# gap_threshold: a village whose coverage is below this has a gap\n";
        out += fmt::format("gap_threshold = {}\n", toml_number(tc.gap_threshold));
        if (!tc.band_radius_m.empty()) {
            out += fmt::format("\n[types.{}.band_radius_m]\n", key);
            out += "# radius by band in MHz (matched as a number), used before radius_m\n";
            for (const auto &[band, r] : tc.band_radius_m)
                out += fmt::format("{} = {}\n", toml_string(band), toml_number(r));
        }
    }
    return out;
}

double MetricsConfig::radius_for(const std::string &type, std::optional<double> own_radius_m,
                                 const std::string &band) const {
    if (own_radius_m && *own_radius_m > 0.0 && std::isfinite(*own_radius_m))
        return *own_radius_m;
    const auto it = types.find(type);
    if (it == types.end())
        throw UsageError(
            fmt::format(fmt::runtime(_("no configuration for asset type '{}'")), type));
    const TypeConfig &tc = it->second;
    if (!band.empty() && !tc.band_radius_m.empty()) {
        const auto wanted = parse_number(band);
        for (const auto &[b, r] : tc.band_radius_m) {
            const auto have = parse_number(b);
            if (wanted && have ? *wanted == *have : b == band)
                return r;
        }
    }
    return tc.radius_m;
}

double MetricsConfig::road_speed_kmh(const std::string &grade, const std::string &surface) const {
    const auto speed = grade_speed_kmh.find(grade.empty() ? std::string("village") : grade);
    if (speed == grade_speed_kmh.end())
        return 0.0;
    if (surface.empty())
        return speed->second;
    const auto factor = surface_factor.find(surface);
    return factor == surface_factor.end() ? 0.0 : speed->second * factor->second;
}

bool MetricsConfig::serves(const std::string &status) const {
    return std::find(serving_statuses.begin(), serving_statuses.end(), status) !=
           serving_statuses.end();
}

} // namespace qiancun
