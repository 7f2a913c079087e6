#!/bin/bash
# test-double.sh — self-test of the Apptainer test double (root). Builds a SIF, starts an instance
# with a bind mount, checks `instance list`, the instance file, the process layout and namespaces,
# `exec instance://`, stops it and checks that nothing is left behind (processes, mounts, loop
# devices, instance files). Prints "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
A=$here/apptainer
[[ $(id -u) == 0 ]] || exec sudo -E "$0" "$@"

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
ko() { fail=$((fail + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else ko "$what"; fi; }
eq() { [[ $1 == "$2" ]] || { echo "       expected [$2], got [$1]" >&2; return 1; }; }

missing=()
for p in siftool:siftool mksquashfs:squashfs-tools nsenter:util-linux; do
  command -v "${p%%:*}" >/dev/null || missing+=("${p#*:}")
done
[[ -x /bin/busybox ]] || missing+=(busybox-static)
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null || { echo "cannot install ${missing[*]}" >&2; exit 1; }
fi
make -s -C "$here" starter || exit 1

work=$(mktemp -d /tmp/apptainer-double-test.XXXXXX)
name=lbtest$$
host=$(uname -n)
statedir=/root/.apptainer/instances/app/$host/root/$name
logdir=/root/.apptainer/instances/logs/$host/root
cleanup() {
  "$A" instance stop "$name" >/dev/null 2>&1 || true
  "$A" instance stop "${name}b" >/dev/null 2>&1 || true
  rm -f "$logdir/$name".{out,err} "$logdir/${name}b".{out,err}
  rm -rf "$work" "/root/.apptainer/instances/app/$host/root/ghost$$"
}
trap cleanup EXIT

loops_for() { # loop devices backed by FILE
  local d
  for d in /sys/block/loop*/loop/backing_file; do
    [[ -r $d ]] && [[ $(cat "$d") == "$1" ]] && echo "${d%/loop/backing_file}"
  done
}

echo "# building the test image"
check "build-test-image.sh builds a SIF" bash -c "'$here/build-test-image.sh' '$work/test.sif' >/dev/null"
check "the SIF's root file system is the primary squashfs partition" \
  bash -c "siftool list '$work/test.sif' | grep -q 'FS (Squashfs/\*System/amd64)'"
check "the SIF carries the definition file with the %startscript" \
  bash -c "siftool dump 1 '$work/test.sif' | grep -q '^%startscript'"

check "--version prints 'apptainer version X.Y.Z'" bash -c "'$A' --version | grep -Eqx 'apptainer version [0-9]+\.[0-9]+\.[0-9]+'"

mkdir -p "$work/bind"
echo "marker-$$" >"$work/bind/marker"
pre_loops=$(loops_for "$work/test.sif" | wc -l)

echo "# instance start"
out=$(cd "$work" && "$A" instance start --bind "$work/bind:/data" "$work/test.sif" "$name" first second 2>&1)
check "instance start succeeds" eq "$?" 0
check "instance start says 'instance started successfully'" eq "$out" "INFO:    instance started successfully"
check "a second instance with the same name is refused" bash -c "! '$A' instance start '$work/test.sif' '$name' 2>/dev/null"

json=$("$A" instance list --json)
if command -v python3 >/dev/null; then
  check "instance list --json is valid JSON with the Apptainer 1.x fields" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
i = [x for x in d["instances"] if x["instance"] == sys.argv[2]]
assert len(i) == 1, i
assert list(i[0].keys()) == ["instance", "pid", "img", "ip", "logErrPath", "logOutPath"], list(i[0].keys())
assert isinstance(i[0]["pid"], int) and i[0]["img"] == sys.argv[3] and i[0]["ip"] == ""
' "$json" "$name" "$work/test.sif"
fi
pid=$(grep -A2 "\"instance\": \"$name\"" <<<"$json" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
check "instance list --json gives the instance's pid" test -n "$pid"
check "instance list (text) shows the instance" bash -c "'$A' instance list | grep -Eq '^$name +$pid +/'"
check "instance list --json is tab-indented like Go's encoder" bash -c "printf '%s' '$json' | grep -q \$'^\t\"instances\": \\['"

state=$statedir/$name.json
check "instance file at ~/.apptainer/instances/app/HOST/USER/NAME/NAME.json" test -f "$state"
check "instance file keys in Apptainer's order" bash -c \
  "grep -q '^{\"pid\":$pid,\"ppid\":[0-9]*,\"name\":\"$name\",\"user\":\"root\",\"image\":\"$work/test.sif\",\"config\":\"[A-Za-z0-9+/=]*\",\"userns\":false,\"cgroup\":false,\"ip\":\"\",\"logErrPath\":\"$logdir/$name.err\",\"logOutPath\":\"$logdir/$name.out\",\"checkpoint\":\"\"}\$' '$state'"
ppid=$(sed -n 's/.*"ppid":\([0-9]*\).*/\1/p' "$state")

echo "# process layout"
check "master (ppid) is named 'Apptainer instance: root [NAME]'" eq "$(tr '\0' '|' </proc/"$ppid"/cmdline)" "Apptainer instance: root [$name]|"
check "master is the parent of the container process" eq "$(awk '/^PPid:/ {print $2}' /proc/"$pid"/status)" "$ppid"
check "master runs in the host PID namespace" eq "$(readlink /proc/"$ppid"/ns/pid)" "$(readlink /proc/self/ns/pid)"
check "master runs in the host mount namespace" eq "$(readlink /proc/"$ppid"/ns/mnt)" "$(readlink /proc/self/ns/mnt)"
check "container process is 'sinit'" eq "$(cat /proc/"$pid"/comm)" "sinit"
check "sinit is PID 1 of a new PID namespace" eq "$(awk '/^NSpid:/ {print $NF}' /proc/"$pid"/status)" 1
check "sinit has its own PID namespace" test "$(readlink /proc/"$pid"/ns/pid)" != "$(readlink /proc/self/ns/pid)"
check "sinit has its own mount namespace" test "$(readlink /proc/"$pid"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)"
check "sinit has its own IPC namespace" test "$(readlink /proc/"$pid"/ns/ipc)" != "$(readlink /proc/self/ns/ipc)"
check "sinit shares the host network namespace" eq "$(readlink /proc/"$pid"/ns/net)" "$(readlink /proc/self/ns/net)"
kids=$(cat /proc/"$pid"/task/*/children)
check "sinit has exactly one child (the startscript)" eq "$(wc -w <<<"$kids")" 1
kid=${kids// /}
check "the startscript child is its own process group" eq "$(awk '{print $5}' /proc/"$kid"/stat)" "$kid"
check "the startscript got the instance arguments" bash -c "sleep 0.2; grep -q 'startscript: pid 2 args: first second' '$logdir/$name.out'"
check "the startscript's stderr went to the .err log" grep -q 'goes to the error log' "$logdir/$name.err"
check "sinit sees the bind mount (/proc/PID/root/data)" eq "$(cat /proc/"$pid"/root/data/marker 2>/dev/null)" "marker-$$"
check "sinit's root is the image (/.singularity.d/startscript)" test -x /proc/"$pid"/root/.singularity.d/startscript
check "the image is on a read-only loop device while running" bash -c "[[ \$(( \$(for d in /sys/block/loop*/loop/backing_file; do [[ -r \$d && \$(cat \$d) == '$work/test.sif' ]] && echo x; done | wc -l) - $pre_loops )) -ge 1 ]]"
check "no container mount leaked into the host mount namespace" bash -c "! grep -q -e '/var/lib/apptainer/mnt/session' -e ' /data ' /proc/self/mountinfo"

