#!/usr/bin/env bash
# Offline recipe for the dinv host image: Debian packages only (mmdebstrap over the
# host's own apt sources, so no mirror address lives in this repository) + docker import.
# Produces the same contract as the Dockerfile.
#
#   images/dinv/build-offline.sh [--force]
#
# Skips the build when the tagged image already carries this recipe's hash.
# Keeps downloaded .debs in $DINV_DEB_CACHE and apt's package lists next to it
# ($DINV_DEB_CACHE-lists) between runs (warm builds are faster).
# DINV_IMAGE_VERBOSE=1 shows every mmdebstrap step.
#
# Where the time goes (2-core VM where a fork+exec costs ~5-8 ms): almost all of it is
# dpkg and maintainer scripts spawning processes, so the recipe avoids spawning:
# - --variant=essential, not minbase: minbase adds Priority:required (apt, tzdata,
#   e2fsprogs, gnutls, ...), ~20 packages dockerd never uses.
# - path excludes live in our own dpkg.cfg.d file instead of --dpkgopt: mmdebstrap pipes
#   every essential package through a python tar filter when it sees path-exclude in
#   its own dpkg config (~0.5 s per package); one rm/find strips the same files.
# - update-ca-certificates runs once (it forks ~5 processes per certificate), not once
#   in ca-certificates' postinst and again in its trigger.
# - the .deb cache and the package lists are hard-linked in and out, not tar-copied.
# - mmdebstrap writes a directory; one tar streams it straight into docker import.
# eatmydata was measured and not kept: dpkg already runs with force-unsafe-io, and
# preloading it into every maintainer-script process costs more than the fsyncs it saves.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=image.env
. "$HERE/image.env"
DEB_CACHE="${DINV_DEB_CACHE:-/var/cache/dinv-image-debs}"
DEB_CACHE="${DEB_CACHE%/}"
# Not inside $DEB_CACHE: older versions of this recipe copied that whole folder in.
LISTS_CACHE="$DEB_CACHE-lists"
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
chmod 0755 "$WORK" # apt downloads as _apt
ROOTFS="$WORK/rootfs"
# --one-file-system: never descend into a mount mmdebstrap failed to undo.
trap 'rm -rf --one-file-system "$WORK"' EXIT
mkdir -p "$DEB_CACHE"
INCLUDE="$(echo "$DINV_IMAGE_PACKAGES" | tr ' ' ',')"
MERGED_USR=()
[ -d /usr/share/mmdebstrap/hooks/merged-usr ] && MERGED_USR=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
VERBOSITY=--quiet
[ "${DINV_IMAGE_VERBOSE:-0}" = 1 ] && VERBOSITY=--verbose

# dpkg filters, kept in the image too (/etc/dpkg/dpkg.cfg.d/90dinv-excludes).
printf '%s\n' \
  'path-exclude=/usr/share/man/*' \
  'path-exclude=/usr/share/doc/*' \
  'path-include=/usr/share/doc/*/copyright' \
  'path-exclude=/usr/share/locale/*' \
  'path-exclude=/usr/share/info/*' \
  'path-exclude=/usr/bin/ctr' \
  'path-exclude=/usr/bin/dnet' \
  'path-exclude=/usr/sbin/ovrouter' \
  'path-exclude=/usr/bin/containerd-shim' \
  'path-exclude=/usr/bin/containerd-shim-runc-v1' >"$WORK/excludes.cfg"
export DINV_DEB_CACHE_DIR="$DEB_CACHE" DINV_LISTS_CACHE_DIR="$LISTS_CACHE" DINV_WORK="$WORK" DINV_RECIPE_DIR="$HERE"

