#!/usr/bin/env bash
# Builds Lifeboat's source RPM, then its two RPMs, lifeboat-agent and lifeboat-slurm, from that
# source RPM alone (`rpmbuild --rebuild`, as a site's mock would):
#
#   packaging/rpm/build.sh        prints the paths of the RPMs it wrote, one a line, the SRPM last
#
# The SRPM's sources (lifeboat.spec says what each holds and why):
#   Source0  the checkout's files as they are in the working tree, those git tracks and the new
#            ones it does not ignore;
#   Source1  the agent's jars: `mvn package -DskipTests` first, when the jar, its dependency list or
#            target/lib is missing or older than a POM or a source file;
#   Source2  the jars' Maven coordinates, from agent/target/runtime-dependencies.txt.
# Writes only below packaging/rpm/build/ (ignored by git), which it empties first.
#
# Needs git, rpmbuild (Debian's package rpm; testbed/deps.sh installs it), Maven and a JDK 17, gcc,
# and Slurm's headers (libslurm-dev; another location with SLURM_INCLUDE=DIR). The RPMs require the
# C library of the host that rebuilt them and the Slurm release of those headers: for production,
# rebuild the SRPM on the RHEL release the nodes run, against the Slurm they run. On a host whose
# rpm database is not the system's (Debian), the rebuild cannot check BuildRequires: --nodeps.
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGING=packaging/rpm
BUILD=$PWD/$PACKAGING/build
SLURM_INCLUDE=${SLURM_INCLUDE:-/usr/include}
AGENT_JAR=agent/target/lifeboat-agent.jar
DEPENDENCY_LIST=agent/target/runtime-dependencies.txt
# The project's own modules are not bundled software.
OWN_GROUP=org.lifeboat

log() { printf 'rpm build: %s\n' "$*" >&2; }
die() {
    printf 'rpm build: error: %s\n' "$*" >&2
    exit 1
}

command -v rpmbuild >/dev/null || die "rpmbuild not found: install Debian's package rpm (testbed/deps.sh does)"
git rev-parse --git-dir >/dev/null 2>&1 || die "not a git checkout: Source0 is made from the files git lists"

if [ ! -f "$AGENT_JAR" ] || [ ! -f "$DEPENDENCY_LIST" ] \
    || [ -n "$(find pom.xml agent/pom.xml agent/src/main -newer "$AGENT_JAR" -print -quit)" ]; then
    log "building the agent: mvn package -DskipTests"
    mvn -q -B package -DskipTests >&2
else
    log "reusing $AGENT_JAR: newer than every POM and source file"
fi

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
spec_version=$(sed -n 's/^%global lifeboat_version //p' "$PACKAGING/lifeboat.spec")
[ "$spec_version" = "$version" ] || die "lifeboat.spec says version $spec_version, the POM $jar_version: set lifeboat_version to $version there, with a %changelog entry"
if [ "$version" = "$jar_version" ]; then
    release=1
else
    release=0.$(git rev-list --count HEAD).g$(git rev-parse --short HEAD)
fi

rm -rf "$BUILD"
mkdir -p "$BUILD/SOURCES" "$BUILD/SPECS" "$BUILD/stage/lifeboat-agent-jars/lib"

# Source0: the files git tracks or would (not those it ignores, such as build outputs), as they
# are in the working tree, so that what %build compiles is what the jars were built from.
commit_time=$(git log -1 --format=%ct)
# Sorted and unique: during a merge, git lists a conflicted file once per side.
git ls-files -z --cached --others --exclude-standard | sort -zu | while IFS= read -r -d '' file; do
    # A tracked file deleted in the working tree is gone from Source0 too.
    [ ! -e "$file" ] || printf '%s\0' "$file"
done | tar --null -T - --transform "flags=r;s,^,lifeboat-$version/," --sort=name --owner=0 --group=0 \
    --numeric-owner --mtime="@$commit_time" -czf "$BUILD/SOURCES/lifeboat-$version.tar.gz"

