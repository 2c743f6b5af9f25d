#!/usr/bin/env bash
# The main job on the bundled sample county: init → load → info → list → export, then the
# coverage metrics, the worst gaps per type and the metric layer with its QGIS style.
# Writes everything under out/demo/ and prints what it did.
set -euo pipefail
cd "$(dirname "$0")/.."

qiancun="${BUILD_DIR:-build/release}/tools/qiancun"
out=out/demo
registry=$out/county.sqlite
rm -rf "$out"
mkdir -p "$out"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

# The narration speaks qiancun's language: --lang zh|en, else the environment's (LANGUAGE, or
# LC_ALL, LC_MESSAGES, LANG naming zh_*), its words from the catalogue the build compiled.
lang=""
if [ "${1:-}" = "--lang" ]; then
    lang=${2:?--lang takes zh or en}
elif [ -z "${LANGUAGE:-}" ]; then
    case "${LC_ALL:-${LC_MESSAGES:-${LANG:-}}}" in zh*) lang=zh ;; esac
fi
case "$lang" in
zh) export LANGUAGE=zh_CN ;;
en) export LANGUAGE=en ;;
"") ;;
*) echo "demo.sh: --lang $lang: use zh or en" >&2 && exit 2 ;;
esac
export QIANCUN_LOCALEDIR="${QIANCUN_LOCALEDIR:-${BUILD_DIR:-build/release}/locale}"
# say FORMAT ARG…: printf of FORMAT's translation and a newline (gettext reads nothing in the
# C locale, and zh_CN.UTF-8 need not be installed: C.UTF-8 always is).
say() {
    local format
    format=$(LC_ALL=C.UTF-8 TEXTDOMAINDIR="$QIANCUN_LOCALEDIR" gettext -d qiancun -- "$1")
    shift
    # shellcheck disable=SC2059 # the format is the catalogue's
    printf "$format\n" "$@"
}

# Two monthly deliveries (SPEC §5.2): the sample county as of 30 September, then the same
# county two months later, with some plants finished or renovated and roads maintained.
step "$qiancun" init "$registry" --crs EPSG:4549
step "$qiancun" load "$registry" sample_maps/county.toml --as-of 2026-09-30
tools/derive_next_month.sh sample_maps "$out/2026-11"
step "$qiancun" load "$registry" "$out/2026-11/county.toml" --as-of 2026-11-30
step "$qiancun" info "$registry"
step "$qiancun" list "$registry" sewage_plant --village 330604101201
step "$qiancun" export "$registry" village "$out/villages.shp"
step "$qiancun" export "$registry" sewage_plant "$out/sewage_plants.gpkg"
step "$qiancun" export "$registry" cultural_hall "$out/cultural_halls.geojson" --t-srs EPSG:4326

# Coverage per village (SPEC §3): a summary per type here, every column in the CSV.
step "$qiancun" metrics "$registry" --network -o "$out/village_metrics.csv"
# The worst gaps first; the uncovered areas and settlements go to a GeoPackage with styles.
for type in sewage_plant courier_station; do
    printf '\n\033[1m$ %s gaps %s --type %s -o %s\033[0m  %s\n' \
        "$qiancun" "$registry" "$type" "$out/gaps_$type.gpkg" "$(say '(first lines)')"
    "$qiancun" gaps "$registry" --type "$type" -o "$out/gaps_$type.gpkg" >"$out/gaps_$type.txt"
    head -n 12 "$out/gaps_$type.txt"
    say '… the whole list is in %s' "$out/gaps_$type.txt"
    tail -n 2 "$out/gaps_$type.txt" # the two layers written
done
step "$qiancun" export "$registry" village_metrics "$out/village_metrics.shp"
# Siting (SPEC §10): 40 new sewage plants where they newly reach the most people, with the
# population share before → after and how far from the optimum the choice can be.
step "$qiancun" site "$registry" --type sewage_plant --add 40 --exclude hazard \
    -o "$out/sewage_sites.gpkg"
printf '\n\033[1m$ %s gaps %s --type sewage_plant --with-sites %s\033[0m  %s\n' \
    "$qiancun" "$registry" "$out/sewage_sites.gpkg" "$(say '(first lines)')"
"$qiancun" gaps "$registry" --type sewage_plant --with-sites "$out/sewage_sites.gpkg" \
    >"$out/gaps_with_sites.txt"
head -n 4 "$out/gaps_with_sites.txt"
# The plan's sewage target is 98 % of the villages covered: the fewest sites found for it, a
# village counting when 90 % of its people are reached (as gaps counts).
printf '\n\033[1m$ %s site %s --type sewage_plant --cover 98 --villages --exclude hazard -o %s\033[0m  %s\n' \
    "$qiancun" "$registry" "$out/sewage_sites_98.csv" "$(say '(summary)')"
# To a file first: `| head` would end qiancun by SIGPIPE, failing the demo under pipefail.
"$qiancun" site "$registry" --type sewage_plant --cover 98 --villages --exclude hazard \
    -o "$out/sewage_sites_98.csv" >"$out/sewage_sites_98.txt"
head -n 1 "$out/sewage_sites_98.txt"
# Along the roads (issue 4): the road parts courier stations reach within 2 km, with styles.
step "$qiancun" service-area "$registry" --type courier_station --distance 2000 \
    -o "$out/courier_reach.gpkg"

# Village classes (SPEC §4): the suggestion per village goes to the CSV and the layer
# village_classes; the counts per class and per township are printed.
step "$qiancun" classify "$registry" -o "$out/village_classes.csv"
step "$qiancun" export "$registry" village_classes "$out/village_classes.shp"
# The plan's indicators against target (SPEC §5): the monthly bulletin, and per township.
step "$qiancun" indicators "$registry" --indicators sample_maps/indicators.toml
"$qiancun" indicators "$registry" --indicators sample_maps/indicators.toml --by township --format csv -o "$out/indicators_by_township.csv"
say 'per township: %s' "$out/indicators_by_township.csv"

# The monthly bulletin: one self-contained page in Chinese (warnings, district table with the
# change since September, township ranking, maps, worst gaps, data quality), and its workbook.
step "$qiancun" bulletin "$registry" --indicators sample_maps/indicators.toml --as-of 2026-11-30 --compare 2026-09-30 -o "$out/bulletin.html"
step "$qiancun" bulletin "$registry" --indicators sample_maps/indicators.toml --as-of 2026-11-30 --compare 2026-09-30 -o "$out/bulletin.xlsx"

# Every layer in one QGIS project: grouped, styled, labelled, with Chinese names.
step "$qiancun" qgis-project "$registry" -o "$out/county.qgz"

echo
say 'Open %s in a browser (it prints to A4), or %s in QGIS, or the registry %s itself: its layers carry their styles; the exported files open coloured too (.qml beside them, styles inside the GeoPackages).' \
    "$out/bulletin.html" "$out/county.qgz" "$registry"
