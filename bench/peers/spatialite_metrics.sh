#!/usr/bin/env bash
# SpatiaLite SQL peer of `qiancun metrics` (SPEC §3, straight-line metrics).
#
# Generates plain SpatiaLite SQL — one block of statements per asset type — and runs it with
# the `spatialite` shell on the registry file. Nothing in the registry is written: every
# intermediate result is a TEMP table, and the answer is a CSV keyed by village code with
#   n_T, nearest_T_m, area_cov_T, pop_cov_T   for every type T, then road_km, hardened_km.
#
# The SQL is what a competent SpatiaLite user writes:
#   * candidate search through the registry's R*Tree (the SpatialIndex virtual table), never
#     a cartesian product;
#   * area_cov = ST_Area(ST_Intersection(V, ST_Union(ST_Buffer(a, r, 16)))) / ST_Area(V) over
#     the serving assets whose disc reaches V (ST_Union is SpatiaLite's aggregate, which
#     unions the discs of a group in one cascaded GEOS call);
#   * pop_cov: settlement population within ST_Distance <= r of some serving asset (exact
#     distance, no polygon disc), summed per village;
#   * nearest: distance from the demand point (seat, else ST_PointOnSurface) to the nearest
#     serving asset, with index windows of 2, 10 and 50 km and a scan only as a last resort;
#   * halls with a footprint (`footprint_geom`, else the point `geom`): distances and discs
#     from the footprint (SPEC §3 "Polygon assets"), candidates through both R*Trees;
#   * n: serving assets linked to V (the registry's village_code, which applies the border
#     rule); roads: serving roads that intersect V, and road_km / hardened_km as
#     ST_Length(ST_Intersection(V, road)).
#   * the villages are split into JOBS interleaved parts run by JOBS `spatialite` processes
#     at once (SQLite runs one query on one core), so the peer uses the same cores as qiancun.
#
# Usage: spatialite_metrics.sh REGISTRY OUT.csv [--villages N] [--types "t1 t2 …"] [--jobs J]
#   --villages N   only the first N villages by code (0 = all; the default)
#   --types        asset types (default: every type the registry has a table for)
#   --jobs J       parallel spatialite processes (default 2)
# Per-asset radius: service_radius_m (> 0), then (5G) band 700 → 5000 m, then the type default.
set -euo pipefail

die() { echo "spatialite_metrics.sh: $*" >&2; exit 1; }

