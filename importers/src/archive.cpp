#include "archive.hpp"

#include "qiancun/error.hpp"

#include <cpl_string.h>
#include <cpl_vsi.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <memory>
#include <optional>

#include "qiancun/i18n.hpp"

namespace qiancun::importers::detail {

namespace {

std::string lower(std::string s) {
    for (auto &c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

struct VsiCloser {
    void operator()(VSILFILE *f) const noexcept { VSIFCloseL(f); }
};
using VsiFilePtr = std::unique_ptr<VSILFILE, VsiCloser>;

/// `n` bytes at `offset`; fewer when the file ends before.
std::string read_at(VSILFILE *f, std::uint64_t offset, std::size_t n) {
    std::string s(n, '\0');
    if (VSIFSeekL(f, offset, SEEK_SET) != 0)
        return {};
    s.resize(VSIFReadL(s.data(), 1, n, f));
    return s;
}

std::uint64_t le(const std::string &b, std::size_t at, std::size_t bytes) {
    std::uint64_t v = 0;
    for (std::size_t i = bytes; i-- > 0;)
        v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    return v;
}

std::string human_bytes(std::uint64_t n) {
    if (n >= (std::uint64_t{1} << 30))
        return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1 << 30));
    return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
}

/// True when an entry name would lie outside the folder it is unpacked into.
bool escapes(std::string name) {
    std::replace(name.begin(), name.end(), '\\', '/');
    if (name.empty() || name.front() == '/')
        return true;
    if (name.size() >= 2 && name[1] == ':')
        return true;
    std::size_t start = 0;
    while (start <= name.size()) {
        const auto end = std::min(name.find('/', start), name.size());
        if (name.compare(start, end - start, "..") == 0 && end - start == 2)
            return true;
        start = end + 1;
    }
    return false;
}

/// Extensions of the files GDAL opens as vector data that departments send.
constexpr std::array kVectorExtensions{".shp", ".geojson", ".json", ".gpkg",  ".kml", ".kmz",
                                       ".csv", ".xlsx",    ".xls",  ".ods",   ".gml", ".fgb",
                                       ".gpx", ".tab",     ".mif",  ".sqlite"};

std::string basename(const std::string &inner) {
    const auto slash = inner.find_last_of('/');
    return slash == std::string::npos ? inner : inner.substr(slash + 1);
}

std::string stem(const std::string &inner) {
    std::string b = basename(inner);
    const auto dot = b.find_last_of('.');
    return dot == std::string::npos || dot == 0 ? b : b.substr(0, dot);
}

std::string vsizip_root(const std::filesystem::path &archive) {
    return "/vsizip/" + std::filesystem::absolute(archive).lexically_normal().string();
}

std::string joined(const std::vector<std::string> &names) {
    std::string s;
    for (const auto &n : names)
        s += (s.empty() ? "" : ", ") + n;
    return s;
}

} // namespace

bool is_zip_archive(const std::filesystem::path &path) {
    return lower(path.extension().string()) == ".zip";
}

bool is_zip_container(const std::filesystem::path &path) {
    return lower(path.extension().string()) == ".kmz";
}

std::vector<ArchiveEntry> read_zip_directory(const std::string &path, const std::string &display) {
    auto fail = [&](const std::string &problem) {
        throw InputError(display, "", std::nullopt, problem);
    };
    VsiFilePtr f(VSIFOpenL(path.c_str(), "rb"));
    if (!f)
        fail(_("the archive cannot be opened"));
    VSIFSeekL(f.get(), 0, SEEK_END);
    const std::uint64_t size = VSIFTellL(f.get());

    // End of central directory: 22 bytes plus a comment of up to 65,535 bytes at the end.
    constexpr std::size_t kEocd = 22;
    const std::size_t tail_len =
        static_cast<std::size_t>(std::min<std::uint64_t>(size, kEocd + 65535));
    const std::string tail = read_at(f.get(), size - tail_len, tail_len);
    std::optional<std::size_t> eocd;
    for (std::size_t i = tail.size() >= kEocd ? tail.size() - kEocd + 1 : 0; i-- > 0;)
        if (tail.compare(i, 4, "PK\x05\x06") == 0) {
            eocd = i;
            break;
        }
    if (!eocd)
        fail(_("not a zip archive (no central directory at its end): damaged or not a zip"));
    std::uint64_t entries = le(tail, *eocd + 10, 2);
    std::uint64_t cd_size = le(tail, *eocd + 12, 4);
    std::uint64_t cd_offset = le(tail, *eocd + 16, 4);
    if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
        // ZIP64: a locator just before the record points at the 64-bit record.
        const std::uint64_t eocd_pos = size - tail_len + *eocd;
        const std::string loc = eocd_pos >= 20 ? read_at(f.get(), eocd_pos - 20, 20) : "";
        if (loc.size() == 20 && loc.compare(0, 4, "PK\x06\x07") == 0) {
            const std::string z = read_at(f.get(), le(loc, 8, 8), 56);
            if (z.size() < 56 || z.compare(0, 4, "PK\x06\x06") != 0)
                fail(_("the zip64 central directory record is damaged"));
            entries = le(z, 32, 8);
            cd_size = le(z, 40, 8);
            cd_offset = le(z, 48, 8);
        }
    }
    if (entries > kMaxArchiveEntries)
        fail(fmt::format(
            fmt::runtime(
                _("refused: the archive holds {} entries, more than the limit of {} (a zip "
                  "bomb?); unpack it and import the file itself")),
            entries, kMaxArchiveEntries));
    if (cd_offset > size || cd_size > size - cd_offset)
        fail(_("the zip's central directory lies outside the file: damaged or truncated"));
    const std::string cd = read_at(f.get(), cd_offset, static_cast<std::size_t>(cd_size));
    if (cd.size() != cd_size)
        fail(_("the zip's central directory cannot be read: damaged or truncated"));

