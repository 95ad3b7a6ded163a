#!/usr/bin/env bash
# Set up everything (npm, engine, host image, build), run the README's main job (scripts/demo.sh)
# and the whole test suite:
# lint + unit tests + end-to-end tests against the real engine, then the long fault tests and
# the swarm suite (five nested engines: minutes),
# then the CLI and day-2 suites and the swarm suite again against Podman (scripts/podman.sh, a
# private service),
# and against the VCH emulator (scripts/vch.sh) with the VCH's own suite; the swarm suite runs on
# all three.
#   scripts/test.sh            # what CI runs
set -euo pipefail
# shellcheck source=lib/prepare.sh
. "$(dirname "$0")/lib/prepare.sh"
step "the README's main job (scripts/demo.sh), twice: a fresh host, then the same one again"
demo_dir="$(mktemp -d)"
demo() { DINV_STORAGE_PATH="$demo_dir/store" DOCKER_CONFIG="$demo_dir/docker" DINV_DEMO_HOST=demo-ci scripts/demo.sh; }
# On every exit; the host is normally gone by then (errexit applies in traps: hence `|| true`).
trap 'DINV_STORAGE_PATH="$demo_dir/store" DOCKER_CONFIG="$demo_dir/docker" bin/dinv rm -f -y demo-ci >/dev/null 2>&1 || true; rm -rf "$demo_dir"' EXIT
demo
demo
DINV_STORAGE_PATH="$demo_dir/store" DOCKER_CONFIG="$demo_dir/docker" bin/dinv rm -y demo-ci
step "tests"
npm test
step "fault tests (long)"
npm run test:faults
step "swarm (long)"
npm run test:swarm
step "podman"
scripts/podman.sh >/dev/null
DINV_DOCKER_HOST="$DOCKER_HOST" scripts/podman.sh images
step "CLI and day-2 suites against Podman"
npm run test:podman
# After the Podman step (the service and its host images), not beside `npm run test:swarm`.
step "swarm against Podman (long)"
npm run test:swarm:podman
step "VCH emulator"
# Stats samples every 2 s instead of VIC's 20 s, so the stats test waits seconds, not a minute.
DINV_VCH_STATS_INTERVAL=2 scripts/vch.sh >/dev/null
step "CLI, day-2 and VCH suites against the VCH emulator"
npm run test:vch
step "swarm against the VCH emulator (long)"
npm run test:swarm:vch
