#!/usr/bin/env bash
# The Debian package of a build (cpack -G DEB into a temp folder): dpkg -x lays it out in FHS
# paths; its control names the libraries' packages, the conffiles and the maintainer scripts;
# the unpacked binaries accept the packaged configurations (-t), and the comet starts from its
# packaged configuration (only its pid file, folder and ports moved into the temp folder) and
# tells systemd READY=1, then STOPPING=1 on SIGTERM; systemd-analyze verify accepts the units
# without a warning. BUILD names the build folder (ctest sets it).
set -euo pipefail
BUILD=${BUILD:?set BUILD to the build folder}
tmp=$(mktemp -d /tmp/appmsg-package-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cpack --config "$BUILD/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log"; fail "cpack"; }
deb=$(ls "$tmp"/out/appmsgsrv_*.deb) || fail "no .deb in $tmp/out"
root=$tmp/root
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$tmp/control"

# The layout.
for f in usr/bin/appmsg-comet usr/bin/appmsg-message usr/bin/appmsg-web; do
  [[ -x $root/$f ]] || fail "$f is not an executable in the package"
done
for f in etc/appmsgsrv/comet.conf etc/appmsgsrv/message.conf etc/appmsgsrv/web.conf \
  etc/appmsgsrv/db.conf usr/lib/systemd/system/appmsg-comet.service \
  usr/lib/systemd/system/appmsg-message.service usr/lib/systemd/system/appmsg-web.service \
  usr/share/appmsgsrv/static/appmsg.js usr/share/appmsgsrv/view/demo.html \
  usr/share/appmsgsrv/view/erweima.html usr/share/doc/appmsgsrv/README.md; do
  [[ -f $root/$f ]] || fail "$f is missing from the package"
done
top=$(cd "$root" && ls | tr '\n' ' ')
[[ $top == "etc usr " ]] || fail "the package installs outside /etc and /usr: $top"
grep -qx 'pidfile /run/appmsgsrv/comet.pid' "$root/etc/appmsgsrv/comet.conf" || fail "comet pidfile"
grep -qx 'dir /var/lib/appmsgsrv' "$root/etc/appmsgsrv/web.conf" || fail "web working folder"
grep -qx 'view.dir /usr/share/appmsgsrv/view' "$root/etc/appmsgsrv/web.conf" || fail "web view.dir"

# The control files.
control=$(cat "$tmp/control/control")
for want in "Package: appmsgsrv" "Architecture: amd64" "adduser" "libzookeeper-mt2" "libhiredis" \
  "libmariadb3" "libssl3" "libsystemd0"; do
  [[ $control == *"$want"* ]] || fail "control lacks '$want':
$control"
done
diff <(sort "$tmp/control/conffiles") <(printf '%s\n' /etc/appmsgsrv/comet.conf \
  /etc/appmsgsrv/db.conf /etc/appmsgsrv/message.conf /etc/appmsgsrv/web.conf) ||
  fail "conffiles"
for s in postinst prerm postrm; do
  [[ -x $tmp/control/$s ]] || fail "no executable $s"
  sh -n "$tmp/control/$s" || fail "$s does not parse"
done

# The binaries run (their libraries resolve) and accept the packaged configurations.
for d in comet message web; do
  "$root/usr/bin/appmsg-$d" --version | grep -q "appmsg-$d" || fail "appmsg-$d --version"
done
"$root/usr/bin/appmsg-comet" -t -c "$root/etc/appmsgsrv/comet.conf" >/dev/null || fail "comet -t"
"$root/usr/bin/appmsg-message" -t -c "$root/etc/appmsgsrv/message.conf" >/dev/null || fail "message -t"
"$root/usr/bin/appmsg-web" -t -c "$root/etc/appmsgsrv/web.conf" -dbc "$root/etc/appmsgsrv/db.conf" \
  >/dev/null || fail "web -t"

# The packaged comet starts and tells systemd so; SIGTERM stops it cleanly.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sed -e "s|^pidfile .*|pidfile $tmp/comet.pid|" -e "s|^dir .*|dir $tmp|" \
  -e "s|127.0.0.1:69[0-9][0-9]|127.0.0.1:0|" -e "s|127.0.0.1:2181|127.0.0.1:$(free_port)|" \
  "$root/etc/appmsgsrv/comet.conf" >"$tmp/comet.conf"
python3 - "$root/usr/bin/appmsg-comet" "$tmp/comet.conf" "$tmp/notify.sock" "$tmp/comet.log" <<'PY' ||
import os, signal, socket, subprocess, sys
binary, conf, path, log = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(20)
p = subprocess.Popen([binary, "-c", conf], env=dict(os.environ, NOTIFY_SOCKET=path),
                     stdout=open(log, "w"), stderr=subprocess.STDOUT)
def expect(prefix):
    m = s.recv(4096).decode()
    if not m.startswith(prefix):
        sys.exit("expected %s, got %r" % (prefix, m))
try:
    expect("READY=1")
    p.send_signal(signal.SIGTERM)
    expect("STOPPING=1")
    sys.exit(p.wait(20))
finally:
    p.kill()
PY
  { cat "$tmp/comet.log"; fail "the packaged comet did not start and stop as a notify service"; }

# The units: systemd-analyze verify without a word (an unknown key is only a warning), with
# ExecStart pointing to the unpacked binaries (it checks that they are executables).
mkdir "$tmp/units"
for d in comet message web; do
  sed "s|/usr/bin/appmsg-|$root/usr/bin/appmsg-|g" "$root/usr/lib/systemd/system/appmsg-$d.service" \
    >"$tmp/units/appmsg-$d.service"
done
out=$(systemd-analyze verify "$tmp"/units/*.service 2>&1) || fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify warns: $out"
echo "package_test: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) is complete"
