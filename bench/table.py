#!/usr/bin/env python3
"""Prints the benchmark table from the records of measure.py (and compare.py).

Usage: table.py RESULTS.tsv [AGREEMENT.tsv] [--markdown]

Ratios: a peer's seconds (and peak MiB) divided by those of qiancun's `metrics --no-store`
run over the same villages; "—" where there is no such run. Throughput = villages / second.
Standard library only.
"""
import sys


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    markdown = "--markdown" in sys.argv
    rows = [l.rstrip("\n").split("\t") for l in open(args[0], encoding="utf-8") if l.strip()]
    ref = {}
    for step, tool, data, villages, secs, peak, maxrss, pss, status, load in rows:
        if step == "metrics" and tool.startswith("qiancun") and status == "ok":
            ref.setdefault(villages, (float(secs), float(peak)))
    head = ["step", "tool", "data", "seconds", "peak MiB", "villages/s", "time × qiancun",
            "memory × qiancun", "load avg"]
    table = []
    for step, tool, data, villages, secs, peak, maxrss, pss, status, load in rows:
        s, p = float(secs), float(peak)
        tput = f"{int(villages) / s:,.0f}" if step.startswith("metrics") and s > 0 else ""
        r = ref.get(villages) if step.startswith("metrics") else None
        rt = f"{s / r[0]:.1f}" if r and r[0] > 0 else "—"
        rm = f"{p / r[1]:.1f}" if r and r[1] > 0 else "—"
        sec = f"{s:.1f}" if status == "ok" else f"{s:.0f} ({status})"
        table.append([step, tool, data, sec, f"{p:.0f}", tput, rt, rm, load])
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" if i < 3 else "---:" for i in range(len(head))) + "|")
        for t in table:
            print("| " + " | ".join(t) + " |")
    else:
        w = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
        line = lambda cells: "  ".join(c.ljust(w[i]) if i < 3 else c.rjust(w[i])
                                       for i, c in enumerate(cells))
        print(line(head))
        print("  ".join("-" * x for x in w))
        for t in table:
            print(line(t))
    if len(args) > 1:
        agree = [l.rstrip("\n").split("\t") for l in open(args[1], encoding="utf-8") if l.strip()]
        print()
        if markdown:
            print("| peer | villages compared | ratio columns | max abs diff (area_cov, pop_cov) | verdict (tol 0.01) |")
            print("|---|---:|---:|---:|---|")
            for a in agree:
                print("| " + " | ".join(a) + " |")
        else:
            print("Agreement with qiancun's CSV (area_cov_T, pop_cov_T; tolerance 0.01):")
            for label, n, cols, worst, verdict in agree:
                print(f"  {label:<12} {n:>6} villages × {cols} columns: max |diff| {worst}  {verdict}")


if __name__ == "__main__":
    main()
