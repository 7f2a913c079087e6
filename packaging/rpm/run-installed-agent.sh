#!/usr/bin/env bash
# Starts the agent that the RPMs installed into ROOT, the way its systemd unit would, and stops it:
#
#   packaging/rpm/run-installed-agent.sh ROOT WORK_DIR     (as root; check.sh runs it)
#
# In a private mount, network and PID namespace, entered here: ROOT is laid over /usr (a read-only
# overlay) and /etc (an overlay whose writes land in WORK_DIR: the agent creates its prediction token
# there at its first start, as on a node) and its /var/lib over /var/lib, so every installed file is
# at its real path; /run starts empty as at boot, and the checkpoint directory gets a tmpfs, as the
# README has a site do. Then: systemd-analyze accepts the installed unit; the installed tmpfiles.d file makes
# /run/lifeboat; the unit's own ExecStart line (the shipped /etc/lifeboat/agent.yaml, unchanged),
# with the unit's Environment= and the installed EnvironmentFile= as systemd sets them, starts the
# agent, whose JVM has the unit's -Xmx; the agent sends READY=1 to a stand-in notify socket, then
# WATCHDOG=1 every half of the WATCHDOG_USEC given here (and WATCHDOG_PID: the launcher must exec
# the JVM for it to match), has made /etc/lifeboat/prediction-token (0600), answers /health with 503
# naming what the throwaway root lacks (CRIU, munged, slurmctld) and the checkpoint tmpfs ready,
# refuses a prediction without the token (401) and answers `lifeboat status` (no jobs), and on
# SIGTERM sends STOPPING=1, removes its socket and exits 143.
# The namespaces keep it off the machine's ports (the testbed's agents use 9464 and 9465 too) and
# out of its /run and /var/lib; whatever runs in them ends with this script.
set -euo pipefail

# The shipped config's http.port, in this script's own network namespace.
HEALTH_URL=http://127.0.0.1:9464/health
PREDICTIONS_URL=http://127.0.0.1:9464/api/v1/predictions
STARTUP_LIMIT_SECONDS=60
UNIT=/usr/lib/systemd/system/lifeboat-agent.service
# The unit's WatchdogSec is 2 min; 2 s here, so that pings come every second.
WATCHDOG_MICROSECONDS=2000000
WATCHDOG_PINGS=3