# Source1 and Source2: each jar of the Class-Path, and the coordinates of each but the project's
# own. A jar's file name is copy-dependencies': ARTIFACT-VERSION[-CLASSIFIER].jar.
declare -A coordinates
while read -r artifact _; do
    IFS=: read -r group name _ fourth fifth sixth <<<"$artifact"
    # GROUP:ARTIFACT:TYPE:VERSION:SCOPE, or GROUP:ARTIFACT:TYPE:CLASSIFIER:VERSION:SCOPE.
    if [ -n "$sixth" ]; then
        coordinates["$name-$fifth-$fourth.jar"]="$group:$name $fifth"
    else
        coordinates["$name-$fourth.jar"]="$group:$name $fourth"
    fi
done < <(grep -E '^ +[^ :]+:[^ :]+:' "$DEPENDENCY_LIST")
cp "$AGENT_JAR" "$BUILD/stage/lifeboat-agent-jars/"
# The man page and the bash completion, which the Maven build writes from the CLI's own definition.
cp agent/target/man/lifeboat.1 "$BUILD/stage/lifeboat-agent-jars/lifeboat.1"
cp agent/target/bash-completion/lifeboat "$BUILD/stage/lifeboat-agent-jars/lifeboat.bash"
bundled=()
for entry in $class_path; do
    [ -f "agent/target/$entry" ] || die "agent/target/$entry, named in the agent's Class-Path, is missing: run mvn package"
    cp "agent/target/$entry" "$BUILD/stage/lifeboat-agent-jars/lib/"
    coordinate=${coordinates[${entry#lib/}]:-}
    [ -n "$coordinate" ] || die "$entry is not in $DEPENDENCY_LIST: run mvn package"
    read -r name jar_dependency_version <<<"$coordinate"
    # An RPM version cannot hold '-' either (Guava's 33.0.0-jre, say).
    [ "${name%%:*}" = "$OWN_GROUP" ] || bundled+=("bundled(mvn($name)) = ${jar_dependency_version//-/_}")
done
printf '%s\n' "${bundled[@]}" | sort -u >"$BUILD/SOURCES/lifeboat-agent-$version-bundled.txt"
tar -C "$BUILD/stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$commit_time" \
    -cf "$BUILD/SOURCES/lifeboat-agent-$version-jars.tar" lifeboat-agent-jars

# The SRPM's spec: this snapshot's release, and a %changelog entry for it (rpmlint checks that the
# newest entry names the package's version and release), by the commit's committer.
spec=$BUILD/SPECS/lifeboat.spec
sed -e "s/^%global lifeboat_release .*/%global lifeboat_release $release/" "$PACKAGING/lifeboat.spec" >"$spec"
if [ "$release" != 1 ]; then
    entry=$(git log -1 --date=format:'%a %b %d %Y' --format="* %cd %cn <%ce> - $version-$release%n- Snapshot of commit %h")
    awk -v entry="$entry" '{ print } /^%changelog$/ { print entry; print "" }' "$spec" >"$spec.new"
    mv "$spec.new" "$spec"
fi

macros=()
if [ -z "$(rpm --eval '%{?systemd_post:defined}')" ]; then
    log "no systemd RPM macros on this host: using $PACKAGING/macros.systemd-fallback"
    macros=(--load "$PACKAGING/macros.systemd-fallback")
fi
includes=()
[ "$SLURM_INCLUDE" = /usr/include ] || includes=(--define "slurm_include $SLURM_INCLUDE")
log "rpmbuild -bs: lifeboat $version-$release"
rpmbuild -bs --quiet "${macros[@]}" "${includes[@]}" --define "_topdir $BUILD" "$spec" >&2
srpm=$(find "$BUILD/SRPMS" -name '*.src.rpm')
[ -n "$srpm" ] || die "rpmbuild -bs wrote no source RPM"

# A _topdir of its own, which holds nothing but what the SRPM brings.
nodeps=()
if ! rpm -q rpm >/dev/null 2>&1; then
    log "rpm's database does not know this system's packages: rebuilding with --nodeps"
    nodeps=(--nodeps)
fi
log "rpmbuild --rebuild ${srpm##*/}"
rpmbuild --rebuild --quiet "${macros[@]}" "${includes[@]}" "${nodeps[@]}" --define "_topdir $BUILD/rebuild" "$srpm" >&2
find "$BUILD/rebuild/RPMS" -name '*.rpm' | sort
echo "$srpm"
