#!/bin/sh
# Build the kubelet example's image on the current endpoint, offline: dinv bundled into one file
# (with the Kubernetes client), the node that runs dinv on this machine, on the official host
# image (Debian, tini). examples/kubelet-host/README.md.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
DINV="${DINV:-dinv}"
NODE="${NODE:-$(command -v node)}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
node "$HERE/bundle.mjs" "$WORK/dinv.mjs"
# node links libstdc++ (apt adds it only when the base lacks it).
"$DINV" image build --base "${BASE:-dinv/host:latest}" --apt libstdc++6 \
  --copy "$NODE:/usr/local/bin/node" \
  --copy "$WORK/dinv.mjs:/opt/dinv/dinv.mjs" \
  --copy "$HERE/kubelet-entrypoint.sh:/usr/local/bin/kubelet-entrypoint" \
  --tag "${TAG:-dinv-examples/kubelet:latest}" "$@"
