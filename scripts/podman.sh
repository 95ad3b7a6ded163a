#!/usr/bin/env bash
# Ensure a private Podman API service answers, for development and CI (the second engine
# the e2e suites run against; scripts/engine.sh is the first).
#
# - Installs Debian's podman when it is missing.
# - Starts `podman system service` on its own socket with its own storage, its own
#   containers.conf and its own CNI network directory, all written by this script under
#   $STATE_DIR; it never touches /etc/containers, /var/lib/containers, /etc/cni/net.d or a
#   Podman service it did not start.
# - Loads the host images from the Docker engine into Podman's own image store
#   (`podman.sh images`; skipped per image when the IDs already match).
#
# Prints the DOCKER_HOST to export on its last line of stdout:
#   export DOCKER_HOST="$(scripts/podman.sh)"
# `scripts/podman.sh stop` stops the private service (only ours, by pid file);
# `scripts/podman.sh images` loads dinv/host:latest and dinv/registry-cache:latest from the
# Docker engine (DINV_DOCKER_HOST, else scripts/engine.sh's socket) into Podman.
set -euo pipefail

STATE_DIR="${DINV_PODMAN_DIR:-/var/lib/dinv-podman}"
RUN_DIR="${DINV_PODMAN_RUN:-/run/dinv-podman}"
SOCK="$RUN_DIR/podman.sock"
PIDFILE="$RUN_DIR/podman.pid"
LOG="$STATE_DIR/podman.log"
PRIVATE_HOST="unix://$SOCK"
CONF="$STATE_DIR/containers.conf"
STORAGE_CONF="$STATE_DIR/storage.conf"
CNI_DIR="$STATE_DIR/cni"
# The images the e2e suites need on Podman (built into the Docker engine by images/*/build-offline.sh).
IMAGES=(dinv/host:latest dinv/registry-cache:latest)

log() { echo "podman: $*" >&2; }

# Every podman call of this script goes through here: our configuration, never the system's.
pm() { CONTAINERS_CONF="$CONF" CONTAINERS_STORAGE_CONF="$STORAGE_CONF" podman "$@"; }

answers() { # $1 = DOCKER_HOST value
  DOCKER_HOST="$1" timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

ensure_packages() {
  command -v podman >/dev/null 2>&1 && return 0
  log "installing podman from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # Debian 12's podman pulls in conmon, runc/crun, containernetworking-plugins (CNI) and
  # golang-github-containers-common; no netavark in bookworm, so CNI is the backend.
  apt-get install -y -qq --no-install-recommends podman containernetworking-plugins >&2
}

# Facts measured on these machines (Podman 4.3.1, Debian 12, root, cgroup v1, no systemd):
# - The hard RLIMIT_NOFILE here is 20000 and cannot be raised (no CAP_SYS_RESOURCE), while
#   rootful Podman gives every container nofile=1048576 / nproc=4194304 unless told
#   otherwise: every start fails ("error setting rlimit type 7: operation not permitted").
#   This containers.conf deliberately leaves default_ulimits as a stock Podman has them, so the
#   suites prove that dinv copes on its own: it probes and sets per-container Ulimits on Podman
#   (src/engine/privilege.ts). A per-container Ulimits list replaces default_ulimits entirely:
#   a limit left out gets Podman's built-in value again. To run containers here by hand, pass
#   `--ulimit nofile=20000:20000 --ulimit nproc=32768:32768`, or set
#   DINV_PODMAN_LOWER_ULIMITS=1 before the service starts (default_ulimits lowered to those).
# - No systemd and no journald: cgroupfs and file event/log backends.
# - netavark is not packaged in bookworm: the CNI backend (containernetworking-plugins) works
#   as root. The default network gets its own bridge and subnet so it collides neither with
#   a system Podman (cni-podman0, 10.88.0.0/16), nor the Docker engine (172.17.0.0/16), nor
#   the inner engines (bip 10.213.0.1/24, pools 10.214.0.0/16); networks created through the
#   API (e.g. the registry-cache network "dinv") come from 10.216.0.0/16.
# - crun is not installed: runc.
write_config() {
  mkdir -p "$STATE_DIR" "$RUN_DIR" "$CNI_DIR"
  chmod 0700 "$STATE_DIR" "$RUN_DIR"
  cat >"$STORAGE_CONF.tmp" <<EOF
# Written by scripts/podman.sh: the private Podman's own storage.
[storage]
driver = "overlay"
graphroot = "$STATE_DIR/storage"
runroot = "$RUN_DIR/run"
EOF
  local ulimits="# default_ulimits: Podman's own (see above)"
  if [ "${DINV_PODMAN_LOWER_ULIMITS:-0}" = 1 ]; then
    ulimits='default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]'
  fi
  cat >"$CONF.tmp" <<EOF
# Written by scripts/podman.sh: the private Podman service's configuration.
[containers]
$ulimits
log_driver = "k8s-file"

[network]
network_backend = "cni"
network_config_dir = "$CNI_DIR"
default_network = "podman"
default_subnet = "10.215.0.0/16"
default_subnet_pools = [{ "base" = "10.216.0.0/16", "size" = 24 }]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$STATE_DIR/events.log"
runtime = "runc"
tmp_dir = "$RUN_DIR/libpod"
static_dir = "$STATE_DIR/storage/libpod"
volume_path = "$STATE_DIR/storage/volumes"
EOF
  cat >"$CNI_DIR/podman.conflist.tmp" <<'EOF'
{
  "cniVersion": "0.4.0",
  "name": "podman",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "dinvpod0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "routes": [{ "dst": "0.0.0.0/0" }],
        "ranges": [[{ "subnet": "10.215.0.0/16", "gateway": "10.215.0.1" }]]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall" },
    { "type": "tuning" }
  ]
}
EOF
  mv "$STORAGE_CONF.tmp" "$STORAGE_CONF"
  mv "$CONF.tmp" "$CONF"
  mv "$CNI_DIR/podman.conflist.tmp" "$CNI_DIR/podman.conflist"
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

stop_private() {
  if running; then
    local pid; pid="$(cat "$PIDFILE")"
    log "stopping private podman service (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE" "$SOCK"; return 0; }; sleep 0.2; done
    log "podman service did not stop in 30 s"; return 1
  fi
  log "no private podman service running"
}

