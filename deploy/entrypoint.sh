#!/bin/sh
# Starts one Corral member as a pod of a StatefulSet, then becomes it (exec: the node is PID 1 and
# gets the pod's SIGTERM itself).
#
# A StatefulSet gives its pods stable names, <set>-0 .. <set>-(N-1), each with a stable DNS name
# under the headless Service: <set>-<i>.<service>.<namespace>.svc.<cluster-domain>. From those
# this script derives what the node needs and would otherwise be told by hand:
#   id         ordinal + 1 (member ids start at 1; pod <set>-2 is member 3)
#   --members  every pod's DNS name with the client and peer ports, this pod included; members are
#              static (membership changes at run time are not built yet)
#   listening  on the pod's own address (POD_IP, from the downward API): the address its DNS name
#              resolves to; this pod's own peer entry names POD_IP rather than its DNS name, which
#              may not resolve yet while the pod starts (ZooKeeper's image binds 0.0.0.0 for the
#              same reason)
#   secrets    the cluster secret and superDigest from a mounted Secret, copied to a private
#              in-memory folder as files of mode 0600 (see copy_private below)
#   TLS        client certificates (tls.crt, tls.key, ca.crt) and this member's peer certificate
#              (member-<id>.crt, member-<id>.key, ca.crt) from mounted Secrets, when present
#
# Environment (the StatefulSet sets these; anything the node reads as CORRAL_* passes through):
#   POD_NAME (else the host name), POD_NAMESPACE, POD_IP   from the downward API
#   CORRAL_REPLICAS          members in the cluster (the StatefulSet's replicas); default 1,
#                            a single node, which needs none of the names
#   CORRAL_SERVICE           the headless Service's name (required with CORRAL_REPLICAS > 1)
#   CORRAL_CLUSTER_DOMAIN    default cluster.local
#   CORRAL_PORT              client HTTP port, default 8181
#   CORRAL_PEER_PORT         peer port, default 8182
#   CORRAL_ADMIN_PORT        when set: --admin-listen on POD_IP at this port
#   CORRAL_SECRETS_DIR       default /etc/corral/secrets  (files cluster-secret, super-digest)
#   CORRAL_TLS_DIR           default /etc/corral/tls      (tls.crt, tls.key, ca.crt)
#   CORRAL_PEER_TLS_DIR      default /etc/corral/peer-tls (member-<id>.crt, member-<id>.key, ca.crt)
#   CORRAL_RUN_DIR           default /run/corral: private, in memory (an emptyDir, medium Memory)
#   CORRAL_APP_DIR           default /app: where dist/main.mjs is
# A mistake in these exits with code 2 and one line on stderr, as the node does for bad flags.
set -eu

fail() {
  echo "corral-entrypoint: $*" >&2
  exit 2
}

is_count() {
  case "$1" in '' | *[!0-9]*) return 1 ;; *) [ "$1" -ge 1 ] ;; esac
}

is_port() {
  is_count "$1" && [ "$1" -le 65535 ]
}

# The node refuses a secret file that its group may read, as ssh refuses such a key. Kubernetes
# gives a Secret volume's files to the pod's fsGroup with group read (whatever defaultMode says),
# so the secret is copied into a folder only this user can enter, on a memory volume.
# An emptyDir is open to all (0777), so the copies go one folder down, in one of mode 0700.
copy_private() {
  private="$run_dir/secrets"
  (umask 077 && mkdir -p "$private" && chmod 700 "$private" && cat "$1" >"$private/$2.tmp" && mv -f "$private/$2.tmp" "$private/$2") ||
    fail "cannot copy $1 into $private (mount an emptyDir at $run_dir)"
  echo "$private/$2"
}

replicas=${CORRAL_REPLICAS:-1}
is_count "$replicas" || fail "CORRAL_REPLICAS must be a whole number ≥ 1, got \"$replicas\""
client_port=${CORRAL_PORT:-8181}
peer_port=${CORRAL_PEER_PORT:-8182}
is_port "$client_port" || fail "CORRAL_PORT must be a port, got \"$client_port\""
is_port "$peer_port" || fail "CORRAL_PEER_PORT must be a port, got \"$peer_port\""
[ "$client_port" != "$peer_port" ] || fail "CORRAL_PORT and CORRAL_PEER_PORT are both $client_port"
# One member (as under a plain `podman run`) is a single node: no peers, no names needed.
ordinal=0
if [ "$replicas" -gt 1 ]; then
  pod_name=${POD_NAME:-$(hostname)}
  ordinal=${pod_name##*-}
  set_name=${pod_name%-*}
  case "$pod_name" in *-*) ;; *) fail "POD_NAME \"$pod_name\" is not a StatefulSet pod's name (<set>-<ordinal>)" ;; esac
  case "$ordinal" in '' | *[!0-9]*) fail "POD_NAME \"$pod_name\" does not end in -<ordinal>" ;; esac
  [ -n "$set_name" ] || fail "POD_NAME \"$pod_name\" has no StatefulSet name before its ordinal"
  [ "$ordinal" -lt "$replicas" ] || fail "pod $pod_name has ordinal $ordinal, but CORRAL_REPLICAS is $replicas"
  service=${CORRAL_SERVICE:-}
  [ -n "$service" ] || fail "CORRAL_SERVICE (the headless Service's name) is not set"
  namespace=${POD_NAMESPACE:-default}
  domain=${CORRAL_CLUSTER_DOMAIN:-cluster.local}
