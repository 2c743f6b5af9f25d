#include "qiancun/error.hpp"
#include "store/store.hpp"

#include <fmt/format.h>

namespace qiancun::store {

namespace {

[[noreturn]] void not_available(const Location &location) {
    throw UsageError(fmt::format("{}: PostgreSQL registries are not available in this build; use "
                                 "a SpatiaLite file",
                                 location.display()));
}

} // namespace

std::unique_ptr<Store> open_postgis(const Location &location, bool) {
    not_available(location);
}

std::unique_ptr<Store> create_postgis(const Location &location,
                                      const std::optional<crs::Definition> &) {
    not_available(location);
}

} // namespace qiancun::store
