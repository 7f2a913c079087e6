#!/usr/bin/env bash
# Builds Lifeboat's two RPMs, lifeboat-agent and lifeboat-slurm, with rpmbuild:
#
#   packaging/rpm/build.sh        prints the paths of the RPMs it wrote, one a line
#
# Reuses what is built and up to date, builds the rest: the agent jar and its dependencies with
# `mvn package -DskipTests` when the jar is missing or older than a POM or a source file;
# lifeboat-run and lifeboat.so with make (which rebuilds only what changed). Writes only below
# packaging/rpm/build/ (ignored by git), which it empties first.
#
# Needs rpmbuild (Debian's package rpm; testbed/deps.sh installs it), Maven and a JDK 17, gcc, and
# Slurm's headers (libslurm-dev; another location with SLURM_INCLUDE=DIR). The RPMs require the C
# library of the host they were built on and the Slurm release of those headers: for production,
# build on the RHEL release the nodes run, against the Slurm they run.
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGING=packaging/rpm
BUILD=$PWD/$PACKAGING/build
SLURM_INCLUDE=${SLURM_INCLUDE:-/usr/include}
AGENT_JAR=agent/target/lifeboat-agent.jar

log() { printf 'rpm build: %s\n' "$*" >&2; }
die() {
    printf 'rpm build: error: %s\n' "$*" >&2
    exit 1
}

command -v rpmbuild >/dev/null || die "rpmbuild not found: install Debian's package rpm (testbed/deps.sh does)"

if [ ! -f "$AGENT_JAR" ] || [ -n "$(find pom.xml agent/pom.xml agent/src/main -newer "$AGENT_JAR" -print -quit)" ]; then
    log "building the agent: mvn package -DskipTests"
    mvn -q -B package -DskipTests >&2
else
    log "reusing $AGENT_JAR: newer than every POM and source file"
fi
# Their output goes to stderr, like every message here: stdout carries only the RPMs' paths.
make -s -C launcher lifeboat-run lifeboat-adopt-instance lifeboat-with-fds >&2
make -s -C slurm-hooks lifeboat.so SLURM_INCLUDE="$SLURM_INCLUDE" >&2

# The jar's manifest, continuation lines joined (a manifest wraps its lines at 72 bytes).
manifest=$(unzip -p "$AGENT_JAR" META-INF/MANIFEST.MF | tr -d '\r' | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n //g')
jar_version=$(sed -n 's/^Implementation-Version: //p' <<<"$manifest")
[ -n "$jar_version" ] || die "$AGENT_JAR has no Implementation-Version in its manifest"
# Exactly the jars the agent's manifest loads: agent/target/lib may also hold jars of versions the
# POM used to name, which Maven's copy-dependencies leaves behind.
class_path=$(sed -n 's/^Class-Path: //p' <<<"$manifest")
[ -n "$class_path" ] || die "$AGENT_JAR has no Class-Path in its manifest"

# RPM versions cannot hold '-': 0.1.0-SNAPSHOT is version 0.1.0 with a pre-release number, which
# counts commits so that a later snapshot upgrades an earlier one, and names the commit.
version=${jar_version%-SNAPSHOT}
if [ "$version" = "$jar_version" ]; then
    release=1
else
    commits=$(git rev-list --count HEAD 2>/dev/null) || die "a snapshot build needs a git checkout (its release number counts commits)"
    release=0.$commits.g$(git rev-parse --short HEAD)
fi

# SLURM_VERSION_NUMBER is 0xMMmmuu; a SPANK plugin loads into the same major.minor only.
slurm_number=$(sed -n 's/^#define SLURM_VERSION_NUMBER \(0x[0-9a-fA-F]*\)$/\1/p' "$SLURM_INCLUDE/slurm/slurm_version.h")
[ -n "$slurm_number" ] || die "no SLURM_VERSION_NUMBER in $SLURM_INCLUDE/slurm/slurm_version.h (install libslurm-dev or set SLURM_INCLUDE)"
slurm_major=$(((slurm_number >> 16) & 0xff))
slurm_minor=$(((slurm_number >> 8) & 0xff))
slurm_series=$(printf '%d.%02d' "$slurm_major" "$slurm_minor")
slurm_series_end=$(printf '%d.%02d' "$slurm_major" $((slurm_minor + 1)))

# Source0: the built programs and the files of packaging/rpm/, in one directory.
rm -rf "$BUILD"
stage=$BUILD/stage/lifeboat-$version
mkdir -p "$stage/lib" "$BUILD/SOURCES"
cp "$AGENT_JAR" "$stage/"
for entry in $class_path; do
    [ -f "agent/target/$entry" ] || die "agent/target/$entry, named in the agent's Class-Path, is missing: run mvn package"
    cp "agent/target/$entry" "$stage/lib/"
done
cp launcher/lifeboat-run launcher/lifeboat-adopt-instance launcher/lifeboat-with-fds slurm-hooks/lifeboat.so config/agent.yaml README.md "$stage/"
# The plugin package carries the plugin's own README, not the whole project's.
cp slurm-hooks/README.md "$stage/README.slurm-plugin.md"
cp slurm-hooks/plugstack.conf.example "$stage/plugstack.conf"
cp "$PACKAGING/lifeboat" "$PACKAGING/lifeboat-agent.service" "$PACKAGING/lifeboat-tmpfiles.conf" "$stage/"
tar -C "$BUILD/stage" -czf "$BUILD/SOURCES/lifeboat-$version.tar.gz" "lifeboat-$version"

macros=()
if [ -z "$(rpm --eval '%{?systemd_post:defined}')" ]; then
    log "no systemd RPM macros on this host: using $PACKAGING/macros.systemd-fallback"
    macros=(--load "$PACKAGING/macros.systemd-fallback")
fi
log "rpmbuild: lifeboat $version-$release, lifeboat.so for Slurm $slurm_series"
rpmbuild -bb --quiet "${macros[@]}" \
    --define "_topdir $BUILD" \
    --define "lifeboat_version $version" \
    --define "lifeboat_release $release" \
    --define "slurm_series $slurm_series" \
    --define "slurm_series_end $slurm_series_end" \
    "$PACKAGING/lifeboat.spec" >&2
find "$BUILD/RPMS" -name '*.rpm' | sort
