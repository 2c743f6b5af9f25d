#!/usr/bin/env bash
# Scaling of `qiancun load` and `qiancun metrics` with the number of villages (issue 15):
# for each size, make_sample_maps generates a set, `qiancun init + load` loads it and
# `qiancun metrics --no-store` computes every village × type; at the sizes in PEER_SIZES the
# SpatiaLite-SQL peer (bench/peers/spatialite_metrics.sh) computes the same metrics on the same
# registry in the same run, and bench/compare.py checks it agrees. Every step runs under
# bench/measure.py (wall, CPU = user + system, peak memory, load average at its start).
# See "Scaling" in bench/README.md.
#
#   bench/scale/run.sh                              # 5,000 10,000 20,000 40,000 villages
#   SIZES="5000 10000" PEER_SIZES=5000 bench/scale/run.sh
#
# Environment (all optional; WORK, BUILD, SKIP_BUILD as in bench/lib.sh):
#   WORK=/tmp/qiancun-bench-scale   working directory (sets, registries, CSVs, results.tsv)
#   SIZES="5000 10000 20000 40000"  village counts
#   PEER_SIZES="5000 20000"         sizes at which the SpatiaLite-SQL peer runs too
#   PEER_JOBS=2                     processes of the peer
#   STEP_TIMEOUT=3600               seconds before a step is stopped (reported as timeout)
# Prints the table (bench/scale/table.py) and writes it to WORK/table.md. Exit status 0 when
# every step ran and the peer agreed.
set -euo pipefail

BENCH=scale
STEP_TIMEOUT=${STEP_TIMEOUT:-3600}
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
SIZES=${SIZES:-5000 10000 20000 40000}
PEER_SIZES=${PEER_SIZES:-5000 20000}
PEER_JOBS=${PEER_JOBS:-2}

main() {
need cmd:spatialite=spatialite-bin
bench_build
RES=$WORK/results.tsv
rm -f "$RES" "$WORK/agreement.tsv"
bench_machine | tee "$WORK/machine.txt" >&2
for n in $SIZES; do
    set=$WORK/set-$n reg=$WORK/R-$n.sqlite
    say "$n villages"
    rm -rf "$set"
    measure generate make_sample_maps "--villages $n" "$n" -- "$GEN" --villages "$n" --out "$set" || continue
    fresh_registry "$reg"
    measure load "qiancun load" "$(set_features "$set") features" "$n" -- \
        "$QC" -q load "$reg" "$set/county.toml" || continue
    measure metrics qiancun "$n villages × all types" "$n" -- \
        "$QC" -q metrics "$reg" --no-store --format csv -o "$WORK/qiancun-$n.csv" || continue
    if [[ " $PEER_SIZES " == *" $n "* ]]; then
        if measure metrics "SpatiaLite SQL" "$n villages × all types" "$n" -- \
            "$ROOT/bench/peers/spatialite_metrics.sh" "$reg" "$WORK/spatialite-$n.csv" --jobs "$PEER_JOBS"; then
            "$PY" "$ROOT/bench/compare.py" "$WORK/qiancun-$n.csv" "$WORK/spatialite-$n.csv" "SpatiaLite $n" \
                --summary "$WORK/agreement.tsv" >"$LOG/compare-$n.txt" || FAILED=1
            tail -n 3 "$LOG/compare-$n.txt" >&2
        fi
    fi
    rm -rf "$set" # the registry stays; the sets are made again in seconds
done
{
    cat "$WORK/machine.txt"
    echo
    "$PY" "$ROOT/bench/scale/table.py" "$RES"
} | tee "$WORK/table.md"
exit "$FAILED"
}
main "$@"
