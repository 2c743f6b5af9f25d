#!/usr/bin/env python3
"""Prints the CPU seconds (user + system) a PostgreSQL cluster has used so far.

Usage: server_cpu.py DATA_DIR

The work qiancun asks of PostgreSQL runs in the server's backends, not in qiancun's process
tree that bench/measure.py times; so a PostGIS step is charged with the difference of this
figure taken before and after it. The postmaster's own time, the time its finished children
left it (cutime + cstime, added when they are reaped) and the time of its live children
(backends, the WAL writer, …) together are everything the cluster used. Standard library only.
"""
import os
import sys


def ticks(pid, children=False):
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read().decode(errors="replace")
    fields = stat[stat.rindex(")") + 2:].split()
    # fields[0] is field 3 of proc(5): utime is field 14, stime 15, cutime 16, cstime 17.
    t = int(fields[11]) + int(fields[12])
    if children:
        t += int(fields[13]) + int(fields[14])
    return t


def main():
    with open(os.path.join(sys.argv[1], "postmaster.pid"), encoding="utf-8") as f:
        postmaster = int(f.readline())
    total = ticks(postmaster, children=True)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            if int(stat[stat.rindex(")") + 2:].split()[1]) == postmaster:
                total += ticks(int(d))
        except (OSError, ValueError, IndexError):
            continue
    print(f"{total / os.sysconf('SC_CLK_TCK'):.2f}")


if __name__ == "__main__":
    main()