echo "# exec instance://"
out=$("$A" exec "instance://$name" cat /data/marker 2>&1)
check "exec instance:// reads the bind" eq "$out" "marker-$$"
out=$("$A" exec "instance://$name" sh -c 'cat /proc/1/comm; echo $PPID; readlink /proc/self/ns/pid' 2>&1)
check "exec instance:// runs in the instance's PID namespace (PID 1 is sinit)" eq "$(sed -n 1p <<<"$out")" "sinit"
check "exec instance:// joins the same PID namespace as sinit" eq "$(sed -n 3p <<<"$out")" "$(readlink /proc/"$pid"/ns/pid)"
"$A" exec "instance://$name" sh -c 'exit 7'
check "exec instance:// returns the command's exit status" eq "$?" 7
"$A" exec "instance://$name" sh -c 'echo written-inside > /data/from-container'
check "a write through the bind reaches the host" eq "$(cat "$work/bind/from-container" 2>/dev/null)" "written-inside"
check "the image root is read-only" bash -c "! '$A' exec 'instance://$name' touch /newfile 2>/dev/null"
check "\$HOME is bound into the instance" eq "$("$A" exec "instance://$name" sh -c 'test -d "$HOME" && echo yes' 2>&1)" "yes"
check "exec instance:// of an unknown instance fails" bash -c "! '$A' exec instance://nope$$ true 2>/dev/null"

