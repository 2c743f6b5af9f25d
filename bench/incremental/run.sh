#!/usr/bin/env bash
# Incremental metrics at province scale: load the generated province, compute and store the
# metrics, import next month's sewage plant list of the water bureau with 200 changed rows (50
# added, 50 moved ~480 m, 50 switched between operating and closed, 50 removed) as a real
# import of the changed department file, then time `qiancun metrics` (incremental) and
# `qiancun metrics --full` side by side and check that both write the same CSV byte for byte.
# See bench/README.md.
#
#   bench/incremental/run.sh                 # defaults below
#   WORK=/data/qi bench/incremental/run.sh   # another working directory
#
# Environment (all optional; VILLAGES, BUILD, QIANCUN, SKIP_BUILD as in bench/lib.sh):
#   WORK=/tmp/qiancun-incremental   data set, registries, CSVs, logs
#   CHANGES=200                     changed plant rows
# The generated set and the loaded registry are kept in WORK and reused by the next run.
# Exit status: 0 when every step ran and both CSVs are identical, 1 otherwise.
set -euo pipefail

BENCH=incremental
WORK=${WORK:-/tmp/qiancun-incremental}
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
CHANGES=${CHANGES:-200}

main() {
bench_build
SET=$WORK/province
BASE=$WORK/loaded.sqlite
REG=$WORK/R.sqlite
RES=$WORK/results.tsv
: >"$RES"

# name, then the command: wall and CPU seconds and peak memory go to results.tsv.
timed() {
    local name=$1
    shift
    /usr/bin/time -o "$LOG/$name.time" -f '%e %U %S %M' "$@" \
        >"$LOG/$name.out" 2>"$LOG/$name.err" || {
        tail -n 5 "$LOG/$name.err" >&2
        die "$name failed (see $LOG/$name.err)"
    }
    local wall user sys kb cpu
    read -r wall user sys kb <"$LOG/$name.time"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    printf '%s\t%s\t%s\t%d\n' "$name" "$wall" "$cpu" $((kb / 1024)) >>"$RES"
    printf '%-22s %7.2f s wall %7.2f s CPU %6d MB\n' "$name" "$wall" "$cpu" $((kb / 1024)) >&2
}

make_set "$SET"
if [[ ! -f $BASE || $BASE -ot $SET/counts.json ]]; then
    say "load the province (once; kept as $BASE)"
    fresh_registry "$BASE"
    timed load "$QC" -q load "$BASE" "$SET/county.toml"
fi
rm -f "$REG" "$REG"-wal "$REG"-shm
cp "$BASE" "$REG"

say "next month's plant list: $CHANGES changed rows"
mkdir -p "$WORK/next"
"$PY" "$ROOT/bench/incremental/change_plants.py" "$SET/sewage_plants.csv" \
    "$WORK/next/sewage_plants.csv" "$CHANGES" >&2

say "metrics, full (stores the layer and its basis)"
timed metrics_first "$QC" metrics "$REG" -o "$WORK/before.csv"
say "import the changed list (--like water_bureau --replace)"
timed import "$QC" -q import "$REG" "$WORK/next/sewage_plants.csv" --like water_bureau \
    --manifest "$SET/county.toml" --replace
say "metrics after the import: incremental, then --full"
timed metrics_incremental "$QC" -v metrics "$REG" -o "$WORK/incremental.csv"
timed metrics_full "$QC" -v metrics "$REG" --full -o "$WORK/full.csv"

grep -h 'recomputed\|computed all' "$LOG/metrics_incremental.err" "$LOG/metrics_full.err" >&2
engine=$(sed -n 's/^metrics: .* recomputed in \([0-9.]*\) s$/\1/p' "$LOG/metrics_incremental.err")
echo "incremental engine (read, reach, recompute, store): ${engine:-?} s" >&2
uptime >&2
nproc >&2
if cmp -s "$WORK/incremental.csv" "$WORK/full.csv"; then
    echo "incremental and full CSV identical ($(wc -l <"$WORK/full.csv") lines)" >&2
else
    cmp "$WORK/incremental.csv" "$WORK/full.csv" >&2 || true
    die "the incremental and the full run differ"
fi
cmp -s "$WORK/before.csv" "$WORK/full.csv" && die "the change changed no number"
echo "results: $RES" >&2
}

main "$@"
