#!/bin/bash
# dinv registry-cache entrypoint (runs under tini as PID 1's child).
#
# Contract:
# - The registry (Debian's docker-registry: distribution 2.8) serves TLS on :5000 with
#   $DINV_CERT_DIR (default /certs/server): ca.pem, cert.pem, key.pem. They may be copied in
#   just before or just after start; we wait DINV_CERT_WAIT seconds for them.
# - Storage: /var/lib/registry (a volume: the cache).
# - The registry's environment comes from /etc/dinv/registry.env (KEY=VALUE lines, taken
#   literally, never evaluated; distribution reads REGISTRY_* as configuration overrides).
#   REGISTRY_PROXY_REMOTEURL=URL makes it a pull-through cache of URL; without it, it is a
#   plain registry (which accepts pushes).
# - Upstreams are trusted through the system CAs plus the dinv CA ($DINV_CERT_DIR/ca.pem),
#   so another dinv registry can be the upstream.
# - distribution 2.8 panics at start in proxy mode when its upstream does not answer. So the
#   upstream is checked first (GET /v2/, verified as the registry would) and, when it is
#   down, the registry starts read-only in plain mode over the same storage: it serves what
#   is cached. The upstream is checked again every DINV_UPSTREAM_RECHECK seconds; once it
#   answers, the registry restarts in proxy mode. A proxy-mode start that dies within
#   seconds (the upstream went away meanwhile) falls back the same way.
# - $DINV_CERT_DIR/clients-ca.pem, when present, turns on client authentication: only
#   clients presenting a certificate from one of its CAs are served (TLS handshake refused otherwise).
# - SIGHUP restarts the registry (new certificates, new registry.env) without stopping the
#   container; SIGTERM stops it.
set -euo pipefail

CERT_DIR="${DINV_CERT_DIR:-/certs/server}"
CERT_WAIT="${DINV_CERT_WAIT:-60}"
ENV_FILE="${DINV_REGISTRY_ENV_FILE:-/etc/dinv/registry.env}"
PORT="${DINV_REGISTRY_PORT:-5000}"
DATA_DIR=/var/lib/registry
RUN_DIR=/run/dinv-registry
RECHECK="${DINV_UPSTREAM_RECHECK:-30}"
CHECK_TIMEOUT="${DINV_UPSTREAM_TIMEOUT:-5}"
USER_NAME=docker-registry
# A proxy-mode registry that exits sooner than this after its start counts as a failed start.
START_GRACE=10

log() { echo "dinv-registry: $*" >&2; }

# certs_present, wait_for_certs (images/lib/certs.sh)
# shellcheck source=../lib/certs.sh
. /usr/local/lib/dinv/certs.sh

# The registry's environment: registry.env's lines, read afresh at every (re)start.
ENV_LINES=()
UPSTREAM=""
read_env_file() {
  ENV_LINES=()
  UPSTREAM=""
  [ -f "$ENV_FILE" ] || return 0
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      '' | '#'*) continue ;;
      [A-Za-z_]*=*) ENV_LINES+=("$line") ;;
      *) log "warning: ignoring malformed line in $ENV_FILE" ;;
    esac
    case "$line" in REGISTRY_PROXY_REMOTEURL=*) UPSTREAM="${line#*=}" ;; esac
  done <"$ENV_FILE"
}

uses_http_proxy() {
  local line
  for line in "${ENV_LINES[@]}"; do
    case "$line" in HTTP_PROXY=* | HTTPS_PROXY=* | http_proxy=* | https_proxy=*) return 0 ;; esac
  done
  return 1
}

# Certificates for the registry user, and the trust it uses for its upstream.
stage_files() {
  mkdir -p "$RUN_DIR"
  install -m 0600 -o "$USER_NAME" -g "$USER_NAME" "$CERT_DIR/cert.pem" "$RUN_DIR/cert.pem"
  install -m 0600 -o "$USER_NAME" -g "$USER_NAME" "$CERT_DIR/key.pem" "$RUN_DIR/key.pem"
  cat /etc/ssl/certs/ca-certificates.crt "$CERT_DIR/ca.pem" >"$RUN_DIR/ca-bundle.pem" 2>/dev/null ||
    cp "$CERT_DIR/ca.pem" "$RUN_DIR/ca-bundle.pem"
  chmod 0644 "$RUN_DIR/ca-bundle.pem"
  rm -f "$RUN_DIR/clients-ca.pem"
  if [ -s "$CERT_DIR/clients-ca.pem" ]; then install -m 0644 "$CERT_DIR/clients-ca.pem" "$RUN_DIR/clients-ca.pem"; fi
  [ "$(stat -c %U "$DATA_DIR")" = "$USER_NAME" ] || chown "$USER_NAME:$USER_NAME" "$DATA_DIR"
}

write_config() { # $1 = true for read-only
  # Client authentication: only clients with a certificate from these CAs get in.
  local clientcas=""
  if [ -s "$RUN_DIR/clients-ca.pem" ]; then clientcas="clientcas: [$RUN_DIR/clients-ca.pem]"; fi
  cat >"$RUN_DIR/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $DATA_DIR
  maintenance:
    readonly:
      enabled: $1
http:
  addr: :$PORT
  tls:
    certificate: $RUN_DIR/cert.pem
    key: $RUN_DIR/key.pem
    $clientcas
  headers:
    X-Content-Type-Options: [nosniff]
EOF
}

