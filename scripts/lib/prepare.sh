# Sourced by scripts/test.sh and scripts/demo.sh: everything a fresh machine needs.
# - npm dependencies from the lock file (npm ci, only when the lock file changed)
# - a Docker engine (scripts/engine.sh: Debian's docker.io, private dockerd) -> DOCKER_HOST
# - the dinv host image, built offline from Debian packages when missing or outdated
# - the compiled CLI (dist/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

step() { echo "==> $*" >&2; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund >&2
fi

# Shells the env tests eval real output in (bash is always there).
missing=()
for shell in zsh fish tcsh; do command -v "$shell" >/dev/null 2>&1 || missing+=("$shell"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing test shells: ${missing[*]}"
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
