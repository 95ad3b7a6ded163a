#!/usr/bin/env bash
# Offline recipe for the dinv host image: Debian packages only (mmdebstrap over the
# host's own apt sources) + docker import, with the steps shared with the registry-cache
# image in images/lib/offline-build.sh (see the notes there on where the time goes).
# Produces the same contract as the Dockerfile.
#
#   images/dinv/build-offline.sh [--force]
#
# Skips the build when the tagged image already carries this recipe's hash.
# Keeps downloaded .debs in $DINV_DEB_CACHE and apt's package lists next to it
# ($DINV_DEB_CACHE-lists) between runs (warm builds are faster).
# DINV_IMAGE_VERBOSE=1 shows every mmdebstrap step.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=image.env
. "$HERE/image.env"
# shellcheck source=../lib/offline-build.sh
. "$HERE/../lib/offline-build.sh"

LOG_PREFIX=image
IMAGE_REPO="$DINV_IMAGE_REPO"
IMAGE_PACKAGES="$DINV_IMAGE_PACKAGES"
DEB_CACHE="${DINV_DEB_CACHE:-/var/cache/dinv-image-debs}"
DEB_CACHE="${DEB_CACHE%/}"
# Not inside $DEB_CACHE: older versions of this recipe copied that whole folder in.
LISTS_CACHE="$DEB_CACHE-lists"
RECIPE_FILES=("$HERE/build-offline.sh" "$HERE/entrypoint.sh" "$HERE/daemon.json" "$HERE/image.env"
  "$LIB_DIR/offline-build.sh" "$LIB_DIR/certs.sh")
# containerd's tools dockerd never calls.
EXTRA_EXCLUDES=(
  'path-exclude=/usr/bin/ctr'
  'path-exclude=/usr/bin/dnet'
  'path-exclude=/usr/sbin/ovrouter'
  'path-exclude=/usr/bin/containerd-shim'
  'path-exclude=/usr/bin/containerd-shim-runc-v1'
)
offline_prepare "$@"

CA_HOOK='set -e
  rm "$1"/usr/sbin/update-ca-certificates
  chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-ca-certificates
  chroot "$1" update-ca-certificates >/dev/null
  [ -s "$1"/etc/ssl/certs/ca-certificates.crt ]'
DINV_HOOK='set -e
  install -D -m 0755 "$DINV_RECIPE_DIR"/entrypoint.sh "$1"/usr/local/bin/dinv-entrypoint
  install -D -m 0644 "$DINV_RECIPE_DIR"/daemon.json "$1"/etc/docker/daemon.json
  mkdir -p "$1"/certs/server && chmod 0700 "$1"/certs "$1"/certs/server'
offline_rootfs

DOCKER_VERSION="$(package_version docker.io)"
offline_import "$DINV_IMAGE_REPO:$DINV_IMAGE_CONTRACT-$(echo "${DOCKER_VERSION%%+*}" | tr -c 'A-Za-z0-9_.\n-' '_')-$HASH" \
  'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/dinv-entrypoint"]' \
  'VOLUME /var/lib/docker' \
  'EXPOSE 2376' \
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "LABEL io.dinv.image.contract=\"$DINV_IMAGE_CONTRACT\"" \
  "LABEL io.dinv.image.recipe=\"$HASH\"" \
  "LABEL io.dinv.image.docker-version=\"$DOCKER_VERSION\"" \
  'LABEL org.opencontainers.image.title="dinv host"'
