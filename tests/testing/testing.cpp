#include "testing/testing.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <fmt/core.h>

#include <fcntl.h>
#include <libintl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>

namespace qiancun::testing {

TempDir::TempDir() {
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto p = std::filesystem::temp_directory_path() / fmt::format("qiancun-test-{:08x}", rd());
        if (std::filesystem::create_directory(p)) {
            m_path = p;
            return;
        }
    }
    throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
}

std::string read_file(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::filesystem::path &path, const std::string &content) {
    std::ofstream out(path, std::ios::binary);
    out << content;
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}

std::filesystem::path source_dir() {
    return QIANCUN_SOURCE_DIR;
}
std::filesystem::path sample_maps_dir() {
    return source_dir() / "sample_maps";
}

void bind_catalogue() {
    std::setlocale(LC_MESSAGES, "C.UTF-8");
    ::bindtextdomain("qiancun", QIANCUN_BUILD_LOCALEDIR);
    ::bind_textdomain_codeset("qiancun", "UTF-8");
}

pid_t start_process(const std::vector<std::string> &argv, const std::filesystem::path &out,
                    const std::filesystem::path &err, bool append,
                    const std::optional<std::filesystem::path> &cwd, char *const *envp) {
    std::vector<char *> args;
    for (const auto &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    const int mode = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), mode, 0600);
    if (err.empty())
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    else
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), mode, 0600);
    if (cwd)
        posix_spawn_file_actions_addchdir_np(&actions, cwd->c_str());
    pid_t pid = 0;
    const int rc =
        posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp ? envp : environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        throw std::runtime_error(
            fmt::format("cannot start {}: {}", argv.front(), std::strerror(rc)));
    return pid;
}

CommandResult run_command(const std::vector<std::string> &argv,
                          const std::optional<std::filesystem::path> &cwd, const Environment &env) {
    // Both streams go to files so that a chatty child can never block on a full pipe.
    TempDir tmp;
    auto out_path = tmp / "out";
    auto err_path = tmp / "err";
    // Tests run commands from several threads at once. A forked child of a threaded program
    // may only call async-signal-safe functions (setenv or malloc there can wait forever on a
    // lock another thread held at the fork), so the environment is built here and the child
    // is started with posix_spawn (start_process).
    std::vector<std::string> environment;
    for (char **e = environ; *e; ++e)
        environment.emplace_back(*e);
    for (const auto &[name, value] : env) {
        // An empty value unsets; the last setting of a name wins.
        environment.erase(std::remove_if(environment.begin(), environment.end(),
                                         [&, n = name](const std::string &e) {
                                             return e.compare(0, n.size() + 1, n + "=") == 0;
                                         }),
                          environment.end());
        if (!value.empty())
            environment.push_back(name + "=" + value);
    }
    std::vector<char *> envp;
    for (auto &e : environment)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t pid = start_process(argv, out_path, err_path, false, cwd, envp.data());
    CommandResult r;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_file(out_path);
    r.err = read_file(err_path);
    return r;
}

