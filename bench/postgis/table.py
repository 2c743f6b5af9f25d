#!/usr/bin/env python3
"""Prints bench/postgis/run.sh's table: per step and store the median of its runs.

Usage: table.py RESULTS.tsv SERVER_CPU.tsv

RESULTS.tsv has measure.py's records, SERVER_CPU.tsv one line per record (step, store, the
server's CPU seconds over it), in the same order. Wall, qiancun's CPU, the server's CPU, their
sum and qiancun's peak memory are medians over a step's runs; "× SpatiaLite" divides PostGIS's
median wall and total CPU by SpatiaLite's. Standard library only.
"""
import statistics
import sys


def main():
    results = [l.rstrip("\n").split("\t") for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    server = [l.rstrip("\n").split("\t") for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
    if len(results) != len(server):
        sys.exit("table.py: the two files do not have one line per step each")
    runs = {}
    for r, s in zip(results, server):
        step, store, data, _villages, wall, peak, _rss, _pss, status, load, cpu = r[:11]
        if status != "ok":
            sys.exit(f"table.py: {step} on {store}: {status}")
        runs.setdefault((step, store), []).append(
            dict(data=data, wall=float(wall), cpu=float(cpu), server=float(s[2]), peak=float(peak), load=load)
        )
    print("| step | store | data | runs | wall s | qiancun CPU s | server CPU s | CPU s total | peak MiB "
          "| wall × SpatiaLite | CPU × SpatiaLite | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (step, store), rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "server", "peak")}
        med["total"] = statistics.median(r["cpu"] + r["server"] for r in rs)
        base = runs.get((step, "SpatiaLite"))
        ratio_wall = ratio_cpu = "—"
        if store != "SpatiaLite" and base:
            ratio_wall = f"{med['wall'] / statistics.median(r['wall'] for r in base):.2f}"
            ratio_cpu = f"{med['total'] / statistics.median(r['cpu'] + r['server'] for r in base):.2f}"
        lo, hi = min(float(r["load"]) for r in rs), max(float(r["load"]) for r in rs)
        loads = f"{lo:.1f}" if lo == hi else f"{lo:.1f}–{hi:.1f}"
        print(f"| {step} | {store} | {rs[0]['data']} | {len(rs)} | {med['wall']:.2f} | {med['cpu']:.2f} | "
              f"{med['server']:.2f} | {med['total']:.2f} | {med['peak']:.0f} | {ratio_wall} | {ratio_cpu} | {loads} |")


if __name__ == "__main__":
    main()
