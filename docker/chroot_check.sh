#!/usr/bin/env bash
# What docker/Dockerfile's runtime stage does, without Docker: a clean Debian 12 root
# (debootstrap --variant=minbase, as debian:12-slim), `apt-get install ./appmsgsrv_*.deb` in it
# (the dependencies resolve from the archive; postinst makes the user without systemd), then as
# the user appmsgsrv: each daemon's -t on its packaged configuration, and the comet started from
# its packaged configuration until /metrics answers (it serves without ZooKeeper and Redis,
# which are not running here), stopped with SIGTERM (exit status 0).
# Needs root and the Debian archive; takes a few minutes. Not part of scripts/test.
#
#   docker/chroot_check.sh build-package/appmsgsrv_0.1.0_amd64.deb
set -euo pipefail
deb=$(realpath "${1:?usage: docker/chroot_check.sh PACKAGE.deb}")
[[ $(id -u) -eq 0 ]] || { echo "chroot_check: needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
root=$(mktemp -d /tmp/appmsg-chroot.XXXXXX)
chmod 0755 "$root"  # its / (mktemp makes 0700: the user appmsgsrv could not enter it)
pid=""
cleanup() {
  [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true
  umount -l "$root/proc" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT
step() { echo "chroot_check: $*"; }

step "debootstrap bookworm (minbase) into $root"
debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1 ||
  { tail -20 "$root.log"; exit 1; }
rm -f "$root.log"
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/appmsgsrv.deb"
step "apt-get install ./$(basename "$deb")"
chroot "$root" sh -c 'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends /tmp/appmsgsrv.deb' | tail -3
chroot "$root" install -d -o appmsgsrv -g appmsgsrv -m 0750 /var/lib/appmsgsrv /run/appmsgsrv
chroot "$root" getent passwd appmsgsrv
chroot "$root" ls -l /etc/appmsgsrv
as_user() { chroot --userspec=appmsgsrv:appmsgsrv "$root" "$@"; }
as_user /usr/bin/appmsg-comet -t -c /etc/appmsgsrv/comet.conf
as_user /usr/bin/appmsg-message -t -c /etc/appmsgsrv/message.conf
as_user /usr/bin/appmsg-web -t -c /etc/appmsgsrv/web.conf -dbc /etc/appmsgsrv/db.conf

step "the comet from /etc/appmsgsrv/comet.conf, as appmsgsrv"
(cd / && exec chroot --userspec=appmsgsrv:appmsgsrv "$root" /usr/bin/appmsg-comet \
  -c /etc/appmsgsrv/comet.conf) >"$root/tmp/comet.log" 2>&1 &
pid=$!
status() { curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:6972/metrics || true; }
for _ in $(seq 100); do
  [[ $(status) == 000 ]] || break
  sleep 0.1
done
code=$(status)
[[ $code == 200 ]] || { cat "$root/tmp/comet.log"; exit 1; }
step "/metrics answers 200 (ZooKeeper and Redis are not running here); SIGTERM"
kill -TERM "$pid"
wait "$pid" && pid="" && step "the comet exited with status 0" || { cat "$root/tmp/comet.log"; exit 1; }
step "passed"
