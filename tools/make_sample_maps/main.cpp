#include "county_generator.hpp"
#include "county_writer.hpp"

#include <gdal_priv.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>

namespace {

/// Command-line options of make_sample_maps.
struct Options {
    std::filesystem::path out_dir;
    qiancun::sample::GenerationConfig generation;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(const Options &options) {
    using namespace qiancun::sample;
    GDALAllRegister();
    const auto start = std::chrono::steady_clock::now();
    const County county = generate_county(options.generation);
    const double generated_s = seconds_since(start);

    WriteOptions write;
    write.out_dir = options.out_dir;
    write.command =
        fmt::format("make_sample_maps --out {} --seed {} --villages {}", options.out_dir.string(),
                    options.generation.seed, options.generation.villages);
    write_county(county, write);
    const double total_s = seconds_since(start);

    fmt::print("wrote {} ({} townships)\n", options.out_dir.string(), county.townships.size());
    for (const auto &[kind, n] : feature_counts(county))
        fmt::print("  {:<16} {:>8}\n", kind, n);
    fmt::print("generated in {:.1f} s, written in {:.1f} s\n", generated_s, total_s - generated_s);
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    Options options;
    CLI::App app{"Generates the deterministic fictional sample county (or a province-size "
                 "benchmark set) in the file formats planners receive."};
    app.add_option("--out", options.out_dir, "output directory (created if missing)")->required();
    app.add_option("--seed", options.generation.seed, "random seed")->capture_default_str();
    app.add_option("--villages", options.generation.villages, "number of villages")
        ->capture_default_str()
        ->check(CLI::Range(1, 200000));
    CLI11_PARSE(app, argc, argv);
    try {
        return run(options);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "make_sample_maps: %s\n", e.what());
        return 1;
    }
}
