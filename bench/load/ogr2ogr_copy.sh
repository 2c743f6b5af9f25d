#!/usr/bin/env bash
# The peer of `qiancun load` (bench/README.md, "Loading"): GDAL's ogr2ogr copies every source
# of a make_sample_maps set's county.toml into ONE new SpatiaLite file, every layer reprojected to
# EPSG:4549, with a spatial index on every geometry column. One ogr2ogr process per source,
# one after the other (the first creates the file, the others add a layer with -update).
#
#   bench/load/ogr2ogr_copy.sh SET_DIR OUT.sqlite
#
# Per source, as qiancun reads it (county.toml): villages.shp decoded as GBK (CP936);
# point tables from their lon/lat columns (sewage_plants.csv through the CSV driver's
# X/Y_POSSIBLE_NAMES, read as EPSG:4490 — ogr2ogr has no GCJ-02, qiancun additionally removes
# the GCJ-02 offset; base_stations_5g.xlsx through a VRT PointFromColumns, EPSG:4326);
# villages and roads promoted to multi-geometries as the registry stores them, the halls
# (points and footprints) into a GEOMETRY column; the water bureau's tests (water_tests.csv,
# no geometry) as a plain table; the five further kinds of the sample manifest (museums, sports
# grounds, workshops, smart-life halls, farm facilities) as points. Every layer: -t_srs EPSG:4549,
# -lco SPATIAL_INDEX=YES, all its features in one transaction (-gt unlimited).
set -euo pipefail
[[ $# -eq 2 ]] || { sed -n '2,17p' "$0" >&2; exit 2; }
SET=$(cd "$1" && pwd)
OUT=$2
rm -f "$OUT" "$OUT-journal" "$OUT-wal" "$OUT-shm"
VRT=$(mktemp --suffix=.vrt)
trap 'rm -f "$VRT"' EXIT
cat >"$VRT" <<XML
<OGRVRTDataSource>
  <OGRVRTLayer name="base_station_5g">
    <SrcDataSource>$SET/base_stations_5g.xlsx</SrcDataSource>
    <SrcLayer>基站清单</SrcLayer>
    <GeometryType>wkbPoint</GeometryType>
    <LayerSRS>EPSG:4326</LayerSRS>
    <GeometryField encoding="PointFromColumns" x="lon" y="lat"/>
  </OGRVRTLayer>
</OGRVRTDataSource>
XML
common=(-t_srs EPSG:4549 -lco SPATIAL_INDEX=YES -gt unlimited)
ogr2ogr -f SQLite -dsco SPATIALITE=YES "${common[@]}" "$OUT" "$SET/villages.shp" \
    -oo ENCODING=CP936 -nln village -nlt PROMOTE_TO_MULTI
copy() { ogr2ogr -update "${common[@]}" "$OUT" "$@"; }
copy "$SET/settlements.shp" -nln settlement
copy "$SET/urban.geojson" -nln urban -nlt PROMOTE_TO_MULTI
copy "$SET/hazard_zones.geojson" -nln hazard -nlt PROMOTE_TO_MULTI
copy "$SET/sewage_plants.csv" -nln sewage_plant -s_srs EPSG:4490 \
    -oo X_POSSIBLE_NAMES=lon -oo Y_POSSIBLE_NAMES=lat -oo AUTODETECT_TYPE=YES
copy "$SET/roads.gpkg" roads -nln rural_road -nlt PROMOTE_TO_MULTI
copy "$VRT" -nln base_station_5g
copy "$SET/cultural_halls.geojson" -nln cultural_hall -nlt GEOMETRY
copy "$SET/courier_stations.kml" -nln courier_station
copy "$SET/clinics.geojson" -nln clinic
# Sets made before the sample had these sources do not have them.
if [[ -f $SET/water_tests.csv ]]; then
    copy "$SET/water_tests.csv" -nln water_test -oo AUTODETECT_TYPE=YES
fi
for f in village_museums:village_museum sports_grounds:sports_ground workshops:workshop \
    smart_life_halls:smart_life_hall agri_facilities:agri_facility; do
    if [[ -f $SET/${f%%:*}.geojson ]]; then copy "$SET/${f%%:*}.geojson" -nln "${f##*:}"; fi
done
