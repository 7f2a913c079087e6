#!/usr/bin/env bash
# Builds the RPMs and checks them, as root (test.sh runs it after the build steps):
#
#   1. packaging/rpm/build.sh builds lifeboat-agent and lifeboat-slurm;
#   2. each RPM's file list (`rpm -qlp`, with every file's mode, owner and %config/%doc/%ghost
#      flags) equals packaging/rpm/NAME.contents exactly;
#   3. rpmlint finds nothing but the findings packaging/rpm/rpmlint.toml lists with their reasons;
#   4. both RPMs install into a throwaway root (`rpm --root DIR --nodeps --noscripts -i`) and
#      `rpm -V` finds the installed files intact;
#   5. run-installed-agent.sh starts the installed agent as its unit would, from the shipped
#      default config, in namespaces of its own, and stops it (that script says what it checks).
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGING=packaging/rpm

log() { printf 'rpm check: %s\n' "$*" >&2; }
die() {
    printf 'rpm check: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (rpm --root, namespaces, mounts)"
for tool in rpm rpmlint unzip systemd-analyze systemd-tmpfiles unshare curl python3; do
    command -v "$tool" >/dev/null || die "$tool not found: testbed/deps.sh installs it"
done
started=$SECONDS

built=$("$PACKAGING/build.sh") || die "build.sh failed (above)"
mapfile -t rpms <<<"$built"
[ ${#rpms[@]} -eq 2 ] || die "build.sh made ${#rpms[@]} RPMs, expected lifeboat-agent and lifeboat-slurm: ${rpms[*]}"
log "built in $((SECONDS - started)) s: ${rpms[*]##*/}"

for rpm_file in "${rpms[@]}"; do
    name=$(rpm -qp --qf '%{NAME}' "$rpm_file" 2>/dev/null)
    expected=$PACKAGING/$name.contents
    [ -f "$expected" ] || die "no $expected for $rpm_file"
    if ! diff -u "$expected" <(rpm -qp --qf '[%{FILENAMES} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags}\n]' "$rpm_file" 2>/dev/null | sed 's/ $//') >&2; then
        die "$name's files differ from $expected (above: - expected, + built); if the change is meant, update the file"
    fi
done
log "file lists, modes and flags are as expected"

lint=$(rpmlint -c "$PACKAGING/rpmlint.toml" "${rpms[@]}" 2>&1) || true
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
log "installed into a throwaway root; rpm -V clean; the plugstack line names the installed plugin"

started_agent=$SECONDS
"$PACKAGING/run-installed-agent.sh" "$root" "$work" || die "the installed agent did not start, serve and stop as expected (above)"
log "the installed agent started from the shipped config, answered /health (503: no CRIU, munged or slurmctld in the throwaway root) and stopped with 143 ($((SECONDS - started_agent)) s)"
log "passed in $((SECONDS - started)) s"