CommandResult run_qiancun(const std::vector<std::string> &args,
                          const std::optional<std::filesystem::path> &cwd, const Environment &env) {
    std::vector<std::string> argv{QIANCUN_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    Environment pinned{{"LC_ALL", "C.UTF-8"}, {"LANGUAGE", ""}};
    pinned.insert(pinned.end(), env.begin(), env.end());
    return run_command(argv, cwd, pinned);
}

CommandResult load_sample_months(const std::string &registry, const std::filesystem::path &work,
                                 const std::string &first, const std::string &second) {
    auto r = run_qiancun({"init", registry, "--crs", "EPSG:4549"});
    if (r.exit_code != 0)
        return r;
    r = run_qiancun(
        {"load", registry, (sample_maps_dir() / "county.toml").string(), "--as-of", first});
    if (r.exit_code != 0)
        return r;
    const auto next = work / "next-month";
    r = run_command({"/bin/bash", (source_dir() / "tools/derive_next_month.sh").string(),
                     sample_maps_dir().string(), next.string()});
    if (r.exit_code != 0)
        return r;
    return run_qiancun({"load", registry, (next / "county.toml").string(), "--as-of", second});
}

Environment locale_environment(const std::string &locale) {
    Environment env{{"LC_ALL", locale}, {"LANGUAGE", ""}, {"LOCPATH", ""}};
    if (locale == "C" || locale == "C.UTF-8" || locale == "POSIX")
        return env;
    // Available as it is?
    auto works = [&](const Environment &e) {
        const auto r = run_command({"/usr/bin/locale", "-k", "LC_CTYPE"}, std::nullopt, e);
        return r.exit_code == 0 && r.err.empty() && r.out.find("UTF-8") != std::string::npos;
    };
    if (works(env))
        return env;
    // Compiled once per test program into its own directory.
    static TempDir compiled;
    const auto dot = locale.find('.');
    const std::string name = locale.substr(0, dot);
    const std::string charmap = dot == std::string::npos ? "UTF-8" : locale.substr(dot + 1);
    if (!std::filesystem::exists(compiled / locale)) {
        const auto r = run_command(
            {"/usr/bin/localedef", "-i", name, "-f", charmap, (compiled / locale).string()});
        // localedef exits 1 on mere warnings; what counts is the compiled locale.
        if (!std::filesystem::exists(compiled / locale))
            throw std::runtime_error("localedef cannot make " + locale +
                                     " (is the Debian "
                                     "package `locales` installed?): " +
                                     r.err);
    }
    env.back().second = compiled.path().string();
    if (!works(env))
        throw std::runtime_error("locale " + locale + " does not load from " +
                                 compiled.path().string());
    return env;
}

void write_vector(const std::filesystem::path &path, const std::string &driver_name,
                  const std::string &layer_name, int epsg,
                  const std::vector<std::string> &field_names,
                  const std::vector<FixtureFeature> &features,
                  const std::vector<std::string> &layer_options,
                  const std::vector<std::string> &real_fields,
                  const std::vector<std::string> &int_fields) {
    GDALAllRegister();
    auto *driver = GetGDALDriverManager()->GetDriverByName(driver_name.c_str());
    if (!driver)
        throw std::runtime_error("no GDAL driver " + driver_name);
    GDALDatasetUniquePtr ds(driver->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    if (!ds)
        throw std::runtime_error("cannot create " + path.string());
    OGRSpatialReference srs;
    OGRSpatialReference *srs_ptr = nullptr;
    if (epsg != 0) {
        srs.importFromEPSG(epsg);
        srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        srs_ptr = &srs;
    }
    bool has_geometry = false;
    OGRwkbGeometryType gtype = wkbUnknown;
    for (const auto &f : features) {
        if (!f.wkt.empty()) {
            has_geometry = true;
            OGRGeometry *g = nullptr;
            OGRGeometryFactory::createFromWkt(f.wkt.c_str(), nullptr, &g);
            if (g) {
                auto t = wkbFlatten(g->getGeometryType());
                gtype = (gtype == wkbUnknown || gtype == t) ? t : wkbUnknown;
                OGRGeometryFactory::destroyGeometry(g);
            }
        }
    }
    std::vector<const char *> lco;
    bool has_encoding = false;
    for (const auto &o : layer_options) {
        lco.push_back(o.c_str());
        has_encoding = has_encoding || o.rfind("ENCODING=", 0) == 0;
    }
    // Fixtures are UTF-8 unless a test asks for another encoding.
    if (driver_name == "ESRI Shapefile" && !has_encoding)
        lco.push_back("ENCODING=UTF-8");
    lco.push_back(nullptr);
    if (!has_geometry)
        gtype = wkbNone;
    auto *layer =
        ds->CreateLayer(layer_name.c_str(), srs_ptr, gtype, const_cast<char **>(lco.data()));
    if (!layer)
        throw std::runtime_error("cannot create layer " + layer_name);
    auto contains = [](const std::vector<std::string> &v, const std::string &s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    };
    for (const auto &name : field_names) {
        OGRFieldType t = contains(real_fields, name)  ? OFTReal
                         : contains(int_fields, name) ? OFTInteger64
                                                      : OFTString;
        OGRFieldDefn fd(name.c_str(), t);
        if (layer->CreateField(&fd) != OGRERR_NONE)
            throw std::runtime_error("cannot create field " + name);
    }
    for (const auto &f : features) {
        OGRFeatureUniquePtr feat(OGRFeature::CreateFeature(layer->GetLayerDefn()));
        for (const auto &[k, v] : f.fields) {
            int idx = feat->GetFieldIndex(k.c_str());
            if (idx < 0)
                throw std::runtime_error("fixture field not declared: " + k);
            if (!v.empty())
                feat->SetField(idx, v.c_str());
        }
        if (!f.wkt.empty()) {
            OGRGeometry *g = nullptr;
            if (OGRGeometryFactory::createFromWkt(f.wkt.c_str(), srs_ptr, &g) != OGRERR_NONE)
                throw std::runtime_error("bad fixture WKT " + f.wkt);
            feat->SetGeometryDirectly(g);
        }
        if (layer->CreateFeature(feat.get()) != OGRERR_NONE)
            throw std::runtime_error("cannot write a fixture feature");
    }
}

void strip_encoding_declaration(const std::filesystem::path &shp) {
    std::filesystem::remove(std::filesystem::path(shp).replace_extension(".cpg"));
    std::fstream f(std::filesystem::path(shp).replace_extension(".dbf"),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(29);
    f.put('\0');
    if (!f)
        throw std::runtime_error("cannot patch the .dbf of " + shp.string());
}

std::vector<std::string> split_lines(const std::string &text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos)
            end = text.size();
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::pair<double, double> ogr_transform(int from_epsg, int to_epsg, double x, double y) {
    OGRSpatialReference a, b;
    a.importFromEPSG(from_epsg);
    b.importFromEPSG(to_epsg);
    a.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    b.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&a, &b));
    if (!ct || !ct->Transform(1, &x, &y))
        throw std::runtime_error("OGR transform failed");
    return {x, y};
}

std::vector<std::map<std::string, std::string>>
read_vector(const std::filesystem::path &path, const std::string &layer_name,
            const std::vector<std::string> &open_options) {
    GDALAllRegister();
    std::vector<const char *> oo;
    for (const auto &o : open_options)
        oo.push_back(o.c_str());
    oo.push_back(nullptr);
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR, nullptr, oo.data()));
    if (!ds)
        throw std::runtime_error("GDAL cannot open " + path.string());
    OGRLayer *layer = layer_name.empty() ? ds->GetLayer(0) : ds->GetLayerByName(layer_name.c_str());
    if (!layer)
        throw std::runtime_error("no layer in " + path.string());
    std::vector<std::map<std::string, std::string>> rows;
    for (auto &feat : *layer) {
        std::map<std::string, std::string> row;
        for (int i = 0; i < feat->GetFieldCount(); ++i) {
            row[feat->GetFieldDefnRef(i)->GetNameRef()] =
                feat->IsFieldSetAndNotNull(i) ? feat->GetFieldAsString(i) : "";
        }
        if (auto *g = feat->GetGeometryRef())
            row["WKT"] = g->exportToWkt();
        rows.push_back(std::move(row));
    }
    return rows;
}

