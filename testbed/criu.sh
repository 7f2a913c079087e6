#!/usr/bin/env bash
# Makes a working CRIU (>= 4) available at $(criu_binary) and prints its path.
#
# Debian 12's own criu (3.17) fails `criu check` on current kernels ("vdso: Unexpected rt vDSO
# area bounds"), so unless the distribution's CRIU passes `criu check`, CRIU 4.1.1 is built from
# the upstream tarball that Debian's archive serves as the orig tarball of the newer release's
# source package. The mirror is taken from this machine's own apt sources. The build is cached in
# $TESTBED_CACHE/criu, so only the first run pays for it (about 30 s on 2 cores).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root

CRIU_VERSION=4.1.1
CRIU_SOURCE_RELEASE=trixie
CRIU_TARBALL_SHA256=f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe
target=$(criu_binary)

criu_works() { "$1" check >/dev/null 2>&1; }

if [ -x "$target" ] && criu_works "$target"; then
    echo "$target"
    exit 0
fi
system_criu=$(command -v criu || true)
if [ -n "$system_criu" ] && criu_works "$system_criu" &&
    "$system_criu" --version | grep -qE '^Version: ([4-9]|[1-9][0-9])\.'; then
    mkdir -p "$(dirname "$target")"
    ln -sf "$system_criu" "$target"
    echo "$target"
    exit 0
fi

# The first Debian archive URI among the machine's apt sources (deb822 or one-line format).
debian_mirror() {
    local files=() file
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] && files+=("$file")
    done
    {
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "${files[@]}" 2>/dev/null
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "${files[@]}" 2>/dev/null
    } | grep -E '/debian/?$' | head -1
}

work=$TESTBED_CACHE/criu-build
rm -rf "$work"
mkdir -p "$work/apt/sources" "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
mirror=$(debian_mirror)
[ -n "$mirror" ] || die "no Debian archive found in /etc/apt/sources.list*; cannot fetch CRIU $CRIU_VERSION"
cat > "$work/apt/sources/criu-source.sources" <<SOURCES
Types: deb-src
URIs: $mirror
Suites: $CRIU_SOURCE_RELEASE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_options=(
    -o Dir::Etc::SourceList=/dev/null
    -o "Dir::Etc::SourceParts=$work/apt/sources"
    -o "Dir::State::Lists=$work/apt/lists"
    -o "Dir::Cache=$work/apt/cache"
    -o APT::Sandbox::User=root
)
log "fetching CRIU $CRIU_VERSION source from $mirror ($CRIU_SOURCE_RELEASE)"
apt-get "${apt_options[@]}" -q update >"$work/apt.log" 2>&1 || die "apt-get update for deb-src failed: $(tail -3 "$work/apt.log")"
# The .dsc of this version is gone from the archive while its orig tarball stays, so apt exits
# non-zero after fetching the tarball: judge by the tarball and its checksum, not by apt's status.
(cd "$work" && apt-get "${apt_options[@]}" -q source --download-only "criu=$CRIU_VERSION-1" >>"$work/apt.log" 2>&1) || true
tarball=$work/criu_$CRIU_VERSION.orig.tar.xz
[ -f "$tarball" ] || die "could not fetch criu_$CRIU_VERSION.orig.tar.xz: $(grep -E '^(E|W):' "$work/apt.log" | head -3)"
echo "$CRIU_TARBALL_SHA256  $tarball" | sha256sum -c --quiet - || die "checksum mismatch for $tarball"

log "building CRIU $CRIU_VERSION"
tar -C "$work" -xf "$tarball"
make -C "$work/criu-$CRIU_VERSION" -j"$(nproc)" criu >"$work/build.log" 2>&1 || die "CRIU build failed: $(tail -20 "$work/build.log")"
mkdir -p "$(dirname "$target")"
install -m 755 "$work/criu-$CRIU_VERSION/criu/criu" "$target"
criu_works "$target" || die "freshly built $target fails 'criu check': $("$target" check 2>&1 | tail -5)"
rm -rf "$work"
log "CRIU $CRIU_VERSION ready: $target"
echo "$target"
