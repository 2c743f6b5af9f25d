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
# Environment (all optional):
#   WORK=/tmp/qiancun-incremental   data set, registries, CSVs, logs
#   VILLAGES=20000                  size of the generated set (make_sample_maps --villages)
#   CHANGES=200                     changed plant rows
#   SKIP_BUILD=1                    use build/release as it is
# The generated set and the loaded registry are kept in WORK and reused by the next run.
# Exit status: 0 when every step ran and both CSVs are identical, 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${WORK:-/tmp/qiancun-incremental}
VILLAGES=${VILLAGES:-20000}
CHANGES=${CHANGES:-200}
QC=$ROOT/build/release/tools/qiancun
GEN=$ROOT/build/release/tools/make_sample_maps

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench/incremental/run.sh: %s\n' "$*" >&2; exit 1; }

main() {
if [[ -z ${SKIP_BUILD:-} ]]; then
    say "build (release preset)"
    (cd "$ROOT" && { [[ -f build/release/CMakeCache.txt ]] || cmake --preset release; } &&
        cmake --build --preset release -j2 --target qiancun make_sample_maps) >/dev/null ||
        die "the release build failed"
fi
[[ -x /usr/bin/time ]] || die "needs /usr/bin/time (apt-get install -y time)"
mkdir -p "$WORK/logs"
WORK=$(cd "$WORK" && pwd)
SET=$WORK/province
BASE=$WORK/loaded.sqlite
REG=$WORK/R.sqlite
RES=$WORK/results.tsv
: >"$RES"

# name, then the command: wall and CPU seconds and peak memory go to results.tsv.
timed() {
    local name=$1
    shift
    /usr/bin/time -o "$WORK/logs/$name.time" -f '%e %U %S %M' "$@" \
        >"$WORK/logs/$name.out" 2>"$WORK/logs/$name.err" || {
        tail -n 5 "$WORK/logs/$name.err" >&2
        die "$name failed (see $WORK/logs/$name.err)"
    }
    local wall user sys kb cpu
    read -r wall user sys kb <"$WORK/logs/$name.time"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    printf '%s\t%s\t%s\t%d\n' "$name" "$wall" "$cpu" $((kb / 1024)) >>"$RES"
    printf '%-22s %7.2f s wall %7.2f s CPU %6d MB\n' "$name" "$wall" "$cpu" $((kb / 1024)) >&2
}

if [[ ! -f $SET/counts.json ]] || ! grep -q "\"village\": $VILLAGES," "$SET/counts.json"; then
    say "generate $VILLAGES villages"
    rm -rf "$SET"
    "$GEN" --villages "$VILLAGES" --out "$SET" >/dev/null
fi
if [[ ! -f $BASE || $BASE -ot $SET/counts.json ]]; then
    say "load the province (once; kept as $BASE)"
    rm -f "$BASE" "$BASE"-wal "$BASE"-shm
    "$QC" -q init "$BASE" --crs EPSG:4549 >/dev/null
    timed load "$QC" -q load "$BASE" "$SET/county.toml"
fi
rm -f "$REG" "$REG"-wal "$REG"-shm
cp "$BASE" "$REG"

say "next month's plant list: $CHANGES changed rows"
mkdir -p "$WORK/next"
python3 "$ROOT/bench/incremental/change_plants.py" "$SET/sewage_plants.csv" \
    "$WORK/next/sewage_plants.csv" "$CHANGES" >&2

say "metrics, full (stores the layer and its basis)"
timed metrics_first "$QC" metrics "$REG" -o "$WORK/before.csv"
say "import the changed list (--like water_bureau --replace)"
timed import "$QC" -q import "$REG" "$WORK/next/sewage_plants.csv" --like water_bureau \
    --manifest "$SET/county.toml" --replace
say "metrics after the import: incremental, then --full"
timed metrics_incremental "$QC" -v metrics "$REG" -o "$WORK/incremental.csv"
timed metrics_full "$QC" -v metrics "$REG" --full -o "$WORK/full.csv"

grep -h 'recomputed\|computed all' "$WORK/logs/metrics_incremental.err" "$WORK/logs/metrics_full.err" >&2
engine=$(sed -n 's/^metrics: .* recomputed in \([0-9.]*\) s$/\1/p' "$WORK/logs/metrics_incremental.err")
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
