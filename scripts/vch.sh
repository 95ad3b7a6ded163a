#!/usr/bin/env bash
# Ensure the VCH emulator answers, for development and CI: the third engine the e2e suites run
# against (DINV_TEST_ENGINE=vch), beside Docker Engine (scripts/engine.sh) and Podman
# (scripts/podman.sh). It is a test fixture (test/fixtures/vch/server.ts says what it leaves out
# of VIC) in front of the private Docker engine.
#
# - A plain registry on 127.0.0.1:$REGISTRY_PORT (Debian's docker-registry, from the
#   dinv/registry-cache image): a VCH can only pull, so the host images are pushed there and
#   the VCH pulls them as 127.0.0.1:$REGISTRY_PORT/dinv/host:latest.
# - The emulator on tcp://127.0.0.1:$VCH_PORT with TLS and client certificates (as a VCH
#   deployed with --tlsverify); its CA and a client pair in $STATE_DIR/certs.
#
# Prints the environment to eval on stdout:  eval "$(scripts/vch.sh)"
# `scripts/vch.sh stop` stops both (only ours: pid file and container name).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

STATE_DIR="${DINV_VCH_DIR:-/var/lib/dinv-vch}"
RUN_DIR="${DINV_VCH_RUN:-/run/dinv-vch}"
VCH_PORT="${DINV_VCH_PORT:-12376}"
REGISTRY_PORT="${DINV_VCH_REGISTRY_PORT:-5111}"
REGISTRY_NAME=dinv-vch-registry
PIDFILE="$RUN_DIR/vch.pid"
LOG="$STATE_DIR/vch.log"
BACKEND="${DINV_ENGINE_SOCK:-/run/dinv-engine/docker.sock}"
# vSphere's sample interval behind container stats (VIC: 20 s); scripts/test.sh shortens it.
STATS_INTERVAL="${DINV_VCH_STATS_INTERVAL:-20}"
IMAGES=(dinv/host:latest dinv/registry-cache:latest)

log() { echo "vch: $*" >&2; }
outer() { DOCKER_HOST="unix://$BACKEND" DOCKER_TLS_VERIFY="" DOCKER_CERT_PATH="" docker "$@"; }

vch_env() {
  echo "export DOCKER_HOST=\"tcp://127.0.0.1:$VCH_PORT\" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=\"$STATE_DIR/certs\""
  echo "export DINV_VCH_REGISTRY=\"127.0.0.1:$REGISTRY_PORT\""
}

answers() {
  DOCKER_HOST="tcp://127.0.0.1:$VCH_PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$STATE_DIR/certs" \
    timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

stop() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then kill "$(cat "$PIDFILE")"; fi
  rm -f "$PIDFILE"
  outer rm -f "$REGISTRY_NAME" >/dev/null 2>&1 || true
}

ensure_registry() {
  if [ "$(outer inspect -f '{{.State.Running}}' "$REGISTRY_NAME" 2>/dev/null)" != true ]; then
    outer rm -f "$REGISTRY_NAME" >/dev/null 2>&1 || true
    log "starting a plain registry on 127.0.0.1:$REGISTRY_PORT"
    # Debian's default config asks for htpasswd auth: a plain one instead.
    outer run -d --name "$REGISTRY_NAME" --label io.dinv.fixture=vch-registry \
      -p "127.0.0.1:$REGISTRY_PORT:5000" --user 0 --entrypoint sh dinv/registry-cache:latest -c '
        printf "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n  delete:\n    enabled: true\nhttp:\n  addr: :5000\n" >/tmp/config.yml
        exec docker-registry serve /tmp/config.yml' >/dev/null
  fi
  for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null 2>&1 && break
    sleep 0.2
  done
  for image in "${IMAGES[@]}"; do
    local target="127.0.0.1:$REGISTRY_PORT/$image"
    local want have
    want="$(outer image inspect -f '{{.Id}}' "$image")"
    have="$(outer image inspect -f '{{.Id}}' "$target" 2>/dev/null || true)"
    # Pushed when the local tag moved or the registry lost it (a new registry container).
    if [ "$want" != "$have" ] || ! curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/${image%%:*}/manifests/${image##*:}" \
      -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' >/dev/null 2>&1; then
      log "pushing $image to the registry"
      outer tag "$image" "$target"
      outer push -q "$target" >/dev/null
    fi
  done
}

ensure_emulator() {
  answers && return 0
  mkdir -p "$STATE_DIR" "$RUN_DIR"
  chmod 0700 "$STATE_DIR" "$RUN_DIR"
  [ -f "$ROOT/dist/test/fixtures/vch/main.js" ] || (cd "$ROOT" && npm run --silent build >&2)
  log "starting the VCH emulator on 127.0.0.1:$VCH_PORT (log: $LOG)"
  # From / so that the service does not hold a checkout that may be deleted.
  rm -f "$PIDFILE"
  (cd / && setsid node "$ROOT/dist/test/fixtures/vch/main.js" --backend "$BACKEND" \
    --state-dir "$STATE_DIR" --port "$VCH_PORT" --pid-file "$PIDFILE" \
    --stats-interval "$STATS_INTERVAL" >>"$LOG" 2>&1 </dev/null &)
  for _ in $(seq 100); do
    answers && return 0
    sleep 0.1
  done
  log "the emulator did not answer; its log:"
  tail -20 "$LOG" >&2
  exit 1
}

case "${1:-}" in
  stop) stop ;;
  env) vch_env ;;
  "")
    ensure_registry
    ensure_emulator
    vch_env
    ;;
  *)
    echo "usage: scripts/vch.sh [stop|env]" >&2
    exit 2
    ;;
esac
