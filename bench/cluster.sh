# Sourced by bench/web.sh, bench/stall.sh and bench/app.sh: builds the Release binaries in $BUILD
# (build-bench), starts a whole cluster with scripts/cluster in a temp folder on free ports
# (stopped and removed on exit), and defines web_bench_run (web_bench against that cluster's
# web node, 1,000 keys, CONNS HTTP clients, SECONDS_RUN seconds, extra flags passed on).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build-bench}
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAPPMSG_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD" --target appmsg-comet appmsg-message appmsg-web web_bench app_bench app_read_bench >/dev/null
tmp=$(mktemp -d /tmp/appmsg-web-bench.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export CLUSTER_VAR=$tmp CLUSTER_NO_BUILD=1 CLUSTER_BIN=$ROOT/$BUILD/src
export ZK_PORT=$(free_port) REDIS_PORT=$(free_port) MYSQL_PORT=$(free_port) PORT_OFFSET=${PORT_OFFSET:-3000}
trap 'scripts/cluster down >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
scripts/cluster up >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log"; exit 1; }
PUB=127.0.0.1:$((8090 + PORT_OFFSET)) ADMIN=127.0.0.1:$((8091 + PORT_OFFSET))
web_bench_run() {
  "$BUILD/bench/web_bench" --public "$PUB" --admin "$ADMIN" --keys 1000 --conns "${CONNS:-128}" \
    --seconds "${SECONDS_RUN:-10}" "$@"
}
