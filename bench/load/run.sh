#!/usr/bin/env bash
# `qiancun init + load` of the province set side by side with its peer, ogr2ogr copying the
# same ten files into one SpatiaLite file (bench/load/ogr2ogr_copy.sh). The two run
# alternately, REPS times each, on the same set; prints every run, the medians and the ratio.
# See "Loading" in bench/README.md.
#
#   bench/load/run.sh                          # generate (or reuse) the set, 5 repetitions
#   REPS=3 VILLAGES=2000 bench/load/run.sh
#
# Environment (all optional; WORK, VILLAGES, BUILD, QIANCUN, SKIP_BUILD as in bench/lib.sh):
#   WORK=/tmp/qiancun-bench-load   working directory (set in WORK/set-VILLAGES, registries)
#   VILLAGES=20000                 make_sample_maps --villages (reused when already there)
#   REPS=5                         repetitions of each tool
#   QIANCUN=…                      another qiancun binary (e.g. a build before a change)
# Exit status 0 when every run succeeded; the ratio is printed, not judged.
set -euo pipefail

BENCH=load
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
REPS=${REPS:-5}

main() {
need cmd:ogr2ogr=gdal-bin cmd:sqlite3=sqlite3
bench_build
SET=$WORK/set-$VILLAGES
make_set "$SET"
FEATURES=$(set_features "$SET")
RES=$WORK/load.tsv
rm -f "$RES"

# one TOOL REP: appends "tool rep wall cpu maxrss_mib load1" to $RES
one() {
    local tool=$1 rep=$2 load out=$WORK/$1.sqlite tf=$LOG/$1.time
    load=$(cut -d' ' -f1 /proc/loadavg)
    rm -f "$out" "$out-wal" "$out-shm" "$out-journal"
    case $tool in
    qiancun)
        /usr/bin/time -f '%e %U %S %M' -o "$tf" bash -c \
            '"$1" -q init "$2" --crs EPSG:4549 >/dev/null && "$1" -q load "$2" "$3/county.toml"' \
            _ "$QC" "$out" "$SET" >"$LOG/qiancun.log" 2>&1 || die "qiancun failed: $LOG/qiancun.log"
        ;;
    ogr2ogr)
        /usr/bin/time -f '%e %U %S %M' -o "$tf" "$ROOT/bench/load/ogr2ogr_copy.sh" "$SET" "$out" \
            >"$LOG/ogr2ogr.log" 2>&1 || die "ogr2ogr failed: $LOG/ogr2ogr.log"
        ;;
    esac
    read -r wall user sys kib <"$tf"
    printf '%s\t%s\t%s\t%.2f\t%d\t%s\n' "$tool" "$rep" "$wall" "$(echo "$user + $sys" | bc)" \
        $((kib / 1024)) "$load" | tee -a "$RES" >&2
}

{
    bench_machine
    echo "ogr2ogr: $(ogr2ogr --version)"
    echo "data:    make_sample_maps --villages $VILLAGES, $FEATURES features in $(grep -c "^\[\[source\]\]" "$SET/county.toml") sources"
} | tee "$WORK/machine.txt"
printf 'tool\trep\twall_s\tcpu_s\tmaxrss_MiB\tload1\n' >&2
for ((r = 1; r <= REPS; r++)); do
    # alternate which tool goes first, so neither always meets the other's page cache
    if ((r % 2)); then one qiancun "$r"; one ogr2ogr "$r"; else one ogr2ogr "$r"; one qiancun "$r"; fi
done
# The registry of the last run, counted against the set: the load must be complete.
for k in village settlement sewage_plant rural_road; do
    n=$(sqlite3 "$WORK/qiancun.sqlite" "SELECT count(*) FROM $k; SELECT count(*) FROM idx_${k}_geom" | sort -u)
    want=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$SET/counts.json" "$k")
    [[ $n == "$want" ]] || die "$k: $n rows or index entries in the registry, $want in the set"
done
$PY - "$RES" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1])]
med = {}
for tool in ("qiancun", "ogr2ogr"):
    r = [x for x in rows if x[0] == tool]
    med[tool] = (statistics.median(float(x[2]) for x in r), statistics.median(float(x[3]) for x in r),
                 max(int(x[4]) for x in r), min(float(x[5]) for x in r), max(float(x[5]) for x in r))
for tool, (w, c, m, l0, l1) in med.items():
    print(f"{tool:8s} median wall {w:6.2f} s  CPU {c:6.2f} s  peak {m} MiB  (load avg {l0:.2f}-{l1:.2f})")
print(f"ratio qiancun/ogr2ogr: wall {med['qiancun'][0] / med['ogr2ogr'][0]:.2f}  "
      f"CPU {med['qiancun'][1] / med['ogr2ogr'][1]:.2f}  ({len(rows) // 2} runs each)")
PY
}
main "$@"