# Hooks run as `sh -c HOOK exec ROOT`. lc: hard-link when on the same filesystem, else copy.
LC='set -e; lc() { cp -al "$@" 2>/dev/null || cp -a "$@"; };'
SETUP_HOOK="$LC"'
  mkdir -p "$1"/var/cache/apt/archives "$1"/var/lib/apt/lists "$1"/etc/dpkg/dpkg.cfg.d
  cp "$DINV_WORK"/excludes.cfg "$1"/etc/dpkg/dpkg.cfg.d/90dinv-excludes
  for deb in "$DINV_DEB_CACHE_DIR"/*.deb; do
    [ ! -e "$deb" ] || lc "$DINV_DEB_CACHE_DIR"/*.deb "$1"/var/cache/apt/archives/
    break
  done
  # cached lists turn apt-get update into a few InRelease checks
  [ ! -d "$DINV_LISTS_CACHE_DIR" ] || lc "$DINV_LISTS_CACHE_DIR"/. "$1"/var/lib/apt/lists/'
# update-ca-certificates is diverted to a no-op until the customize phase runs it once.
ESSENTIAL_HOOK='set -e
  chroot "$1" dpkg-divert --quiet --local --rename \
    --divert /usr/sbin/update-ca-certificates.dinv-build --add /usr/sbin/update-ca-certificates
  printf "#!/bin/sh\nexit 0\n" >"$1"/usr/sbin/update-ca-certificates
  chmod 0755 "$1"/usr/sbin/update-ca-certificates'
SAVE_CACHE_HOOK="$LC"'
  cp -aln "$1"/var/cache/apt/archives/*.deb "$DINV_DEB_CACHE_DIR"/ 2>/dev/null ||
    cp -an "$1"/var/cache/apt/archives/*.deb "$DINV_DEB_CACHE_DIR"/
  rm -rf "$DINV_LISTS_CACHE_DIR".new && mkdir "$DINV_LISTS_CACHE_DIR".new &&
    lc "$1"/var/lib/apt/lists/*_* "$DINV_LISTS_CACHE_DIR".new/ &&
    rm -rf "$DINV_LISTS_CACHE_DIR" && mv "$DINV_LISTS_CACHE_DIR".new "$DINV_LISTS_CACHE_DIR"
  rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_*'
CA_HOOK='set -e
  rm "$1"/usr/sbin/update-ca-certificates
  chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-ca-certificates
  chroot "$1" update-ca-certificates >/dev/null
  [ -s "$1"/etc/ssl/certs/ca-certificates.crt ]'
# The dpkg filters do not apply to the essential set, which mmdebstrap extracts with
# plain tar before dpkg installs it: strip those files before any maintainer script
# runs (as mmdebstrap's own filter would have).
STRIP_HOOK='set -e
  cd "$1" && rm -rf usr/share/man/* usr/share/locale/* usr/share/info/*
  find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
  find usr/share/doc -mindepth 1 -type d -empty -delete'
DINV_HOOK='set -e
  install -D -m 0755 "$DINV_RECIPE_DIR"/entrypoint.sh "$1"/usr/local/bin/dinv-entrypoint
  install -D -m 0644 "$DINV_RECIPE_DIR"/daemon.json "$1"/etc/docker/daemon.json
  mkdir -p "$1"/certs/server && chmod 0700 "$1"/certs "$1"/certs/server'

start=$(date +%s.%N)
log "building root filesystem ($SUITE: $DINV_IMAGE_PACKAGES)"
mmdebstrap "$VERBOSITY" --variant=essential --format=directory --include="$INCLUDE" \
  "${MERGED_USR[@]}" \
  --dpkgopt='force-unsafe-io' \
  --skip=download/empty --skip=essential/unlink \
  --setup-hook="$SETUP_HOOK" \
  --extract-hook="$STRIP_HOOK" \
  --essential-hook="$ESSENTIAL_HOOK" \
  --customize-hook="$SAVE_CACHE_HOOK" \
  --customize-hook="$CA_HOOK" \
  --customize-hook="$DINV_HOOK" \
  "$SUITE" "$ROOTFS" "${SOURCES[@]}"
built=$(date +%s.%N)

DOCKER_VERSION="$(awk '/^Package: docker.io$/{p=1} p && /^Version:/{print $2; exit}' "$ROOTFS/var/lib/dpkg/status")"
VERSION_TAG="$DINV_IMAGE_REPO:$DINV_IMAGE_CONTRACT-$(echo "${DOCKER_VERSION%%+*}" | tr -c 'A-Za-z0-9_.\n-' '_')-$HASH"

log "importing as $TAG and $VERSION_TAG"
tar --create --numeric-owner --one-file-system --xattrs --format=pax \
  --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' -C "$ROOTFS" . |
  docker import \
    --change 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/dinv-entrypoint"]' \
    --change 'VOLUME /var/lib/docker' \
    --change 'EXPOSE 2376' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL io.dinv.image.contract=\"$DINV_IMAGE_CONTRACT\"" \
    --change "LABEL io.dinv.image.recipe=\"$HASH\"" \
    --change "LABEL io.dinv.image.docker-version=\"$DOCKER_VERSION\"" \
    --change 'LABEL org.opencontainers.image.title="dinv host"' \
    - "$VERSION_TAG" >/dev/null
docker tag "$VERSION_TAG" "$TAG"
done_at=$(date +%s.%N)

SIZE="$(docker image inspect --format '{{.Size}}' "$TAG")"
log "done: rootfs $(awk "BEGIN{printf \"%.1f\", $built-$start}")s, import $(awk "BEGIN{printf \"%.1f\", $done_at-$built}")s, size $((SIZE / 1000000)) MB"