[ $# -eq 2 ] || { echo "usage: $0 ROOT WORK_DIR" >&2; exit 2; }
if [ "${LIFEBOAT_RPM_CHECK_NAMESPACES:-}" != 1 ]; then
    exec env -u SLURM_CONF -u NOTIFY_SOCKET LIFEBOAT_RPM_CHECK_NAMESPACES=1 \
        unshare --mount --net --pid --fork --kill-child --mount-proc "$0" "$@"
fi
root=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
fail() {
    echo "installed agent: $*" >&2
    exit 1
}

ip link set lo up
mount -t overlay overlay -o "lowerdir=$root/usr:/usr" /usr
mkdir "$work/etc-changes" "$work/etc-overlay-work"
mount -t overlay overlay -o "lowerdir=$root/etc:/etc,upperdir=$work/etc-changes,workdir=$work/etc-overlay-work" /etc
mount --bind "$root/var/lib" /var/lib
mount -t tmpfs tmpfs /run
mkdir -m 0700 /var/lib/lifeboat/checkpoints
# Above the agent's default health.checkpoint-min-free-bytes (64 MiB), so that the directory counts as ready.
mount -t tmpfs -o size=128m,mode=0700 tmpfs /var/lib/lifeboat/checkpoints

verify=$(systemd-analyze verify "$UNIT" 2>&1) || fail "systemd-analyze verify rejects the unit: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify warns about the unit: $verify"
systemd-tmpfiles --create /usr/lib/tmpfiles.d/lifeboat.conf
[ "$(stat -c '%a %U' /run/lifeboat)" = "755 root" ] || fail "tmpfiles.d made /run/lifeboat $(stat -c '%a %U' /run/lifeboat)"

"$here/notify-receiver.py" "$work/notify" "$STARTUP_LIMIT_SECONDS" >"$work/notifications" &
receiver=$!
for _ in $(seq 50); do
    [ -S "$work/notify" ] && break
    sleep 0.1
done
command=$(sed -n 's/^ExecStart=//p' "$UNIT")
# The environment systemd gives the agent: the unit's Environment= lines (each one assignment here,
# quoted as a shell would read it), then the EnvironmentFile, whose assignments win.
while read -r assignment; do
    eval "export $assignment"
done < <(sed -n 's/^Environment=//p' "$UNIT")
environment_file=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$UNIT")
[ -f "$environment_file" ] || fail "the unit's EnvironmentFile $environment_file is not installed"
set -a
# shellcheck source=/dev/null
. "$environment_file"
set +a
# Unquoted: the unit's command line, split into words as systemd splits it. WATCHDOG_PID is the pid
# this shell execs into, which the launcher must keep by exec'ing the JVM.
NOTIFY_SOCKET=$work/notify WATCHDOG_USEC=$WATCHDOG_MICROSECONDS \
    bash -c 'WATCHDOG_PID=$$ exec "$@"' agent $command >"$work/agent.log" 2>&1 &
agent=$!
deadline=$((SECONDS + STARTUP_LIMIT_SECONDS))
until grep -q ' READY=1$' "$work/notifications"; do
    kill -0 "$agent" 2>/dev/null || fail "exited before READY=1: $(cat "$work/agent.log")"
    [ $SECONDS -lt $deadline ] || fail "no READY=1 within $STARTUP_LIMIT_SECONDS s: $(cat "$work/agent.log")"
    sleep 0.2
done
tr '\0' ' ' <"/proc/$agent/cmdline" | grep -q -- " $JAVA_OPTS " \
    || fail "the JVM runs without the unit's JAVA_OPTS ($JAVA_OPTS): $(tr '\0' ' ' <"/proc/$agent/cmdline")"

# The watchdog: WATCHDOG=1 keeps coming, every half of WATCHDOG_USEC (within half of that again:
# this machine may be busy).
until [ "$(grep -c ' WATCHDOG=1$' "$work/notifications")" -ge $WATCHDOG_PINGS ]; do
    kill -0 "$agent" 2>/dev/null || fail "exited while pinging the watchdog: $(cat "$work/agent.log")"
    [ $SECONDS -lt $deadline ] || fail "fewer than $WATCHDOG_PINGS WATCHDOG=1 within $STARTUP_LIMIT_SECONDS s: $(cat "$work/notifications")"
    sleep 0.2
done
interval=$(awk -v pings=$WATCHDOG_PINGS '$2 == "WATCHDOG=1" && ++n <= pings { if (n == 1) first = $1; last = $1 }
    END { printf "%.3f", (last - first) / (pings - 1) }' "$work/notifications")
awk -v interval="$interval" -v expected=$((WATCHDOG_MICROSECONDS / 2)) \
    'BEGIN { exit !(interval * 1e6 >= expected * 0.5 && interval * 1e6 <= expected * 1.5) }' \
    || fail "WATCHDOG=1 came every $interval s, not every $((WATCHDOG_MICROSECONDS / 2000)) ms: $(cat "$work/notifications")"
echo "installed agent: WATCHDOG=1 every $interval s for WATCHDOG_USEC=$WATCHDOG_MICROSECONDS; JVM options $JAVA_OPTS" >&2
# The throwaway root has no CRIU, no munged (/run starts empty) and no slurmctld (this network namespace
# reaches nothing): the agent runs and serves, and /health says it cannot migrate (503), naming each of
# the three and why, which is what a node missing them must say; its checkpoint tmpfs is ready.
health_code=$(curl -sS --max-time 5 -o "$work/health" -w '%{http_code}' "$HEALTH_URL") \
    || fail "GET $HEALTH_URL failed: $(cat "$work/agent.log")"
health=$(cat "$work/health")
readiness=$(python3 -c 'import json, sys
health = json.load(sys.stdin)
print(health["ready"], *(name + "=" + str(state["ready"]) for name, state in health["dependencies"].items()))' \
    <<<"$health" 2>&1) || fail "GET $HEALTH_URL answered $health_code $health, which is not /health's JSON: $readiness"
expected="False criu=False munge=False slurm=False checkpoint-directory=True"
[ "$health_code" = 503 ] && [ "$readiness" = "$expected" ] && grep -q 'CRIU' <<<"$health" \
    || fail "GET $HEALTH_URL answered $health_code $health ($readiness), not 503 with $expected"
[ -S /run/lifeboat/agent.sock ] || fail "no socket at /run/lifeboat/agent.sock"
token_file=/etc/lifeboat/prediction-token
[ "$(stat -c '%a %U' "$token_file" 2>&1)" = "600 root" ] || fail "$token_file is $(stat -c '%a %U' "$token_file" 2>&1), not 600 root"
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"node": "any", "within": "5m", "confidence": 1}' "$PREDICTIONS_URL") || fail "POST $PREDICTIONS_URL failed"
[ "$code" = 401 ] || fail "a prediction without the token was answered $code, not 401"
status=$(/usr/bin/lifeboat status --json 2>&1) || fail "lifeboat status failed: $status"
[ "$(tr -d ' \n' <<<"$status")" = '{"version":1,"jobs":[]}' ] || fail "lifeboat status lists jobs on a fresh agent: $status"
echo "installed agent: $HEALTH_URL answered $health_code $health" >&2

kill -TERM "$agent"
code=0
wait "$agent" || code=$?
[ "$code" -eq 143 ] || fail "exited with $code after SIGTERM, expected 143: $(cat "$work/agent.log")"
wait "$receiver" || fail "no STOPPING=1 reached the notify socket: $(cat "$work/notifications")"
[ ! -e /run/lifeboat/agent.sock ] || fail "left its socket behind"
[ "$(stat -c %a /var/lib/lifeboat)" = 700 ] || fail "the state directory is no longer mode 0700"
