#!/usr/bin/env python3
"""Compares a peer's metrics CSV with qiancun's, village by village (joined on `code`).

Usage: compare.py QIANCUN.csv PEER.csv LABEL [--tol 0.01] [--summary FILE]

For every column the two files share (area_cov_T, pop_cov_T — the ratios SPEC §3 bounds to
0.01 — and, as further evidence, n_T, nearest_T_m, road_km, hardened_km) prints the number
of villages compared, the largest absolute difference and the village where it occurs. An
empty cell (no settlement population, no serving asset) must be empty on both sides.
Villages: those present in the peer's file (a peer may run on a subset). Exit status 0 when
every area_cov/pop_cov difference is within the tolerance, 1 otherwise. Standard library only.
"""
import argparse
import csv
import math
import sys


def load(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    return {r["code"]: r for r in rows}


def num(s):
    if s is None or s.strip() == "":
        return None
    return float(s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("qiancun")
    ap.add_argument("peer")
    ap.add_argument("label")
    ap.add_argument("--tol", type=float, default=0.01)
    ap.add_argument("--summary", help="append one line 'label villages max_ratio_diff verdict'")
    a = ap.parse_args()

    q, p = load(a.qiancun), load(a.peer)
    codes = sorted(p)
    missing = [c for c in codes if c not in q]
    if missing:
        print(f"{a.label}: {len(missing)} villages of the peer are not in qiancun's CSV, "
              f"e.g. {missing[:3]}", file=sys.stderr)
        return 1
    if not codes:
        print(f"{a.label}: the peer's CSV has no villages", file=sys.stderr)
        return 1
    qcols = set(next(iter(q.values())).keys())
    cols = [c for c in next(iter(p.values())).keys() if c != "code" and c in qcols]
    ratio_cols = [c for c in cols if c.startswith(("area_cov_", "pop_cov_"))]
    worst_ratio = 0.0
    bad = 0
    print(f"{a.label}: {len(codes)} villages compared with qiancun "
          f"(tolerance {a.tol} on area_cov/pop_cov)")
    print(f"  {'column':<34} {'max |diff|':>12}  {'at village':<14} {'> tol':>6}")
    for col in cols:
        worst, at, over, empty_mismatch = 0.0, "", 0, 0
        for c in codes:
            x, y = num(q[c].get(col)), num(p[c].get(col))
            if x is None or y is None:
                if (x is None) != (y is None):
                    empty_mismatch += 1
                    over += 1
                    worst, at = math.inf, c
                continue
            d = abs(x - y)
            if d > worst:
                worst, at = d, c
            if col in ratio_cols and d > a.tol:
                over += 1
        mark = "" if col in ratio_cols else "  (info)"
        extra = f"  {empty_mismatch} empty on one side only" if empty_mismatch else ""
        print(f"  {col:<34} {worst:>12.6g}  {at:<14} {over if col in ratio_cols else '':>6}"
              f"{mark}{extra}")
        if col in ratio_cols:
            worst_ratio = max(worst_ratio, worst)
            bad += over
    if not ratio_cols:
        print(f"{a.label}: no area_cov/pop_cov column in both CSVs: nothing was compared",
              file=sys.stderr)
        return 1
    verdict = "AGREE" if bad == 0 else f"DISAGREE ({bad} cells over {a.tol})"
    print(f"  => {len(codes)} villages, {len(ratio_cols)} ratio columns, "
          f"max |diff| {worst_ratio:.6g}: {verdict}")
    if a.summary:
        with open(a.summary, "a", encoding="utf-8") as f:
            f.write(f"{a.label}\t{len(codes)}\t{len(ratio_cols)}\t{worst_ratio:.6g}\t{verdict}\n")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
