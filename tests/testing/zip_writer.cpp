#include "testing/zip_writer.hpp"

#include "testing/testing.hpp"

#include <algorithm>
#include <stdexcept>

namespace qiancun::testing {

namespace {

constexpr const char *kPython = "/usr/bin/python3";

void run_python(const std::string &script, const std::vector<std::string> &args) {
    std::vector<std::string> argv{kPython, "-c", script};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run_command(argv);
    if (r.exit_code != 0)
        throw std::runtime_error("python3 zipfile failed: " + r.err);
}

} // namespace

void write_zip(const std::filesystem::path &zip, const std::vector<ZipEntry> &entries) {
    // Arguments: zip, then pairs (name, "f:" + path | "t:" + text). ZipInfo keeps the name as
    // given (ZipFile.write would normalise "../x").
    std::vector<std::string> args{zip.string()};
    for (const auto &e : entries) {
        args.push_back(e.name);
        args.push_back(e.file.empty() ? "t:" + e.text : "f:" + e.file.string());
    }
    run_python(R"(
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    for name, what in zip(sys.argv[2::2], sys.argv[3::2]):
        data = open(what[2:], 'rb').read() if what.startswith('f:') else what[2:].encode()
        info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)
)",
               args);
}

std::vector<ZipEntry> entries_of(const std::filesystem::path &dir, const std::string &stem,
                                 const std::string &folder) {
    std::vector<ZipEntry> out;
    for (const auto &f : std::filesystem::directory_iterator(dir)) {
        const auto name = f.path().filename().string();
        if (f.is_regular_file() && name.rfind(stem + ".", 0) == 0)
            out.push_back({folder.empty() ? name : folder + "/" + name, f.path(), {}});
    }
    std::sort(out.begin(), out.end(),
              [](const ZipEntry &a, const ZipEntry &b) { return a.name < b.name; });
    return out;
}

void write_zero_bomb(const std::filesystem::path &zip, const std::string &name,
                     std::uint64_t bytes) {
    run_python(R"(
import sys, zipfile
total = int(sys.argv[3])
chunk = bytes(1 << 20)
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    with z.open(sys.argv[2], 'w', force_zip64=True) as f:
        while total > 0:
            n = min(total, len(chunk))
            f.write(chunk[:n])
            total -= n
)",
               {zip.string(), name, std::to_string(bytes)});
}

void write_many_entries(const std::filesystem::path &zip, std::uint64_t count) {
    run_python(R"(
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    for i in range(int(sys.argv[2])):
        z.writestr('f%d.txt' % i, b'')
)",
               {zip.string(), std::to_string(count)});
}

} // namespace qiancun::testing
