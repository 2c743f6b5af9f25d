#!/usr/bin/env python3
"""Runs one benchmark step and records its wall time and peak memory.

Usage: measure.py RESULTS.tsv STEP TOOL DATA VILLAGES [--timeout S] [--log FILE] -- CMD ARGS…

The command runs under `/usr/bin/time -v` (wall clock, "Maximum resident set size" of the
largest single process). Meanwhile the summed proportional set size (PSS, from
/proc/PID/smaps_rollup) of the whole process tree is sampled every 0.1 s, because two of the
peers work in two processes at once: the sum of their PSS is the memory the step really
holds (shared pages counted once), where /usr/bin/time reports only the largest process.
Peak MiB = max(/usr/bin/time maximum RSS, sampled peak of the tree's PSS).

Appends one tab-separated line to RESULTS.tsv:
  step, tool, data, villages, seconds, peak_mib, maxrss_mib, tree_pss_mib, status, load, cpu
cpu is user + system seconds of the whole tree (less sensitive than wall time to other work
on the machine); load is the 1-minute load average when the step started (other work on the machine makes the
numbers noisy); status is "ok", "exit N" or "timeout"; on a timeout the process group is
killed. Exits with the command's status (124 on a timeout). Standard library only.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree_pss_kib(root):
    kids = children_map()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(kids.get(pid, []))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit(__doc__)
    cut = argv.index("--")
    opts, cmd = argv[:cut], argv[cut + 1:]
    timeout, logfile, pos, i = None, None, [], 0
    while i < len(opts):
        if opts[i] in ("--timeout", "--log") and i + 1 < len(opts):
            if opts[i] == "--timeout":
                timeout = float(opts[i + 1])
            else:
                logfile = opts[i + 1]
            i += 2
        else:
            pos.append(opts[i])
            i += 1
    if len(pos) != 5 or not cmd:
        sys.exit(__doc__)
    results, step, tool, data, villages = pos

    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
        timefile = tf.name
    out = open(logfile, "w") if logfile else None
    load = open("/proc/loadavg").read().split()[0]
    start = time.monotonic()
    proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", timefile] + cmd,
                            stdout=out, stderr=subprocess.STDOUT if out else None,
                            start_new_session=True)
    peak_pss, status = 0, None
    while True:
        try:
            rc = proc.wait(timeout=0.1)
            break
        except subprocess.TimeoutExpired:
            pass
        peak_pss = max(peak_pss, tree_pss_kib(proc.pid))
        if timeout and time.monotonic() - start > timeout:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            status, rc = "timeout", 124
            break
    wall = time.monotonic() - start
    if out:
        out.close()
    text = open(timefile).read()
    os.unlink(timefile)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    maxrss = int(m.group(1)) if m else 0
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    if m and status is None:
        secs = 0.0
        for part in m.group(1).split(":"):
            secs = secs * 60 + float(part)
        wall = secs
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text))
    m = re.search(r"Exit status: (\d+)", text)
    if status is None:
        code = int(m.group(1)) if m else rc
        status = "ok" if code == 0 else f"exit {code}"
        rc = code
    peak = max(maxrss, peak_pss) / 1024.0
    record = [step, tool, data, villages, f"{wall:.2f}", f"{peak:.0f}", f"{maxrss / 1024.0:.0f}",
              f"{peak_pss / 1024.0:.0f}", status, load, f"{cpu:.1f}"]
    with open(results, "a", encoding="utf-8") as f:
        f.write("\t".join(record) + "\n")
    print(f"  {step} / {tool}: {wall:.1f} s (CPU {cpu:.1f} s), peak {peak:.0f} MiB ({status})",
          file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
