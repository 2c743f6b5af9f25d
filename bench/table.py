#!/usr/bin/env python3
"""Prints the benchmark table from the records of measure.py (and compare.py).

Usage: table.py RESULTS.tsv [AGREEMENT.tsv] [--markdown]

Ratios divide a row's wall seconds, CPU seconds and peak MiB by those of qiancun's
`metrics --no-store` run over the same villages ("—" where there is none, e.g. for the load).
villages/s = villages / wall second. Standard library only.
"""
import sys

HEAD = ["step", "tool", "data", "wall s", "CPU s", "peak MiB", "villages/s",
        "wall × qiancun", "CPU × qiancun", "memory × qiancun", "load avg"]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    markdown = "--markdown" in sys.argv
    rows = [l.rstrip("\n").split("\t") for l in open(args[0], encoding="utf-8") if l.strip()]
    recs = []
    for r in rows:
        step, tool, data, villages, secs, peak, _maxrss, _pss, status, load, cpu = r[:11]
        recs.append(dict(step=step, tool=tool, data=data, n=int(villages), wall=float(secs),
                         peak=float(peak), status=status, load=load, cpu=float(cpu)))
    ref = {}
    for r in recs:
        if r["step"] == "metrics" and r["tool"] == "qiancun" and r["status"] == "ok":
            ref.setdefault(r["n"], r)
    table = []
    for r in recs:
        metrics = r["step"].startswith("metrics")
        q = ref.get(r["n"]) if metrics else None
        ratio = lambda k: f"{r[k] / q[k]:.1f}" if q and q[k] > 0 else "—"
        wall = f"{r['wall']:.1f}" if r["status"] == "ok" else f"{r['wall']:.0f} ({r['status']})"
        table.append([r["step"], r["tool"], r["data"], wall, f"{r['cpu']:.1f}",
                      f"{r['peak']:.0f}",
                      f"{r['n'] / r['wall']:,.0f}" if metrics and r["wall"] > 0 else "",
                      ratio("wall"), ratio("cpu"), ratio("peak"), r["load"]])
    if markdown:
        print("| " + " | ".join(HEAD) + " |")
        print("|" + "|".join("---" if i < 3 else "---:" for i in range(len(HEAD))) + "|")
        for t in table:
            print("| " + " | ".join(t) + " |")
    else:
        w = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(HEAD)]

        def line(cells):
            return "  ".join(c.ljust(w[i]) if i < 3 else c.rjust(w[i])
                             for i, c in enumerate(cells))
        print(line(HEAD))
        print("  ".join("-" * x for x in w))
        for t in table:
            print(line(t))
    if len(args) > 1:
        agree = [l.rstrip("\n").split("\t") for l in open(args[1], encoding="utf-8") if l.strip()]
        print()
        if markdown:
            print("| peer | villages compared | ratio columns | max abs diff (area_cov, pop_cov) "
                  "| verdict (tolerance 0.01) |")
            print("|---|---:|---:|---:|---|")
            for a in agree:
                print("| " + " | ".join(a) + " |")
        else:
            print("Agreement with qiancun's CSV (area_cov_T and pop_cov_T of every type; "
                  "tolerance 0.01):")
            for label, n, cols, worst, verdict in agree:
                print(f"  {label:<12} {n:>6} villages × {cols} columns: "
                      f"max |diff| {worst}  {verdict}")


if __name__ == "__main__":
    main()
