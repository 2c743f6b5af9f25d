#include "qiancun/inspect.hpp"

#include "archive.hpp"
#include "field_plan.hpp"
#include "gdal_source.hpp"
#include "qiancun/error.hpp"

#include <cpl_string.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "qiancun/i18n.hpp"

namespace qiancun::importers {

namespace {

using detail::CoordinatePipeline;
using detail::GdalSource;
using detail::SourceRecord;

std::string lower(std::string s) {
    for (auto &c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string upper(std::string s) {
    for (auto &c : s)
        if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
    return s;
}

/// How a reader that assumes no encoding shows bytes: each byte as a Latin-1 character.
std::string as_latin1(const std::string &bytes) {
    char *out = CPLRecode(bytes.c_str(), CPL_ENC_ISO8859_1, CPL_ENC_UTF8);
    std::string s = out ? out : "";
    CPLFree(out);
    return s;
}

std::optional<double> number(const std::string &text) {
    std::string s;
    for (char c : text)
        if (c != ' ' && c != '\t')
            s += c;
    if (s.empty())
        return std::nullopt;
    char *end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || !std::isfinite(v))
        return std::nullopt;
    return v;
}

struct Box {
    double minx = HUGE_VAL, miny = HUGE_VAL, maxx = -HUGE_VAL, maxy = -HUGE_VAL;
    void add(const OGREnvelope &e) {
        minx = std::min(minx, e.MinX);
        miny = std::min(miny, e.MinY);
        maxx = std::max(maxx, e.MaxX);
        maxy = std::max(maxy, e.MaxY);
    }
    bool empty() const { return minx > maxx; }
    std::array<double, 4> array() const { return {minx, miny, maxx, maxy}; }
    bool within(double x0, double x1, double y0, double y1) const {
        return !empty() && minx >= x0 && maxx <= x1 && miny >= y0 && maxy <= y1;
    }
};

/// One pass over a layer: names, samples, whether any text looks mis-decoded, coordinates.
struct Scan {
    std::vector<std::string> names;
    std::vector<std::vector<std::string>> samples;
    bool mis_decoded = false;
    bool ascii = true;
    std::int64_t features = 0;
    Box raw;
    Box lonlat;
};

bool is_ascii(const std::string &s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

/// Text fit to print: as read when it is UTF-8, else its bytes as Latin-1 characters.
std::string printable(const std::string &text) {
    return CPLIsUTF8(text.c_str(), static_cast<int>(text.size())) ? text : as_latin1(text);
}

Scan scan(GdalSource &src, int x, int y, const CoordinatePipeline *pipeline,
          std::size_t max_samples) {
    Scan s;
    s.names = src.fields();
    s.samples.resize(s.names.size());
    for (auto &n : s.names) {
        s.mis_decoded = s.mis_decoded || detail::looks_mis_decoded(n);
        s.ascii = s.ascii && is_ascii(n);
        n = printable(n);
    }
    SourceRecord rec;
    while (src.next(rec)) {
        ++s.features;
        for (std::size_t i = 0; i < rec.fields.size(); ++i) {
            const auto &t = rec.fields[i];
            if (t.empty())
                continue;
            s.ascii = s.ascii && is_ascii(t);
            s.mis_decoded = s.mis_decoded || detail::looks_mis_decoded(t);
            auto &smp = s.samples[i];
            const std::string p = printable(t);
            if (smp.size() < max_samples && std::find(smp.begin(), smp.end(), p) == smp.end())
                smp.push_back(p);
        }
        OGRGeometryUniquePtr g;
        if (x >= 0 && y >= 0) {
            const auto vx = number(rec.fields[static_cast<std::size_t>(x)]);
            const auto vy = number(rec.fields[static_cast<std::size_t>(y)]);
            if (vx && vy)
                g.reset(new OGRPoint(*vx, *vy));
        } else {
            g = std::move(rec.geometry);
        }
        if (!g || g->IsEmpty())
            continue;
        OGREnvelope e;
        g->getEnvelope(&e);
        s.raw.add(e);
        if (pipeline && pipeline->to_lonlat(*g)) {
            g->getEnvelope(&e);
            s.lonlat.add(e);
        }
    }
    return s;
}

/// Words in field or file names that say where lon/lat were copied from.
struct OffsetCue {
    const char *word;
    const char *system;
};
constexpr OffsetCue kOffsetCues[] = {
    {"gcj", "GCJ-02"},     {"amap", "GCJ-02"}, {"gaode", "GCJ-02"}, {"高德", "GCJ-02"},
    {"tencent", "GCJ-02"}, {"腾讯", "GCJ-02"}, {"火星", "GCJ-02"},  {"bd09", "BD-09"},
    {"bd-09", "BD-09"},    {"baidu", "BD-09"}, {"百度", "BD-09"},
};

std::string toml_string(const std::string &s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

/// An option value for a shell: quoted when it holds anything but plain characters.
std::string shell_word(const std::string &s) {
    const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x80 || std::isalnum(u) || c == '_' || c == '-' || c == '.' || c == '/' ||
               c == '=' || c == ':';
    });
    if (plain)
        return s;
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

MappingInspection map_kind(const KindDef &kind, GdalSource &src, const ImportOptions &io,
                           const LayerInspection &li, const std::string &suggested_crs) {
    MappingInspection m;
    m.kind = kind.key;
    const auto matches = detail::match_attributes(kind, src.fields(), io);
    std::set<int> used;
    for (std::size_t i = 0; i < kind.attributes.size(); ++i) {
        const auto &a = kind.attributes[i];
        AttributeMapping am{a.name, "", ""};
        if (matches[i].index >= 0) {
            am.field = printable(src.fields()[static_cast<std::size_t>(matches[i].index)]);
            am.matched_by = matches[i].by;
            used.insert(matches[i].index);
        } else {
            m.missing.push_back(a.name);
        }
        m.attributes.push_back(std::move(am));
    }
    const auto [x, y] = detail::coordinate_columns(src.fields(), io, src.has_geometry());
    for (std::size_t i = 0; i < src.fields().size(); ++i)
        if (!used.count(static_cast<int>(i)) && static_cast<int>(i) != x &&
            static_cast<int>(i) != y)
            m.unused_fields.push_back(printable(src.fields()[i]));
    try {
        detail::plan_fields(kind, src, io);
    } catch (const Error &e) {
        const auto *ie = dynamic_cast<const InputError *>(&e);
        m.needs.push_back(printable(ie ? ie->problem() : e.what()));
    }
    if (li.crs.empty() && io.src_crs.empty())
        m.needs.push_back(
            suggested_crs.empty()
                ? std::string(_("--src-crs: the source has no CRS; say which it is (EPSG:4490, "
                                "EPSG:4326, GCJ02, BD09)"))
                : fmt::format(fmt::runtime(_("--src-crs: the source has no CRS; say which it is "
                                             "({} is a guess: check it)")),
                              suggested_crs));
    if (!li.encoding_declared)
        m.needs.push_back(_("--encoding GBK: the text is GBK and the file does not say so"));

    m.options.push_back("--as " + kind.key);
    if (!io.layer.empty())
        m.options.push_back("--layer " + shell_word(io.layer));
    if (x >= 0 && y >= 0) {
        m.options.push_back("--x " + shell_word(li.x_field));
        m.options.push_back("--y " + shell_word(li.y_field));
    }
    const std::string crs = !io.src_crs.empty() ? io.src_crs : li.crs.empty() ? "?" : "";
    if (!crs.empty())
        m.options.push_back("--src-crs " + (crs == "?" ? std::string("?") : shell_word(crs)));
    const std::string encoding = !io.encoding.empty()   ? io.encoding
                                 : li.encoding_declared ? ""
                                                        : "GBK";
    if (!encoding.empty())
        m.options.push_back("--encoding " + shell_word(encoding));
    for (const auto &am : m.attributes)
        if (!am.field.empty())
            m.options.push_back("--field " + shell_word(am.attribute + "=" + am.field));

    std::string b = "[[source]]\n";
    b += fmt::format("kind = {}\n", toml_string(kind.key));
    b += fmt::format("path = {}\n", toml_string(io.source.filename().string()));
    if (!io.layer.empty())
        b += fmt::format("layer = {}\n", toml_string(io.layer));
    if (!crs.empty())
        b += crs == "?"
                 ? fmt::format("src_crs = \"?\"  # {}\n", _("the source has no CRS: which is it?"))
                 : fmt::format("src_crs = {}\n", toml_string(crs));
    if (!encoding.empty())
        b += fmt::format("encoding = {}\n", toml_string(encoding));
    if (x >= 0 && y >= 0)
        b += fmt::format("x = {}\ny = {}\n", toml_string(li.x_field), toml_string(li.y_field));
    std::string fields;
    for (const auto &am : m.attributes)
        if (!am.field.empty())
            fields += (fields.empty() ? "" : ", ") + am.attribute + " = " + toml_string(am.field);
    b += "fields = { " + fields + (fields.empty() ? "}" : " }") + "\n";
    if (!m.missing.empty()) {
        std::string list;
        for (const auto &a : m.missing)
            list += (list.empty() ? "" : ", ") + a;
        b += fmt::format(fmt::runtime(_("# not in the source: {}\n")), list);
    }
    m.manifest_block = b;
    return m;
}

LayerInspection inspect_layer(const InspectOptions &opt, ImportOptions io, const KindDef *kind) {
    LayerInspection li;
    GdalSource src(io);
    li.file = src.file();
    li.layer = src.layer_name();
    li.driver = src.driver_name();
    li.geometry_type = src.has_geometry() ? src.geometry_type_name() : "None";
    const auto [x, y] = detail::coordinate_columns(src.fields(), io, src.has_geometry());
    if (x >= 0 && y >= 0) {
        li.x_field = printable(src.fields()[static_cast<std::size_t>(x)]);
        li.y_field = printable(src.fields()[static_cast<std::size_t>(y)]);
    }
    const bool from_columns = x >= 0 && y >= 0;
    const OGRSpatialReference *layer_srs = from_columns ? nullptr : src.layer_srs();
    std::optional<CoordinatePipeline> pipeline;
    if (!io.src_crs.empty() || layer_srs) {
        pipeline.emplace(src.file(), io.src_crs, layer_srs);
        li.crs = pipeline->source_description();
        li.crs_name = pipeline->source_name();
    }
    std::vector<std::string> types = src.field_types();
    Scan s = scan(src, x, y, pipeline ? &*pipeline : nullptr, opt.samples);
    li.encoding = s.ascii ? "ASCII" : io.encoding.empty() ? "UTF-8" : upper(io.encoding);
    if (const auto m = src.utf8_declared_gbk())
        li.hints.push_back(
            fmt::format(fmt::runtime(_("the text is UTF-8 ({} '{}'), not {}: drop --encoding")),
                        m->field, m->text, io.encoding));
    std::vector<std::string> as_read;
    if (s.mis_decoded && io.encoding.empty()) {
        // Read again as GBK: when that reads cleanly, GBK is what the bytes are.
        ImportOptions gbk = io;
        gbk.encoding = "GBK";
        GdalSource again(gbk);
        Scan t = scan(again, x, y, nullptr, opt.samples);
        if (!t.mis_decoded && !again.utf8_declared_gbk()) {
            as_read = s.names;
            s.names = t.names;
            s.samples = t.samples;
            li.encoding = "GBK";
            li.encoding_declared = false;
            io.encoding = "GBK";
        } else {
            li.encoding = "unknown";
            li.hints.push_back(_("some text looks mis-decoded, but not as GBK either: ask the "
                                 "sender which encoding the file is in"));
        }
    }
    li.feature_count = s.features;
    for (std::size_t i = 0; i < s.names.size(); ++i) {
        FieldInspection f;
        f.name = s.names[i];
        if (!as_read.empty() && as_read[i] != f.name)
            f.name_as_read = as_read[i];
        f.type = i < types.size() ? types[i] : "String";
        f.samples = s.samples[i];
        li.fields.push_back(std::move(f));
    }
    if (!s.raw.empty())
        li.extent_raw = s.raw.array();
    if (!s.lonlat.empty())
        li.extent_lonlat = s.lonlat.array();

    // Heuristics on the coordinates as read, in degrees when the CRS is geographic or unknown.
    const bool degrees = pipeline ? pipeline->source_is_geographic() : true;
    std::string suggested_crs;
    const bool swapped = degrees && s.raw.within(3, 54, 73, 136);
    if (swapped)
        li.hints.push_back(fmt::format(
            fmt::runtime(
                _("longitude and latitude look swapped: x runs {:.4f}–{:.4f}, a latitude of China, "
                  "and y {:.4f}–{:.4f}, a longitude{}")),
            s.raw.minx, s.raw.maxx, s.raw.miny, s.raw.maxy,
            from_columns ? fmt::format(" (pass --x {} --y {})", li.y_field, li.x_field) : ""));
    if (degrees && s.raw.within(73, 136, 3, 54) &&
        (!pipeline || pipeline->offset() == detail::WebOffset::none)) {
        std::string words = lower(io.source.filename().string());
        for (const auto &f : s.names)
            words += " " + lower(f);
        for (const auto &cue : kOffsetCues)
            if (suggested_crs.empty() && words.find(cue.word) != std::string::npos) {
                suggested_crs = std::string(cue.system) == "GCJ-02" ? "GCJ02" : "BD09";
                li.hints.push_back(fmt::format(
                    fmt::runtime(_(
                        "the file or field names mention '{}': the lon/lat may be {} web-map "
                        "coordinates (offset 100–700 m from true positions){}; a guess from names "
                        "only — ask the sender, then pass --src-crs {}")),
                    cue.word, cue.system,
                    pipeline ? fmt::format(fmt::runtime(_(", although the file says {}")), li.crs)
                             : "",
                    suggested_crs));
            }
        if (suggested_crs.empty() && !pipeline)
            li.hints.push_back(
                _("no CRS, and the points lie in China: lon/lat copied from an online map are "
                  "GCJ-02 (Amap 高德, Tencent 腾讯) or BD-09 (Baidu 百度), not WGS84 — taken as "
                  "WGS84 they are 100–700 m off; the numbers alone cannot tell which: ask the "
                  "sender, then pass --src-crs GCJ02, BD09 or EPSG:4326"));
    }
    if (!pipeline && !swapped && !s.raw.empty() && !s.raw.within(-180, 180, -90, 90))
        li.hints.push_back(
            _("no CRS, and the coordinates are not degrees (projected, metres?): pass "
              "--src-crs with the CRS they are in (e.g. EPSG:4549 for CGCS2000 3° "
              "zone 40)"));
    if (kind) {
        GdalSource again(io);
        li.mapping = map_kind(*kind, again, io, li, suggested_crs);
    }
    return li;
}

} // namespace

Inspection inspect(const InspectOptions &options, const std::vector<KindDef> &kinds) {
    const KindDef *kind = nullptr;
    if (!options.kind.empty()) {
        std::string keys;
        for (const auto &k : kinds) {
            if (k.key == options.kind)
                kind = &k;
            keys += (keys.empty() ? "" : ", ") + k.key;
        }
        if (!kind)
            throw UsageError(fmt::format(fmt::runtime(_("unknown kind '{}'; kinds are: {}")),
                                         options.kind, keys));
    }
    Inspection out;
    out.source = options.source.string();
    ImportOptions io;
    io.kind = options.kind;
    io.source = options.source;
    io.layer = options.layer;
    io.encoding = options.encoding;
    io.src_crs = options.src_crs;
    io.x_field = options.x_field;
    io.y_field = options.y_field;
    detail::ensure_gdal();
    if (detail::is_zip_archive(options.source) &&
        std::filesystem::is_regular_file(options.source)) {
        out.archive_files = detail::archive_datasets(options.source);
        if (options.layer.empty() && out.archive_files.size() > 1) {
            for (const auto &inner : out.archive_files) {
                io.layer = inner;
                out.layers.push_back(inspect_layer(options, io, kind));
            }
            return out;
        }
    }
    std::vector<std::string> layers{options.layer};
    if (options.layer.empty()) {
        GdalSource first(io);
        layers = first.layer_names();
        if (layers.size() == 1)
            layers = {""};
    }
    for (const auto &l : layers) {
        io.layer = l;
        out.layers.push_back(inspect_layer(options, io, kind));
    }
    return out;
}

} // namespace qiancun::importers
