#!/usr/bin/env bash
# End-to-end admin push benchmark: the whole cluster on this machine (scripts/cluster in a
# temp folder: ZooKeeper, Redis, MariaDB, one message node, two comets, one web node), then
# web_bench: 1000 TCP subscribers and CONNS (128) keep-alive HTTP clients pushing through web.
#   1. as fast as the cluster acknowledges (pushes/s);
#   2. at half that rate (push-to-receive latency percentiles).
# Needs nothing running; stops everything it started. RATE=N fixes the second run's rate.
#
#   bench/web.sh
set -euo pipefail
source "$(dirname "$0")/cluster.sh"

echo "== max: as fast as acknowledged"
out=$(web_bench_run --rate 0)
echo "$out"
max=$(tail -1 <<<"$out" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["acked_per_s"]))')
rate=${RATE:-$((max / 2))}
echo "== latency at $rate pushes/s"
web_bench_run --rate "$rate"
