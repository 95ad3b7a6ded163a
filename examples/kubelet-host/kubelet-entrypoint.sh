#!/bin/sh
# The kubelet example's entrypoint (examples/kubelet-host/README.md): wait for the certificates
# dinv copies in (the kubelet API serves with them, the key arrives last), then run
# `dinv kubelet` with the flags the personality's module made. Runs under tini.
set -eu
wait="${DINV_CERT_WAIT:-60}"
while [ ! -s /certs/server/key.pem ]; do
  if [ "$wait" -le 0 ]; then
    echo "kubelet-entrypoint: no /certs/server/{ca,cert,key}.pem after ${DINV_CERT_WAIT:-60} s: dinv copies them in at create" >&2
    exit 1
  fi
  sleep 1
  wait=$((wait - 1))
done
# dinv kubelet keeps nothing in a store of its own here: every credential comes as a file.
export DINV_STORAGE_PATH=/var/lib/dinv-kubelet
exec /usr/local/bin/node /opt/dinv/dinv.mjs kubelet "$@"
