#!/bin/sh
# The sshd-host example's entrypoint (examples/sshd-host/README.md): sshd, then the official
# host entrypoint with the same arguments, so everything of the host image contract still holds
# (docs/host-image.md). Runs under tini like the official one.
set -eu
# Host keys of this container's own, not the ones baked into the image at build.
if [ ! -e /etc/ssh/.dinv-host-keys ]; then
  rm -f /etc/ssh/ssh_host_*
  ssh-keygen -A >/dev/null
  : >/etc/ssh/.dinv-host-keys
fi
mkdir -p /run/sshd
/usr/sbin/sshd -e
exec /usr/local/bin/dinv-entrypoint "$@"
