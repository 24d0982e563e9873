#!/usr/bin/env bash
# Installs Debian's nss_wrapper (libnss-wrapper) for test/deploy/statefulset-start.e2e.test.ts,
# which LD_PRELOADs it so the StatefulSet pods' DNS names (corral-0.corral-headless.<ns>.svc...)
# resolve to loopback addresses from a hosts file, without touching /etc/hosts.
# Idempotent: does nothing when the library is already there. Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# The loader finds it by name through ld.so's cache, which a package install does not always
# refresh (Debian's libnss-wrapper triggers no ldconfig), so refresh it before looking.
in_cache() { ldconfig -p | grep 'libnss_wrapper\.so' >/dev/null; }
if ! in_cache && dpkg -s libnss-wrapper >/dev/null 2>&1; then $SUDO ldconfig; fi
if in_cache; then
  echo "nss_wrapper already installed"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends libnss-wrapper
$SUDO ldconfig

in_cache
echo "nss_wrapper installed"
