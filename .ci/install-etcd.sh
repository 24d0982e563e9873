#!/usr/bin/env bash
# Installs etcd 3.4 (Debian's `etcd-server` package: /usr/bin/etcd) for the benchmark,
# `npm run bench` (bench/targets/etcd.ts), which starts its own members on loopback. Not part of
# .ci/run: the tests do not need etcd, and the bench reports it as missing when it is absent.
# Idempotent: does nothing when `etcd` is already on PATH. Needs root (or sudo) on Debian/Ubuntu.
# The package's systemd unit is not used (and is not started in containers without systemd).
set -euo pipefail

if command -v etcd >/dev/null 2>&1; then
  echo "etcd already installed: $(command -v etcd) ($(etcd --version | head -n 1))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends etcd-server

command -v etcd >/dev/null
echo "etcd installed: $(command -v etcd) ($(etcd --version | head -n 1))"
