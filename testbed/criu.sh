#!/usr/bin/env bash
# Makes a working CRIU (>= 4.2) available at $(criu_binary) and prints its path.
#
# Debian 12's own criu (3.17) fails `criu check` on current kernels ("vdso: Unexpected rt vDSO
# area bounds"), and CRIU 4.1.1 cannot dump any process holding an inet socket on kernels >= 6.16
# ("Can't get 1:16 opt": SO_PASSCRED/SO_PASSSEC are refused there; fixed upstream in 4.2). So
# unless the distribution's CRIU passes `criu check` and is >= 4.2, CRIU is built from the upstream
# tarball that Debian's archive serves as the orig tarball of a newer release's source package:
# the first of CANDIDATES the archive still has (unstable moves on, experimental is the fallback).
# The mirror is taken from this machine's own apt sources; each tarball's SHA-256 is pinned. The
# build is cached in $TESTBED_CACHE/criu, so only the first run pays for it (about 60 s on 2 cores).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root

# version, Debian suite, package revision, SHA-256 of criu_VERSION.orig.tar.xz
CANDIDATES=(
    "4.2.1 sid 1 29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9"
    "4.3 experimental 1~exp2 90723e403818296d05c80660f6ebc7e852f27835f819f710fbf6894fc1bc8608"
)
target=$(criu_binary)

criu_works() { "$1" check >/dev/null 2>&1; }
# CRIU 4.2 or later (see above).
criu_recent() { "$1" --version | grep -qE '^Version: (4\.([2-9]|[1-9][0-9])|([5-9]|[1-9][0-9])\.)'; }

if [ -x "$target" ] && criu_works "$target" && criu_recent "$target"; then
    echo "$target"
    exit 0
fi
system_criu=$(command -v criu || true)
if [ -n "$system_criu" ] && criu_works "$system_criu" && criu_recent "$system_criu"; then
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
[ -n "$mirror" ] || die "no Debian archive found in /etc/apt/sources.list*; cannot fetch CRIU"
cat > "$work/apt/sources/criu-source.sources" <<SOURCES
Types: deb-src
URIs: $mirror
Suites: $(for candidate in "${CANDIDATES[@]}"; do set -- $candidate; printf '%s ' "$2"; done)
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
log "looking for a CRIU source tarball at $mirror"
apt-get "${apt_options[@]}" -q update >"$work/apt.log" 2>&1 || die "apt-get update for deb-src failed: $(tail -3 "$work/apt.log")"
tarball=
for candidate in "${CANDIDATES[@]}"; do
    set -- $candidate
    version=$1 revision=$3 sha256=$4
    # A .dsc may be gone from the archive while its orig tarball stays, and apt then exits non-zero
    # after fetching the tarball: judge by the tarball and its checksum, not by apt's status.
    (cd "$work" && apt-get "${apt_options[@]}" -q source --download-only "criu=$version-$revision" >>"$work/apt.log" 2>&1) || true
    if [ -f "$work/criu_$version.orig.tar.xz" ]; then
        echo "$sha256  $work/criu_$version.orig.tar.xz" | sha256sum -c --quiet - || die "checksum mismatch for criu_$version.orig.tar.xz"
        tarball=$work/criu_$version.orig.tar.xz
        break
    fi
done
[ -n "$tarball" ] || die "the archive has none of the CRIU tarballs wanted (${CANDIDATES[*]%% *}): $(grep -E '^(E|W):' "$work/apt.log" | head -3)"

log "building CRIU $version"
tar -C "$work" -xf "$tarball"
make -C "$work/criu-$version" -j"$(nproc)" criu >"$work/build.log" 2>&1 || die "CRIU build failed: $(tail -20 "$work/build.log")"
mkdir -p "$(dirname "$target")"
install -m 755 "$work/criu-$version/criu/criu" "$target"
criu_works "$target" || die "freshly built $target fails 'criu check': $("$target" check 2>&1 | tail -5)"
rm -rf "$work"
log "CRIU $version ready: $target"
echo "$target"
