#!/usr/bin/env bash
# Times `qiancun bulletin` on the province-size set (make_sample_maps --villages 20000) and checks
# the issue's bounds: the HTML page written in under 30 s and under 10 MB. See bench/README.md.
#
#   bench/bulletin/run.sh                       # generates and loads the set under $WORK
#   WORK=/tmp/qiancun-bench bench/bulletin/run.sh   # reuses $WORK/bulletin/r.sqlite if present
#
# Environment: WORK (default /tmp/qiancun-bench; the bulletin works in WORK/bulletin), VILLAGES
# (20000), BUILD and QIANCUN as in bench/lib.sh, MAX_S (30), MAX_MB (10).
# Exit status 0 when both bounds hold.
set -euo pipefail
BENCH=bulletin
WORK=${WORK:-/tmp/qiancun-bench}/bulletin
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
MAX_S=${MAX_S:-30}
MAX_MB=${MAX_MB:-10}
need cmd:sqlite3=sqlite3
reg=$WORK/r.sqlite
if [[ ! -f $reg ]]; then
    [[ -x $QC && -x $GEN ]] || die "no qiancun/make_sample_maps in $BUILD/tools (build first)"
    make_set "$WORK/maps"
    fresh_registry "$reg"
    "$QC" load "$reg" "$WORK/maps/county.toml" --as-of 2026-10-31 >"$LOG/load.log" 2>&1 ||
        die "load failed (see $LOG/load.log)"
fi
villages=$(sqlite3 "$reg" 'SELECT COUNT(*) FROM village')
out=$WORK/bulletin.html
/usr/bin/time -f '%e %M' -o "$WORK/time.txt" \
    "$QC" bulletin "$reg" --as-of 2026-11-30 --compare 2026-10-31 -o "$out" >/dev/null 2>"$WORK/stderr.txt"
read -r wall kb <"$WORK/time.txt"
bytes=$(stat -c %s "$out")
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
printf '| bulletin .html, --compare | %s villages | %s s | %s MiB peak | %s MB | %s |\n' \
    "$villages" "$wall" "$((kb / 1024))" "$mb" "$(date -u +%Y-%m-%d)"
awk -v w="$wall" -v b="$bytes" -v s="$MAX_S" -v m="$MAX_MB" \
    'BEGIN { exit !(w < s && b < m * 1e6) }' || {
    echo "bench/bulletin: over the bounds (< $MAX_S s, < $MAX_MB MB)" >&2
    exit 1
}
