#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test, test/browser/eventsource.e2e.test.ts (driven by
# playwright-core at /usr/bin/chromium). Idempotent: does nothing when /usr/bin/chromium is already
# there. Needs root (or sudo) on a Debian/Ubuntu image.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "chromium already installed: $CHROMIUM"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium

test -x "$CHROMIUM"
echo "chromium installed: $CHROMIUM"
