# Sourced by scripts/test.sh and scripts/demo.sh: everything a fresh machine needs.
# - npm dependencies from the lock file (npm ci, only when the lock file changed)
# - a Docker engine (scripts/engine.sh: Debian's docker.io, private dockerd) -> DOCKER_HOST
# - the dinv host image, built offline from Debian packages when missing or outdated
# - the compiled CLI (dist/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

step() { echo "==> $*" >&2; }

# Already done by the script that runs this one (scripts/test.sh runs scripts/demo.sh).
if [ "${DINV_PREPARED:-}" = "$ROOT" ] && [ -n "${DOCKER_HOST:-}" ]; then
  return 0
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund >&2
fi

# Tools the tests use as real clients, as command:Debian package: the shells the env tests eval
# real output in (bash is always there), curl, ssh and openssl.
missing=()
for tool in zsh:zsh fish:fish tcsh:tcsh curl:curl ssh:openssh-client openssl:openssl; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing test tools: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

step "engine"
DOCKER_HOST="$(scripts/engine.sh)"
export DOCKER_HOST
step "engine answers at $DOCKER_HOST"

step "host image"
images/dinv/build-offline.sh
images/registry-cache/build-offline.sh

step "build"
npm run --silent build >&2
export DINV_PREPARED="$ROOT"
