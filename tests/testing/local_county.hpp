#pragma once

#include "qiancun/registry.hpp"
#include "testing/feature_writer.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>

#include <map>
#include <string>

/// A test fixture: a fresh registry in EPSG:4549 (CGCS2000 / 3-degree GK CM 120E) in a
/// temporary directory, filled feature by feature (FeatureWriter) in one transaction, with
/// coordinates written relative to (kX0, kY0) so that fixtures read as small numbers of metres.

namespace qiancun::testing {

class LocalCounty : public ::testing::Test {
protected:
    static constexpr double kX0 = 500000.0;
    static constexpr double kY0 = 3320000.0;

    LocalCounty() : m_registry(Registry::create(m_dir / "county.sqlite", 4549)) {}

    /// Adds a feature of `kind` (values by attribute name, geometry as absolute WKT); an unknown
    /// attribute or a geometry the kind rejects throws std::logic_error.
    void add(const std::string &kind, std::map<std::string, Value> values, const std::string &wkt) {
        m_writer.add(kind, std::move(values), wkt);
    }
    /// Writes what was added and links settlements and assets to villages.
    void commit() { m_writer.commit("fixture"); }

    /// A point at x, y metres from (kX0, kY0).
    static std::string pt(double x, double y) {
        return fmt::format("POINT({} {})", kX0 + x, kY0 + y);
    }
    /// The square of `side` metres with its lower left corner at x, y from (kX0, kY0).
    static std::string square(double x, double y, double side) {
        return fmt::format("POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", kX0 + x,
                           kY0 + y, kX0 + x + side, kY0 + y + side);
    }

    TempDir m_dir;
    Registry m_registry;
    FeatureWriter m_writer{m_registry};
};

} // namespace qiancun::testing
