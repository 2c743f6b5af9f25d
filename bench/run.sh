#!/usr/bin/env bash
# Benchmark of `qiancun metrics` on a province-size data set, side by side with two peers that
# compute the same SPEC §3 metrics on the same registry: SpatiaLite SQL and GeoPandas.
# See bench/README.md. Prints a table of wall seconds, peak memory and ratios, and checks that
# the peers agree with qiancun's area_cov / pop_cov within 0.01.
#
#   bench/run.sh                      # everything, defaults below
#   WORK=/data/qb bench/run.sh        # another working directory
#
# Environment (all optional):
#   WORK=/tmp/qiancun-bench   working directory (data set, registry, CSVs, logs, table)
#   VILLAGES=20000            size of the generated set (make_sample_maps --villages)
#   SQL_VILLAGES=0            SpatiaLite peer: first N villages by code (0 = all)
#   GP_VILLAGES=0             GeoPandas peer: first N villages by code (0 = all)
#   PEER_JOBS=2               processes per peer (qiancun uses both cores too)
#   STEP_TIMEOUT=1800         seconds before any one step is stopped (reported as timeout)
#   SKIP_BUILD=1              use build/release as it is
#   SKIP_PEERS=1              qiancun rows only
#   SKIP_NETWORK=1            skip the road-network benchmark run at the end (bench/network/)
# When a peer runs on a subset, qiancun is also timed on exactly that subset (--village …),
# so every ratio compares the same work. Exit status: 0 when every step ran and both peers
# agree, 1 otherwise.
set -euo pipefail

BENCH=
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SQL_VILLAGES=${SQL_VILLAGES:-0}
GP_VILLAGES=${GP_VILLAGES:-0}
PEER_JOBS=${PEER_JOBS:-2}

# The whole run is one function, parsed before it starts: bash reads a script as it goes, so
# an edit of this file during a (long) run could otherwise derail the run.
main() {

# ---------------------------------------------------------------- 0. tools
say "tools"
need cmd:spatialite=spatialite-bin cmd:ogr2ogr=gdal-bin \
    "py:geopandas, rtree, osgeo.ogr=python3-geopandas python3-rtree python3-gdal"
RES=$WORK/results.tsv
AGREE=$WORK/agreement.tsv
REG=$WORK/R.sqlite
rm -f "$RES" "$AGREE"

# ---------------------------------------------------------------- 1. build
bench_build
"$QC" metrics --help >/dev/null 2>&1 || die "this build of qiancun has no 'metrics' subcommand yet"

{
    bench_machine
    # shellcheck disable=SC1091
    echo "system:  $(. /etc/os-release && echo "$PRETTY_NAME"), $(spatialite -bail :memory: "SELECT 'SpatiaLite ' || spatialite_version() || ', GEOS ' || geos_version()" 2>/dev/null)"
    echo "python:  $($PY -c 'import geopandas, shapely, pandas, rtree, osgeo; print(f"GeoPandas {geopandas.__version__}, Shapely {shapely.__version__}, pandas {pandas.__version__}, rtree {rtree.__version__}, GDAL {osgeo.__version__}")')"
} | tee "$WORK/machine.txt" >&2

# ---------------------------------------------------------------- 2. data
say "generate the province set ($VILLAGES villages) in $WORK/province"
rm -rf "$WORK/province"
measure generate make_sample_maps "--villages $VILLAGES" "$VILLAGES" -- \
    "$GEN" --villages "$VILLAGES" --out "$WORK/province" || die "generation failed"
COUNTS=$($PY -c 'import json,sys; c=json.load(open(sys.argv[1])); print(", ".join(f"{v:,} {k}" for k,v in c.items()))' "$WORK/province/counts.json")
echo "   $COUNTS" >&2
echo "data:    $COUNTS" >>"$WORK/machine.txt"
NV=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["village"])' "$WORK/province/counts.json")
FEATURES=$($PY -c 'import json,sys; print(f"{sum(json.load(open(sys.argv[1])).values()):,}")' "$WORK/province/counts.json")
SOURCES=$(grep -c "^\[\[source\]\]" "$WORK/province/county.toml")

# ---------------------------------------------------------------- 3. load
say "load the registry $REG"
fresh_registry "$REG"
measure load "qiancun load" "$SOURCES sources, $FEATURES features" "$NV" -- \
    "$QC" -q load "$REG" "$WORK/province/county.toml" || die "load failed"
# The peer of the load: ogr2ogr copying the same ten files into one SpatiaLite file,
# reprojected to EPSG:4549 with spatial indexes (bench/load/ogr2ogr_copy.sh).
measure load "ogr2ogr (same files → SpatiaLite)" "$SOURCES sources, $FEATURES features" "$NV" -- \
    "$ROOT/bench/load/ogr2ogr_copy.sh" "$WORK/province" "$WORK/ogr2ogr.sqlite" || true

# ---------------------------------------------------------------- 4. qiancun metrics
# The peers compute the six types of SPEC §3's sample (PEER_TYPES); the reference row asks
# qiancun for exactly those, so every ratio compares the same work. The sample manifest
# configures more kinds (museums, sports grounds, …): the "all types" rows time those too.
PEER_TYPES=(sewage_plant rural_road base_station_5g cultural_hall courier_station clinic)
TYPE_ARGS=()
for t in "${PEER_TYPES[@]}"; do TYPE_ARGS+=(--type "$t"); done
say "qiancun metrics"
measure metrics "qiancun" "$NV villages × the peers' 6 types" "$NV" -- \
    "$QC" -q metrics "$REG" --no-store --format csv -o "$WORK/qiancun.csv" "${TYPE_ARGS[@]}" || true
