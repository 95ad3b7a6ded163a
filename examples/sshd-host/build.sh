#!/bin/sh
# Build the sshd-host example's image on the current endpoint, offline (Debian packages through
# this machine's apt), from the official host image: examples/sshd-host/README.md.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
DINV="${DINV:-dinv}"
exec "$DINV" image build --base "${BASE:-dinv/host:latest}" --apt openssh-server \
  --copy "$HERE/sshd-entrypoint.sh:/usr/local/bin/sshd-entrypoint" \
  --copy "$HERE/sshd.conf:/etc/ssh/sshd_config.d/dinv.conf" \
  --tag "${TAG:-dinv-examples/sshd-host:latest}" "$@"