start_private() {
  write_config
  if [ -f "$PIDFILE" ] && ! running; then rm -f "$PIDFILE" "$SOCK"; fi
  if ! running; then
    log "starting private podman service on $SOCK (log: $LOG)"
    # --time=0: never exit when idle. setsid: the service outlives this script.
    # Containers run by this service keep running when it stops (conmon holds them).
    # Started from /: the service's working directory is inherited by every conmon it spawns,
    # and a checkout it was started from may be deleted ("conmon: Failed to get working directory").
    (cd / && CONTAINERS_CONF="$CONF" CONTAINERS_STORAGE_CONF="$STORAGE_CONF" exec setsid \
      podman --log-level=info system service --time=0 "$PRIVATE_HOST" \
      >>"$LOG" 2>&1 </dev/null) &
    echo $! >"$PIDFILE"
  fi
  for _ in $(seq 1 150); do
    answers "$PRIVATE_HOST" && return 0
    running || break
    sleep 0.2
  done
  log "private podman service did not answer within 30 s; last log lines:"
  tail -n 20 "$LOG" >&2 || true
  return 1
}

# docker save | podman load, per image, unless Podman already holds that image ID.
load_images() {
  local docker_host="${DINV_DOCKER_HOST:-unix:///run/dinv-engine/docker.sock}"
  local image id have
  for image in "${IMAGES[@]}"; do
    id="$(DOCKER_HOST="$docker_host" docker image inspect --format '{{.Id}}' "$image" 2>/dev/null)" || {
      log "$image is not in the Docker engine at $docker_host; build it with images/*/build-offline.sh"
      return 1
    }
    # Podman reports IDs without the sha256: prefix, and names a loaded docker.io-less
    # reference "docker.io/<name>" (the API finds it by the short name, as Docker does).
    have="$(pm image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
    if [ "sha256:$have" = "$id" ]; then
      log "$image is up to date in podman"
      continue
    fi
    log "loading $image into podman"
    DOCKER_HOST="$docker_host" docker save "$image" | pm load >&2
  done
}

case "${1:-up}" in
  stop) stop_private; exit $? ;;
  images) load_images; exit $? ;;
  up) ;;
  *) echo "usage: $0 [up|stop|images]" >&2; exit 2 ;;
esac

ensure_packages
start_private
echo "$PRIVATE_HOST"
