#!/usr/bin/env bash
# docker/ without Docker (no daemon or registry here): the Dockerfile's stages and packages,
# and docker/compose.yaml against the files and binaries it names. Checks that
#   - every apt package the Dockerfile installs is one of scripts/deps and exists in this
#     machine's Debian 12 archive;
#   - the build stage's command is scripts/package, whose package test/scripts/package_test.sh
#     checks, and each daemon's stage runs the binary the package installs;
#   - compose.yaml parses, each daemon service builds a stage of the Dockerfile, mounts files
#     that exist, and every compose/*.conf passes its daemon's -t;
#   - the ports the configurations bind are distinct (network_mode: host shares one stack).
# BIN names the built daemons' folder (ctest sets it).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:?set BIN to the build folder of the daemons (build/src)}
fail() { echo "FAIL: $*"; exit 1; }
dockerfile=$root/docker/Dockerfile

# Packages: the apt-get install lines of the Dockerfile.
mapfile -t pkgs < <(awk '/apt-get install/,/rm -rf/' "$dockerfile" | tr ' \\' '\n\n' |
  grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vxE 'apt-get|install|rm|update|&&' | sort -u)
[[ ${#pkgs[@]} -gt 10 ]] || fail "found only ${#pkgs[@]} packages in the Dockerfile: ${pkgs[*]}"
deps=$(sed -n '/^PACKAGES=(/,/^)/p' "$root/scripts/deps" | tr ' ' '\n')
have_lists=$(ls /var/lib/apt/lists/ 2>/dev/null | grep -c '_Packages' || true)
[[ $have_lists -gt 0 ]] || echo "docker_test: no apt lists here; not checking the archive"
for p in "${pkgs[@]}"; do
  grep -Fxq -- "$p" <<<"$deps" || fail "the Dockerfile installs $p, which scripts/deps does not"
  if [[ $have_lists -gt 0 ]]; then
    apt-cache show "$p" >/dev/null 2>&1 || fail "$p is not in the Debian archive"
  fi
done
grep -q 'scripts/package' "$dockerfile" || fail "the build stage does not run scripts/package"
for d in comet message web; do
  grep -q "^FROM runtime AS $d\$" "$dockerfile" || fail "no stage $d"
  grep -q "ENTRYPOINT \[\"/usr/bin/appmsg-$d\"" "$dockerfile" || fail "stage $d runs another binary"
done

# compose.yaml: stages, mounted files, and the configurations.
/usr/bin/python3 - "$root/docker" <<'PY' || fail "compose.yaml"
import os, re, sys, yaml
docker = sys.argv[1]
compose = yaml.safe_load(open(os.path.join(docker, "compose.yaml")))
stages = set(re.findall(r"^FROM \S+ AS (\S+)$", open(os.path.join(docker, "Dockerfile")).read(), re.M))
images = {}
for name, svc in compose["services"].items():
    build = svc.get("build")
    if build:
        assert build["target"] in stages, f"{name}: no stage {build['target']}"
        images[svc["image"]] = build["target"]
    for v in svc.get("volumes", []):
        src = v.split(":")[0]
        if src.startswith("./"):
            assert os.path.isfile(os.path.join(docker, src)), f"{name}: {src} does not exist"
    assert svc.get("network_mode") == "host", f"{name}: not on the host's network"
for name, svc in compose["services"].items():
    if svc.get("image", "").startswith("appmsgsrv/"):
        assert svc["image"] in images, f"{name}: image {svc['image']} is built by no service"
for s in compose.get("secrets", {}).values():
    assert os.path.isfile(os.path.join(docker, s["file"])), s["file"]
PY
cd "$root/docker/compose"
for c in comet1 comet2; do "$BIN/comet/appmsg-comet" -t -c $c.conf >/dev/null || fail "$c.conf"; done
"$BIN/message/appmsg-message" -t -c message.conf >/dev/null || fail "message.conf"
"$BIN/web/appmsg-web" -t -c web.conf -dbc db.conf >/dev/null || fail "web.conf"
binds=$(grep -hoE '^[a-z.]+bind [0-9.]+:[0-9]+' ./*.conf) || fail "no binds in compose/*.conf"
dups=$(awk -F: '{print $NF}' <<<"$binds" | sort | uniq -d)
[[ -z $dups ]] || fail "ports bound twice on the host's network: $dups"
echo "docker_test: Dockerfile and compose.yaml are consistent"
