#!/usr/bin/env bash
# Benchmark of the road-network metrics (issue 4) on the province set, next to a networkx peer
# doing the same multi-source computation (bench/network/networkx_network.py). See the section
# "Network distance" of bench/README.md.
#
#   bench/network/run.sh                 # generate, load, time, compare
#   REG=/path/R.sqlite bench/network/run.sh   # reuse a loaded registry
#
# Environment (all optional): WORK (default /tmp/qiancun-bench-network), VILLAGES, BUILD,
# QIANCUN and REG as in bench/lib.sh, and
#   SKIP_PEER=1                       qiancun only
# Prints a table (seconds, peak MiB, ratio) and the agreement of every net_* column; exit 1 if
# a step failed or the peer disagrees.
set -euo pipefail

BENCH=network
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
TYPES=(sewage_plant base_station_5g cultural_hall courier_station)
[[ -n ${SKIP_PEER:-} ]] ||
    need "py:networkx, geopandas, scipy=python3-networkx python3-geopandas python3-scipy"
bench_province

# timed NAME CMD… : wall seconds and peak RSS (MiB) of CMD into $WORK/NAME.time
timed() {
    local name=$1
    shift
    /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$LOG/$name.out" 2>"$LOG/$name.err" ||
        { echo "   $name failed; see $LOG/$name.err" >&2; return 1; }
}
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.2f", s }' "$WORK/$1.time"; }
peak() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$WORK/$1.time"; }

say "3. qiancun: graph (info --network)"
timed graph "$QC" info "$REG" --network || FAILED=1
GRAPH_S=$(sed -n 's/.*road graph: .* in \([0-9.]*\) s.*/\1/p' "$LOG/graph.err" | head -1)
EDGES=$(sed -n 's/.*road graph: [0-9]* nodes, \([0-9]*\) edges.*/\1/p' "$LOG/graph.err" | head -1)

say "4. qiancun: metrics --network for ${TYPES[*]}"
TYPE_ARGS=()
for t in "${TYPES[@]}"; do TYPE_ARGS+=(--type "$t"); done
timed metrics "$QC" metrics "$REG" --network --no-store "${TYPE_ARGS[@]}" --format csv \
    -o "$WORK/qiancun.csv" || FAILED=1
NET_S=$(sed -n 's/.*network metrics in \([0-9.]*\) s.*/\1/p' "$LOG/metrics.err" | head -1)
ALL_S=$(sed -n 's/.*metrics: .* in \([0-9.]*\) s (loading.*/\1/p' "$LOG/metrics.err" | head -1)

PEER_S="" PEER_GRAPH_S="" PEER_MIB=""
if [[ -z ${SKIP_PEER:-} ]]; then
    say "5. networkx peer"
    if timed peer "$PY" "$ROOT/bench/network/networkx_network.py" "$REG" "$WORK/peer.csv" \
        --types "${TYPES[*]}"; then
        PEER_S=$(wall peer)
        PEER_MIB=$(peak peer)
        # graph = reading the roads + building the graph + its edge index, as for qiancun
        PEER_GRAPH_S=$(sed -n 's/^\[ *\([0-9.]*\) s\] edge index/\1/p' "$LOG/peer.err")
        say "6. agreement"
        $PY "$ROOT/bench/network/compare.py" "$WORK/qiancun.csv" "$WORK/peer.csv" |
            tee "$WORK/agreement.tsv" || FAILED=1
    else
        FAILED=1
    fi
fi

ratio() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f×", a / b }' || echo "–"; }
{
    echo "| step | qiancun s | qiancun peak MiB | networkx s | networkx peak MiB | ratio |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| road graph ($EDGES edges; read + build) | $GRAPH_S | $(peak graph) (info --network) | ${PEER_GRAPH_S:-–} | | $(ratio "$PEER_GRAPH_S" "$GRAPH_S") |"
    echo "| network metrics, 4 types (graph included) | $NET_S | | ${PEER_S:-–} | ${PEER_MIB:-–} | $(ratio "$PEER_S" "$NET_S") |"
    echo "| whole \`metrics --network\` process (straight-line metrics too) | $(wall metrics) | $(peak metrics) | | | |"
} | tee "$WORK/table.md"
echo "(straight-line + network metrics in-process: ${ALL_S:-?} s; load average $(cut -d' ' -f1 /proc/loadavg))" >&2
exit $FAILED
