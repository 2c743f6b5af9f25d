#include "gdal_source.hpp"

#include "archive.hpp"

#include "qiancun/error.hpp"
#include "qiancun/gcj02.hpp"
#include "qiancun/log.hpp"

#include <cpl_error.h>
#include <cpl_string.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>

#include "qiancun/i18n.hpp"

namespace qiancun::importers::detail {

namespace {

void CPL_STDCALL gdal_error_handler(CPLErr level, CPLErrorNum, const char *msg) {
    // Never throw from here: GDAL calls it from C code. Failures surface as return values.
    if (level == CE_Debug)
        qiancun::log(LogLevel::debug, fmt::format("GDAL: {}", msg));
    else if (level == CE_Warning)
        qiancun::log(LogLevel::warning, fmt::format("GDAL: {}", msg));
    else if (level != CE_None)
        qiancun::log(LogLevel::debug, fmt::format("GDAL error: {}", msg));
}

std::string upper(std::string s) {
    for (auto &c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

/// GDAL's encoding name for a user's one ("GBK" → "CP936").
std::string gdal_encoding(const std::string &enc) {
    const std::string u = upper(enc);
    if (u == "GBK" || u == "GB2312" || u == "CP936" || u == "936" || u == "GB18030")
        return u == "GB18030" ? "GB18030" : "CP936";
    if (u == "UTF8" || u == "UTF-8")
        return "UTF-8";
    return enc;
}

/// Applies the inverse web-map offset per vertex: GCJ-02/BD-09 lon/lat → WGS84 lon/lat.
/// WGS84 and CGCS2000 differ by centimetres here, so the result is taken as EPSG:4490.
class WebOffsetInverse final : public OGRCoordinateTransformation {
public:
    explicit WebOffsetInverse(WebOffset offset, const OGRSpatialReference &lonlat)
        : m_offset(offset), m_lonlat(lonlat) {}
    OGRSpatialReference *GetSourceCS() override { return &m_lonlat; }
    OGRSpatialReference *GetTargetCS() override { return &m_lonlat; }
    int Transform(int count, double *x, double *y, double *, double *, int *ok) override {
        gcj02::from_web_map(m_offset, count, x, y);
        if (ok)
            std::fill(ok, ok + count, TRUE);
        return TRUE;
    }
    OGRCoordinateTransformation *Clone() const override {
        return new WebOffsetInverse(m_offset, m_lonlat);
    }
    OGRCoordinateTransformation *GetInverse() const override { return nullptr; }

private:
    WebOffset m_offset;
    OGRSpatialReference m_lonlat;
};

/// Collects GDAL's failure messages while it is in scope (e.g. a JSON syntax error's line,
/// which GDAL reports before its generic "Failed to read" one), still logging them at debug.
class FailureCollector {
public:
    FailureCollector() { CPLPushErrorHandlerEx(&FailureCollector::handle, this); }
    FailureCollector(const FailureCollector &) = delete;
    FailureCollector &operator=(const FailureCollector &) = delete;
    ~FailureCollector() { CPLPopErrorHandler(); }

    /// The failures, "; "-joined, the first one first.
    std::string text() const {
        std::string s;
        for (const auto &m : m_messages)
            if (s.find(m) == std::string::npos)
                s += (s.empty() ? "" : "; ") + m;
        return s;
    }

private:
    static void CPL_STDCALL handle(CPLErr level, CPLErrorNum num, const char *msg) {
        auto *self = static_cast<FailureCollector *>(CPLGetErrorHandlerUserData());
        if (self && (level == CE_Failure || level == CE_Fatal) && msg &&
            self->m_messages.size() < 8)
            self->m_messages.emplace_back(msg);
        gdal_error_handler(level, num, msg);
    }
    std::vector<std::string> m_messages;
};

/// The path with its extension replaced by `ext` in lower or upper case, whichever exists (a
/// GDAL path: on disk or inside an archive).
std::optional<std::string> sibling(const std::string &p, const char *ext) {
    for (const std::string &e : {std::string(ext), upper(ext)}) {
        const auto q = std::filesystem::path(p).replace_extension(e).string();
        VSIStatBufL st;
        if (VSIStatL(q.c_str(), &st) == 0 && VSI_ISREG(st.st_mode))
            return q;
    }
    return std::nullopt;
}

std::uint64_t vsi_size(const std::string &p) {
    VSIStatBufL st;
    return VSIStatL(p.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

/// The first `n` bytes of a file (fewer when it is shorter).
std::string head_bytes(const std::string &p, std::size_t n) {
    std::string s(n, '\0');
    VSILFILE *f = VSIFOpenL(p.c_str(), "rb");
    if (!f)
        return {};
    s.resize(VSIFReadL(s.data(), 1, n, f));
    VSIFCloseL(f);
    return s;
}

std::string file_name(const std::string &p) {
    return std::filesystem::path(p).filename().string();
}

std::uint32_t big_endian_u32(const std::string &b, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
        v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    return v;
}

std::uint32_t little_endian_u(const std::string &b, std::size_t at, std::size_t bytes) {
    std::uint32_t v = 0;
    for (std::size_t i = bytes; i-- > 0;)
        v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    return v;
}

} // namespace

void check_shapefile_parts(const std::string &shp, const std::string &display) {
    auto fail = [&](const std::string &problem) {
        throw InputError(display, "", std::nullopt, problem);
    };
    const auto shx = sibling(shp, ".shx");
    const auto dbf = sibling(shp, ".dbf");
    const std::string stem = std::filesystem::path(shp).stem().string();
    if (!shx)
        fail(fmt::format(
            fmt::runtime(_("the Shapefile's index {}.shx is missing (a Shapefile is .shp, .shx and "
                           ".dbf side by side; copy all of them)")),
            stem));
    if (!dbf)
        fail(fmt::format(
            fmt::runtime(
                _("the Shapefile's attribute table {}.dbf is missing (a Shapefile is .shp, "
                  ".shx and .dbf side by side; copy all of them)")),
            stem));
    constexpr std::size_t kShpHeader = 100;
    const auto shp_size = vsi_size(shp);
    const std::string h = head_bytes(shp, kShpHeader);
    if (h.size() < kShpHeader || big_endian_u32(h, 0) != 9994)
        fail(fmt::format(
            fmt::runtime(_("the .shp is truncated or not a Shapefile ({} bytes, no valid 100-byte "
                           "header)")),
            shp_size));
    const std::uint64_t declared = std::uint64_t{big_endian_u32(h, 24)} * 2;
    if (declared > shp_size)
        fail(fmt::format(
            fmt::runtime(_("the .shp is truncated: its header says {} bytes, the file has {}")),
            declared, shp_size));
    const auto shx_size = vsi_size(*shx);
    if (shx_size < kShpHeader || (shx_size - kShpHeader) % 8 != 0)
        fail(fmt::format(fmt::runtime(_("the index {} is damaged ({} bytes)")), file_name(*shx),
                         shx_size));
    const std::uint64_t shapes = (shx_size - kShpHeader) / 8;
    const std::string d = head_bytes(*dbf, 32);
    const auto dbf_size = vsi_size(*dbf);
    if (d.size() < 32)
        fail(fmt::format(fmt::runtime(_("the attribute table {} is truncated ({} bytes)")),
                         file_name(*dbf), dbf_size));
    const std::uint64_t records = little_endian_u(d, 4, 4);
    const std::uint64_t header_len = little_endian_u(d, 8, 2);
    const std::uint64_t record_len = little_endian_u(d, 10, 2);
    if (header_len + records * record_len > dbf_size)
        fail(fmt::format(
            fmt::runtime(_("the attribute table {} claims {} records of {} bytes, but the file has "
                           "only {} bytes: it is truncated or its header is damaged")),
            file_name(*dbf), records, record_len, dbf_size));
    if (records != shapes)
        fail(fmt::format(
            fmt::runtime(_("the attribute table {} has {} records but the index {} has {} shapes; "
                           "the parts come from different versions of the layer")),
            file_name(*dbf), records, file_name(*shx), shapes));
}

void ensure_gdal() {
    static std::once_flag once;
    std::call_once(once, [] {
        GDALAllRegister();
        CPLSetErrorHandler(gdal_error_handler);
    });
}

bool looks_mis_decoded(const std::string &text) {
    if (!CPLIsUTF8(text.c_str(), static_cast<int>(text.size())))
        return true;
    // GBK bytes read as ISO-8859-1 become pairs of U+0080–U+00FF code points, which in
    // UTF-8 are lead bytes 0xC2/0xC3. Real Chinese text has 3-byte sequences (0xE0–0xEF).
    int latin1 = 0;
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0xE0)
            return false;
        if (c == 0xC2 || c == 0xC3) {
            ++latin1;
            ++i;
        }
    }
    return latin1 >= 2;
}

GdalSource::GdalSource(const ImportOptions &options) : m_file(options.source.string()) {
    ensure_gdal();
    std::error_code ec;
    // GDAL's virtual files (/vsimem/, /vsizip/…) are not on disk: GDAL says if they are missing.
    const bool virtual_file = m_file.rfind("/vsi", 0) == 0;
    if (!virtual_file && !std::filesystem::exists(options.source, ec))
        throw InputError(m_file, "", std::nullopt, _("the file does not exist"));
    if (std::filesystem::is_regular_file(options.source) && ::access(m_file.c_str(), R_OK) != 0)
        throw InputError(m_file, "", std::nullopt,
                         _("the file cannot be read (permission denied)"));

    // What GDAL opens: the file itself, or the vector file inside a zip.
    std::string gdal_path = m_file;
    std::filesystem::path inner = options.source;
    bool layer_names_file = false;
    if (!virtual_file && (is_zip_archive(options.source) || is_zip_container(options.source))) {
        auto chosen = resolve_archive(options.source, options.layer);
        gdal_path = chosen.gdal_path;
        m_file = chosen.display;
        inner = chosen.inner;
        layer_names_file = chosen.layer_names_file;
        const std::string inner_ext = upper(inner.extension().string());
        if (inner_ext == ".XLSX" || inner_ext == ".ODS") {
            // The spreadsheet drivers open their own zip and cannot nest it in /vsizip/.
            m_memory_copy.path = copy_to_memory(gdal_path);
            if (m_memory_copy.path.empty())
                throw InputError(m_file, "", std::nullopt, _("the workbook cannot be unpacked"));
            gdal_path = m_memory_copy.path;
        }
    }

    CPLStringList open_options;
    std::string ext = upper(inner.extension().string());
    if (!options.encoding.empty()) {
        const std::string enc = gdal_encoding(options.encoding);
        // The Shapefile driver hands over raw bytes (ENCODING=""), recoded here as for every
        // other format, so that a wrong declaration can be recognised from the bytes.
        if (ext == ".SHP" || ext == ".DBF")
            open_options.SetNameValue("ENCODING", "");
        if (enc != "UTF-8")
            m_recode_from = enc;
    }
    if (ext == ".CSV") {
        // Keep every CSV value as text: we type-check against the registry's attributes.
        open_options.SetNameValue("AUTODETECT_TYPE", "NO");
        open_options.SetNameValue("KEEP_GEOM_COLUMNS", "YES");
    }
    if (ext == ".XLSX" || ext == ".ODS") {
        // The first row names the columns; every value stays text for our own type checks.
        // GDAL 3.6 takes these as configuration options, read while the sheet is parsed.
        const std::string drv = ext == ".XLSX" ? "XLSX" : "ODS";
        for (const auto &[key, value] :
             {std::pair{"HEADERS", "FORCE"}, {"FIELD_TYPES", "STRING"}}) {
            m_config_keys.push_back(fmt::format("OGR_{}_{}", drv, key));
            CPLSetThreadLocalConfigOption(m_config_keys.back().c_str(), value);
        }
    }
    if (ext == ".SHP" && (gdal_path != m_file || std::filesystem::is_regular_file(options.source)))
        check_shapefile_parts(gdal_path, m_file);
    CPLErrorReset();
    {
        FailureCollector failures;
        m_dataset.reset(GDALDataset::Open(gdal_path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY,
                                          nullptr, open_options.List(), nullptr));
        if (!m_dataset) {
            std::string why = failures.text();
            throw InputError(m_file, "", std::nullopt,
                             fmt::format(fmt::runtime(_("GDAL cannot read it as a vector file{}")),
                                         why.empty() ? "" : ": " + why));
        }
    }
    if (m_dataset->GetLayerCount() == 0)
        throw InputError(m_file, "", std::nullopt,
                         ext == ".KML" || ext == ".KMZ"
                             ? _("the KML has no placemarks (no layers to read)")
                             : _("the file has no layers"));
    if (options.layer.empty()) {
        m_layer = m_dataset->GetLayer(0);
    } else {
        m_layer = m_dataset->GetLayerByName(options.layer.c_str());
        if (!m_layer && layer_names_file)
            m_layer = m_dataset->GetLayer(0);
        if (!m_layer) {
            std::string names;
            for (auto *l : m_dataset->GetLayers())
                names += (names.empty() ? "" : ", ") + std::string(l->GetName());
            throw InputError(m_file, options.layer, std::nullopt,
                             fmt::format(fmt::runtime(_("no such layer; layers: {}")), names));
        }
    }
    m_layer_name = m_layer->GetName();
    auto *defn = m_layer->GetLayerDefn();
    for (int i = 0; i < defn->GetFieldCount(); ++i)
        m_fields.push_back(recode(defn->GetFieldDefn(i)->GetNameRef()));
    m_layer->ResetReading();
}

GdalSource::~GdalSource() {
    m_dataset.reset();
    for (const auto &key : m_config_keys)
        CPLSetThreadLocalConfigOption(key.c_str(), nullptr);
}

std::string GdalSource::recode(const char *text) const {
    if (!text)
        return {};
    if (m_recode_from.empty())
        return text;
    char *out = CPLRecode(text, m_recode_from.c_str(), CPL_ENC_UTF8);
    std::string s = out ? out : "";
    CPLFree(out);
    return s;
}

std::string GdalSource::driver_name() const {
    const auto *driver = m_dataset->GetDriver();
    return driver ? driver->GetDescription() : "";
}

std::vector<std::string> GdalSource::layer_names() const {
    std::vector<std::string> out;
    for (auto *l : m_dataset->GetLayers())
        out.push_back(l->GetName());
    return out;
}

std::string GdalSource::geometry_type_name() const {
    return OGRGeometryTypeToName(m_layer->GetGeomType());
}

std::vector<std::string> GdalSource::field_types() const {
    std::vector<std::string> out;
    auto *defn = m_layer->GetLayerDefn();
    for (int i = 0; i < defn->GetFieldCount(); ++i)
        out.push_back(OGRFieldDefn::GetFieldTypeName(defn->GetFieldDefn(i)->GetType()));
    return out;
}

std::int64_t GdalSource::feature_count() const {
    auto n = m_layer->GetFeatureCount(FALSE);
    return n < 0 ? 0 : n;
}

bool GdalSource::has_geometry() const {
    return m_layer->GetLayerDefn()->GetGeomFieldCount() > 0 && m_layer->GetGeomType() != wkbNone;
}

const OGRSpatialReference *GdalSource::layer_srs() const {
    return m_layer->GetSpatialRef();
}

bool GdalSource::next(SourceRecord &record) {
    CPLErrorReset();
    OGRFeatureUniquePtr f(m_layer->GetNextFeature());
    const bool failed = CPLGetLastErrorType() == CE_Failure;
    record.read_error = failed ? CPLGetLastErrorMsg() : "";
    if (!f) {
        if (failed)
            throw InputError(m_file, m_layer_name, m_row + 1,
                             fmt::format(fmt::runtime(_("GDAL cannot read the feature: {}")),
                                         record.read_error));
        return false;
    }
    record.row = ++m_row;
    record.fields.assign(m_fields.size(), std::string());
    const bool from_gbk = m_recode_from == "CP936" || m_recode_from == "GB18030";
    for (int i = 0; i < static_cast<int>(m_fields.size()); ++i) {
        if (!f->IsFieldSetAndNotNull(i))
            continue;
        const char *raw = f->GetFieldAsString(i);
        if (from_gbk && !m_saw_non_utf8) {
            const std::string_view text(raw);
            if (!CPLIsUTF8(raw, -1))
                m_saw_non_utf8 = true;
            else if (!m_utf8_example && std::any_of(text.begin(), text.end(), [](char c) {
                         return static_cast<unsigned char>(c) >= 0xE0;
                     }))
                m_utf8_example = MisdeclaredText{m_row, m_fields[static_cast<std::size_t>(i)],
                                                 std::string(text)};
        }
        record.fields[static_cast<std::size_t>(i)] = recode(raw);
    }
    record.geometry.reset(f->StealGeometry());
    return true;
}

std::optional<GdalSource::MisdeclaredText> GdalSource::utf8_declared_gbk() const {
    if (m_saw_non_utf8)
        return std::nullopt;
    return m_utf8_example;
}

CoordinatePipeline::CoordinatePipeline(const std::string &file, const std::string &src_crs,
                                       const OGRSpatialReference *layer_srs) {
    m_lonlat.importFromEPSG(4490);
    m_lonlat.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    m_offset = gcj02::web_map_of(src_crs);
    if (m_offset != WebOffset::none) {
        m_geographic = true;
        m_source = m_lonlat;
        m_to_lonlat.reset(new WebOffsetInverse(m_offset, m_lonlat));
        return;
    }
    if (!src_crs.empty()) {
        if (m_source.SetFromUserInput(src_crs.c_str()) != OGRERR_NONE)
            throw InputError(
                file, "", std::nullopt,
                fmt::format(fmt::runtime(_("--src-crs '{}' is not a CRS PROJ knows (try EPSG:4490, "
                                           "EPSG:4326, GCJ02 or BD09)")),
                            src_crs));
    } else if (layer_srs) {
        m_source = *layer_srs;
    } else {
        throw InputError(file, "", std::nullopt,
                         _("the source has no coordinate system (no .prj or CRS); say which it is "
                           "with --src-crs (e.g. EPSG:4490, EPSG:4326, GCJ02, BD09)"));
    }
    m_source.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    m_geographic = m_source.IsGeographic();
    m_to_lonlat.reset(OGRCreateCoordinateTransformation(&m_source, &m_lonlat));
    if (!m_to_lonlat)
        throw InputError(file, "", std::nullopt,
                         fmt::format(fmt::runtime(_("PROJ cannot transform from {} to CGCS2000")),
                                     source_description()));
}

std::string CoordinatePipeline::source_description() const {
    if (m_offset != WebOffset::none)
        return gcj02::web_map_name(m_offset);
    const char *auth = m_source.GetAuthorityName(nullptr);
    const char *code = m_source.GetAuthorityCode(nullptr);
    if (auth && code)
        return fmt::format("{}:{}", auth, code);
    const char *name = m_source.GetName();
    return name ? name : _("the source CRS");
}

std::string CoordinatePipeline::source_name() const {
    if (m_offset != WebOffset::none)
        return "";
    const char *name = m_source.GetName();
    return name ? name : "";
}

bool CoordinatePipeline::to_lonlat(OGRGeometry &g) const {
    return g.transform(m_to_lonlat.get()) == OGRERR_NONE;
}

void CoordinatePipeline::set_working(const crs::Definition &working) {
    const OGRErr read = working.epsg ? m_working.importFromEPSG(*working.epsg)
                                     : m_working.importFromWkt(working.wkt.c_str());
    if (read != OGRERR_NONE)
        throw Error(fmt::format(fmt::runtime(_("GDAL cannot read the working CRS {}")),
                                working.describe()));
    m_working.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    // From the source itself when it is a real CRS, so a source already in the working CRS
    // passes unchanged; web-map coordinates go through their lon/lat correction first.
    m_to_working.reset(OGRCreateCoordinateTransformation(
        m_offset == WebOffset::none ? &m_source : &m_lonlat, &m_working));
    if (!m_to_working)
        throw Error(fmt::format(fmt::runtime(_("PROJ cannot transform from CGCS2000 to {}")),
                                working.describe()));
}

bool CoordinatePipeline::to_working(OGRGeometry &g) const {
    if (!m_to_working)
        return false;
    if (m_offset != WebOffset::none && !to_lonlat(g))
        return false;
    return g.transform(m_to_working.get()) == OGRERR_NONE;
}

} // namespace qiancun::importers::detail
