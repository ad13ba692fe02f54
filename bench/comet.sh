#!/usr/bin/env bash
# Runs the comet benchmarks on this machine: a comet pinned to core 0 (taskset), the load tool
# on core 1, on loopback, with a temporary configuration. Needs a build (scripts/test or
# cmake --build build-bench). Prints each tool's table and JSON line.
#
#   bench/comet.sh                 all modes with the defaults below
#   CONNS=19000 bench/comet.sh idle
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAPPMSG_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD" --target appmsg-comet comet_bench >/dev/null
tmp=$(mktemp -d /tmp/appmsg-bench.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TCP=$(free_port) WS=$(free_port) RPC=$(free_port) STAT=$(free_port)
cat >"$tmp/comet.conf" <<CONF
[base]
pidfile $tmp/comet.pid
maxproc 1
tcp.bind 127.0.0.1:$TCP
websocket.bind 127.0.0.1:$WS
rpc.bind 127.0.0.1:$RPC
stat.bind 127.0.0.1:$STAT
[log]
level warn
[zookeeper]
# no ZooKeeper needed for these measurements: registration just keeps retrying
addr 127.0.0.1:1
[channel]
msgbuf.num 1024
maxsubscriber 64
CONF
comet_pid=""
start_comet() {
  taskset -c 0 "$BUILD/src/comet/appmsg-comet" -c "$tmp/comet.conf" >"$tmp/comet.log" 2>&1 &
  comet_pid=$!
  for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$TCP) 2>/dev/null && break; sleep 0.1; done
}
stop_comet() { kill "$comet_pid" 2>/dev/null || true; wait "$comet_pid" 2>/dev/null || true; }
trap 'stop_comet; rm -rf "$tmp"' EXIT
tool() { taskset -c 1 "$BUILD/bench/comet_bench" --client 127.0.0.1:$1 --rpc 127.0.0.1:$RPC "${@:2}"; }

modes=${1:-"idle-tcp idle-ws throughput latency batch"}
for m in $modes; do
  echo "== $m"
  start_comet
  case $m in
    idle-tcp) tool $TCP --mode idle --proto tcp --conns "${CONNS:-19000}" --comet-pid "$comet_pid" ;;
    idle-ws) tool $WS --mode idle --proto ws --conns "${CONNS:-19000}" --comet-pid "$comet_pid" ;;
    throughput) tool $TCP --mode throughput --conns 1000 --batch 1000 --seconds "${SECONDS_RUN:-10}" --senders 4 ;;
    latency) tool $TCP --mode latency --conns 1000 --rate "${RATE:-10000}" --seconds "${SECONDS_RUN:-10}" ;;
    batch) tool $TCP --mode batch --conns 1000 --batch 1000 ;;
  esac
  stop_comet
done
