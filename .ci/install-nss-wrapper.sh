#!/usr/bin/env bash
# Installs Debian's nss_wrapper (libnss-wrapper) for test/deploy/statefulset-start.e2e.test.ts,
# which LD_PRELOADs it so the StatefulSet pods' DNS names (corral-0.corral-headless.<ns>.svc...)
# resolve to loopback addresses from a hosts file, without touching /etc/hosts.
# Idempotent: does nothing when the library is already there. Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

if ldconfig -p | grep 'libnss_wrapper\.so' >/dev/null; then
  echo "nss_wrapper already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends libnss-wrapper

ldconfig -p | grep 'libnss_wrapper\.so' >/dev/null
echo "nss_wrapper installed"
