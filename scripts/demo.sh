#!/usr/bin/env bash
# The main job, end to end on the local engine: set up everything, then prove a dinv host
# serves a TLS-verified Docker API with its image cache on a volume (the engine-layer
# end-to-end test does exactly that and cleans up after itself).
set -euo pipefail
# shellcheck source=lib/prepare.sh
. "$(dirname "$0")/lib/prepare.sh"
step "a dinv host: certificates copied in before start, TLS-verified answer, cache survives a new container"
node --test --test-reporter=spec dist/test/e2e/host-image.test.js