fi
bind=${POD_IP:-0.0.0.0}
run_dir=${CORRAL_RUN_DIR:-/run/corral}
secrets_dir=${CORRAL_SECRETS_DIR:-/etc/corral/secrets}
tls_dir=${CORRAL_TLS_DIR:-/etc/corral/tls}
peer_tls_dir=${CORRAL_PEER_TLS_DIR:-/etc/corral/peer-tls}
app_dir=${CORRAL_APP_DIR:-/app}
id=$((ordinal + 1))

if [ "$replicas" -gt 1 ]; then
  members=""
  i=0
  while [ "$i" -lt "$replicas" ]; do
    host="$set_name-$i.$service.$namespace.svc.$domain"
    peer_host=$host
    [ "$i" -ne "$ordinal" ] || peer_host=$bind
    members="$members${members:+,}$((i + 1))=$host:$client_port/$peer_host:$peer_port"
    i=$((i + 1))
  done
  export CORRAL_MEMBERS="$members"
fi
export CORRAL_ID="$id"
export CORRAL_HOST="${CORRAL_HOST:-$bind}"
export CORRAL_PORT="$client_port"
export CORRAL_DATA_DIR="${CORRAL_DATA_DIR:-/var/lib/corral/data}"
if [ -n "${CORRAL_ADMIN_PORT:-}" ] && [ -z "${CORRAL_ADMIN_LISTEN:-}" ]; then
  is_port "$CORRAL_ADMIN_PORT" || fail "CORRAL_ADMIN_PORT must be a port, got \"$CORRAL_ADMIN_PORT\""
  export CORRAL_ADMIN_LISTEN="$bind:$CORRAL_ADMIN_PORT"
fi

if [ -z "${CORRAL_CLUSTER_SECRET:-}${CORRAL_CLUSTER_SECRET_FILE:-}" ] && [ -f "$secrets_dir/cluster-secret" ]; then
  CORRAL_CLUSTER_SECRET_FILE=$(copy_private "$secrets_dir/cluster-secret" cluster-secret)
  export CORRAL_CLUSTER_SECRET_FILE
fi
if [ -z "${CORRAL_SUPER_DIGEST:-}${CORRAL_SUPER_DIGEST_FILE:-}" ] && [ -f "$secrets_dir/super-digest" ]; then
  CORRAL_SUPER_DIGEST_FILE=$(copy_private "$secrets_dir/super-digest" super-digest)
  export CORRAL_SUPER_DIGEST_FILE
fi
# Certificates are read in place: the node watches their folder and reloads renewed ones.
if [ -z "${CORRAL_TLS_CERT:-}" ] && [ -f "$tls_dir/tls.crt" ] && [ -f "$tls_dir/tls.key" ]; then
  export CORRAL_TLS_CERT="$tls_dir/tls.crt" CORRAL_TLS_KEY="$tls_dir/tls.key"
  if [ -z "${CORRAL_TLS_CA:-}" ] && [ -f "$tls_dir/ca.crt" ]; then export CORRAL_TLS_CA="$tls_dir/ca.crt"; fi
fi
if [ -z "${CORRAL_PEER_TLS_CERT:-}" ] && [ -f "$peer_tls_dir/member-$id.crt" ]; then
  [ -f "$peer_tls_dir/member-$id.key" ] && [ -f "$peer_tls_dir/ca.crt" ] ||
    fail "$peer_tls_dir has member-$id.crt but not member-$id.key and ca.crt"
  export CORRAL_PEER_TLS_CERT="$peer_tls_dir/member-$id.crt" CORRAL_PEER_TLS_KEY="$peer_tls_dir/member-$id.key"
  export CORRAL_PEER_TLS_CA="$peer_tls_dir/ca.crt"
fi

exec node --max-semi-space-size=32 "$app_dir/dist/main.mjs" "$@"
