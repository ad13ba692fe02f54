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
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build-bench}
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAPPMSG_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD" --target appmsg-comet appmsg-message appmsg-web web_bench >/dev/null
tmp=$(mktemp -d /tmp/appmsg-web-bench.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export CLUSTER_VAR=$tmp CLUSTER_NO_BUILD=1 CLUSTER_BIN=$ROOT/$BUILD/src
export ZK_PORT=$(free_port) REDIS_PORT=$(free_port) MYSQL_PORT=$(free_port) PORT_OFFSET=${PORT_OFFSET:-3000}
trap 'scripts/cluster down >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
scripts/cluster up >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log"; exit 1; }
PUB=127.0.0.1:$((8090 + PORT_OFFSET)) ADMIN=127.0.0.1:$((8091 + PORT_OFFSET))
run() { "$BUILD/bench/web_bench" --public "$PUB" --admin "$ADMIN" --keys 1000 --conns "${CONNS:-128}" --seconds "${SECONDS_RUN:-10}" "$@"; }

echo "== max: as fast as acknowledged"
out=$(run --rate 0)
echo "$out"
max=$(tail -1 <<<"$out" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["acked_per_s"]))')
rate=${RATE:-$((max / 2))}
echo "== latency at $rate pushes/s"
run --rate "$rate"
