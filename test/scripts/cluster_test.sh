#!/usr/bin/env bash
# scripts/cluster against real servers, in a temp folder on free ports: up starts ZooKeeper,
# Redis and MariaDB; a second up starts nothing new; status reports them healthy; down stops
# exactly those processes and nothing else.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/appmsg-cluster-test.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export CLUSTER_VAR=$tmp/var CLUSTER_NO_BUILD=1
export ZK_PORT=$(free_port) REDIS_PORT=$(free_port) MYSQL_PORT=$(free_port)
cleanup() { "$root/scripts/cluster" down >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$root/scripts/cluster" up >"$tmp/up1.log" 2>&1 || { cat "$tmp/up1.log"; fail "first up"; }
pids1=$(cat "$CLUSTER_VAR"/*/pid | sort)
[[ $(echo "$pids1" | wc -l) -eq 3 ]] || fail "expected three pid files, got: $pids1"
for p in $pids1; do kill -0 "$p" || fail "pid $p not running"; done

"$root/scripts/cluster" up >"$tmp/up2.log" 2>&1 || fail "second up"
grep -q "already running" "$tmp/up2.log" || fail "second up did not notice the running servers"
[[ "$(cat "$CLUSTER_VAR"/*/pid | sort)" == "$pids1" ]] || fail "second up started a new set"

status=$("$root/scripts/cluster" status)
[[ $(grep -c healthy <<<"$status") -eq 3 ]] || fail "status: $status"

# A bystander with the same program name must survive down.
sleep 300 &
bystander=$!
"$root/scripts/cluster" down >/dev/null
for p in $pids1; do ! kill -0 "$p" 2>/dev/null || fail "pid $p still running after down"; done
kill -0 $bystander || fail "down killed an unrelated process"
kill $bystander
[[ $(grep -c stopped <<<"$("$root/scripts/cluster" status)") -eq 3 ]] || fail "status after down"
echo "cluster_test: 1 passed, 0 failed"
