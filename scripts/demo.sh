#!/usr/bin/env bash
# The main job, end to end on the local engine: set up everything, create (or reuse) the
# host "dev", run a container inside it with the real docker CLI, print how to use it.
set -euo pipefail
# shellcheck source=lib/prepare.sh
. "$(dirname "$0")/lib/prepare.sh"
dinv="$ROOT/bin/dinv"
HOST="${DINV_DEMO_HOST:-dev}"

if "$dinv" inspect "$HOST" >/dev/null 2>&1; then
  # `start` of a running host exits 1, as docker-machine's does: ask first.
  if [ "$("$dinv" status "$HOST")" = Running ]; then
    step "host $HOST exists and runs"
  else
    step "host $HOST exists: starting it"
    "$dinv" start "$HOST"
  fi
else
  step "creating host $HOST"
  "$dinv" create "$HOST"
fi

# No registry is reachable here: give the host a tiny image of its own (the static tini
# binary of the host image), through the real docker CLI and the host's TLS endpoint.
if ! docker --context "$HOST" image inspect dinv-demo/hello:1 >/dev/null 2>&1; then
  step "loading a tiny image into $HOST"
  flags="$("$dinv" config "$HOST")"
  # shellcheck disable=SC2086 # the flags are meant to split
  docker cp "dinv-$HOST:/usr/bin/tini-static" - | docker $flags import - dinv-demo/hello:1 >/dev/null
fi

step "running a container inside $HOST (docker --context $HOST run …)"
docker --context "$HOST" run --rm dinv-demo/hello:1 /tini-static --version

"$dinv" ls
cat <<EOT

Host "$HOST" is ready. Point your docker CLI at it with either of:
  eval "\$($dinv env $HOST)" && docker ps
  docker --context $HOST ps
Remove it with: $dinv rm -y $HOST
EOT
