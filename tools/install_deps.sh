#!/usr/bin/env bash
# Installs the Debian 12 packages qiancun builds and tests with. Idempotent: apt-get runs only
# when a package is missing. Needs root (or sudo) only in that case.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libgdal-dev gdal-bin
    libgeos-dev
    libproj-dev proj-bin proj-data
    libsqlite3-dev sqlite3 libspatialite-dev libsqlite3-mod-spatialite spatialite-bin
    libpq-dev postgresql-15 postgresql-15-postgis-3
    locales gettext
    python3-networkx python3-geopandas python3-scipy
    libboost-dev libboost-graph-dev
    libssl-dev
    libcli11-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev libxlsxwriter-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    clang libclang-rt-14-dev
    python3
    python3-qgis qgis-providers
    chromium poppler-utils fonts-wqy-microhei
    coinor-cbc
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
