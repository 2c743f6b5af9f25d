#include "cli.hpp"

namespace qiancun::cli {

void register_metrics(CLI::App&) {}

} // namespace qiancun::cli
