#!/usr/bin/env bash
# Tests lifeboat-with-fds: files on chosen descriptors (r, w, a, A) and the Unix socket mode (u) the
# agent runs `criu page-server --ps-socket` with. For u: the connection reaches the listener both
# ways; a symbolic link (as the socket or on the way to it), a file that is not a socket, and a
# socket in a directory the caller cannot search are refused with 125 before anything is run; a
# user other than root (TEST_USER) gets no connection to root's owner-only socket. For files, as
# the agent opens an Apptainer instance's outside files for `criu restore`: a symbolic link the user
# planted at the path (or on the way) is never followed, by root or by the user; the user, as whom
# the agent runs it for their jobs, cannot append to root's file, not even with CAP_DAC_OVERRIDE
# ambient (what the agent gives CRIU for an Apptainer restore, which the command still gets); A makes the missing directories as
# the caller and refuses a link among them.
#
#   launcher/tests/with-fds.sh        (as root, for the other-user case)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
launcher_dir=$(dirname "$here")
TEST_USER=${TEST_USER:-nobody}
with_fds=$launcher_dir/lifeboat-with-fds

log() { printf 'with-fds: %s\n' "$*" >&2; }
fail() {
    printf 'with-fds: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (the other-user case)"
make -s -C "$launcher_dir" lifeboat-with-fds
work=$(mktemp -d /tmp/lifeboat-with-fds.XXXXXX)
listener=
cleanup() {
    local status=$?
    [ -z "$listener" ] || kill "$listener" 2>/dev/null || true
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT

# listen SOCKET LOG: a listener that takes every connection, answers "pong", and logs what each
# sent, one line per connection; started in the background.
listen() {
    python3 - "$1" "$2" <<'PY' &
import socket, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(4)
while True:
    connection, _ = server.accept()
    connection.sendall(b"pong\n")
    received = b""
    while True:
        chunk = connection.recv(4096)
        if not chunk:
            break
        received += chunk
    with open(sys.argv[2], "a") as log:
        log.write("connection: " + received.decode().strip() + "\n")
    connection.close()
PY
    listener=$!
    for _ in $(seq 50); do [ -S "$1" ] && return; sleep 0.1; done
    fail "the listener did not bind $1"
}

# refused WHAT EXPECTED-MESSAGE ARGS...: lifeboat-with-fds exits 125 with that message and runs nothing.
refused() {
    local what=$1 message=$2 status=0
    shift 2
    "$@" -- touch "$work/ran" 2>"$work/stderr" || status=$?
    [ "$status" -eq 125 ] || fail "$what: exit status $status, not 125"
    grep -q "$message" "$work/stderr" || fail "$what: no '$message' in: $(cat "$work/stderr")"
    [ ! -e "$work/ran" ] || fail "$what: the command ran"
    log "refused: $what"
}

# Files, as `criu restore` is handed them.
echo original >"$work/in"
: >"$work/out"
"$with_fds" 7:r:"$work/in" 8:w:"$work/out" 9:a:"$work/append" -- sh -c 'cat <&7 >&8; echo appended >&9'
[ "$(cat "$work/out")" = original ] && [ "$(cat "$work/append")" = appended ] || fail "files on descriptors 7-9"
log "files: r, w, a on the descriptors asked for"

# The attack on the restore's outside files: TEST_USER plants links in their own directory (as they
# may in their home, where Apptainer keeps an instance's logs) to a file of root's.
as_user() { setpriv --reuid="$TEST_USER" --regid="$(id -g "$TEST_USER")" --clear-groups "$@"; }
chmod 0755 "$work"
mkdir -m 0755 "$work/root-only"
echo secret >"$work/root-only/file"
chmod 0644 "$work/root-only/file"
mkdir "$work/home"
chown "$TEST_USER:$(id -g "$TEST_USER")" "$work/home"
as_user ln -s "$work/root-only/file" "$work/home/link"
as_user ln -s "$work/root-only" "$work/home/linked-directory"
untouched() { [ "$(cat "$work/root-only/file")" = secret ] || fail "$1: root's file was written: $(cat "$work/root-only/file")"; }
# (a) A link at the file's path: followed by neither root (root's jobs) nor the user.
for mode in a A w r; do
    refused "root, mode $mode through the user's link" "without following links" "$with_fds" 10:$mode:"$work/home/link"
    untouched "root, mode $mode through the user's link"
done
refused "root, a link on the way" "without following links" "$with_fds" 10:a:"$work/home/linked-directory/file"
untouched "root, a link on the way"
refused "$TEST_USER, mode a through their link" "without following links" as_user "$with_fds" 10:a:"$work/home/link"
untouched "$TEST_USER, mode a through their link"
# (b) The user appends to root's file by its own path: refused by its permissions.
refused "$TEST_USER appending to root's file" "Permission denied" as_user "$with_fds" 10:a:"$work/root-only/file"
untouched "$TEST_USER appending to root's file"
# (b2) Even with CAP_DAC_OVERRIDE ambient, as the agent runs it for an Apptainer instance's restore
# (CRIU needs it for the IPC namespace): the opens are the user's alone, and CRIU still gets it.
with_override() {
    setpriv --reuid="$TEST_USER" --regid="$(id -g "$TEST_USER")" --clear-groups         --inh-caps=-all,+dac_override --ambient-caps=-all,+dac_override "$@"
}
refused "$TEST_USER with CAP_DAC_OVERRIDE appending to root's file" "Permission denied" \
    with_override "$with_fds" 10:a:"$work/root-only/file"
untouched "$TEST_USER with CAP_DAC_OVERRIDE appending to root's file"
capabilities=$(with_override "$with_fds" 10:r:/etc/passwd -- sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
[ "$capabilities" = 0000000000000002 ] || fail "the command did not get its ambient CAP_DAC_OVERRIDE: CapEff $capabilities"
log "files: CAP_DAC_OVERRIDE bypasses nothing in with-fds and reaches the command"
# (b3) Root with --as=UID:GID (the agent's run of CRIU as root for an Apptainer restore) opens as the
# user: root's file is refused, A makes the user's directories, and the command runs as root.
as_owner="--as=$(id -u "$TEST_USER"):$(id -g "$TEST_USER")"
refused "root --as $TEST_USER appending to root's file" "Permission denied" "$with_fds" "$as_owner" 10:a:"$work/root-only/file"
untouched "root --as $TEST_USER appending to root's file"
ran_as=$("$with_fds" "$as_owner" 10:A:"$work/home/as/job.out" -- id -u)
[ "$ran_as" = 0 ] || fail "the command after --as ran as uid $ran_as, not root"
[ "$(stat -c %U "$work/home/as")" = "$TEST_USER" ] || fail "--as made $work/home/as as $(stat -c %U "$work/home/as")"
refused "$TEST_USER giving itself --as" "run by root" as_user "$with_fds" --as=0:0 10:r:/etc/passwd
log "files: root --as $TEST_USER opens as $TEST_USER and runs the command as root"
# (c) A makes the missing directories as the caller, and refuses a link among them.
as_user "$with_fds" 10:A:"$work/home/logs/node/job.out" -- bash -c 'echo logged >&10'
[ "$(cat "$work/home/logs/node/job.out")" = logged ] || fail "A did not append to the new file"
for made in "$work/home/logs" "$work/home/logs/node" "$work/home/logs/node/job.out"; do
    [ "$(stat -c %U "$made")" = "$TEST_USER" ] || fail "A made $made as $(stat -c %U "$made"), not $TEST_USER"
done
log "files: A made the directories and the file as $TEST_USER"
refused "$TEST_USER, A through a link among the parents" "without following links" \
    as_user "$with_fds" 10:A:"$work/home/linked-directory/new/job.out"
refused "root, A through a link among the parents" "without following links" \
    "$with_fds" 10:A:"$work/home/linked-directory/new/job.out"
[ ! -e "$work/root-only/new" ] || fail "A made a directory through the link"
refused "root, A through a link as the file" "without following links" "$with_fds" 10:A:"$work/home/link"
untouched "root, A through a link as the file"
refused "$TEST_USER, A in root's directory" "Permission denied" as_user "$with_fds" 10:A:"$work/root-only/new/job.out"
[ ! -e "$work/root-only/new" ] || fail "$TEST_USER made a directory in root's"
chmod 0700 "$work"

# A Unix socket in a root-only directory, as the agent binds the page server's.
mkdir -m 0700 "$work/private"
socket=$work/private/page-server.sock
listen "$socket" "$work/connections"
answer=$("$with_fds" 3:u:"$socket" -- sh -c 'echo ping >&3; head -n1 <&3')
[ "$answer" = pong ] || fail "the connected socket did not carry the listener's answer: '$answer'"
for _ in $(seq 50); do [ -s "$work/connections" ] && break; sleep 0.1; done
[ "$(cat "$work/connections")" = "connection: ping" ] || fail "the listener got: $(cat "$work/connections")"
log "socket: connected on descriptor 3, both ways"

ln -s "$socket" "$work/private/link.sock"
refused "a symbolic link to the socket" "without following links" "$with_fds" 3:u:"$work/private/link.sock"
ln -s "$work/private" "$work/linked-directory"
refused "a symbolic link on the way" "without following links" "$with_fds" 3:u:"$work/linked-directory/page-server.sock"
refused "a file that is not a socket" "is not a socket" "$with_fds" 3:u:"$work/in"
refused "a socket that does not exist" "No such file" "$with_fds" 3:u:"$work/private/missing.sock"
refused "a relative path" "is not FD:MODE:/PATH" "$with_fds" 3:u:page-server.sock
refused "an unknown mode" "unknown mode" "$with_fds" 3:x:"$socket"

# A TCP connection to a port on the loopback (t), as the agent hands `criu dump --ps-socket` the page
# relay before CRIU enters a job's own network namespace.
python3 - "$work/tcp-port" "$work/tcp-connections" <<'PY' &
import socket, sys
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(1)
open(sys.argv[1], "w").write(str(server.getsockname()[1]))
connection, peer = server.accept()
connection.sendall(b"pong\n")
received = connection.recv(4096)
open(sys.argv[2], "w").write(peer[0] + " " + received.decode().strip() + "\n")
PY
tcp_listener=$!
for _ in $(seq 50); do [ -s "$work/tcp-port" ] && break; sleep 0.1; done
port=$(cat "$work/tcp-port")
answer=$("$with_fds" 4:t:"$port" -- sh -c 'echo ping >&4; head -n1 <&4')
[ "$answer" = pong ] || fail "the TCP connection did not carry the listener's answer: '$answer'"
wait "$tcp_listener"
[ "$(cat "$work/tcp-connections")" = "127.0.0.1 ping" ] || fail "the TCP listener got: $(cat "$work/tcp-connections")"
log "tcp: connected to 127.0.0.1:$port on descriptor 4, both ways"
refused "a port that is not a number" "is not a TCP port" "$with_fds" 4:t:http
refused "a port out of range" "is not a TCP port" "$with_fds" 4:t:70000
refused "a port nobody listens on" "cannot connect to 127.0.0.1:$port" "$with_fds" 4:t:"$port"

# Another user cannot reach root's socket, not even with the name in hand; the listener sees nothing.
chmod 0755 "$work"
status=0
setpriv --reuid="$TEST_USER" --regid="$(id -g "$TEST_USER")" --clear-groups \
    "$with_fds" 3:u:"$socket" -- sh -c 'echo intruder >&3' 2>"$work/stderr" || status=$?
[ "$status" -eq 125 ] && grep -q "Permission denied" "$work/stderr" \
    || fail "$TEST_USER was not refused (exit $status): $(cat "$work/stderr")"
sleep 0.2
[ "$(grep -c . "$work/connections")" -eq 1 ] || fail "the listener got a connection from $TEST_USER: $(cat "$work/connections")"
log "refused: $TEST_USER connecting to root's socket"
log "all passed"
