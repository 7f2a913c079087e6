#!/usr/bin/env bash
# Builds CRIU 4.1.1 with criu-4.1.1-so-passcred.patch and prints the binary's path.
#
#   launcher/tests/criu-patched.sh        (as root; cached in $CRIU_PATCHED_DIR)
#
# Why: since Linux 6.16 (kernel commit 7d8d93fdde50) getsockopt(SO_PASSCRED / SO_PASSSEC) fails
# with EOPNOTSUPP on every socket other than AF_UNIX / AF_NETLINK / AF_BLUETOOTH, and CRIU 4.1.1
# treats that as fatal: any process holding an inet socket (TCP or UDP, connected or listening)
# fails to dump with "sockets: Can't get 1:16 opt: Operation not supported" (CRIU issues #2705,
# #2718; fixed upstream after 4.1.1). The patch reads those two options only where the kernel
# supports them. The tarball is fetched the way testbed/criu.sh fetches it (Debian's orig
# tarball of the newer release's source package, mirror from this machine's apt sources).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CRIU_PATCHED_DIR=${CRIU_PATCHED_DIR:-/var/tmp/lifeboat-criu-4.1.1-passcred}
TARBALL_SHA256=f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe
target=$CRIU_PATCHED_DIR/criu
die() {
    printf 'criu-patched: %s\n' "$*" >&2
    exit 1
}

if [ -x "$target" ] && "$target" check >/dev/null 2>&1; then
    echo "$target"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || die "must run as root"
mirror=$(
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$file"
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$file"
    done | grep -E '/debian/?$' | head -1
)
[ -n "$mirror" ] || die "no Debian archive in the apt sources"
work=$CRIU_PATCHED_DIR/build
rm -rf "$work"
mkdir -p "$work/apt/sources" "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
cat >"$work/apt/sources/criu-source.sources" <<SOURCES
Types: deb-src
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_options=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/apt/sources"
    -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o APT::Sandbox::User=root)
apt-get "${apt_options[@]}" -q update >"$work/apt.log" 2>&1 || die "apt-get update failed"
# apt exits non-zero (the .dsc is gone) after fetching the tarball: judge by the tarball.
(cd "$work" && apt-get "${apt_options[@]}" -q source --download-only criu=4.1.1-1 >>"$work/apt.log" 2>&1) || true
tarball=$work/criu_4.1.1.orig.tar.xz
[ -f "$tarball" ] || die "could not fetch criu_4.1.1.orig.tar.xz"
echo "$TARBALL_SHA256  $tarball" | sha256sum -c --quiet - || die "checksum mismatch"
tar -C "$work" -xf "$tarball"
patch -d "$work/criu-4.1.1" -p1 <"$here/criu-4.1.1-so-passcred.patch" >/dev/null
make -C "$work/criu-4.1.1" -j"$(nproc)" criu >"$work/build.log" 2>&1 || die "build failed: $(tail -5 "$work/build.log")"
install -m 755 "$work/criu-4.1.1/criu/criu" "$target"
rm -rf "$work"
"$target" check >/dev/null 2>&1 || die "$target fails 'criu check'"
echo "$target"
