#!/usr/bin/env bash
# Soak: the whole cluster (bench/cluster.sh: scripts/cluster in a temp folder, Release build)
# for DURATION seconds (default 1800) at half its measured capacity: web_bench makes stored
# admin pushes to 1,000 TCP subscribers at RATE pushes/s (default: half of what a 10 s run at
# full speed acknowledged), while bench/churn.py makes connections come and go (push a stored
# message, look the comet up, subscribe resuming after the last mid, read it, leave). Every
# 10 s it samples each daemon's RSS and open descriptors into bench/soak.tsv and prints the
# row; at the end it prints the tools' results, the warnings in the daemons' logs, the first and
# last 5 minutes' averages, and draws bench/soak.png (bench/soak_plot.sh, gnuplot from Debian's
# gnuplot-nox) when gnuplot is there.
#
#   bench/soak.sh                    # 30 minutes
#   DURATION=300 RATE=5000 bench/soak.sh
set -euo pipefail
source "$(dirname "$0")/cluster.sh"
DURATION=${DURATION:-1800}
OUT=${OUT:-$ROOT/bench/soak.tsv}

if [[ -z ${RATE:-} ]]; then
  max=$(web_bench_run --rate 0 | tail -1 |
    python3 -c 'import json,sys; print(int(json.load(sys.stdin)["acked_per_s"]))')
  RATE=$((max / 2))
  echo "soak: measured $max stored pushes/s; soaking at $RATE/s for $DURATION s"
fi

names=(zookeeper redis mariadb message comet1 comet2 web)
pid_of() {
  local f=$CLUSTER_VAR/$1/pid
  [[ $1 == mariadb && -f $CLUSTER_VAR/mariadb/mariadbd.pid ]] && f=$CLUSTER_VAR/mariadb/mariadbd.pid
  cat "$f" 2>/dev/null || echo 0
}
sample() {  # seconds since start, then RSS KiB and open fds per daemon
  local row=$1
  for n in "${names[@]}"; do
    local p rss fds
    p=$(pid_of "$n")
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    fds=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
    row+=$'\t'"${rss:-0}"$'\t'"$fds"
  done
  echo "$row"
}

header="seconds"
for n in "${names[@]}"; do header+=$'\t'"${n}_rss_kib"$'\t'"${n}_fds"; done
echo "$header" >"$OUT"
SECONDS_RUN=$DURATION web_bench_run --rate "$RATE" >"$tmp/web_bench.out" 2>&1 &
bench_pid=$!
python3 bench/churn.py "$PUB" "$ADMIN" "$DURATION" 20 >"$tmp/churn.out" 2>&1 &
churn_pid=$!
start=$(date +%s)
echo "$header" | tr '\t' ' '
while kill -0 "$bench_pid" 2>/dev/null; do
  row=$(sample $(($(date +%s) - start)))
  echo "$row" >>"$OUT"
  echo "$row" | tr '\t' ' '
  sleep 10
done
wait "$bench_pid" || true
wait "$churn_pid" || true

echo "== web_bench"; cat "$tmp/web_bench.out"
echo "== churn"; cat "$tmp/churn.out"
echo "== warnings and errors in the daemons' logs (count; digits as N)"
for n in message comet1 comet2 web; do
  grep -hE '\[(warning|error|critical)\]' "$CLUSTER_VAR/$n/$n.log" | cut -d' ' -f2- |
    sed 's/[0-9][0-9]*/N/g' | sort | uniq -c | sort -rn | head -5 | sed "s/^/$n: /" || true
done
echo "== RSS (KiB) and open files: average of the first and the last 5 minutes (or quarters)"
python3 - "$OUT" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
head, data = rows[0], [list(map(int, r)) for r in rows[1:]]
end = data[-1][0]
window = min(300, end // 4)  # 5 minutes, or a quarter of a short run
first = [r for r in data if r[0] <= window]
last = [r for r in data if r[0] >= end - window]
print("%-20s %12s %12s %8s" % ("", "first 5 min", "last 5 min", "change"))
for i, name in enumerate(head[1:], 1):
    a = sum(r[i] for r in first) / len(first)
    b = sum(r[i] for r in last) / len(last)
    print("%-20s %12.0f %12.0f %7.1f%%" % (name, a, b, (b - a) * 100 / a if a else 0))
PY
if command -v gnuplot >/dev/null; then
  bench/soak_plot.sh "$OUT" "$ROOT/bench/soak.png" "$RATE stored pushes/s"
fi
