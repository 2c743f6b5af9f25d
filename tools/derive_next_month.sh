#!/usr/bin/env bash
# Makes next month's delivery of the sample county from this month's: a copy of SRC_DIR in
# DST_DIR where 6 plants under construction (在建) or planned (规划) now operate, 15 operating
# plants without a renovation year were renovated this year (2026), 3 halls reached five stars,
# every fortieth road got maintenance works this year, and the water bureau tested the effluent
# of those 21 plants on 2026-11-16 (the third plant started fails, the rest pass).
# Deterministic (by id), for the demo and the bulletin tests.
#   tools/derive_next_month.sh sample_maps out/demo/2026-11
set -euo pipefail
# say FORMAT ARG…: printf of FORMAT's translation (catalogue of qiancun, $QIANCUN_LOCALEDIR or
# the release build's, in the language LANGUAGE names) and a newline.
say() {
    local format
    format=$(LC_ALL=C.UTF-8 TEXTDOMAINDIR="${QIANCUN_LOCALEDIR:-build/release/locale}" \
        gettext -d qiancun -- "$1")
    shift
    # shellcheck disable=SC2059 # the format is the catalogue's
    printf "$format\n" "$@"
}
src=${1:?source directory}
dst=${2:?destination directory}
rm -rf "$dst"
mkdir -p "$dst"
cp -r "$src"/. "$dst"/
counts=$(python3 - "$dst" <<'PY'
import csv, json, sys
dst = sys.argv[1]
path = f"{dst}/sewage_plants.csv"
with open(path, encoding="utf-8", newline="") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
status, renovated = header.index("状态"), header.index("改造年份")
built = header.index("建成年份")
ident = header.index("编号")
started_ids = []
for r in body:
    if r[status] in ("在建", "规划") and len(started_ids) < 6:
        r[status] = "运行"
        r[built] = "2026"
        started_ids.append(r[ident])
renovated_ids = []
for r in body:
    if r[status] == "运行" and not r[renovated] and r[built] != "2026" and len(renovated_ids) < 15:
        r[renovated] = "2026"
        renovated_ids.append(r[ident])
started, done = len(started_ids), len(renovated_ids)
with open(path, "w", encoding="utf-8", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows([header] + body)
with open(f"{dst}/water_tests.csv", "a", encoding="utf-8", newline="") as f:
    for i, plant in enumerate(started_ids + renovated_ids):
        result = "不达标" if i == 2 else "达标"
        f.write(f"{plant},2026-11-16,{result},区生态环境监测站\n")
tested = len(started_ids) + len(renovated_ids)
path = f"{dst}/cultural_halls.geojson"
with open(path, encoding="utf-8") as f:
    halls = json.load(f)
upgraded = 0
for feature in halls["features"]:
    p = feature["properties"]
    if p.get("stars") == 4 and upgraded < 3:
        p["stars"] = 5
        upgraded += 1
with open(path, "w", encoding="utf-8") as f:
    json.dump(halls, f, ensure_ascii=False)
print(started, done, upgraded, tested)
PY
)
read -r started renovated upgraded tested <<<"$counts"
say '%s: %s plants now operating, %s renovated in 2026, %s halls now five-star, %s plants tested on 2026-11-16' \
    "$dst" "$started" "$renovated" "$upgraded" "$tested"
ogrinfo -q "$dst/roads.gpkg" -sql \
    "UPDATE roads SET maintained_year = 2026 WHERE fid % 40 = 0" >/dev/null
say '%s: roads with fid divisible by 40 maintained in 2026' "$dst"
