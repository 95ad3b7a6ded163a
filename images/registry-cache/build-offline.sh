#!/usr/bin/env bash
# Offline recipe for the dinv registry-cache image: Debian's docker-registry
# (distribution 2.8) via mmdebstrap over the host's own apt sources + docker import, with
# the steps shared with the host image in images/lib/offline-build.sh (see the notes there
# on where the time goes); the differences are the packages, the entrypoint, the CA bundle
# and a .deb cache of its own. Produces the same contract as the Dockerfile.
#
#   images/registry-cache/build-offline.sh [--force]
#
# Skips the build when the tagged image already carries this recipe's hash.
# Keeps downloaded .debs and apt's package lists in $DINV_REGISTRY_DEB_CACHE between runs.
# DINV_IMAGE_VERBOSE=1 shows mmdebstrap's every step.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=image.env
. "$HERE/image.env"
# shellcheck source=../lib/offline-build.sh
. "$HERE/../lib/offline-build.sh"

LOG_PREFIX="registry-cache image"
IMAGE_REPO="$DINV_REGISTRY_IMAGE_REPO"
IMAGE_PACKAGES="$DINV_REGISTRY_IMAGE_PACKAGES"
DEB_CACHE="${DINV_REGISTRY_DEB_CACHE:-/var/cache/dinv-registry-image-debs}"
LISTS_CACHE="$DEB_CACHE/lists"
RECIPE_FILES=("$HERE/build-offline.sh" "$HERE/entrypoint.sh" "$HERE/image.env"
  "$LIB_DIR/offline-build.sh" "$LIB_DIR/certs.sh")
EXTRA_EXCLUDES=()
offline_prepare "$@"

# The bundle update-ca-certificates would write (the certificates enabled in
# /etc/ca-certificates.conf, in its order) from one awk, instead of its ~5 processes per
# certificate: its per-certificate hash links serve OpenSSL's -CApath, which nothing here
# uses (the registry and the upstream check read the bundle).
CA_HOOK='set -e
  rm "$1"/usr/sbin/update-ca-certificates
  chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-ca-certificates
  awk -v dir="$1"/usr/share/ca-certificates/ '"'"'
    !/^(#|!|$)/ { files[++n] = dir $0 }
    END { for (i = 1; i <= n; i++) { while ((getline line < files[i]) > 0) print line; close(files[i]) } }
  '"'"' "$1"/etc/ca-certificates.conf >"$1"/etc/ssl/certs/ca-certificates.crt
  [ -s "$1"/etc/ssl/certs/ca-certificates.crt ]'
# The registry runs as the package's docker-registry user; its storage is a volume at
# /var/lib/registry (a fresh named volume takes over this directory's owner).
DINV_HOOK='set -e
  install -D -m 0755 "$DINV_RECIPE_DIR"/entrypoint.sh "$1"/usr/local/bin/dinv-registry-entrypoint
  mkdir -p "$1"/certs/server "$1"/etc/dinv "$1"/var/lib/registry
  chmod 0700 "$1"/certs "$1"/certs/server
  chroot "$1" chown docker-registry:docker-registry /var/lib/registry
  chroot "$1" sh -ec "for c in setpriv openssl docker-registry tini timeout; do command -v \$c >/dev/null; done"'
offline_rootfs

REGISTRY_VERSION="$(package_version docker-registry)"
offline_import "$DINV_REGISTRY_IMAGE_REPO:$DINV_REGISTRY_IMAGE_CONTRACT-$(echo "${REGISTRY_VERSION%%+*}" | tr -c 'A-Za-z0-9_.\n-' '_')-$HASH" \
  'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/dinv-registry-entrypoint"]' \
  'VOLUME /var/lib/registry' \
  'EXPOSE 5000' \
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "LABEL io.dinv.image.contract=\"$DINV_REGISTRY_IMAGE_CONTRACT\"" \
  "LABEL io.dinv.image.recipe=\"$HASH\"" \
  "LABEL io.dinv.image.registry-version=\"$REGISTRY_VERSION\"" \
  'LABEL org.opencontainers.image.title="dinv registry cache"'
