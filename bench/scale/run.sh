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
# Environment (all optional):
#   WORK=/tmp/qiancun-bench-scale   working directory (sets, registries, CSVs, results.tsv)
#   SIZES="5000 10000 20000 40000"  village counts
#   PEER_SIZES="5000 20000"         sizes at which the SpatiaLite-SQL peer runs too
#   PEER_JOBS=2                     processes of the peer
#   BUILD=build/release             where qiancun and make_sample_maps are
#   STEP_TIMEOUT=3600               seconds before a step is stopped (reported as timeout)
# Prints the table (bench/scale/table.py) and writes it to WORK/table.md. Exit status 0 when
# every step ran and the peer agreed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH=$ROOT/bench
WORK=${WORK:-/tmp/qiancun-bench-scale}
SIZES=${SIZES:-5000 10000 20000 40000}
PEER_SIZES=${PEER_SIZES:-5000 20000}
PEER_JOBS=${PEER_JOBS:-2}
BUILD=${BUILD:-$ROOT/build/release}
STEP_TIMEOUT=${STEP_TIMEOUT:-3600}
QC=$BUILD/tools/qiancun
GEN=$BUILD/tools/make_sample_maps
PY=/usr/bin/python3

die() { printf 'bench/scale/run.sh: %s\n' "$*" >&2; exit 1; }
main() {
[[ -x $QC && -x $GEN ]] || die "no qiancun/make_sample_maps in $BUILD/tools (build first)"
[[ -x /usr/bin/time ]] || apt-get install -y -q time >/dev/null
command -v spatialite >/dev/null || apt-get install -y -q spatialite-bin >/dev/null
mkdir -p "$WORK/logs"
WORK=$(cd "$WORK" && pwd)
RES=$WORK/results.tsv
rm -f "$RES" "$WORK/agreement.tsv"
FAILED=0
step() { # STEP TOOL DATA VILLAGES -- CMD…
    local log
    log=$WORK/logs/$(echo "$1-$2-$4" | tr -c 'A-Za-z0-9_.\n-' '_').log
    "$PY" "$BENCH/measure.py" "$RES" "$1" "$2" "$3" "$4" --timeout "$STEP_TIMEOUT" --log "$log" \
        -- "${@:6}" || { echo "   failed, see $log" >&2; FAILED=1; return 1; }
}
{
    echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -h | awk '/^Mem:/{print $2}') RAM"
    echo "qiancun: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
} | tee "$WORK/machine.txt" >&2
for n in $SIZES; do
    set=$WORK/set-$n reg=$WORK/R-$n.sqlite
    echo "== $n villages" >&2
    rm -rf "$set" "$reg" "$reg-wal" "$reg-shm"
    step generate make_sample_maps "--villages $n" "$n" -- "$GEN" --villages "$n" --out "$set" || continue
    features=$($PY -c 'import json,sys; print(sum(json.load(open(sys.argv[1])).values()))' "$set/counts.json")
    "$QC" -q init "$reg" --crs EPSG:4549 >/dev/null
    step load "qiancun load" "$features features" "$n" -- "$QC" -q load "$reg" "$set/county.toml" || continue
    step metrics qiancun "$n villages × all types" "$n" -- \
        "$QC" -q metrics "$reg" --no-store --format csv -o "$WORK/qiancun-$n.csv" || continue
    if [[ " $PEER_SIZES " == *" $n "* ]]; then
        if step metrics "SpatiaLite SQL" "$n villages × all types" "$n" -- \
            "$BENCH/peers/spatialite_metrics.sh" "$reg" "$WORK/spatialite-$n.csv" --jobs "$PEER_JOBS"; then
            "$PY" "$BENCH/compare.py" "$WORK/qiancun-$n.csv" "$WORK/spatialite-$n.csv" "SpatiaLite $n" \
                --summary "$WORK/agreement.tsv" >"$WORK/logs/compare-$n.txt" || FAILED=1
            tail -n 3 "$WORK/logs/compare-$n.txt" >&2
        fi
    fi
    rm -rf "$set" # the registry stays; the sets are made again in seconds
done
{
    cat "$WORK/machine.txt"
    echo
    "$PY" "$BENCH/scale/table.py" "$RES"
} | tee "$WORK/table.md"
exit "$FAILED"
}
main "$@"
