#!/usr/bin/env bash
# An independent check of the road-network engine: net_nearest_T_m and net_pop_cov_T of every
# village of the sample county, from `qiancun metrics --network`, against the networkx peer of
# bench/network (its own graph from the raw road segments read with GeoPandas, networkx's
# Dijkstra; no qiancun code), within 1e-6 m and 1e-9. Fails when nothing was compared.
#
# Usage: networkx_crosscheck.sh QIANCUN SOURCE_DIR
set -euo pipefail
QC=$1
ROOT=$2
PY=/usr/bin/python3 # Debian's interpreter, with python3-networkx and python3-geopandas
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$QC" -q init "$WORK/county.sqlite" >/dev/null
"$QC" -q load "$WORK/county.sqlite" "$ROOT/sample_maps/county.toml" >/dev/null
"$QC" -q metrics "$WORK/county.sqlite" --network -o "$WORK/qiancun.csv" >/dev/null
"$PY" "$ROOT/bench/network/networkx_network.py" "$WORK/county.sqlite" "$WORK/networkx.csv" \
    2>"$WORK/peer.log" || { cat "$WORK/peer.log" >&2; exit 1; }
"$PY" "$ROOT/bench/network/compare.py" "$WORK/qiancun.csv" "$WORK/networkx.csv" \
    --tol-m 1e-6 --tol-ratio 1e-9