    std::vector<ArchiveEntry> out;
    std::uint64_t total = 0;
    std::size_t at = 0;
    while (at + 46 <= cd.size() && cd.compare(at, 4, "PK\x01\x02") == 0) {
        if (out.size() >= kMaxArchiveEntries)
            fail(fmt::format(
                fmt::runtime(_("refused: the archive holds more than {} entries (a zip bomb?); "
                               "unpack it and import the file itself")),
                kMaxArchiveEntries));
        ArchiveEntry e;
        e.compressed_size = le(cd, at + 20, 4);
        e.uncompressed_size = le(cd, at + 24, 4);
        const std::size_t name_len = le(cd, at + 28, 2);
        const std::size_t extra_len = le(cd, at + 30, 2);
        const std::size_t comment_len = le(cd, at + 32, 2);
        if (at + 46 + name_len + extra_len + comment_len > cd.size())
            fail(_("the zip's central directory is truncated"));
        e.name = cd.substr(at + 46, name_len);
        // ZIP64 extended information: the 64-bit sizes of the fields saturated above.
        for (std::size_t x = at + 46 + name_len; x + 4 <= at + 46 + name_len + extra_len;) {
            const auto id = le(cd, x, 2);
            const std::size_t len = le(cd, x + 2, 2);
            if (x + 4 + len > at + 46 + name_len + extra_len)
                break;
            if (id == 0x0001) {
                std::size_t p = x + 4;
                if (e.uncompressed_size == 0xFFFFFFFF && p + 8 <= x + 4 + len) {
                    e.uncompressed_size = le(cd, p, 8);
                    p += 8;
                }
                if (e.compressed_size == 0xFFFFFFFF && p + 8 <= x + 4 + len)
                    e.compressed_size = le(cd, p, 8);
            }
            x += 4 + len;
        }
        if (escapes(e.name))
            fail(fmt::format(
                fmt::runtime(_("refused: the entry '{}' would lie outside the archive (an absolute "
                               "path or '..'); ask the sender for a clean archive")),
                e.name));
        total += std::min(e.uncompressed_size, kMaxArchiveUncompressedBytes + 1);
        if (total > kMaxArchiveUncompressedBytes)
            fail(fmt::format(
                fmt::runtime(
                    _("refused: the archive unpacks to more than {} ({} declares {} from "
                      "{} compressed; a zip bomb?); unpack it and import the file itself")),
                human_bytes(kMaxArchiveUncompressedBytes), e.name, human_bytes(e.uncompressed_size),
                human_bytes(e.compressed_size)));
        out.push_back(std::move(e));
        at += 46 + name_len + extra_len + comment_len;
    }
    if (out.size() != entries)
        fail(fmt::format(
            fmt::runtime(_("the zip's central directory is damaged: it declares {} entries, {} "
                           "were readable")),
            entries, out.size()));
    return out;
}

