# The offline recipe's steps that do not depend on what an image runs, sourced by
# images/*/build-offline.sh: Debian packages only (mmdebstrap over the host's own apt sources,
# so no mirror address lives in this repository) + docker import.
#
# The recipe sets, before calling offline_prepare:
#   HERE            its folder
#   LOG_PREFIX      what its log lines start with
#   IMAGE_REPO      the image's repository (tagged :latest and :CONTRACT-VERSION-HASH)
#   IMAGE_PACKAGES  the Debian packages to include (space-separated)
#   DEB_CACHE       where downloaded .debs are kept between runs
#   LISTS_CACHE     where apt's package lists are kept between runs
#   RECIPE_FILES    the files that make the image (hashed into its tag and label)
#   EXTRA_EXCLUDES  dpkg path-exclude lines beyond the shared ones (may be empty)
# and, before offline_rootfs, CA_HOOK and DINV_HOOK (mmdebstrap customize hooks).
#
# Where the time goes (2-core VM where a fork+exec costs ~5-8 ms): almost all of it is
# dpkg and maintainer scripts spawning processes, so the recipe avoids spawning:
# - --variant=essential, not minbase: minbase adds Priority:required (apt, tzdata,
#   e2fsprogs, gnutls, ...), ~20 packages the images never use.
# - path excludes live in our own dpkg.cfg.d file instead of --dpkgopt: mmdebstrap pipes
#   every essential package through a python tar filter when it sees path-exclude in
#   its own dpkg config (~0.5 s per package); one rm/find strips the same files.
# - update-ca-certificates runs at most once (it forks ~5 processes per certificate), not
#   once in ca-certificates' postinst and again in its trigger (CA_HOOK decides how).
# - the .deb cache and the package lists are hard-linked in and out, not tar-copied.
# - mmdebstrap writes a directory; one tar streams it straight into docker import.
# eatmydata was measured and not kept: dpkg already runs with force-unsafe-io, and
# preloading it into every maintainer-script process costs more than the fsyncs it saves.

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUITE="${DINV_IMAGE_SUITE:-bookworm}"

log() { echo "$LOG_PREFIX: $*" >&2; }

# Parse [--force], stop when the tagged image already carries this recipe's hash, then find
# mmdebstrap, the apt sources and a work folder.
offline_prepare() {
  FORCE=0
  [ "${1:-}" = "--force" ] && FORCE=1
  HASH="$(cat "${RECIPE_FILES[@]}" | sha256sum | cut -c1-12)"
  TAG="$IMAGE_REPO:latest"

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
  local f
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
  INCLUDE="$(echo "$IMAGE_PACKAGES" | tr ' ' ',')"
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
    "${EXTRA_EXCLUDES[@]}" >"$WORK/excludes.cfg"
  export DINV_DEB_CACHE_DIR="$DEB_CACHE" DINV_LISTS_CACHE_DIR="$LISTS_CACHE" DINV_WORK="$WORK" \
    DINV_RECIPE_DIR="$HERE" DINV_RECIPE_LIB="$LIB_DIR"
}

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
# update-ca-certificates is diverted to a no-op until the customize phase (CA_HOOK) undoes it.
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
# The dpkg filters do not apply to the essential set, which mmdebstrap extracts with
# plain tar before dpkg installs it: strip those files before any maintainer script
# runs (as mmdebstrap's own filter would have).
STRIP_HOOK='set -e
  cd "$1" && rm -rf usr/share/man/* usr/share/locale/* usr/share/info/*
  find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
  find usr/share/doc -mindepth 1 -type d -empty -delete'
# What the entrypoints source (images/lib/certs.sh).
LIB_HOOK='set -e
  install -D -m 0644 "$DINV_RECIPE_LIB"/certs.sh "$1"/usr/local/lib/dinv/certs.sh'

# Build the root filesystem in $ROOTFS.
offline_rootfs() {
  start=$(date +%s.%N)
  log "building root filesystem ($SUITE: $IMAGE_PACKAGES)"
  mmdebstrap "$VERBOSITY" --variant=essential --format=directory --include="$INCLUDE" \
    "${MERGED_USR[@]}" \
    --dpkgopt='force-unsafe-io' \
    --skip=download/empty --skip=essential/unlink \
    --setup-hook="$SETUP_HOOK" \
    --extract-hook="$STRIP_HOOK" \
    --essential-hook="$ESSENTIAL_HOOK" \
    --customize-hook="$SAVE_CACHE_HOOK" \
    --customize-hook="$CA_HOOK" \
    --customize-hook="$LIB_HOOK" \
    --customize-hook="$DINV_HOOK" \
    "$SUITE" "$ROOTFS" "${SOURCES[@]}"
  built=$(date +%s.%N)
}

# The installed version of package $1 in $ROOTFS.
package_version() {
  awk -v pkg="$1" '$0 == "Package: " pkg {p=1} p && /^Version:/{print $2; exit}' "$ROOTFS/var/lib/dpkg/status"
}

# Import $ROOTFS as $1 (the version tag) and $TAG; the other arguments are docker import --change values.
offline_import() {
  local version_tag="$1" change
  shift
  local changes=()
  for change in "$@"; do changes+=(--change "$change"); done
  log "importing as $TAG and $version_tag"
  tar --create --numeric-owner --one-file-system --xattrs --format=pax \
    --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' -C "$ROOTFS" . |
    docker import "${changes[@]}" - "$version_tag" >/dev/null
  docker tag "$version_tag" "$TAG"
  local done_at size
  done_at=$(date +%s.%N)
  size="$(docker image inspect --format '{{.Size}}' "$TAG")"
  log "done: rootfs $(awk "BEGIN{printf \"%.1f\", $built-$start}")s, import $(awk "BEGIN{printf \"%.1f\", $done_at-$built}")s, size $((size / 1000000)) MB"
}
