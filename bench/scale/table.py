#!/usr/bin/env python3
"""The scaling table from the records of bench/measure.py (bench/scale/run.sh).

Usage: table.py RESULTS.tsv

One Markdown row per size and tool: wall and CPU seconds, peak MiB, and the per-village cost
(wall and CPU milliseconds per village), so that a linear cost
reads as the same rate at every size. Standard library only.
"""
import sys


def main():
    rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    print("| step | tool | villages | data | wall s | CPU s | peak MiB | wall ms / village "
          "| CPU ms / village | load avg |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for step, tool, data, n, wall, peak, _rss, _pss, status, load, cpu in (r[:11] for r in rows):
        if step == "generate":
            continue
        n_i, w, c = int(n), float(wall), float(cpu)
        ok = status == "ok"
        print(f"| {step} | {tool} | {n_i:,} | {data} | {w:.1f}{'' if ok else f' ({status})'} "
              f"| {c:.1f} | {float(peak):.0f} | {1000 * w / n_i:.2f} | {1000 * c / n_i:.2f} "
              f"| {load} |")


if __name__ == "__main__":
    main()
