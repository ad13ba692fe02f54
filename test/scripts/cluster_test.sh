#!/usr/bin/env bash
# scripts/cluster against real servers, in a temp folder on free ports: up starts ZooKeeper,
# Redis, MariaDB, a message node, two comets and web; a push through web reaches a subscriber;
# a second up starts nothing new; status reports them healthy; down stops exactly those
# processes and nothing else. CLUSTER_BIN names the built daemons (ctest sets it).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/appmsg-cluster-test.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export CLUSTER_VAR=$tmp/var CLUSTER_NO_BUILD=1
export ZK_PORT=$(free_port) REDIS_PORT=$(free_port) MYSQL_PORT=$(free_port)
export PORT_OFFSET=$(( (RANDOM % 150 + 100) * 100 ))  # daemon ports 16968..23092 at most
export CLUSTER_BIN=${CLUSTER_BIN:-$root/build/src}
cleanup() { "$root/scripts/cluster" down >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$root/scripts/cluster" up >"$tmp/up1.log" 2>&1 || { cat "$tmp/up1.log"; fail "first up"; }
pids1=$(cat "$CLUSTER_VAR"/*/pid | sort)
[[ $(echo "$pids1" | wc -l) -eq 7 ]] || fail "expected seven pid files, got: $pids1"
for p in $pids1; do kill -0 "$p" || fail "pid $p not running"; done

# The printed lines work: a subscriber (scripts/sub) gets a push made with the printed curl.
sub_cmd=$(grep -m1 'scripts/sub' "$tmp/up1.log")
push_cmd=$(grep -m1 'curl -s -X POST' "$tmp/up1.log")
(cd "$root" && eval "timeout 20 $sub_cmd" >"$tmp/sub.out" 2>"$tmp/sub.err") &
sub_pid=$!
for _ in $(seq 100); do grep -q subscribed "$tmp/sub.err" 2>/dev/null && break; sleep 0.1; done
answer=$(eval "$push_cmd")
[[ $answer == *'"ret":0'* ]] || fail "push answered: $answer"
for _ in $(seq 100); do grep -q hello "$tmp/sub.out" 2>/dev/null && break; sleep 0.1; done
kill $sub_pid 2>/dev/null || true
grep -q '"text": "hello"' "$tmp/sub.out" || fail "the subscriber got: $(cat "$tmp/sub.out" "$tmp/sub.err")"

# The printed /app lines work: alice logs in, and her push to the demo qun reaches bob.
login_cmd=$(grep -m1 'TOKEN=' "$tmp/up1.log")
qun_cmd=$(grep -m1 'device/push' "$tmp/up1.log")
bob_cmd="scripts/sub --web http://127.0.0.1:$((8090 + PORT_OFFSET)) 1002@user"
(cd "$root" && eval "timeout 20 $bob_cmd" >"$tmp/bob.out" 2>"$tmp/bob.err") &
bob_pid=$!
for _ in $(seq 100); do grep -q subscribed "$tmp/bob.err" 2>/dev/null && break; sleep 0.1; done
eval "$login_cmd" >"$tmp/login.out"
[[ -n ${TOKEN:-} ]] || fail "the login line gave no token: $(cat "$tmp/login.out")"
answer=$(eval "$qun_cmd")
[[ $answer == *'"ret":0'* ]] || fail "the qun push answered: $answer"
for _ in $(seq 100); do grep -q 'hello qun' "$tmp/bob.out" 2>/dev/null && break; sleep 0.1; done
kill $bob_pid 2>/dev/null || true
grep -q '1001@user|alice|Alice&&hello qun' "$tmp/bob.out" || fail "bob got: $(cat "$tmp/bob.out" "$tmp/bob.err")"

# The printed demo and admin pages answer, and the demo page's SDK is served.
demo_url=$(sed -n 's/^Demo page *\(http[^ ]*\).*/\1/p' "$tmp/up1.log")
admin_url=$(sed -n 's/^Admin page *\(http[^ ]*\).*/\1/p' "$tmp/up1.log")
[[ -n $demo_url && -n $admin_url ]] || fail "no demo or admin address printed"
# (Whole answers, then the match: `curl | grep -q` fails under pipefail when grep stops reading
# before curl has written everything.)
serves() { local body; body=$(curl -sf "$1") && [[ $body == *"$2"* ]]; }
serves "$demo_url" 'appmsg.js' || fail "the demo page at $demo_url"
serves "${demo_url%/demo}/app/static/appmsg.js" 'class Client' || fail "appmsg.js"
serves "$admin_url" 'appmsgsrv cluster' || fail "the admin page at $admin_url"
serves "${admin_url}/cluster" '"comets"' || fail "the admin overview"

"$root/scripts/cluster" up >"$tmp/up2.log" 2>&1 || fail "second up"
grep -q "already running" "$tmp/up2.log" || fail "second up did not notice the running servers"
[[ "$(cat "$CLUSTER_VAR"/*/pid | sort)" == "$pids1" ]] || fail "second up started a new set"

status=$("$root/scripts/cluster" status)
[[ $(grep -c healthy <<<"$status") -eq 7 ]] || fail "status: $status"

# A bystander with the same program name must survive down.
sleep 300 &
bystander=$!
"$root/scripts/cluster" down >/dev/null
for p in $pids1; do ! kill -0 "$p" 2>/dev/null || fail "pid $p still running after down"; done
kill -0 $bystander || fail "down killed an unrelated process"
kill $bystander
[[ $(grep -c stopped <<<"$("$root/scripts/cluster" status)") -eq 7 ]] || fail "status after down"
echo "cluster_test: 1 passed, 0 failed"
