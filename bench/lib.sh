#!/usr/bin/env bash
# The preamble every benchmark in bench/ shares. A script sets BENCH to its folder name (empty
# for bench/run.sh) and, optionally, its own defaults (WORK, STEP_TIMEOUT), then sources this
# file. The common environment (all optional):
#   WORK=/tmp/qiancun-bench-$BENCH   working directory (data sets, registries, logs, results)
#   VILLAGES=20000                   size of the generated set (make_sample_maps --villages)
#   BUILD=build/release              where qiancun and make_sample_maps are
#   QIANCUN=…                        another qiancun binary (e.g. a build before a change)
#   SKIP_BUILD=1                     use BUILD as it is (bench_build does nothing)
#   STEP_TIMEOUT=1800                seconds before a measured step is stopped (timeout)
#   REG=…                            a registry already loaded with the set (bench_province)
# Sets ROOT, BUILD, QC, GEN, PY, WORK (absolute, created), LOG (WORK/logs) and VILLAGES, and
# defines the helpers below: say, die, need, bench_build, bench_machine, make_set, set_features,
# fresh_registry, measure, bench_province.

# shellcheck disable=SC2034 # FAILED, LOG, GEN, PY, … are used by the scripts that source this file
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=${BENCH:-}
WORK=${WORK:-/tmp/qiancun-bench${BENCH:+-$BENCH}}
VILLAGES=${VILLAGES:-20000}
BUILD=${BUILD:-$ROOT/build/release}
QC=${QIANCUN:-$BUILD/tools/qiancun}
GEN=$BUILD/tools/make_sample_maps
PY=/usr/bin/python3 # Debian's interpreter: the one that sees python3-geopandas, -networkx, -gdal
STEP_TIMEOUT=${STEP_TIMEOUT:-1800}
FAILED=0

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench/%srun.sh: %s\n' "${BENCH:+$BENCH/}" "$*" >&2; exit 1; }

# need [cmd:NAME | py:MODULES | file:PATH]=PACKAGE… : installs from Debian the packages whose
# command, Python modules (comma-separated, for $PY) or file is missing; needs root then.
need() {
    local spec what pkg missing=()
    for spec in "$@"; do
        what=${spec%%=*} pkg=${spec#*=}
        case $what in
        cmd:*) command -v "${what#cmd:}" >/dev/null && continue ;;
        py:*) "$PY" -c "import ${what#py:}" 2>/dev/null && continue ;;
        file:*) [[ -e ${what#file:} ]] && continue ;;
        *) die "need: bad spec $spec" ;;
        esac
        read -ra pkg <<<"$pkg"
        missing+=("${pkg[@]}")
    done
    ((${#missing[@]})) || return 0
    [[ $(id -u) -eq 0 ]] || die "missing Debian packages: ${missing[*]} (apt-get install -y …)"
    echo "installing ${missing[*]}" >&2
    apt-get install -y -q "${missing[@]}" >/dev/null ||
        { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; } ||
        die "could not install ${missing[*]}"
}

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
LOG=$WORK/logs
mkdir -p "$LOG"
need file:/usr/bin/time=time

# Builds qiancun and make_sample_maps (release preset, only what changed; log in LOG/build.log)
# unless SKIP_BUILD is set, then checks that both are there.
bench_build() {
    if [[ -z ${SKIP_BUILD:-} ]]; then
        say "build (release preset; only what changed is rebuilt; log in $LOG/build.log)"
        (
            cd "$ROOT"
            [[ -f build/release/CMakeCache.txt ]] || cmake --preset release
            cmake --build --preset release -j2 --target qiancun make_sample_maps
        ) >"$LOG/build.log" 2>&1 || {
            tail -n 20 "$LOG/build.log" >&2
            die "the release build failed (see $LOG/build.log)"
        }
    fi
    [[ -x $QC && -x $GEN ]] || die "no qiancun/make_sample_maps in $BUILD/tools (build first)"
}

# The date, machine and qiancun commit, for the head of a results table.
bench_machine() {
    echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -h | awk '/^Mem:/{print $2}') RAM"
    echo "qiancun: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?') (working tree as built)${QIANCUN:+; binary $QIANCUN}"
}

# make_set DIR [N]: a make_sample_maps set of N (default VILLAGES) villages in DIR, generated
# unless DIR already holds one of that size.
make_set() {
    local dir=$1 n=${2:-$VILLAGES}
    if [[ -f $dir/counts.json ]] &&
        [[ $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["village"])' "$dir/counts.json") == "$n" ]]; then
        return 0
    fi
    say "generate $n villages in $dir"
    rm -rf "$dir"
    "$GEN" --villages "$n" --out "$dir" >"$LOG/generate-$n.log" 2>&1 || die "make_sample_maps failed (see $LOG/generate-$n.log)"
}

# set_features DIR: the number of features of the set in DIR (all sources).
set_features() {
    "$PY" -c 'import json,sys; print(sum(json.load(open(sys.argv[1])).values()))' "$1/counts.json"
}

# fresh_registry FILE: a new, empty registry in EPSG:4549 (any older file and its WAL removed).
fresh_registry() {
    rm -f "$1" "$1-wal" "$1-shm" "$1-journal"
    "$QC" -q init "$1" --crs EPSG:4549 >/dev/null || die "qiancun init $1 failed"
}

# measure STEP TOOL DATA VILLAGES -- CMD… : one step under bench/measure.py, recorded in $RES
# (log in LOG/STEP-TOOL-VILLAGES.log); on failure prints the log's tail, sets FAILED=1 and
# returns 1, never stops the script.
measure() {
    local step=$1 tool=$2 data=$3 n=$4 log
    shift 4
    [[ $1 == -- ]] && shift
    log=$LOG/$(echo "$step-$tool-$n" | tr -c 'A-Za-z0-9_.\n-' '_').log
    if ! "$PY" "$ROOT/bench/measure.py" "$RES" "$step" "$tool" "$data" "$n" \
        --timeout "$STEP_TIMEOUT" --log "$log" -- "$@"; then
        echo "   failed; last lines of $log:" >&2
        tail -n 5 "$log" >&2 || true
        FAILED=1
        return 1
    fi
}

# bench_province: REG, a registry loaded with the set of VILLAGES villages: the one given, or
# the set generated in WORK/data and loaded into WORK/R.sqlite.
bench_province() {
    [[ -n ${REG:-} ]] && return 0
    [[ -x $QC && -x $GEN ]] || die "no qiancun/make_sample_maps in $BUILD/tools (build first)"
    REG=$WORK/R.sqlite
    make_set "$WORK/data"
    say "load $WORK/data into $REG"
    fresh_registry "$REG"
    "$QC" -q load "$REG" "$WORK/data/county.toml" >"$LOG/load.log" 2>&1 || die "load failed (see $LOG/load.log)"
}
