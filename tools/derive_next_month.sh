#!/usr/bin/env bash
# Makes next month's delivery of the sample county from this month's: a copy of SRC_DIR in
# DST_DIR where 6 plants under construction (在建) or planned (规划) now operate, 15 operating
# plants without a renovation year were renovated this year (2026), 3 halls reached five stars,
# and every fortieth road got maintenance works this year. Deterministic (by id), for the demo and
# the bulletin tests.
#   tools/derive_next_month.sh sample_maps out/demo/2026-11
set -euo pipefail
src=${1:?source directory}
dst=${2:?destination directory}
rm -rf "$dst"
mkdir -p "$dst"
cp -r "$src"/. "$dst"/
python3 - "$dst" <<'PY'
import csv, json, sys
dst = sys.argv[1]
path = f"{dst}/sewage_plants.csv"
with open(path, encoding="utf-8", newline="") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
status, renovated = header.index("状态"), header.index("改造年份")
built = header.index("建成年份")
started = 0
for r in body:
    if r[status] in ("在建", "规划") and started < 6:
        r[status] = "运行"
        r[built] = "2026"
        started += 1
done = 0
for r in body:
    if r[status] == "运行" and not r[renovated] and r[built] != "2026" and done < 15:
        r[renovated] = "2026"
        done += 1
with open(path, "w", encoding="utf-8", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows([header] + body)
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
print(f"{dst}: {started} plants now operating, {done} renovated in 2026, {upgraded} halls now five-star")
PY
ogrinfo -q "$dst/roads.gpkg" -sql \
    "UPDATE roads SET maintained_year = 2026 WHERE fid % 40 = 0" >/dev/null
echo "$dst: roads with fid divisible by 40 maintained in 2026"
