#!/usr/bin/env bash
# /app read benchmark: the whole cluster on this machine (scripts/cluster in a temp folder, its
# demo tenant grown to USERS (5,000) users in ORGS (300) orgs, 30 roots of 9 children each, and a
# qun of QUN_MEMBERS (500)), then app_read_bench with CONNS (8) keep-alive clients for
# SECONDS_RUN (10) s on device/getOrgInfo and device/getQunMembers as alice.
# Needs nothing running; stops everything it started.
#
#   bench/app_reads.sh
set -euo pipefail
source "$(dirname "$0")/cluster.sh"
USERS=${USERS:-5000} ORGS=${ORGS:-300} QUN_MEMBERS=${QUN_MEMBERS:-500}
QUN=0000000b-e000-4000-8000-000000000501
APP=127.0.0.1:$((8093 + PORT_OFFSET))
python3 - "$USERS" "$ORGS" "$QUN_MEMBERS" "$QUN" >"$tmp/seed.sql" <<'PY'
import sys
users, orgs, members, qun = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
roots = max(1, orgs // 10)
rows, links, org_rows = [], [], []
for i in range(orgs):
    parent = "" if i < roots else "ro%d" % ((i - roots) % roots)
    loc = "%02d" % i if i < roots else "%02d%02d" % ((i - roots) % roots, (i - roots) // roots)
    org_rows.append("('ro%d','Org %d','','%s','%s','demo',%d)" % (i, i, parent, loc, i % 7))
for i in range(users):
    rows.append("('ru%d','reader%d','Reader %d','demo',NOW(),NOW())" % (i, i, i))
    links.append("('rl%d','ro%d','ru%d',%d)" % (i, i % orgs, i, i))
print("INSERT IGNORE INTO org (id,name,short_name,parent_id,location,tenant_id,sort) VALUES %s;" % ",".join(org_rows))
print("INSERT IGNORE INTO user (id,name,nickname,tenant_id,created,updated) VALUES %s;" % ",".join(rows))
print("INSERT IGNORE INTO org_user (id,org_id,user_id,sort) VALUES %s;" % ",".join(links))
print("INSERT IGNORE INTO qun (id,creator_id,name,max_member,tenant_id,created,updated) VALUES ('%s','1001','Readers',%d,'demo',NOW(),NOW());" % (qun, members))
qrows = ["('rq0','%s','1001',0,0,NOW(),NOW())" % qun]
qrows += ["('rq%d','%s','ru%d',%d,2,NOW(),NOW())" % (i, qun, i, i) for i in range(1, members)]
print("INSERT IGNORE INTO qun_user (id,qun_id,user_id,sort,role,created,updated) VALUES %s;" % ",".join(qrows))
PY
mariadb -h 127.0.0.1 -P "$MYSQL_PORT" -uroot appmsgsrv <"$tmp/seed.sql"
TOKEN=$(curl -s -X POST "http://$APP/app/client/device/login" \
  -d '{"baseRequest":{"uid":"","deviceID":"bench","deviceType":"iOS","token":""},"userName":"alice","password":"alice-pw"}' |
  sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[[ -n $TOKEN ]] || { echo "bench/app_reads.sh: alice could not log in"; exit 1; }
base='"baseRequest":{"uid":"1001","deviceID":"bench","deviceType":"iOS","token":"'$TOKEN'"}'
run() {
  "$BUILD/bench/app_read_bench" --app "$APP" --conns "${CONNS:-8}" --seconds "${SECONDS_RUN:-10}" "$@"
}
echo "== device/getOrgInfo: tenant of $USERS users in $ORGS orgs"
run --route device/getOrgInfo --body "{$base}" --label "getOrgInfo ${USERS}u/${ORGS}o"
echo "== device/getQunMembers: a $QUN_MEMBERS-member qun"
run --route device/getQunMembers --body "{$base,\"userName\":\"$QUN@qun\"}" --label "getQunMembers $QUN_MEMBERS"
