#pragma once

#include "metrics/dataset.hpp"
#include "qiancun/config.hpp"
#include "qiancun/metrics.hpp"
#include "qiancun/network.hpp"
#include "qiancun/registry.hpp"

/// The network metrics of SPEC §3 (net_nearest_T_m, net_pop_cov_T), called by compute_metrics.

namespace qiancun::network {

/// Fills `net_nearest_m` and `net_pop_cov` of every point/polygon type of `table` (whose
/// villages and types are parallel to `data`) along the serving road network, and sets
/// `table.network`. `config` holds every type; `threads` as MetricsOptions::threads.
void add_network_metrics(const Registry &registry, const MetricsConfig &config,
                         const metrics::Dataset &data, int threads, MetricsTable &table);

/// Per-type searches over an already built graph, for tests and benchmarks: the same
/// computation as add_network_metrics without reading the roads.
void add_network_metrics(const RoadGraph &graph, const metrics::Dataset &data, int threads,
                         MetricsTable &table);

} // namespace qiancun::network
