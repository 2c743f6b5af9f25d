#!/usr/bin/env bash
# The province registry in PostgreSQL/PostGIS against the same in a SpatiaLite file (issue 13):
# generate the province set (make_sample_maps --villages 20000), start a throwaway local
# PostgreSQL 15 + PostGIS server (tests/testing/pg_server.sh: initdb into a temp dir, a free
# port of 127.0.0.1, stopped at the end), time `qiancun init + load` into a SpatiaLite file and
# into a PostGIS schema, then `qiancun metrics --no-store --format csv` read from each, REPEAT
# times alternately, and check that every CSV is byte for byte the same. Every step runs under
# bench/measure.py (wall, qiancun's CPU, peak memory, load average at its start); the server's
# CPU (its backends do the PostGIS side's reading and writing) is taken around each step by
# bench/postgis/server_cpu.py. See "PostGIS" in bench/README.md.
#
#   bench/postgis/run.sh
#   VILLAGES=5000 REPEAT=1 bench/postgis/run.sh
#
# Environment (all optional; WORK, VILLAGES and BUILD as for bench/lib.sh):
#   WORK=/tmp/qiancun-bench-postgis   set, registry file, server state, CSVs, logs
#   REPEAT=3                          metrics runs per store (the table shows medians)
# Prints the table (bench/postgis/table.py) and writes it to WORK/table.md. Exit status 0 when
# every step ran and all CSVs are identical.
set -euo pipefail

BENCH=postgis
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
REG=$WORK/R.sqlite
REPEAT=${REPEAT:-3}
SET=$WORK/data
RES=$WORK/results.tsv
SERVER_CPU=$WORK/server_cpu.tsv
PG_STATE=$WORK/pg
PG_SERVER=$ROOT/tests/testing/pg_server.sh

main() {
: >"$RES"
: >"$SERVER_CPU"
[[ -x $QC && -x $GEN ]] || die "no qiancun/make_sample_maps in $BUILD/tools (build first)"
make_set "$SET"
features=$(set_features "$SET")

say "start a throwaway PostgreSQL + PostGIS server"
bash "$PG_SERVER" start "$PG_STATE" >/dev/null
trap 'bash "$PG_SERVER" stop "$PG_STATE"' EXIT
DATA=$(sed -n 's/^QIANCUN_PG_DATA=//p' "$PG_STATE/env")/cluster
URI="$(sed -n 's/^QIANCUN_PG_URI=//p' "$PG_STATE/env")?schema=province"

# STEP STORE DATA -- CMD…: measure.py's record, and the server's CPU seconds over the step.
step() {
    local before after log
    log=$LOG/$(echo "$1-$2-$(wc -l <"$RES")" | tr -c 'A-Za-z0-9_.\n-' '_').log
    before=$($PY "$HERE/server_cpu.py" "$DATA")
    "$PY" "$ROOT/bench/measure.py" "$RES" "$1" "$2" "$3" "$VILLAGES" --log "$log" -- "${@:5}" ||
        die "$1 on $2 failed, see $log"
    after=$($PY "$HERE/server_cpu.py" "$DATA")
    printf '%s\t%s\t%s\n' "$1" "$2" "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }')" \
        >>"$SERVER_CPU"
}

{
    echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -h | awk '/^Mem:/{print $2}') RAM"
    echo "server:  $("$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)/postgres" --version), PostGIS $(psql -X -A -t -h 127.0.0.1 -p "$(sed -n 's/^PGPORT=//p' "$PG_STATE/env")" -U postgres -d qiancun_test -c 'SELECT postgis_lib_version()')"
    echo "qiancun: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
} | tee "$WORK/machine.txt" >&2

say "load: SpatiaLite file, then PostGIS schema"
fresh_registry "$REG"
step load SpatiaLite "$features features" -- "$QC" -q load "$REG" "$SET/county.toml"
"$QC" -q init "$URI" --crs EPSG:4549 >/dev/null
step load PostGIS "$features features" -- "$QC" -q load "$URI" "$SET/county.toml"

say "metrics read from each, $REPEAT times alternately"
for i in $(seq "$REPEAT"); do
    step metrics SpatiaLite "$VILLAGES villages × all types" -- \
        "$QC" -q metrics "$REG" --no-store --format csv -o "$WORK/spatialite-$i.csv"
    step metrics PostGIS "$VILLAGES villages × all types" -- \
        "$QC" -q metrics "$URI" --no-store --format csv -o "$WORK/postgis-$i.csv"
done
same=1
for f in "$WORK"/spatialite-*.csv "$WORK"/postgis-*.csv; do
    cmp -s "$WORK/spatialite-1.csv" "$f" || { echo "$f differs from spatialite-1.csv" >&2; same=0; }
done
{
    cat "$WORK/machine.txt"
    echo
    "$PY" "$HERE/table.py" "$RES" "$SERVER_CPU"
    echo
    if [[ $same == 1 ]]; then
        echo "All $((2 * REPEAT)) metrics CSVs identical ($(wc -l <"$WORK/spatialite-1.csv") lines, $(sha256sum "$WORK/spatialite-1.csv" | cut -c1-16))."
    else
        echo "The metrics CSVs DIFFER."
    fi
} | tee "$WORK/table.md"
[[ $same == 1 ]]
}

main "$@"
