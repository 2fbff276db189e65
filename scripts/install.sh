#!/usr/bin/env bash
# Installs pxecast as a systemd service: builds, copies the program to PREFIX (runtime
# dependencies only), links the `pxecast` command, creates the `pxecast` system user, installs the
# unit and, only when there is none yet, /etc/pxecast/pxecast.ini. Safe to run again (an upgrade
# replaces the program and the unit, never the config).
#
# --root DIR stages everything under DIR instead of / (like DESTDIR): the unit and the command
# still name the final paths, and nothing outside DIR is touched (no user, no systemctl).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/install.sh [--prefix DIR] [--root DIR] [--dry-run] [--no-build]

  --prefix DIR   where the program goes (default /opt/pxecast)
  --root DIR     stage the installation under DIR instead of / (packaging, tests)
  --dry-run      print every step, change nothing
  --no-build     install the existing build/ instead of running `npm run build` first
EOF
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

prefix=/opt/pxecast
root=
dry_run=0
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
    --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --no-build) build=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$prefix" in /?*) ;; *) die "--prefix must be an absolute directory other than /" ;; esac
prefix=${prefix%/}
case "$root" in '' | /*) ;; *) die "--root must be an absolute directory" ;; esac
root=${root%/}

src=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=/usr/local/bin
config=/etc/pxecast/pxecast.ini
unit=/etc/systemd/system/pxecast.service

# Every change goes through `run`, so --dry-run shows exactly what a real run does.
run() {
  echo "+ $*"
  if [ "$dry_run" = 0 ]; then "$@"; fi
}
note() { echo "- $*"; }

node=$(command -v node) || die "node not found in PATH (Node.js 20.5 or later is required)"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 5) ? 0 : 1)' ||
  die "$node is Node.js $(node --version); pxecast needs 20.5 or later"

echo "installing pxecast from $src into ${root}${prefix}$([ "$dry_run" = 1 ] && echo ' (dry run)')"

# 1. Build.
if [ "$build" = 1 ]; then
  [ -d "$src/node_modules" ] || run npm --prefix "$src" ci --no-audit --no-fund
  run npm --prefix "$src" run build
fi
[ "$dry_run" = 1 ] || [ -f "$src/build/src/cli.js" ] || die "$src/build/src/cli.js is missing; run without --no-build"

# 2. The program: compiled sources and runtime dependencies (dev ones pruned, offline).
dest=$root$prefix
run mkdir -p "$dest/build" "$dest/conf"
run rm -rf "$dest/build/src" "$dest/node_modules"
run cp -R "$src/build/src" "$dest/build/src"
run cp -R "$src/node_modules" "$dest/node_modules"
run cp "$src/package.json" "$src/package-lock.json" "$src/README.md" "$dest/"
run rm -rf "$dest/docs"
run cp -R "$src/docs" "$dest/docs"   # the README links into docs/
run cp "$src/conf/pxecast.example.ini" "$dest/conf/"
run npm --prefix "$dest" prune --omit=dev --offline --no-audit --no-fund
run chmod 755 "$dest/build/src/cli.js"
run mkdir -p "$root$bin_dir"
run ln -sfn "$prefix/build/src/cli.js" "$root$bin_dir/pxecast"

# 3. The service user (never in a staging root: it belongs to the target system).
if [ -n "$root" ]; then
  note "staging root: create the pxecast user on the target (useradd --system --user-group pxecast)"
elif id pxecast >/dev/null 2>&1; then
  note "user pxecast exists"
else
  run useradd --system --user-group --home-dir /var/lib/pxecast --no-create-home --shell /usr/sbin/nologin pxecast
fi

# 4. Configuration: installed once, then it is the operator's.
run mkdir -p "$root/etc/pxecast" "$root/srv/pxecast"
if [ -e "$root$config" ]; then
  note "$root$config exists: kept (the current example is $prefix/conf/pxecast.example.ini)"
else
  run install -m 0640 "$src/conf/pxecast.example.ini" "$root$config"
  # The daemon runs as pxecast and must read it; root may still be the only one to write it.
  [ -n "$root" ] || run chgrp pxecast "$config"
fi

# 5. The unit, with this prefix and this node.
run mkdir -p "$root/etc/systemd/system"
echo "+ render $src/systemd/pxecast.service > $root$unit (prefix $prefix, node $node)"
if [ "$dry_run" = 0 ]; then
  sed -e "s#/opt/pxecast#$prefix#g" -e "s#/usr/bin/node#$node#g" "$src/systemd/pxecast.service" >"$root$unit.tmp"
  mv "$root$unit.tmp" "$root$unit"
fi
if [ -n "$root" ]; then
  note "staging root: skipped systemctl daemon-reload"
elif [ -d /run/systemd/system ]; then
  run systemctl daemon-reload
else
  note "systemd is not running here: skipped systemctl daemon-reload"
fi

cat <<EOF

next steps:
  edit $config ([tftp] root, [image ...], [dhcp]), then: pxecast check --config $config
  put the boot files under /srv/pxecast
  systemctl enable --now pxecast
  let operators use the control commands: usermod -aG pxecast USER
EOF
