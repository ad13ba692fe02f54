#!/usr/bin/env bash
# /app fan-out benchmark: the whole cluster on this machine (scripts/cluster in a temp folder,
# with its demo tenant), a qun of MEMBERS (500) users with every member but the sender online
# (one TCP session each), and app_bench: CONNS (8) keep-alive HTTP clients sending
# device/push from the sender (alice) to the qun.
#   1. as fast as web answers (pushes/s, deliveries/s);
#   2. at half that rate (push-to-receive latency percentiles of every delivery).
# Needs nothing running; stops everything it started. RATE=N fixes the second run's rate.
#
#   bench/app.sh
set -euo pipefail
source "$(dirname "$0")/cluster.sh"
MEMBERS=${MEMBERS:-500}
QUN=0000000b-e000-4000-8000-000000000500
APP=127.0.0.1:$((8093 + PORT_OFFSET))
# Members b1..b(MEMBERS-1) of tenant demo, and alice (1001) as the sender.
rows="" links="('bq0', '$QUN', '1001', 0, 0, NOW(), NOW())"
: >"$tmp/members"
for ((i = 1; i < MEMBERS; i++)); do
  rows+="${rows:+,}('b$i', 'b$i', 'Bench $i', 'demo', NOW(), NOW())"
  links+=",('bq$i', '$QUN', 'b$i', 0, 2, NOW(), NOW())"
  echo "b$i" >>"$tmp/members"
done
mariadb -h 127.0.0.1 -P "$MYSQL_PORT" -uroot appmsgsrv <<SQL
INSERT IGNORE INTO user (id, name, nickname, tenant_id, created, updated) VALUES $rows;
INSERT IGNORE INTO qun (id, creator_id, name, max_member, tenant_id, created, updated) VALUES ('$QUN', '1001', 'Bench', $MEMBERS, 'demo', NOW(), NOW());
INSERT IGNORE INTO qun_user (id, qun_id, user_id, sort, role, created, updated) VALUES $links;
SQL
TOKEN=$(curl -s -X POST "http://$APP/app/client/device/login" \
  -d '{"baseRequest":{"uid":"","deviceID":"bench","deviceType":"iOS","token":""},"userName":"alice","password":"alice-pw"}' |
  sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[[ -n $TOKEN ]] || { echo "bench/app.sh: alice could not log in"; exit 1; }
app_bench_run() {
  "$BUILD/bench/app_bench" --public "$PUB" --app "$APP" --token "$TOKEN" --sender 1001 \
    --qun "$QUN" --members-file "$tmp/members" --conns "${CONNS:-8}" \
    --seconds "${SECONDS_RUN:-10}" "$@"
}
echo "== max: as fast as web answers ($MEMBERS-member qun, $((MEMBERS - 1)) online)"
out=$(app_bench_run --rate 0)
echo "$out"
max=$(tail -1 <<<"$out" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["pushes_per_s"]))')
rate=${RATE:-$((max / 2))}
echo "== latency at $rate pushes/s"
app_bench_run --rate "$rate"
