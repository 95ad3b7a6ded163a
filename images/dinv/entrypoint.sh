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
# - SIGHUP restarts dockerd (new certificates, new daemon.json) while the containers keep
#   running (live-restore); SIGTERM stops the containers gracefully, then dockerd.
set -eu

CERT_DIR="${DINV_CERT_DIR:-/certs/server}"
CERT_WAIT="${DINV_CERT_WAIT:-60}"
ENV_FILE="${DINV_ENV_FILE:-/etc/docker/dockerd.env}"
TLS_PORT="${DINV_TLS_PORT:-2376}"

log() { echo "dinv-entrypoint: $*" >&2; }

# certs_present, wait_for_certs (images/lib/certs.sh)
# shellcheck source=../lib/certs.sh
. /usr/local/lib/dinv/certs.sh

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

start_dockerd() {
  dockerd \
    --host=unix:///var/run/docker.sock \
    --host="tcp://0.0.0.0:$TLS_PORT" \
    --tlsverify \
    --tlscacert="$CERT_DIR/ca.pem" \
    --tlscert="$CERT_DIR/cert.pem" \
    --tlskey="$CERT_DIR/key.pem" \
    "$@" &
  DOCKERD_PID=$!
}

# With live-restore, dockerd leaves containers running when it stops: right for a reload,
# wrong for a shutdown, so on SIGTERM the containers are stopped first, within the time
# `docker stop` gives the host (minus a margin for dockerd itself). Measured here: a
# container ignoring SIGTERM made the whole shutdown take the timeout + ~1.7 s, so the
# default leaves room inside a plain `docker stop`'s 10 s; callers granting more time
# (dinv stops hosts with 30 s) may raise DINV_STOP_TIMEOUT.
STOP_TIMEOUT="${DINV_STOP_TIMEOUT:-6}"
shutdown() {
  log "stopping containers, then dockerd"
  ids="$(docker -H unix:///var/run/docker.sock ps -q 2>/dev/null || true)"
  # shellcheck disable=SC2086 # one id per word
  [ -n "$ids" ] && docker -H unix:///var/run/docker.sock stop -t "$STOP_TIMEOUT" $ids >/dev/null 2>&1 || :
  kill -TERM "$DOCKERD_PID" 2>/dev/null || :
  wait_dockerd
  exit 0
}

RELOAD=0
reload() {
  RELOAD=1
  log "reload requested: restarting dockerd, containers keep running"
  kill -TERM "$DOCKERD_PID" 2>/dev/null || :
}

# `wait` returns early when a trapped signal arrives: wait until dockerd is really gone.
wait_dockerd() {
  status=0
  while kill -0 "$DOCKERD_PID" 2>/dev/null; do
    wait "$DOCKERD_PID" 2>/dev/null && status=0 || status=$?
  done
  return "$status"
}

remount_read_only_sys
prepare_cgroup_v2
wait_for_certs
load_env_file
remove_stale_pid_files

trap shutdown TERM INT
trap reload HUP
while :; do
  start_dockerd "$@"
  if wait_dockerd; then status=0; else status=$?; fi
  if [ "$RELOAD" = 1 ]; then
    RELOAD=0
    rm -f /var/run/docker.pid /var/run/docker.sock
    continue
  fi
  log "dockerd exited with status $status"
  exit "$status"
done
