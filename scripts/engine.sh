#!/usr/bin/env bash
# Ensure a Docker engine answers, for development and CI.
#
# - If DOCKER_HOST (or the private socket below) already answers, use it.
# - Otherwise install Debian's docker.io if dockerd is missing, and start a
#   private dockerd with its own socket, data root, exec root and pid file.
# It never stops or reconfigures a daemon it did not start.
#
# Prints the DOCKER_HOST to export on its last line of stdout:
#   export DOCKER_HOST="$(scripts/engine.sh)"
# `scripts/engine.sh stop` stops the private daemon (only ours, by pid file).
set -euo pipefail

STATE_DIR="${DINV_ENGINE_DIR:-/var/lib/dinv-engine}"
RUN_DIR="${DINV_ENGINE_RUN:-/run/dinv-engine}"
SOCK="$RUN_DIR/docker.sock"
PIDFILE="$RUN_DIR/dockerd.pid"
LOG="$STATE_DIR/dockerd.log"
PRIVATE_HOST="unix://$SOCK"

log() { echo "engine: $*" >&2; }

answers() { # $1 = DOCKER_HOST value
  DOCKER_HOST="$1" timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

ensure_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker >/dev/null 2>&1 || missing+=(docker.io)
  command -v iptables >/dev/null 2>&1 || missing+=(iptables)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

stop_private() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    local pid; pid="$(cat "$PIDFILE")"
    log "stopping private dockerd (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
    log "dockerd did not stop in 30 s"; return 1
  fi
  log "no private dockerd running"
}

start_private() {
  mkdir -p "$STATE_DIR" "$RUN_DIR"
  chmod 0700 "$STATE_DIR" "$RUN_DIR"
  if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    rm -f "$PIDFILE" "$SOCK"
  fi
  if ! { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }; then
    log "starting private dockerd on $SOCK (log: $LOG)"
    # setsid: the daemon outlives this script and the shell that ran it. Started from /, so that
    # no process it spawns inherits a working directory (a checkout) that may be deleted later.
    (cd / && exec setsid dockerd \
      --host "$PRIVATE_HOST" \
      --data-root "$STATE_DIR/data" \
      --exec-root "$RUN_DIR/exec" \
      --pidfile "$PIDFILE" \
      --group root \
      >>"$LOG" 2>&1 </dev/null) &
  fi
  for _ in $(seq 1 150); do
    answers "$PRIVATE_HOST" && return 0
    sleep 0.2
  done
  log "private dockerd did not answer within 30 s; last log lines:"
  tail -n 20 "$LOG" >&2 || true
  return 1
}

case "${1:-up}" in
  stop) stop_private; exit $? ;;
  up) ;;
  *) echo "usage: $0 [up|stop]" >&2; exit 2 ;;
esac

ensure_packages
if [ -n "${DOCKER_HOST:-}" ] && answers "$DOCKER_HOST"; then
  echo "$DOCKER_HOST"; exit 0
fi
if answers "$PRIVATE_HOST"; then
  echo "$PRIVATE_HOST"; exit 0
fi
start_private
echo "$PRIVATE_HOST"
