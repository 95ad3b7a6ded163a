#!/bin/sh
# The kubelet example's entrypoint (examples/kubelet-host/README.md): wait for the certificates
# dinv copies in (the kubelet API serves with them, the key arrives last), then run
# `dinv kubelet` with the flags the personality's module made. Runs under tini. SIGHUP (sent by
# `dinv regenerate-certs` and `provision` after new files arrive) restarts the kubelet with them;
# SIGTERM stops it (the node goes NotReady, its pods keep running for the next start).
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
start() {
  /usr/local/bin/node /opt/dinv/dinv.mjs kubelet "$@" &
  child=$!
}
reload=0
trap 'reload=1; kill -TERM "$child" 2>/dev/null || true' HUP
trap 'kill -TERM "$child" 2>/dev/null || true; wait "$child"; exit $?' TERM INT
start "$@"
while :; do
  status=0
  wait "$child" || status=$?
  # A trapped signal interrupts wait while the kubelet still runs: wait again.
  if kill -0 "$child" 2>/dev/null; then continue; fi
  if [ "$reload" = 1 ]; then
    reload=0
    start "$@"
    continue
  fi
  exit "$status"
done
