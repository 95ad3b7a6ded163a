# The TLS material every dinv image serves with, and the wait for it: sourced by the
# entrypoints (POSIX sh, so the dinv host's sh and the registry's bash both read it).
# Installed in the images as /usr/local/lib/dinv/certs.sh. Needs CERT_DIR, CERT_WAIT, log().

certs_present() {
  [ -s "$CERT_DIR/ca.pem" ] && [ -s "$CERT_DIR/cert.pem" ] && [ -s "$CERT_DIR/key.pem" ]
}

# They may be copied in just before or just after start: wait CERT_WAIT seconds, never serve without.
wait_for_certs() {
  waited=0
  while ! certs_present; do
    if [ "$waited" -ge "$CERT_WAIT" ]; then
      log "no TLS certificates in $CERT_DIR after ${CERT_WAIT}s (need ca.pem, cert.pem, key.pem);"
      log "refusing to serve without TLS. Copy them in (dinv does this before start) and start again."
      exit 1
    fi
    [ "$waited" -eq 0 ] && log "waiting up to ${CERT_WAIT}s for certificates in $CERT_DIR"
    sleep 1
    waited=$((waited + 1))
  done
  # Files copied into a running container may still be growing: wait until stable.
  if [ "$waited" -gt 0 ]; then sleep 1; fi
}
