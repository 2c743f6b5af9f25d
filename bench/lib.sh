#!/usr/bin/env bash
# The preamble the province benchmarks share (bench/site/run.sh, bench/network/run.sh). Source it
# with BENCH set to the benchmark's folder name. It reads the common environment (all optional):
#   WORK=/tmp/qiancun-bench-$BENCH   working directory
#   VILLAGES=20000                   size of the generated set (make_sample_maps --villages)
#   BUILD=build/release              where qiancun and make_sample_maps are
#   REG=…                            a registry already loaded with the set (skips 1–2)
# defines say and die, checks the tools, and sets ROOT, WORK (absolute), LOG, QC, GEN and REG,
# generating the set (step 1) and loading it into $WORK/R.sqlite (step 2) when REG is not given.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-/tmp/qiancun-bench-$BENCH}
VILLAGES=${VILLAGES:-20000}
BUILD=${BUILD:-$ROOT/build/release}
QC=$BUILD/tools/qiancun
GEN=$BUILD/tools/make_sample_maps

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench/%s/run.sh: %s\n' "$BENCH" "$*" >&2; exit 1; }
[[ -x $QC && -x $GEN ]] || die "no qiancun/make_sample_maps in $BUILD/tools (build first)"
[[ -x /usr/bin/time ]] || apt-get install -y -q time >/dev/null
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
LOG=$WORK/logs
mkdir -p "$LOG"

if [[ -z ${REG:-} ]]; then
    REG=$WORK/R.sqlite
    say "1. generate $VILLAGES villages"
    "$GEN" --villages "$VILLAGES" --out "$WORK/data" >"$LOG/generate.log" 2>&1
    say "2. load"
    rm -f "$REG"
    "$QC" -q init "$REG" --crs EPSG:4549 >/dev/null
    "$QC" -q load "$REG" "$WORK/data/county.toml" >"$LOG/load.log" 2>&1
fi
