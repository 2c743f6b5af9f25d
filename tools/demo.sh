#!/usr/bin/env bash
# The main job on the bundled sample county: init → load → info → list → export.
# Writes everything under out/demo/ and prints what it did.
set -euo pipefail
cd "$(dirname "$0")/.."

qiancun="${BUILD_DIR:-build/release}/tools/qiancun"
out=out/demo
registry=$out/county.sqlite
rm -rf "$out"
mkdir -p "$out"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$qiancun" init "$registry" --crs EPSG:4549
step "$qiancun" load "$registry" sample_maps/county.toml
step "$qiancun" info "$registry"
step "$qiancun" list "$registry" sewage_plant --village 330604101201
step "$qiancun" export "$registry" village "$out/villages.shp"
step "$qiancun" export "$registry" sewage_plant "$out/sewage_plants.gpkg"
step "$qiancun" export "$registry" cultural_hall "$out/cultural_halls.geojson" --t-srs EPSG:4326

printf '\nThe registry %s and the files in %s/ open directly in QGIS.\n' "$registry" "$out"