[[ $# -ge 2 ]] || die "usage: spatialite_metrics.sh REGISTRY OUT.csv [--villages N] [--types \"…\"] [--jobs J]"
REG=$(realpath "$1")
OUT=$2
shift 2
NVILLAGES=0
TYPES=""
JOBS=2
while [[ $# -gt 0 ]]; do
    case $1 in
        --villages) NVILLAGES=$2; shift 2 ;;
        --types) TYPES=$2; shift 2 ;;
        --jobs) JOBS=$2; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
[[ -f $REG ]] || die "no registry $REG"
command -v spatialite >/dev/null || die "the spatialite shell is missing (apt-get install spatialite-bin)"

SERVING="('operating', 'renovating')"
# Type defaults of SPEC §3 (clinic: the sample manifest's [asset_types.clinic]).
declare -A DEFAULT_R=(
    [sewage_plant]=1000 [base_station_5g]=1500 [cultural_hall]=1000
    [courier_station]=2000 [rural_road]=500 [clinic]=1500
)
ALL_TYPES="sewage_plant rural_road base_station_5g cultural_hall courier_station clinic"

q() { spatialite -bail "$REG" "$1"; }   # one scalar query on the registry

if [[ -z $TYPES ]]; then
    for t in $ALL_TYPES; do
        [[ -n $(q "SELECT 1 FROM geometry_columns WHERE f_table_name = '$t'") ]] && TYPES+="$t "
    done
fi

# SQL expression of the radius of asset `a` of a type.
radius_expr() {
    local t=$1 def=${DEFAULT_R[$1]:-1000}
    if [[ $t == base_station_5g ]]; then
        echo "(CASE WHEN a.service_radius_m > 0 THEN a.service_radius_m WHEN CAST(a.band AS REAL) = 700 THEN 5000.0 ELSE $def.0 END)"
    else
        echo "(CASE WHEN a.service_radius_m > 0 THEN a.service_radius_m ELSE $def.0 END)"
    fi
}

# Types whose rows may carry a polygon footprint (cultural halls): a POINT `geom` (the
# footprint's point-on-surface, which links the row to its village) and a MULTIPOLYGON
# `footprint_geom`, each with its own R*Tree. Distances and discs are the footprint's where
# there is one (SPEC §3 "Polygon assets"), as qiancun reads them.
declare -A FOOTPRINT=()
for t in $ALL_TYPES; do
    [[ -n $(q "SELECT 1 FROM geometry_columns WHERE f_table_name = '$t' AND f_geometry_column = 'footprint_geom'") ]] &&
        FOOTPRINT[$t]=1
done

# SQL expression of the geometry of asset `a` of a type: its footprint, else its point.
geom_expr() {
    if [[ -n ${FOOTPRINT[$1]:-} ]]; then echo "COALESCE(a.footprint_geom, a.geom)"; else echo "a.geom"; fi
}

# Candidate assets of type $1 whose index box meets the SpatiaLite MBR expression $2 (both
# indexes where the type has footprints: a footprint may meet the frame while its point does not).
candidates() {
    local c="a.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = '$1' AND f_geometry_column = 'geom' AND search_frame = $2)"
    if [[ -n ${FOOTPRINT[$1]:-} ]]; then
        c="($c OR a.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = '$1' AND f_geometry_column = 'footprint_geom' AND search_frame = $2))"
    fi
    echo "$c"
}

# The SQL of one worker: villages whose rank (by code) is ≡ $1 mod JOBS.
worker_sql() {
    local k=$1 limit="" t rx rmax ag
    [[ $NVILLAGES -gt 0 ]] && limit="LIMIT $NVILLAGES"
    cat <<EOF
PRAGMA cache_size = -65536;
PRAGMA temp_store = MEMORY;
-- The villages of this worker, and their demand points (seat, else point-on-surface).
CREATE TEMP TABLE vsel AS
  SELECT code, geom, ST_Area(geom) AS area,
         CASE WHEN seat_x IS NOT NULL AND seat_y IS NOT NULL THEN MakePoint(seat_x, seat_y, ST_SRID(geom))
              ELSE ST_PointOnSurface(geom) END AS p
  FROM (SELECT code, geom, seat_x, seat_y, ROW_NUMBER() OVER (ORDER BY code) - 1 AS rk
        FROM village ORDER BY code $limit)
  WHERE rk % $JOBS = $k;
CREATE UNIQUE INDEX temp.vsel_code ON vsel(code);
CREATE TEMP TABLE res AS SELECT code FROM vsel;
EOF
    for t in $TYPES; do
        rx=$(radius_expr "$t")
        ag=$(geom_expr "$t")
        rmax=$(q "SELECT COALESCE(MAX($rx), 0) FROM \"$t\" a WHERE a.status IN $SERVING")
        cat <<EOF
-- ===== $t: radius $rx, largest $rmax m, geometry $ag
CREATE TEMP TABLE "ac_$t" AS
  SELECT v.code AS code,
         ST_Area(ST_Intersection(v.geom, ST_Union(ST_Buffer($ag, $rx, 16)))) / v.area AS area_cov
  FROM vsel v JOIN "$t" a
    ON $(candidates "$t" "BuildMbr(MbrMinX(v.geom) - $rmax, MbrMinY(v.geom) - $rmax, MbrMaxX(v.geom) + $rmax, MbrMaxY(v.geom) + $rmax)")
  WHERE a.status IN $SERVING AND ST_Distance(v.geom, $ag) < $rx
  GROUP BY v.code;
CREATE TEMP TABLE "pc_$t" AS
  SELECT s.village_code AS code, SUM(COALESCE(s.population, 0)) AS pop,
         SUM(CASE WHEN EXISTS (
               SELECT 1 FROM "$t" a
               WHERE $(candidates "$t" "BuildCircleMbr(ST_X(s.geom), ST_Y(s.geom), $rmax)")
                 AND a.status IN $SERVING AND ST_Distance(s.geom, $ag) <= $rx)
             THEN COALESCE(s.population, 0) ELSE 0 END) AS covered
  FROM settlement s WHERE s.village_code IN (SELECT code FROM vsel)
  GROUP BY s.village_code;
EOF
        # Nearest: a window is conclusive when its minimum is within its half-width.
        local nn="COALESCE("
        for w in 2000 10000 50000; do
            nn+="(SELECT MIN(ST_Distance(v.p, $ag)) FROM \"$t\" a WHERE $(candidates "$t" "BuildCircleMbr(ST_X(v.p), ST_Y(v.p), $w)") AND a.status IN $SERVING HAVING MIN(ST_Distance(v.p, $ag)) <= $w), "
        done
        nn+="(SELECT MIN(ST_Distance(v.p, $ag)) FROM \"$t\" a WHERE a.status IN $SERVING))"
        echo "CREATE TEMP TABLE \"nn_$t\" AS SELECT v.code AS code, $nn AS nearest FROM vsel v;"
        if [[ $t == rural_road ]]; then
            cat <<EOF
CREATE TEMP TABLE "n_$t" AS
  SELECT v.code AS code, COUNT(*) AS n,
         SUM(ST_Length(ST_Intersection(v.geom, a.geom))) / 1000.0 AS road_km,
         SUM(CASE WHEN a.surface = 'hardened' THEN ST_Length(ST_Intersection(v.geom, a.geom)) ELSE 0 END) / 1000.0 AS hardened_km
  FROM vsel v JOIN "$t" a ON $(candidates "$t" "v.geom")
  WHERE a.status IN $SERVING AND ST_Intersects(v.geom, a.geom)
  GROUP BY v.code;
EOF
        else
            cat <<EOF
CREATE TEMP TABLE "n_$t" AS
  SELECT a.village_code AS code, COUNT(*) AS n FROM "$t" a
  WHERE a.status IN $SERVING AND a.village_code IN (SELECT code FROM vsel)
  GROUP BY a.village_code;
EOF
        fi
    done
    # The answer: one row per village.
    local cols="r.code" joins=""
    for t in $TYPES; do
        cols+=", COALESCE(\"n_$t\".n, 0) AS n_$t, \"nn_$t\".nearest AS nearest_${t}_m"
        cols+=", COALESCE(\"ac_$t\".area_cov, 0.0) AS area_cov_$t"
        cols+=", CASE WHEN \"pc_$t\".pop > 0 THEN CAST(\"pc_$t\".covered AS REAL) / \"pc_$t\".pop END AS pop_cov_$t"
        joins+=" LEFT JOIN \"n_$t\" USING (code) LEFT JOIN \"nn_$t\" USING (code)"
        joins+=" LEFT JOIN \"ac_$t\" USING (code) LEFT JOIN \"pc_$t\" USING (code)"
        if [[ $t == rural_road ]]; then
            cols+=", COALESCE(\"n_$t\".road_km, 0.0) AS road_km, COALESCE(\"n_$t\".hardened_km, 0.0) AS hardened_km"
        fi
    done
    cat <<EOF
.headers on
.mode csv
SELECT $cols FROM res r$joins ORDER BY r.code;
EOF
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/spatialite_peer.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
pids=()
for ((k = 0; k < JOBS; k++)); do
    worker_sql "$k" >"$TMP/worker$k.sql"
    spatialite -bail "$REG" <"$TMP/worker$k.sql" >"$TMP/worker$k.csv" 2>"$TMP/worker$k.err" &
    pids+=($!)
done
for k in "${!pids[@]}"; do
    wait "${pids[$k]}" || { cat "$TMP/worker$k.err" >&2; die "worker $k failed"; }
done
# Merge: one header, rows by code.
{
    head -n 1 "$TMP/worker0.csv"
    for ((k = 0; k < JOBS; k++)); do tail -n +2 "$TMP/worker$k.csv"; done | LC_ALL=C sort
} >"$OUT"
[[ -n ${KEEP_SQL:-} ]] && cp "$TMP/worker0.sql" "$KEEP_SQL"
echo "spatialite peer: $(($(wc -l <"$OUT") - 1)) villages, types: $TYPES → $OUT" >&2
