#include "store/store.hpp"

namespace qiancun::store {

std::unique_ptr<Store> open(const Location &location, bool read_only) {
    if (location.is_postgresql())
        return open_postgis(location, read_only);
    return open_spatialite(location.path(), read_only);
}

std::unique_ptr<Store> create(const Location &location, const std::optional<crs::Definition> &crs) {
    if (location.is_postgresql())
        return create_postgis(location, crs);
    return create_spatialite(location.path(), crs);
}

} // namespace qiancun::store
