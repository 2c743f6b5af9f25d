#!/usr/bin/env python3
"""Writes next month's sewage plant list of the water bureau: the province list with N changed
rows (a quarter each: new plants, plants moved about 500 m, plants whose status changed between
operating and closed, plants removed), deterministic for a given input and N.

    change_plants.py IN.csv OUT.csv [N]      # N = 200
"""
import csv
import sys


def main():
    src, dst = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    quarter = n // 4
    step = max(1, len(body) // (4 * quarter + 1))
    picked = [body[i * step] for i in range(4 * quarter)]
    added, moved, restated, removed = (picked[k * quarter:(k + 1) * quarter] for k in range(4))
    gone = {r[col["编号"]] for r in removed}
    for r in moved:
        r[col["lon"]] = f"{float(r[col['lon']]) + 0.005:.6f}"  # ~480 m east at 30°N
    for r in restated:
        r[col["状态"]] = "停用" if r[col["状态"]] == "运行" else "运行"
    new_rows = []
    for k, r in enumerate(added):
        new = list(r)
        new[col["编号"]] = f"WSN{k + 1:05d}"
        new[col["名称"]] = r[col["名称"]] + "二期"
        new[col["状态"]] = "运行"
        new[col["lat"]] = f"{float(r[col['lat']]) + 0.004:.6f}"  # ~440 m north
        new_rows.append(new)
    out = [r for r in body if r[col["编号"]] not in gone] + new_rows
    with open(dst, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(out)
    print(f"{len(added)} added, {len(moved)} moved, {len(restated)} status changed, "
          f"{len(removed)} removed: {dst}")


if __name__ == "__main__":
    main()
