#!/usr/bin/env bash
# Builds the source RPM and the RPMs and checks them, as root (test.sh runs it after the build steps):
#
#   1. packaging/rpm/build.sh makes the source RPM, then lifeboat-agent and lifeboat-slurm from it
#      alone with `rpmbuild --rebuild` (the C programs compiled by the spec's %build);
#   2. each RPM's file list (`rpm -qlp`, with every file's mode, owner and %config/%doc/%ghost
#      flags) equals packaging/rpm/NAME.contents exactly, and lifeboat-agent declares a
#      Provides: bundled(mvn(...)) for each third-party jar it ships;
#   3. rpmlint finds nothing in the three but the findings packaging/rpm/rpmlint.toml lists with
#      their reasons;
#   4. both RPMs install into a throwaway root (`rpm --root DIR --nodeps --noscripts -i`) and
#      `rpm -V` finds the installed files intact; the firewalld services are valid XML and open
#      the ports of the shipped agent.yaml;
#   5. run-installed-agent.sh starts the installed agent as its unit would, from the shipped
#      default config, in namespaces of its own, and stops it (that script says what it checks,
#      the systemd watchdog's pings among it).
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGING=packaging/rpm

log() { printf 'rpm check: %s\n' "$*" >&2; }
die() {
    printf 'rpm check: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (rpm --root, namespaces, mounts)"
for tool in git rpm rpmbuild rpmlint unzip systemd-analyze systemd-tmpfiles unshare curl python3; do
    command -v "$tool" >/dev/null || die "$tool not found: testbed/deps.sh installs it"
done
started=$SECONDS

built=$("$PACKAGING/build.sh") || die "build.sh failed (above)"
mapfile -t rpms < <(grep -v '\.src\.rpm$' <<<"$built")
srpm=$(grep '\.src\.rpm$' <<<"$built") || die "build.sh made no source RPM: $built"
[ ${#rpms[@]} -eq 2 ] || die "build.sh made ${#rpms[@]} RPMs, expected lifeboat-agent and lifeboat-slurm: ${rpms[*]}"
log "built in $((SECONDS - started)) s: ${srpm##*/}, then from it alone (rpmbuild --rebuild) ${rpms[*]##*/}"

for rpm_file in "${rpms[@]}"; do
    name=$(rpm -qp --qf '%{NAME}' "$rpm_file" 2>/dev/null)
    expected=$PACKAGING/$name.contents
    [ -f "$expected" ] || die "no $expected for $rpm_file"
    if ! diff -u "$expected" <(rpm -qp --qf '[%{FILENAMES} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags}\n]' "$rpm_file" 2>/dev/null | sed 's/ $//') >&2; then
        die "$name's files differ from $expected (above: - expected, + built); if the change is meant, update the file"
    fi
done
log "file lists, modes and flags are as expected"

# One bundled(mvn(GROUP:ARTIFACT)) = VERSION per third-party jar: every jar but the project's own,
# with jffi's native jar one artifact with jffi's.
agent_rpm=$(grep '/lifeboat-agent-[^/]*\.rpm$' <<<"$built")
jars=$(rpm -qlp "$agent_rpm" 2>/dev/null | grep -c '^/usr/share/lifeboat/lib/.*\.jar$')
own_jars=$(rpm -qlp "$agent_rpm" 2>/dev/null | grep -c '^/usr/share/lifeboat/lib/lifeboat-.*\.jar$')
native_jars=$(rpm -qlp "$agent_rpm" 2>/dev/null | grep -c '^/usr/share/lifeboat/lib/.*-native\.jar$')
bundled=$(rpm -qp --provides "$agent_rpm" 2>/dev/null | grep -cE '^bundled\(mvn\([^:() ]+:[^:() ]+\)\) = [0-9][0-9A-Za-z._+~]*$')
[ "$bundled" -eq $((jars - own_jars - native_jars)) ] \
    || die "lifeboat-agent ships $jars jars ($own_jars the project's, $native_jars native) but provides $bundled bundled(mvn(...)): $(rpm -qp --provides "$agent_rpm" 2>/dev/null)"
log "lifeboat-agent provides bundled(mvn(...)) for each of its $bundled third-party jars"

lint=$(rpmlint -c "$PACKAGING/rpmlint.toml" "${rpms[@]}" "$srpm" 2>&1) || true
grep -q ' 0 errors, 0 warnings' <<<"$lint" || die "rpmlint has findings that $PACKAGING/rpmlint.toml does not justify:
$lint"
log "rpmlint: nothing beyond the justified findings in $PACKAGING/rpmlint.toml"

work=$(mktemp -d /tmp/lifeboat-rpm-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
# --noscripts: the scriptlets would run in the root, which has no shell; --nodeps: nor Java, CRIU...
# (Debian's rpm warns that it should not install packages at all: said and ignored here.)
rpm --root "$root" --dbpath /var/lib/rpm --nodeps --noscripts -i "${rpms[@]}" 2>"$work/install.err" \
    || die "rpm -i into $root failed: $(cat "$work/install.err")"
rpm --root "$root" --dbpath /var/lib/rpm -V --nodeps lifeboat-agent lifeboat-slurm || die "rpm -V finds the installed files changed"
# The plugstack.conf line must name the plugin where the package puts it.
plugin=$(awk '!/^#/ && NF { print $2 }' "$root/usr/share/lifeboat-slurm/plugstack-lifeboat.conf")
[ -f "$root$plugin" ] || die "plugstack-lifeboat.conf names $plugin, which lifeboat-slurm does not install"
# firewalld's services open the ports of the shipped configuration: peer.port (lifeboat-agent) and
# http.port (lifeboat-agent-http).
python3 - "$root/usr/lib/firewalld/services" "$root/etc/lifeboat/agent.yaml" <<'PYTHON' || die "the firewalld services do not match agent.yaml (above)"
import re, sys, xml.etree.ElementTree as ElementTree
services, config = sys.argv[1], open(sys.argv[2]).read()
def port(section):
    block = re.search(r"^" + section + r":\n((?:[ #].*\n|\n)*)", config, re.MULTILINE).group(1)
    return re.search(r"^  port: (\d+)$", block, re.MULTILINE).group(1)
for service, section in (("lifeboat-agent", "peer"), ("lifeboat-agent-http", "http")):
    root = ElementTree.parse(f"{services}/{service}.xml").getroot()
    ports = [(p.get("port"), p.get("protocol")) for p in root.findall("port")]
    if root.tag != "service" or not root.findtext("short") or ports != [(port(section), "tcp")]:
        sys.exit(f"{service}.xml opens {ports}, not {section}.port {port(section)}/tcp")
PYTHON
log "installed into a throwaway root; rpm -V clean; the plugstack line names the installed plugin; the firewalld services open agent.yaml's ports"

started_agent=$SECONDS
"$PACKAGING/run-installed-agent.sh" "$root" "$work" || die "the installed agent did not start, serve and stop as expected (above)"
log "the installed agent started from the shipped config with the unit's JVM options, pinged the watchdog, answered /health (503: no CRIU, munged or slurmctld in the throwaway root) and stopped with 143 ($((SECONDS - started_agent)) s)"
log "passed in $((SECONDS - started)) s"
