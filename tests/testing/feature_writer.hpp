#pragma once

#include "qiancun/registry.hpp"

#include <map>
#include <string>
#include <vector>

/// Builds registry content feature by feature in tests: values by attribute name, geometry
/// as WKT, written with Registry::write in one transaction and linked to villages.

namespace qiancun::testing {

class FeatureWriter {
public:
    explicit FeatureWriter(Registry &registry) : m_registry(registry) {}

    /// Adds a feature of `kind`; throws std::logic_error for an unknown attribute or a
    /// geometry the kind rejects.
    FeatureWriter &add(const std::string &kind, std::map<std::string, Value> values,
                       const std::string &wkt);

    /// A point feature with key `id`; assets default to status operating.
    FeatureWriter &point(const std::string &kind, const std::string &id, double x, double y,
                         std::map<std::string, Value> values = {});

    /// Writes everything added so far (source `source`, status history valid from
    /// `effective_date` when given) and links settlements and assets to villages.
    void commit(const std::string &source, const std::string &effective_date = "",
                WriteMode mode = WriteMode::upsert);

private:
    Registry &m_registry;
    std::map<std::string, std::vector<Feature>> m_pending;
};

} // namespace qiancun::testing
