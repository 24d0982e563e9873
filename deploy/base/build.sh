#!/usr/bin/env bash
# Builds localhost/corral-node:20, a base image for deploy/Dockerfile, where Docker Hub (and so
# node:20-bookworm-slim) cannot be reached but Debian's archive can:
#   1. mmdebstrap: a minimal Debian bookworm root file system (about 180 MB) from Debian's archive,
#      imported into podman as localhost/corral-debian:bookworm;
#   2. deploy/base/Containerfile: that, plus the Node.js 20 of this machine (node, npm, headers;
#      a glibc build, which bookworm's glibc runs) and this machine's local CA certificates.
# Needs root (or sudo), podman and mmdebstrap (apt-get install podman mmdebstrap). Then:
#   podman build --format docker --build-arg BASE_IMAGE=localhost/corral-node:20 \
#     -f deploy/Dockerfile -t corral:dev .
# PODMAN_BUILD_FLAGS is added to `podman build` (docs/operations.md names the ones a machine that
# may not raise resource limits needs).
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
NODE=$(command -v node)
case "$("$NODE" --version)" in v20.*) ;; *) echo "needs Node.js 20 on this machine, found $("$NODE" --version)" >&2; exit 1 ;; esac
PREFIX=$(dirname "$(dirname "$(readlink -f "$NODE")")")
NPM_DIR=$(npm root -g)/npm

work=$(mktemp -d)
trap '$SUDO rm -rf "$work"' EXIT

if ! $SUDO podman image exists localhost/corral-debian:bookworm; then
  $SUDO mmdebstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs.tar"
  $SUDO podman import --change 'CMD ["/bin/bash"]' "$work/rootfs.tar" localhost/corral-debian:bookworm
fi

mkdir -p "$work/ctx/ca"
cp "$(readlink -f "$NODE")" "$work/ctx/node"
cp -r "$NPM_DIR" "$work/ctx/npm"
cp -r "$PREFIX/include/node" "$work/ctx/include"
cp /usr/local/share/ca-certificates/*.crt "$work/ctx/ca/" 2>/dev/null || true
# shellcheck disable=SC2086 # the flags are words on purpose
$SUDO podman build ${PODMAN_BUILD_FLAGS:-} -f Containerfile -t localhost/corral-node:20 "$work/ctx"
