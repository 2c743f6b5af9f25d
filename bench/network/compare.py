#!/usr/bin/env python3
"""Compares the net_* columns of qiancun's metrics CSV with the networkx peer's, by village code.

Usage: compare.py QIANCUN.csv PEER.csv [--tol-m 0.001] [--tol-ratio 1e-9]

Prints, per column, the villages compared, the largest difference and where; an empty cell
(unreachable, no population) must be empty on both sides. Exit 0 when every net_nearest differs
by at most --tol-m and every net_pop_cov by at most --tol-ratio. Standard library only.
"""
import argparse
import csv
import sys


def load(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return {r["code"]: r for r in csv.DictReader(f)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("qiancun")
    ap.add_argument("peer")
    ap.add_argument("--tol-m", type=float, default=1e-3)
    ap.add_argument("--tol-ratio", type=float, default=1e-9)
    a = ap.parse_args()
    q, p = load(a.qiancun), load(a.peer)
    if not p:
        print("the peer's CSV has no villages: nothing was compared", file=sys.stderr)
        sys.exit(1)
    missing = [code for code in p if code not in q]
    if missing:
        print(f"{len(missing)} villages of the peer are not in qiancun's CSV, e.g. {missing[:3]}",
              file=sys.stderr)
        sys.exit(1)
    cols = [c for c in next(iter(p.values())).keys() if c.startswith("net_")]
    if not cols:
        print("no net_ column in the peer's CSV: nothing was compared", file=sys.stderr)
        sys.exit(1)
    ok = True
    compared = 0
    for c in cols:
        tol = a.tol_m if c.startswith("net_nearest") else a.tol_ratio
        worst, where, n, mismatched_empty = 0.0, "", 0, 0
        for code, pr in p.items():
            qv, pv = q[code].get(c, ""), pr[c]
            if (qv == "") != (pv == ""):
                mismatched_empty += 1
                continue
            if qv == "":
                continue
            n += 1
            d = abs(float(qv) - float(pv))
            if d > worst:
                worst, where = d, code
        compared += n
        good = worst <= tol and mismatched_empty == 0
        ok = ok and good
        print(f"{c}\t{n}\tmax_diff={worst:.3g}\tat={where or '-'}\tempty_mismatch={mismatched_empty}"
              f"\t{'ok' if good else 'DIFFERS'}")
    if compared == 0:
        print("every net_ cell is empty on both sides: nothing was compared", file=sys.stderr)
        sys.exit(1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