std::vector<std::string> archive_datasets(const std::filesystem::path &archive) {
    read_zip_directory(archive.string(), archive.string());
    const std::string root = vsizip_root(archive);
    CPLStringList listing(VSIReadDirRecursive(root.c_str()));
    std::vector<std::string> out;
    for (int i = 0; i < listing.size(); ++i) {
        std::string name = listing[i];
        std::replace(name.begin(), name.end(), '\\', '/');
        if (name.empty() || name.back() == '/')
            continue;
        if (name.rfind("__MACOSX/", 0) == 0 || name.find("/__MACOSX/") != std::string::npos ||
            basename(name).rfind("._", 0) == 0)
            continue;
        // A File Geodatabase is a folder: the folder is the dataset.
        if (const auto gdb = lower(name).find(".gdb/"); gdb != std::string::npos) {
            std::string folder = name.substr(0, gdb + 4);
            if (std::find(out.begin(), out.end(), folder) == out.end())
                out.push_back(std::move(folder));
            continue;
        }
        const std::string base = basename(name);
        const auto dot = base.find_last_of('.');
        if (dot == std::string::npos)
            continue;
        const std::string ext = lower(base.substr(dot));
        if (std::find(kVectorExtensions.begin(), kVectorExtensions.end(), ext) !=
            kVectorExtensions.end())
            out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

ArchiveSource resolve_archive(const std::filesystem::path &archive, const std::string &layer) {
    const std::string display = archive.string();
    const auto datasets = archive_datasets(archive);
    if (is_zip_container(archive)) {
        // A KMZ's root document is doc.kml, else its first KML; `layer` is a folder inside it.
        std::optional<std::string> root;
        for (const auto &d : datasets)
            if (lower(basename(d)) == "doc.kml" || (!root && lower(d).ends_with(".kml")))
                root = d;
        if (!root)
            throw InputError(display, "", std::nullopt, _("the KMZ holds no KML document"));
        return {vsizip_root(archive) + "/" + *root, display + "/" + *root, *root, false};
    }
    if (datasets.empty())
        throw InputError(display, "", std::nullopt,
                         _("the archive holds no vector file qiancun reads (.shp, .gpkg, .geojson, "
                           ".kml, .csv, .xlsx, …)"));
    auto names_it = [&](const std::string &inner, bool any_case) {
        auto eq = [&](const std::string &a) {
            return any_case ? lower(a) == lower(layer) : a == layer;
        };
        return eq(inner) || eq(basename(inner)) || eq(stem(inner));
    };
    std::optional<std::string> chosen;
    bool named_file = false;
    if (datasets.size() == 1) {
        chosen = datasets.front();
        named_file = !layer.empty() && names_it(*chosen, true);
    } else {
        if (layer.empty())
            throw InputError(
                display, "", std::nullopt,
                fmt::format(fmt::runtime(_("the archive holds several vector files: {}; choose one "
                                           "with --layer (e.g. --layer {})")),
                            joined(datasets), stem(datasets.front())));
        for (bool any_case : {false, true}) {
            std::vector<std::string> hits;
            for (const auto &d : datasets)
                if (names_it(d, any_case))
                    hits.push_back(d);
            if (hits.size() > 1)
                throw InputError(
                    display, "", std::nullopt,
                    fmt::format(fmt::runtime(_("--layer {} names several files of the archive: {}; "
                                               "give the path inside it")),
                                layer, joined(hits)));
            if (hits.size() == 1) {
                chosen = hits.front();
                named_file = true;
                break;
            }
        }
        if (!chosen)
            throw InputError(
                display, "", std::nullopt,
                fmt::format(fmt::runtime(_("the archive has no file '{}'; it holds: {}")), layer,
                            joined(datasets)));
    }
    ArchiveSource out;
    out.inner = *chosen;
    out.gdal_path = vsizip_root(archive) + "/" + *chosen;
    out.display = display + "/" + *chosen;
    out.layer_names_file = named_file;
    return out;
}

std::string copy_to_memory(const std::string &path) {
    static std::atomic<std::uint64_t> counter{0};
    const std::string out = fmt::format("/vsimem/qiancun_archive_{}/{}", ++counter,
                                        std::filesystem::path(path).filename().string());
    VsiFilePtr in(VSIFOpenL(path.c_str(), "rb"));
    VsiFilePtr to(VSIFOpenL(out.c_str(), "wb"));
    if (!in || !to)
        return {};
    std::string buffer(std::size_t{1} << 20, '\0');
    while (true) {
        const auto n = VSIFReadL(buffer.data(), 1, buffer.size(), in.get());
        if (n == 0)
            break;
        if (VSIFWriteL(buffer.data(), 1, n, to.get()) != n) {
            to.reset();
            VSIUnlink(out.c_str());
            return {};
        }
    }
    return out;
}

} // namespace qiancun::importers::detail