measure metrics "qiancun (all types)" "$NV villages × all types" "$NV" -- \
    "$QC" -q metrics "$REG" --no-store --format csv -o "$WORK/qiancun_all.csv" || true
measure metrics+store "qiancun (stores village_metrics)" "$NV villages × all types" "$NV" -- \
    "$QC" -q metrics "$REG" --format csv -o "$WORK/qiancun_stored.csv" || true

# qiancun on the first N villages (when a peer runs on a subset): the like-for-like row.
declare -A SUBSET_DONE=()
subset_reference() {
    local n=$1
    ((n > 0 && n < NV)) || return 0
    [[ -z ${SUBSET_DONE[$n]:-} ]] || return 0
    SUBSET_DONE[$n]=1
    local args=()
    while read -r code; do args+=(--village "$code"); done < <(
        spatialite -bail "$REG" "SELECT code FROM village ORDER BY code LIMIT $n")
    measure metrics "qiancun" "first $n villages × the peers' 6 types" "$n" -- \
        "$QC" -q metrics "$REG" --no-store --format csv -o "$WORK/qiancun_first$n.csv" \
        "${args[@]}" "${TYPE_ARGS[@]}" || true
}

# ---------------------------------------------------------------- 5. peers
if [[ -z ${SKIP_PEERS:-} ]]; then
    for n in "$SQL_VILLAGES" "$GP_VILLAGES"; do subset_reference "$n"; done
    label() { if (($1 > 0 && $1 < NV)); then echo "first $1 villages × the peers' 6 types"; else echo "$NV villages × the peers' 6 types"; fi; }
    count() { if (($1 > 0 && $1 < NV)); then echo "$1"; else echo "$NV"; fi; }

    say "peer: SpatiaLite SQL ($PEER_JOBS spatialite processes)"
    if measure metrics "SpatiaLite SQL" "$(label "$SQL_VILLAGES")" "$(count "$SQL_VILLAGES")" -- \
        "$ROOT/bench/peers/spatialite_metrics.sh" "$REG" "$WORK/spatialite.csv" \
        --villages "$SQL_VILLAGES" --jobs "$PEER_JOBS"; then
        "$PY" "$ROOT/bench/compare.py" "$WORK/qiancun.csv" "$WORK/spatialite.csv" "SpatiaLite" \
            --summary "$AGREE" >"$LOG/compare-spatialite.txt" || FAILED=1
        cat "$LOG/compare-spatialite.txt" >&2
    fi

    say "peer: GeoPandas ($PEER_JOBS worker processes)"
    if measure metrics "GeoPandas" "$(label "$GP_VILLAGES")" "$(count "$GP_VILLAGES")" -- \
        "$PY" "$ROOT/bench/peers/geopandas_metrics.py" "$REG" "$WORK/geopandas.csv" \
        --villages "$GP_VILLAGES" --jobs "$PEER_JOBS"; then
        "$PY" "$ROOT/bench/compare.py" "$WORK/qiancun.csv" "$WORK/geopandas.csv" "GeoPandas" \
            --summary "$AGREE" >"$LOG/compare-geopandas.txt" || FAILED=1
        cat "$LOG/compare-geopandas.txt" >&2
    fi
fi

# ---------------------------------------------------------------- 6. table
say "results ($WORK/table.md)"
touch "$AGREE"
{
    cat "$WORK/machine.txt"
    echo
    "$PY" "$ROOT/bench/table.py" "$RES" "$AGREE" --markdown
} >"$WORK/table.md"
echo >&2
cat "$WORK/machine.txt"
echo
"$PY" "$ROOT/bench/table.py" "$RES" "$AGREE"
# qiancun's load against ogr2ogr's copy (issue 15: at most 1.5× in wall time).
"$PY" - "$RES" <<'PY' | tee -a "$WORK/table.md"
import sys
rows = {r[1]: r for r in (l.rstrip("\n").split("\t") for l in open(sys.argv[1])) if r[0] == "load"}
q = rows.get("qiancun load")
o = next((r for t, r in rows.items() if t.startswith("ogr2ogr")), None)
if q and o and q[8] == o[8] == "ok":
    print(f"\nload: qiancun {float(q[4]):.1f} s wall, {float(q[10]):.1f} s CPU; ogr2ogr "
          f"{float(o[4]):.1f} s wall, {float(o[10]):.1f} s CPU; qiancun ÷ ogr2ogr = "
          f"{float(q[4]) / float(o[4]):.2f} (wall), {float(q[10]) / float(o[10]):.2f} (CPU)")
PY
if [[ ! -s $AGREE && -z ${SKIP_PEERS:-} ]]; then FAILED=1; fi
# Road-network metrics (issue 4) on the same registry: bench/network/run.sh, SKIP_NETWORK=1 skips.
if [[ -x $ROOT/bench/network/run.sh && -z ${SKIP_NETWORK:-} ]]; then
    say "road network (bench/network/run.sh)"
    REG=$REG WORK=$WORK/network BUILD=$ROOT/build/release SKIP_PEER=${SKIP_PEERS:-} \
        "$ROOT/bench/network/run.sh" || FAILED=1
fi
exit "$FAILED"
}

main "$@"
