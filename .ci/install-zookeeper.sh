#!/usr/bin/env bash
# Installs Apache ZooKeeper 3.8 (Debian's `zookeeper` package: jars under /usr/share/java, plus a
# Java runtime) for the oracle test, test/oracle/oracle.e2e.test.ts. Idempotent: does nothing when
# the jar is already there. Needs root (or sudo) on a Debian/Ubuntu image.
set -euo pipefail

if [ -f /usr/share/java/zookeeper.jar ]; then
  echo "zookeeper already installed: /usr/share/java/zookeeper.jar"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends zookeeper

test -f /usr/share/java/zookeeper.jar
echo "zookeeper installed: /usr/share/java/zookeeper.jar"
