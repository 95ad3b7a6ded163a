#!/bin/sh
# dinv host entrypoint (runs under tini as PID 1's child).
#
# Contract (see README / design notes):
# - dockerd serves the unix socket and tcp://0.0.0.0:2376 with --tlsverify, never plain TCP.
# - TLS material comes from $DINV_CERT_DIR (default /certs/server): ca.pem, cert.pem, key.pem.
#   They may be copied in just before or just after start; we wait DINV_CERT_WAIT seconds.
# - Engine options come from /etc/docker/daemon.json, dockerd's environment from
#   /etc/docker/dockerd.env (KEY=VALUE lines, taken literally, never evaluated).
# - Works with --privileged and with the explicit capability set (then /sys and the
#   cgroup mounts arrive read-only and are remounted read-write here).
set -eu

CERT_DIR="${DINV_CERT_DIR:-/certs/server}"
CERT_WAIT="${DINV_CERT_WAIT:-60}"
ENV_FILE="${DINV_ENV_FILE:-/etc/docker/dockerd.env}"
TLS_PORT="${DINV_TLS_PORT:-2376}"

log() { echo "dinv-entrypoint: $*" >&2; }

# Without --privileged, Docker mounts /sys and the cgroup hierarchies read-only.
# A plain remount reports "busy"; a bind remount flips the flag.
remount_read_only_sys() {
  awk '$5 ~ /^\/sys(\/|$)/ && $6 ~ /(^|,)ro(,|$)/ { print $5 }' /proc/self/mountinfo |
    while read -r mountpoint; do
      mount -o remount,bind,rw "$mountpoint" 2>/dev/null ||
        log "warning: could not remount $mountpoint read-write"
    done
}

# cgroup v2: move ourselves out of the root cgroup so dockerd can enable controllers
# for its children (the same dance as docker:dind).
prepare_cgroup_v2() {
  [ -f /sys/fs/cgroup/cgroup.controllers ] || return 0
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
  sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers \
    >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || :
}

certs_present() {
  [ -s "$CERT_DIR/ca.pem" ] && [ -s "$CERT_DIR/cert.pem" ] && [ -s "$CERT_DIR/key.pem" ]
}

wait_for_certs() {
  waited=0
  while ! certs_present; do
    if [ "$waited" -ge "$CERT_WAIT" ]; then
      log "no TLS certificates in $CERT_DIR after ${CERT_WAIT}s (need ca.pem, cert.pem, key.pem);"
      log "refusing to serve without TLS. Copy them in (dinv does this before start) and start again."
      exit 1
    fi
    [ "$waited" -eq 0 ] && log "waiting up to ${CERT_WAIT}s for certificates in $CERT_DIR"
    sleep 1
    waited=$((waited + 1))
  done
  # Files copied into a running container may still be growing: wait until stable.
  if [ "$waited" -gt 0 ]; then sleep 1; fi
}

load_env_file() {
  [ -f "$ENV_FILE" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      '' | '#'*) continue ;;
      [A-Za-z_]*=*) export "$line" ;;
      *) log "warning: ignoring malformed line in $ENV_FILE" ;;
    esac
  done <"$ENV_FILE"
}

remove_stale_pid_files() {
  rm -f /var/run/docker.pid /run/docker.pid /var/run/docker/containerd/containerd.pid \
    /run/docker/containerd/containerd.pid /var/run/docker.sock
}

remount_read_only_sys
prepare_cgroup_v2
wait_for_certs
load_env_file
remove_stale_pid_files

exec dockerd \
  --host=unix:///var/run/docker.sock \
  --host="tcp://0.0.0.0:$TLS_PORT" \
  --tlsverify \
  --tlscacert="$CERT_DIR/ca.pem" \
  --tlscert="$CERT_DIR/cert.pem" \
  --tlskey="$CERT_DIR/key.pem" \
  "$@"
