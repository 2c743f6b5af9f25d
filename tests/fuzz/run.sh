#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build/fuzz) and runs each for SECONDS seconds
# (default 30) on a copy of its corpus in tests/fuzz/corpus/<target>/. New inputs stay in
# build/fuzz/corpus/; a crash leaves build/fuzz/artifacts/<target>/crash-* and fails the run.
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(import_csv import_geojson import_kml manifest rules targets)
fi
build=build/fuzz
jobs="${JOBS:-2}"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DQIANCUN_FUZZ=ON -DQIANCUN_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target $(printf 'fuzz_%s ' "${targets[@]}")

# GDAL's and PROJ's one-off allocations are not leaks worth failing on.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export CPL_DEBUG=OFF
failed=0
for t in "${targets[@]}"; do
    work="$build/corpus/$t"
    artifacts="$build/artifacts/$t"
    mkdir -p "$work" "$artifacts"
    log="$build/fuzz_$t.log"
    if "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
        execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
        echo "fuzz_$t: ${execs:-?} executions in ${seconds} s, no crash"
    else
        failed=1
        echo "fuzz_$t: FAILED, see $log and $artifacts/"
        tail -n 40 "$log"
    fi
done
exit "$failed"
