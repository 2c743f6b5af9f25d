#!/usr/bin/env bash
# Benchmark of `qiancun site` (SPEC §10) on the province set: 40 new sewage plants among every
# settlement as a candidate, straight-line and along the roads, and the fewest plants for a
# share of the people and of the villages. See "Siting" in bench/README.md.
#
#   bench/site/run.sh                          # generate, load, time
#   REG=/path/R.sqlite bench/site/run.sh       # reuse a registry loaded with the set
#
# Environment (all optional): WORK (default /tmp/qiancun-bench-site), VILLAGES, BUILD, QIANCUN
# and REG as in bench/lib.sh, and
#   ADD=40                         sites to propose (--add)
#   COVER=60                       share to reach (--cover, of the people and of the villages)
# Prints a table: seconds, peak MiB, sites, people newly reached, the bound (--add: people any
# ADD sites reach at most; --cover: sites any answer needs at least) with the gap to it, and the
# load average of the machine when each run started (the machine may be shared).
set -euo pipefail

BENCH=site
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_province
ADD=${ADD:-40}
COVER=${COVER:-60}

rows=()
run() { # NAME ARGS…
    local name=$1
    shift
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    say "$name"
    /usr/bin/time -f '%e %M' -o "$WORK/$name.time" "$QC" site "$REG" --type sewage_plant \
        "$@" --format csv -o "$WORK/$name.csv" >"$WORK/$name.out" 2>"$LOG/$name.log" ||
        die "$name failed, see $LOG/$name.log"
    local summary
    summary=$(grep -m1 '^type=' "$LOG/$name.log")
    read -r secs kib <"$WORK/$name.time"
    key() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$summary"; }
    local bound gap
    if [[ -n $(key upper_bound_population) ]]; then
        bound=$(key upper_bound_population) gap=$(key optimality_gap)
    else
        bound="≥ $(key lower_bound_sites) sites" gap="≤ $(key sites_over_optimum_at_most) sites"
    fi
    rows+=("$(printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s' "$name" "$secs" $((kib / 1024)) \
        "$(key candidates)" "$(key sites)" "$(key added_population)" "$bound" "$gap" "$load")")
}
run straight --add "$ADD"
run network --add "$ADD" --network
run cover --cover "$COVER"
run villages --cover "$COVER" --villages

printf '\nrun\tseconds\tpeak_MiB\tcandidates\tsites\tadded_population\tbound\tgap\tload_at_start\n'
printf '%s\n' "${rows[@]}"
printf '(%s villages, %s cores, %s)\n' "$VILLAGES" "$(nproc)" "$(date -u +%FT%TZ)"
