#!/usr/bin/env bash
# Offline recipe for the dinv registry-cache image: Debian's docker-registry
# (distribution 2.8) via mmdebstrap over the host's own apt sources + docker import.
# Produces the same contract as the Dockerfile. Follows images/dinv/build-offline.sh
# (see the notes there on where the time goes); the differences are the packages, the
# entrypoint and a .deb cache of its own.
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
DEB_CACHE="${DINV_REGISTRY_DEB_CACHE:-/var/cache/dinv-registry-image-debs}"
SUITE="${DINV_IMAGE_SUITE:-bookworm}"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { echo "registry-cache image: $*" >&2; }

recipe_hash() {
  cat "$HERE/build-offline.sh" "$HERE/entrypoint.sh" "$HERE/image.env" | sha256sum | cut -c1-12
}
HASH="$(recipe_hash)"
TAG="$DINV_REGISTRY_IMAGE_REPO:latest"

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
INCLUDE="$(echo "$DINV_REGISTRY_IMAGE_PACKAGES" | tr ' ' ',')"
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
  'path-exclude=/usr/share/info/*' >"$WORK/excludes.cfg"
export DINV_DEB_CACHE_DIR="$DEB_CACHE" DINV_WORK="$WORK" DINV_RECIPE_DIR="$HERE"

# Hooks run as `sh -c HOOK exec ROOT`. lc: hard-link when on the same filesystem, else copy.
LC='set -e; lc() { cp -al "$@" 2>/dev/null || cp -a "$@"; };'
SETUP_HOOK="$LC"'
  mkdir -p "$1"/var/cache/apt/archives "$1"/var/lib/apt/lists "$1"/etc/dpkg/dpkg.cfg.d
  cp "$DINV_WORK"/excludes.cfg "$1"/etc/dpkg/dpkg.cfg.d/90dinv-excludes
  for deb in "$DINV_DEB_CACHE_DIR"/*.deb; do
    [ ! -e "$deb" ] || lc "$DINV_DEB_CACHE_DIR"/*.deb "$1"/var/cache/apt/archives/
    break
  done
  [ ! -d "$DINV_DEB_CACHE_DIR"/lists ] || lc "$DINV_DEB_CACHE_DIR"/lists/. "$1"/var/lib/apt/lists/'
# update-ca-certificates is diverted to a no-op until the customize phase runs it once.
ESSENTIAL_HOOK='set -e
  chroot "$1" dpkg-divert --quiet --local --rename \
    --divert /usr/sbin/update-ca-certificates.dinv-build --add /usr/sbin/update-ca-certificates
  printf "#!/bin/sh\nexit 0\n" >"$1"/usr/sbin/update-ca-certificates
  chmod 0755 "$1"/usr/sbin/update-ca-certificates'
SAVE_CACHE_HOOK="$LC"'
  cp -aln "$1"/var/cache/apt/archives/*.deb "$DINV_DEB_CACHE_DIR"/ 2>/dev/null ||
    cp -an "$1"/var/cache/apt/archives/*.deb "$DINV_DEB_CACHE_DIR"/
  rm -rf "$DINV_DEB_CACHE_DIR"/lists.new && mkdir "$DINV_DEB_CACHE_DIR"/lists.new &&
    lc "$1"/var/lib/apt/lists/*_* "$DINV_DEB_CACHE_DIR"/lists.new/ &&
    rm -rf "$DINV_DEB_CACHE_DIR"/lists && mv "$DINV_DEB_CACHE_DIR"/lists.new "$DINV_DEB_CACHE_DIR"/lists
  rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_*'
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
# The dpkg filters do not apply to the essential set (extracted with plain tar first).
STRIP_HOOK='set -e
  cd "$1" && rm -rf usr/share/man/* usr/share/locale/* usr/share/info/*
  find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
  find usr/share/doc -mindepth 1 -type d -empty -delete'
# The registry runs as the package's docker-registry user; its storage is a volume at
# /var/lib/registry (a fresh named volume takes over this directory's owner).
DINV_HOOK='set -e
  install -D -m 0755 "$DINV_RECIPE_DIR"/entrypoint.sh "$1"/usr/local/bin/dinv-registry-entrypoint
  mkdir -p "$1"/certs/server "$1"/etc/dinv "$1"/var/lib/registry
  chmod 0700 "$1"/certs "$1"/certs/server
  chroot "$1" chown docker-registry:docker-registry /var/lib/registry
  chroot "$1" sh -ec "for c in setpriv openssl docker-registry tini timeout; do command -v \$c >/dev/null; done"'

start=$(date +%s.%N)
log "building root filesystem ($SUITE: $DINV_REGISTRY_IMAGE_PACKAGES)"
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

REGISTRY_VERSION="$(awk '/^Package: docker-registry$/{p=1} p && /^Version:/{print $2; exit}' "$ROOTFS/var/lib/dpkg/status")"
VERSION_TAG="$DINV_REGISTRY_IMAGE_REPO:$DINV_REGISTRY_IMAGE_CONTRACT-$(echo "${REGISTRY_VERSION%%+*}" | tr -c 'A-Za-z0-9_.\n-' '_')-$HASH"

log "importing as $TAG and $VERSION_TAG"
tar --create --numeric-owner --one-file-system --xattrs --format=pax \
  --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' -C "$ROOTFS" . |
  docker import \
    --change 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/dinv-registry-entrypoint"]' \
    --change 'VOLUME /var/lib/registry' \
    --change 'EXPOSE 5000' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL io.dinv.image.contract=\"$DINV_REGISTRY_IMAGE_CONTRACT\"" \
    --change "LABEL io.dinv.image.recipe=\"$HASH\"" \
    --change "LABEL io.dinv.image.registry-version=\"$REGISTRY_VERSION\"" \
    --change 'LABEL org.opencontainers.image.title="dinv registry cache"' \
    - "$VERSION_TAG" >/dev/null
docker tag "$VERSION_TAG" "$TAG"
done_at=$(date +%s.%N)

SIZE="$(docker image inspect --format '{{.Size}}' "$TAG")"
log "done: rootfs $(awk "BEGIN{printf \"%.1f\", $built-$start}")s, import $(awk "BEGIN{printf \"%.1f\", $done_at-$built}")s, size $((SIZE / 1000000)) MB"
