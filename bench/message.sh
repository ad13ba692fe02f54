#!/usr/bin/env bash
# Runs the message benchmark on this machine: two redis-server shards on free loopback ports in a
# temporary folder, one appmsg-message pinned to core 0 (taskset), the load tool on core 1 (the
# Redis servers are not pinned). Builds what it needs first. Prints the tool's table and JSON line.
#
#   bench/message.sh                          batch, single and get, 10 s each
#   SECONDS_RUN=5 CALLERS=32 bench/message.sh batch
#   PERF=1 bench/message.sh batch             also records the node with perf (perf.data in $tmp,
#                                             report printed, folder kept)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAPPMSG_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD" --target appmsg-message message_bench >/dev/null
tmp=$(mktemp -d /tmp/appmsg-bench.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
R1=$(free_port) R2=$(free_port) RPC=$(free_port) STAT=$(free_port)
cat >"$tmp/message.conf" <<CONF
[base]
rpc.bind 127.0.0.1:$RPC
stat.bind 127.0.0.1:$STAT
pidfile $tmp/message.pid
[log]
level warn
[storage]
type redis
[redis]
store 20
ketama.base 255
[redis.source]
redis1:1 127.0.0.1:$R1
redis2:1 127.0.0.1:$R2
[zookeeper]
# no ZooKeeper needed for these measurements: registration just keeps retrying
addr 127.0.0.1:1
CONF

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n ${PERF:-} ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 not ready" >&2; exit 1; }

for p in $R1 $R2; do
  redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" \
    >"$tmp/redis-$p.log" 2>&1 &
  pids+=($!)
done
wait_port "$R1"
wait_port "$R2"
taskset -c 0 "$BUILD/src/message/appmsg-message" -c "$tmp/message.conf" >"$tmp/message.log" 2>&1 &
message_pid=$!
pids+=("$message_pid")
wait_port "$RPC"

modes=${1:-batch,single,get}
perf_pid=""
if [[ -n ${PERF:-} ]]; then
  perf record -g -o "$tmp/perf.data" -p "$message_pid" >/dev/null 2>&1 &
  perf_pid=$!
fi
taskset -c 1 "$BUILD/bench/message_bench" --rpc "127.0.0.1:$RPC" --modes "$modes" \
  --seconds "${SECONDS_RUN:-10}" --callers "${CALLERS:-16}" --batch "${BATCH:-100}"
if [[ -n $perf_pid ]]; then
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  perf report -i "$tmp/perf.data" --no-children -g none --sort dso,symbol --percent-limit 1 \
    --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | cut -c1-160 | head -40
fi
