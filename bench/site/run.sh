#!/usr/bin/env bash
# Benchmark of `qiancun site` (SPEC §10) on the province set: 40 new sewage plants among every
# settlement as a candidate, straight-line and along the roads. See "Siting" in bench/README.md.
#
#   bench/site/run.sh                          # generate, load, time
#   REG=/path/R.sqlite bench/site/run.sh       # reuse a registry loaded with the set
#
# Environment (all optional):
#   WORK=/tmp/qiancun-bench-site   working directory
#   VILLAGES=20000                 size of the generated set (make_sample_maps --villages)
#   BUILD=build/release            where qiancun and make_sample_maps are
#   REG=…                          a registry already loaded with the set (skips 1–2)
#   ADD=40                         sites to propose
# Prints a table: seconds, peak MiB, sites, people newly reached, the bound and the load
# average of the machine when each run started (the machine may be shared).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${WORK:-/tmp/qiancun-bench-site}
VILLAGES=${VILLAGES:-20000}
BUILD=${BUILD:-$ROOT/build/release}
ADD=${ADD:-40}
QC=$BUILD/tools/qiancun
GEN=$BUILD/tools/make_sample_maps

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench/site/run.sh: %s\n' "$*" >&2; exit 1; }
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

rows=()
run() { # NAME ARGS…
    local name=$1
    shift
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    say "$name"
    /usr/bin/time -f '%e %M' -o "$WORK/$name.time" "$QC" site "$REG" --type sewage_plant \
        --add "$ADD" "$@" --format csv -o "$WORK/$name.csv" >"$WORK/$name.out" 2>"$LOG/$name.log" ||
        die "$name failed, see $LOG/$name.log"
    local summary
    summary=$(grep -m1 '^type=' "$LOG/$name.log")
    read -r secs kib <"$WORK/$name.time"
    key() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$summary"; }
    rows+=("$(printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s' "$name" "$secs" $((kib / 1024)) \
        "$(key candidates)" "$(key sites)" "$(key added_population)" \
        "$(key upper_bound_population)" "$(key optimality_gap)" "$load")")
}
run straight
run network --network

printf '\nrun\tseconds\tpeak_MiB\tcandidates\tsites\tadded_population\tupper_bound\tgap\tload_at_start\n'
printf '%s\n' "${rows[@]}"
printf '(%s villages, %s cores, %s)\n' "$VILLAGES" "$(nproc)" "$(date -u +%FT%TZ)"