::testing::AssertionResult geometry_near(const std::string &actual_wkt,
                                         const std::string &expected_wkt, double tol_m) {
    OGRGeometry *a = nullptr;
    OGRGeometry *b = nullptr;
    OGRGeometryFactory::createFromWkt(actual_wkt.c_str(), nullptr, &a);
    OGRGeometryFactory::createFromWkt(expected_wkt.c_str(), nullptr, &b);
    std::unique_ptr<OGRGeometry> ua(a), ub(b);
    if (!a || !b)
        return ::testing::AssertionFailure()
               << "unparsable WKT: " << actual_wkt << " / " << expected_wkt;
    // Hausdorff distance through the symmetric point-to-geometry distances of the vertices.
    auto max_vertex_distance = [](const OGRGeometry *from, const OGRGeometry *to) {
        double worst = 0.0;
        std::vector<OGRPoint> points;
        std::function<void(const OGRGeometry *)> collect = [&](const OGRGeometry *x) {
            auto t = wkbFlatten(x->getGeometryType());
            if (t == wkbPoint) {
                points.push_back(*x->toPoint());
            } else if (t == wkbLineString || t == wkbLinearRing) {
                for (const auto &pt : *x->toSimpleCurve())
                    points.push_back(pt);
            } else if (t == wkbPolygon) {
                for (const auto *ring : *x->toPolygon())
                    collect(ring);
            } else if (OGR_GT_IsSubClassOf(t, wkbGeometryCollection)) {
                for (const auto *part : *x->toGeometryCollection())
                    collect(part);
            }
        };
        collect(from);
        for (const auto &pt : points)
            worst = std::max(worst, pt.Distance(to));
        return worst;
    };
    double d = std::max(max_vertex_distance(a, b), max_vertex_distance(b, a));
    if (a->getGeometryType() != b->getGeometryType() || d > tol_m)
        return ::testing::AssertionFailure()
               << "geometries differ by " << d << " m (tolerance " << tol_m
               << ")\n  actual:   " << a->exportToWkt() << "\n  expected: " << b->exportToWkt();
    return ::testing::AssertionSuccess();
}

