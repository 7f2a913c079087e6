#!/usr/bin/env bash
# Builds the RPMs and checks them, as root (test.sh runs it after the build steps):
#
#   1. packaging/rpm/build.sh builds lifeboat-agent and lifeboat-slurm;
#   2. each RPM's file list (`rpm -qlp`, with every file's mode, owner and %config/%doc/%ghost
#      flags) equals packaging/rpm/NAME.contents exactly;
#   3. rpmlint finds nothing but the findings packaging/rpm/rpmlint.toml lists with their reasons;
#   4. both RPMs install into a throwaway root (`rpm --root DIR --nodeps --noscripts -i`) and
#      `rpm -V` finds the installed files intact;
#   5. in a private mount, network and PID namespace, with that root laid over /usr, /etc, /var/lib
#      so every installed file is at its real path, and a tmpfs on the checkpoint directory as the
#      README has a site mount: systemd-analyze accepts the installed unit, the installed
#      tmpfiles.d file makes /run/lifeboat, and the unit's own command line
#      (`/usr/bin/lifeboat agent --config /etc/lifeboat/agent.yaml`, the shipped default config)
#      starts the agent, which tells a stand-in for systemd READY=1, answers /health and
#      `lifeboat status` (no jobs), and stops on SIGTERM with exit status 143 after STOPPING=1.
#
# The namespaces keep the agent off the machine's ports (the testbed's agents use 9464 and 9465
# too) and out of its /run and /var/lib; everything they hold ends when the check does.
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGING=packaging/rpm
# The shipped config's http.port, inside the check's own network namespace.
HEALTH_URL=http://127.0.0.1:9464/health
STARTUP_LIMIT_SECONDS=60

log() { printf 'rpm check: %s\n' "$*" >&2; }
die() {
    printf 'rpm check: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (rpm --root, namespaces, mounts)"
for tool in rpm rpmlint systemd-analyze systemd-tmpfiles unshare curl python3; do
    command -v "$tool" >/dev/null || die "$tool not found: testbed/deps.sh installs it"
done
started=$SECONDS

mapfile -t rpms < <("$PACKAGING/build.sh")
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

# systemd's side of sd_notify: a datagram socket; prints each message, stops after STOPPING=1.
notify_receiver='
import socket, sys
receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
receiver.bind(sys.argv[1])
receiver.settimeout(float(sys.argv[2]))
while True:
    message = receiver.recv(4096).decode()
    print(message, flush=True)
    if "STOPPING=1" in message.split("\n"):
        break
'

# Runs in the namespaces. Exits non-zero, naming the step, on the first failure.
in_namespaces='
set -euo pipefail
root=$1 work=$2 health_url=$3 limit=$4 notify_receiver=$5
fail() { echo "$*" >&2; exit 1; }
ip link set lo up
# The installed files at their real paths: read-only overlays of the root on /usr and /etc, and
# the root'"'"'s own /var/lib (the agent writes its state there); /run starts empty, as at boot.
mount -t overlay overlay -o "lowerdir=$root/usr:/usr" /usr
mount -t overlay overlay -o "lowerdir=$root/etc:/etc" /etc
mount --bind "$root/var/lib" /var/lib
mount -t tmpfs tmpfs /run
# What the README'"'"'s install steps have a site do: a tmpfs on the checkpoint directory.
mkdir -m 0700 /var/lib/lifeboat/checkpoints
mount -t tmpfs -o size=64m,mode=0700 tmpfs /var/lib/lifeboat/checkpoints

verify=$(systemd-analyze verify /usr/lib/systemd/system/lifeboat-agent.service 2>&1) \
    || fail "systemd-analyze verify rejects the unit: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify warns about the unit: $verify"
systemd-tmpfiles --create /usr/lib/tmpfiles.d/lifeboat.conf
[ "$(stat -c "%a %U" /run/lifeboat)" = "755 root" ] || fail "tmpfiles.d made /run/lifeboat $(stat -c "%a %U" /run/lifeboat)"

python3 -c "$notify_receiver" "$work/notify" "$limit" >"$work/notifications" &
receiver=$!
for _ in $(seq 50); do [ -S "$work/notify" ] && break; sleep 0.1; done
command=$(sed -n "s/^ExecStart=//p" /usr/lib/systemd/system/lifeboat-agent.service)
# Unquoted: the unit'"'"'s command line, split into words as systemd splits it.
NOTIFY_SOCKET=$work/notify $command >"$work/agent.log" 2>&1 &
agent=$!
deadline=$((SECONDS + limit))
until grep -qx "READY=1" "$work/notifications"; do
    kill -0 "$agent" 2>/dev/null || fail "the agent exited before READY=1: $(cat "$work/agent.log")"
    [ $SECONDS -lt $deadline ] || fail "no READY=1 within $limit s: $(cat "$work/agent.log")"
    sleep 0.2
done
health=$(curl -fsS --max-time 5 "$health_url") || fail "GET $health_url failed: $(cat "$work/agent.log")"
grep -q "\"status\":\"ok\"" <<<"$health" || fail "GET $health_url answered $health"
[ -S /run/lifeboat/agent.sock ] || fail "no socket at /run/lifeboat/agent.sock"
status=$(/usr/bin/lifeboat status --json 2>&1) || fail "lifeboat status failed: $status"
[ "$(tr -d " \n" <<<"$status")" = "[]" ] || fail "lifeboat status lists jobs on a fresh agent: $status"
echo "health: $health"
kill -TERM "$agent"
code=0
wait "$agent" || code=$?
[ "$code" -eq 143 ] || fail "the agent exited with $code after SIGTERM, expected 143: $(cat "$work/agent.log")"
wait "$receiver" || fail "no STOPPING=1 reached the notify socket: $(cat "$work/notifications")"
[ ! -e /run/lifeboat/agent.sock ] || fail "the agent left its socket behind"
[ "$(stat -c %a /var/lib/lifeboat)" = 700 ] || fail "the state directory is no longer mode 0700"
'
started_agent=$SECONDS
env -u SLURM_CONF -u NOTIFY_SOCKET unshare --mount --net --pid --fork --kill-child --mount-proc \
    bash -c "$in_namespaces" in-namespaces "$root" "$work" "$HEALTH_URL" "$STARTUP_LIMIT_SECONDS" "$notify_receiver" >&2 \
    || die "the installed agent did not start, serve and stop as expected (above)"
log "the installed agent started from the shipped config, answered /health and stopped with 143 ($((SECONDS - started_agent)) s)"
log "passed in $((SECONDS - started)) s"
