#!/usr/bin/env bash
# Demo lab: QEMU VMs with the iPXE ROM boot from pxecast in network namespaces, over plain TFTP,
# tftm:// (RFC 2090) or mtftp:// (PXE MTFTP), each proving the image's SHA-256 on its console.
#   sudo scripts/lab.sh --vms 3 --scheme tftm
# Options: see scripts/lab.mjs (--help). Needs root, qemu-system-x86, ipxe-qemu, dnsmasq, gcc.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/lab.sh needs root (network namespaces, tap devices): sudo $0 $*" >&2
  exit 2
fi
[ -d node_modules ] || npm ci
npm run --silent build
exec node scripts/lab.mjs "$@"