void write_changed_sample_plants(const std::filesystem::path &path) {
    const auto rows = split_lines(read_file(sample_maps_dir() / "sewage_plants.csv"));
    // 编号,名称,规模,状态,出水达标,建成年份,改造年份,lon,lat
    const auto cells = [](const std::string &line) {
        std::vector<std::string> out;
        std::size_t start = 0;
        for (;;) {
            const auto comma = line.find(',', start);
            out.push_back(line.substr(start, comma - start));
            if (comma == std::string::npos)
                return out;
            start = comma + 1;
        }
    };
    const auto join = [](const std::vector<std::string> &c) {
        std::string line;
        for (std::size_t i = 0; i < c.size(); ++i)
            line += (i ? "," : "") + c[i];
        return line + "\n";
    };
    const auto shifted = [](const std::string &degrees) {
        return fmt::format("{:.6f}", std::stod(degrees) + 0.003);
    };
    std::string out;
    std::vector<std::string> added;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto c = cells(rows[i]);
        if (i == 0 || c.size() < 9) {
            out += rows[i] + "\n";
            continue;
        }
        if (c[0] == "WS0003")
            continue;
        if (c[0] == "WS0002")
            c[7] = shifted(c[7]);
        if (c[0] == "WS0005")
            c[3] = c[3] == "运行" ? "停用" : "运行";
        if (c[0] == "WS0010") {
            added = c;
            added[0] = "WSX001";
            added[1] += "二期";
            added[3] = "运行";
            added[8] = shifted(added[8]);
        }
        out += join(c);
    }
    if (added.empty())
        throw std::runtime_error("sample_maps/sewage_plants.csv has no WS0010");
    out += join(added);
    write_file(path, out);
}

void write_two_square_villages(const std::filesystem::path &path) {
    write_vector(path, "GeoJSON", "villages", 4549, {"code", "name"},
                 {{"POLYGON ((500000 3320000, 501000 3320000, 501000 3321000, 500000 3321000, "
                   "500000 3320000))",
                   {{"code", "330604101201"}, {"name", "东山村"}}},
                  {"POLYGON ((501000 3320000, 502000 3320000, 502000 3321000, 501000 3321000, "
                   "501000 3320000))",
                   {{"code", "330604101202"}, {"name", "下管村"}}}});
}

void write_river_county(const std::filesystem::path &dir, const std::string &plant_row,
                        bool farm_track) {
    write_two_square_villages(dir / "villages.geojson");
    write_vector(
        dir / "settlements.geojson", "GeoJSON", "settlements", 4549, {"id", "name", "population"},
        {{"POINT (500100 3320610)", {{"id", "S1"}, {"name", "北岸"}, {"population", "100"}}},
         {"POINT (500900 3320390)", {{"id", "S2"}, {"name", "南岸"}, {"population", "300"}}}},
        {}, {}, {"population"});
    std::vector<FixtureFeature> roads = {
        {"LINESTRING (500000 3320400, 502000 3320400)",
         {{"id", "south"}, {"status", "operating"}, {"surface", "hardened"}}},
        {"LINESTRING (500000 3320600, 502000 3320600)",
         {{"id", "north"}, {"status", "operating"}, {"surface", "hardened"}}},
        {"LINESTRING (502000 3320400, 502000 3320600)",
         {{"id", "bridge"}, {"status", "operating"}, {"surface", "hardened"}}}};
    if (farm_track)
        roads.push_back({"LINESTRING (501500 3320900, 501800 3320900)",
                         {{"id", "track"}, {"status", "operating"}, {"surface", "earth"}}});
    write_vector(dir / "roads.geojson", "GeoJSON", "roads", 4549, {"id", "status", "surface"},
                 roads);
    write_file(dir / "plants.csv", "id,status,service_radius_m,x,y\n" + plant_row + "\n");
}

std::vector<std::vector<std::string>> river_county_loads(const std::string &registry,
                                                         const std::filesystem::path &dir) {
    return {{"init", registry, "--crs", "EPSG:4549"},
            {"import", registry, (dir / "villages.geojson").string(), "--as", "village"},
            {"import", registry, (dir / "settlements.geojson").string(), "--as", "settlement"},
            {"import", registry, (dir / "roads.geojson").string(), "--as", "rural_road"},
            {"import", registry, (dir / "plants.csv").string(), "--as", "sewage_plant", "--src-crs",
             "EPSG:4549"}};
}

std::vector<std::string> csv_fields(const std::string &line) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const auto comma = line.find(',', start);
        out.push_back(line.substr(start, comma == std::string::npos ? comma : comma - start));
        if (comma == std::string::npos)
            return out;
        start = comma + 1;
    }
}

std::string csv_cell(const std::string &csv, const std::string &column, std::size_t row) {
    const auto lines = split_lines(csv);
    if (lines.size() <= row)
        throw std::logic_error("no data row " + std::to_string(row) + " in: " + csv);
    const auto header = csv_fields(lines[0]);
    const auto it = std::find(header.begin(), header.end(), column);
    if (it == header.end())
        throw std::logic_error("no column " + column + " in: " + lines[0]);
    return csv_fields(lines[row]).at(static_cast<std::size_t>(it - header.begin()));
}

} // namespace qiancun::testing
