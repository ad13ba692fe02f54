#!/usr/bin/env bash
# A stalled message node: the whole cluster as in bench/web.sh but with two message nodes, and
# web_bench at a fixed RATE (default 2000 pushes/s, 128 HTTP clients, 10 s per run):
#   1. live-only pushes (expire 0) and stored pushes (expire 600), both message nodes healthy;
#   2. the same two runs with message2 stopped by SIGSTOP (it holds its connections and never
#      answers), then SIGCONT.
# Live-only pushes must keep their latency; stored pushes must answer within the comet's
# [rpc] store.timeout (2 s), code 0 (stored on the other node) or 1004 (delivered, not stored).
#
#   bench/stall.sh
set -euo pipefail
export MESSAGE_NODES=2
source "$(dirname "$0")/cluster.sh"
rate=${RATE:-2000}
for phase in healthy stalled; do
  if [[ $phase == stalled ]]; then
    kill -STOP "$(cat "$tmp/message2/pid")"
    trap 'kill -CONT "$(cat "$tmp/message2/pid")" 2>/dev/null; scripts/cluster down >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
  fi
  echo "== $phase message2: live-only pushes at $rate/s"
  web_bench_run --rate "$rate" --expire 0
  echo "== $phase message2: stored pushes at $rate/s"
  web_bench_run --rate "$rate" --expire 600
done
kill -CONT "$(cat "$tmp/message2/pid")"
