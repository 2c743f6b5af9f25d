#include "testing/feature_writer.hpp"

#include "qiancun/geometry.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace qiancun::testing {

FeatureWriter &FeatureWriter::add(const std::string &kind, std::map<std::string, Value> values,
                                  const std::string &wkt) {
    const KindDef &k = m_registry.kind(kind);
    Feature f;
    f.row = static_cast<std::int64_t>(m_pending[kind].size()) + 1;
    f.values.assign(k.attributes.size(), Value{});
    for (auto &[name, v] : values) {
        const int i = k.attribute_index(name);
        if (i < 0)
            throw std::logic_error(kind + " has no attribute " + name);
        f.values[static_cast<std::size_t>(i)] = std::move(v);
    }
    const auto checked = geometry::check(geometry::wkb_from_wkt(wkt), k.geometry, false);
    if (!checked.problem.empty())
        throw std::logic_error(wkt + ": " + checked.problem);
    f.wkb = checked.wkb;
    m_pending[kind].push_back(std::move(f));
    return *this;
}

FeatureWriter &FeatureWriter::point(const std::string &kind, const std::string &id, double x,
                                    double y, std::map<std::string, Value> values) {
    values["id"] = id;
    if (m_registry.kind(kind).is_asset())
        values.try_emplace("status", std::string("operating"));
    return add(kind, values, fmt::format("POINT({} {})", x, y));
}

void FeatureWriter::commit(const std::string &source, const std::string &effective_date,
                           WriteMode mode) {
    Registry::Transaction tx(m_registry);
    for (const auto &[kind, features] : m_pending) {
        ImportRecord record;
        record.kind = kind;
        record.source = source;
        record.effective_date = effective_date;
        m_registry.write(m_registry.kind(kind), features, mode, record);
    }
    m_registry.link_villages();
    tx.commit();
    m_pending.clear();
}

} // namespace qiancun::testing
