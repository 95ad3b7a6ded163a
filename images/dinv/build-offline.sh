#!/usr/bin/env bash
# Offline recipe for the dinv host image: Debian packages only (mmdebstrap over the
# host's own apt sources, so no mirror address lives in this repository) + docker import.
# Produces the same contract as the Dockerfile.
#
#   images/dinv/build-offline.sh [--force]
#
# Skips the build when the tagged image already carries this recipe's hash.
# Keeps downloaded .debs in $DINV_DEB_CACHE between runs (warm builds are faster).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=image.env
. "$HERE/image.env"
DEB_CACHE="${DINV_DEB_CACHE:-/var/cache/dinv-image-debs}"
SUITE="${DINV_IMAGE_SUITE:-bookworm}"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { echo "image: $*" >&2; }

recipe_hash() {
  cat "$HERE/build-offline.sh" "$HERE/entrypoint.sh" "$HERE/daemon.json" "$HERE/image.env" |
    sha256sum | cut -c1-12
}
HASH="$(recipe_hash)"
TAG="$DINV_IMAGE_REPO:latest"

if [ "$FORCE" = 0 ] &&
  [ "$(docker image inspect --format '{{ index .Config.Labels "io.dinv.image.recipe" }}' "$TAG" 2>/dev/null)" = "$HASH" ]; then
  log "$TAG is up to date (recipe $HASH)"
  exit 0
fi

if ! command -v mmdebstrap >/dev/null 2>&1; then
  log "installing mmdebstrap from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >&2
fi

# The host's Debian sources for $SUITE (one-line or deb822 files).
SOURCES=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  grep -Eq "(^|[[:space:]])$SUITE([[:space:]]|\$)" "$f" && SOURCES+=("$f")
done
if [ ${#SOURCES[@]} -eq 0 ]; then
  log "no apt source for '$SUITE' on this machine; configure one in /etc/apt/sources.list.d"
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$DEB_CACHE"
INCLUDE="$(echo "$DINV_IMAGE_PACKAGES" | tr ' ' ',')"
MERGED_USR=()
[ -d /usr/share/mmdebstrap/hooks/merged-usr ] && MERGED_USR=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)

start=$(date +%s.%N)
log "building root filesystem ($SUITE: $DINV_IMAGE_PACKAGES)"
mmdebstrap --quiet --variant=minbase --format=tar --include="$INCLUDE" \
  "${MERGED_USR[@]}" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/bin/ctr' \
  --dpkgopt='path-exclude=/usr/bin/dnet' \
  --dpkgopt='path-exclude=/usr/bin/containerd-shim' \
  --dpkgopt='path-exclude=/usr/bin/containerd-shim-runc-v1' \
  --dpkgopt='force-unsafe-io' \
  --skip=download/empty --skip=essential/unlink \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in $DEB_CACHE /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives $DEB_CACHE" \
  --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages "$1"/var/lib/apt/lists/*_InRelease' \
  --customize-hook="upload $HERE/entrypoint.sh /usr/local/bin/dinv-entrypoint" \
  --customize-hook="upload $HERE/daemon.json /etc/docker/daemon.json" \
  --customize-hook='chmod 0755 "$1"/usr/local/bin/dinv-entrypoint && mkdir -p "$1"/certs/server && chmod 0700 "$1"/certs "$1"/certs/server' \
  "$SUITE" "$WORK/rootfs.tar" "${SOURCES[@]}"
built=$(date +%s.%N)

DOCKER_VERSION="$(tar -xOf "$WORK/rootfs.tar" ./var/lib/dpkg/status |
  awk '/^Package: docker.io$/{p=1} p && /^Version:/{print $2; p=0}')"
VERSION_TAG="$DINV_IMAGE_REPO:$DINV_IMAGE_CONTRACT-$(echo "${DOCKER_VERSION%%+*}" | tr -c 'A-Za-z0-9_.\n-' '_')-$HASH"

log "importing as $TAG and $VERSION_TAG"
docker import \
  --change 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/dinv-entrypoint"]' \
  --change 'VOLUME /var/lib/docker' \
  --change 'EXPOSE 2376' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL io.dinv.image.contract=\"$DINV_IMAGE_CONTRACT\"" \
  --change "LABEL io.dinv.image.recipe=\"$HASH\"" \
  --change "LABEL io.dinv.image.docker-version=\"$DOCKER_VERSION\"" \
  --change 'LABEL org.opencontainers.image.title="dinv host"' \
  "$WORK/rootfs.tar" "$VERSION_TAG" >/dev/null
docker tag "$VERSION_TAG" "$TAG"
done_at=$(date +%s.%N)

SIZE="$(docker image inspect --format '{{.Size}}' "$TAG")"
log "done: rootfs $(awk "BEGIN{printf \"%.1f\", $built-$start}")s, import $(awk "BEGIN{printf \"%.1f\", $done_at-$built}")s, size $((SIZE / 1000000)) MB"