echo "# a second instance (no bind, no startscript arguments)"
"$A" instance start "$work/test.sif" "${name}b" 2>/dev/null
check "two instances are listed" bash -c "[[ \$('$A' instance list --json | grep -c '\"instance\": \"$name') -eq 2 ]]"
pidb=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$statedir"b/"${name}b".json 2>/dev/null)
check "each instance has its own PID namespace" test "$(readlink /proc/"$pidb"/ns/pid)" != "$(readlink /proc/"$pid"/ns/pid)"
check "instance stop NAME stops only that one" bash -c "'$A' instance stop '${name}b' 2>/dev/null && [[ -d /proc/$pid ]]"

echo "# instance stop"
out=$("$A" instance stop "$name" 2>&1)
check "instance stop succeeds" eq "$?" 0
check "instance stop prints Apptainer's INFO line" eq "$out" "INFO:    Stopping $name instance of $work/test.sif (PID=$pid)"
gone() { for _ in $(seq 50); do [[ -d /proc/$1 && $(awk '/^State:/ {print $2}' /proc/"$1"/status 2>/dev/null) != Z ]] || return 0; sleep 0.1; done; return 1; }
check "sinit is gone" gone "$pid"
check "the startscript is gone" gone "$kid"
check "the master is gone" gone "$ppid"
check "the instance directory is gone" test ! -e "$statedir"
check "the logs stay (as with Apptainer)" test -f "$logdir/$name.out"
check "instance list --json is empty of it" bash -c "! '$A' instance list --json | grep -q '\"$name'"
sleep 0.2
check "no loop device left for the image" eq "$(loops_for "$work/test.sif" | wc -l)" "$pre_loops"
check "no process left with the instance's name" bash -c "! pgrep -f 'Apptainer instance: root \\[$name' >/dev/null"
check "stopping it again fails" bash -c "! '$A' instance stop '$name' 2>/dev/null"

echo "# Apptainer behaviours the double imitates"
gdir=/root/.apptainer/instances/app/$host/root/ghost$$
mkdir -p "$gdir"
printf '{"pid":999999,"ppid":999999,"name":"ghost%s","user":"root","image":"/x.sif","config":"","userns":false,"cgroup":false,"ip":"","logErrPath":"","logOutPath":"","checkpoint":""}' $$ >"$gdir/ghost$$.json"
"$A" instance list >/dev/null
check "a ghost instance file (master gone) is deleted by instance list" test ! -e "$gdir"
siftool dump 2 "$work/test.sif" >"$work/rootfs.squashfs"
siftool new "$work/sys.sif" >/dev/null
siftool add "$work/sys.sif" "$work/rootfs.squashfs" --datatype 4 --parttype 1 --partfs 1 --partarch 2 >/dev/null
check "an image whose squashfs is only a System (not PrimSys) partition is refused" bash -c "! '$A' instance start '$work/sys.sif' bad$$ 2>/dev/null"
check "an invalid instance name is refused" bash -c "! '$A' instance start '$work/test.sif' 'bad name' 2>/dev/null"

echo "$pass passed, $fail failed"
((fail == 0))