# Does $1 answer GET /v2/ (any HTTP status), trusted as the registry will trust it?
upstream_answers() {
  local url="$1" scheme rest hostport host port request first
  scheme="${url%%://*}"
  rest="${url#*://}"
  hostport="${rest%%/*}"
  hostport="${hostport##*@}"
  if [[ "$hostport" == \[* ]]; then
    host="${hostport%%]*}"
    host="${host#[}"
    port="${hostport##*]}"
    port="${port#:}"
  else
    host="${hostport%%:*}"
    port=""
    [[ "$hostport" == *:* ]] && port="${hostport##*:}"
  fi
  [ -n "$port" ] || { [ "$scheme" = https ] && port=443 || port=80; }
  request="GET /v2/ HTTP/1.0\r\nHost: $hostport\r\nConnection: close\r\n\r\n"
  case "$scheme" in
    https)
      local verify=(-verify_hostname "$host" -servername "$host")
      [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]] && verify=(-verify_ip "$host")
      first="$(printf "$request" | timeout "$CHECK_TIMEOUT" openssl s_client -quiet -verify_return_error \
        -CAfile "$RUN_DIR/ca-bundle.pem" "${verify[@]}" -connect "$host:$port" 2>/dev/null | head -n 1)" || :
      ;;
    http)
      first="$(timeout "$CHECK_TIMEOUT" bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "$2" >&3 && head -n 1 <&3' \
        "$host" "$port" "$request" 2>/dev/null)" || :
      ;;
    *)
      log "REGISTRY_PROXY_REMOTEURL $url is neither http:// nor https://"
      return 1
      ;;
  esac
  [[ "$first" == HTTP/1.* ]]
}

REGISTRY_PID=""
WATCHER_PID=""
MODE=""

start_registry() { # $1 = proxy | plain | fallback
  MODE="$1"
  local env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$DATA_DIR" SSL_CERT_FILE="$RUN_DIR/ca-bundle.pem")
  local line
  for line in "${ENV_LINES[@]}"; do
    # Fallback: the same storage as a plain registry, without the upstream it cannot reach.
    [ "$MODE" = fallback ] && [[ "$line" == REGISTRY_PROXY_* ]] && continue
    env+=("$line")
  done
  write_config "$([ "$MODE" = fallback ] && echo true || echo false)"
  env -i "${env[@]}" setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups --no-new-privs \
    docker-registry serve "$RUN_DIR/config.yml" &
  REGISTRY_PID=$!
  STARTED_AT=$(date +%s)
}

# In fallback, look for the upstream in the background and ask for a reload once it answers
# (through an HTTP proxy it cannot be checked directly: then simply try again).
start_watcher() {
  (
    trap - TERM HUP INT
    while sleep "$RECHECK"; do
      if uses_http_proxy; then
        log "trying upstream $UPSTREAM again (through an HTTP proxy)"
      elif upstream_answers "$UPSTREAM"; then
        log "upstream $UPSTREAM answers again: restarting as its pull-through cache"
      else
        continue
      fi
      kill -HUP $$
      exit 0
    done
  ) &
  WATCHER_PID=$!
}

stop_watcher() {
  [ -n "$WATCHER_PID" ] || return 0
  kill "$WATCHER_PID" 2>/dev/null || :
  wait "$WATCHER_PID" 2>/dev/null || :
  WATCHER_PID=""
}

# `wait` returns early when a trapped signal arrives: wait until the registry is really gone.
wait_registry() {
  local status=0
  while kill -0 "$REGISTRY_PID" 2>/dev/null; do
    if wait "$REGISTRY_PID" 2>/dev/null; then status=0; else status=$?; fi
  done
  return "$status"
}

STOPPING=0
shutdown() {
  STOPPING=1
  log "stopping the registry"
  stop_watcher
  kill -TERM "$REGISTRY_PID" 2>/dev/null || :
}

RELOAD=0
reload() {
  RELOAD=1
  log "reload requested: restarting the registry"
  kill -TERM "$REGISTRY_PID" 2>/dev/null || :
}

FORCE_FALLBACK=0
choose_mode() {
  if [ -z "$UPSTREAM" ]; then
    log "no upstream configured: plain registry on :$PORT (accepts pushes)"
    echo plain
  elif [ "$FORCE_FALLBACK" = 1 ]; then
    fallback_notice "made the registry exit at start"
    echo fallback
  elif uses_http_proxy; then
    log "pull-through cache of $UPSTREAM on :$PORT (reached through an HTTP proxy: not checked first)"
    echo proxy
  elif upstream_answers "$UPSTREAM"; then
    log "pull-through cache of $UPSTREAM on :$PORT"
    echo proxy
  else
    fallback_notice "does not answer GET /v2/ within ${CHECK_TIMEOUT}s"
    echo fallback
  fi
}

fallback_notice() {
  log "WARNING: upstream $UPSTREAM $1: serving the cached content READ-ONLY;"
  log "WARNING: pull-through resumes once it answers (checked every ${RECHECK}s)"
}

wait_for_certs
trap shutdown TERM INT
trap reload HUP
while :; do
  RELOAD=0
  read_env_file
  stage_files
  mode="$(choose_mode)"
  FORCE_FALLBACK=0
  start_registry "$mode"
  # A stop or reload asked for while we were preparing (then with files read too early).
  if [ "$STOPPING" = 1 ] || [ "$RELOAD" = 1 ]; then kill -TERM "$REGISTRY_PID" 2>/dev/null || :; fi
  [ "$mode" != fallback ] || start_watcher
  if wait_registry; then status=0; else status=$?; fi
  stop_watcher
  [ "$STOPPING" = 0 ] || exit 0
  [ "$RELOAD" = 0 ] || continue
  if [ "$MODE" = proxy ] && [ $(($(date +%s) - STARTED_AT)) -lt "$START_GRACE" ]; then
    # distribution 2.8 panics when its upstream does not answer (it went away after our check,
    # or it is reached through a proxy we did not check).
    log "the registry exited (status $status) right after starting in proxy mode"
    FORCE_FALLBACK=1
    continue
  fi
  log "the registry exited with status $status"
  exit "$status"
done
