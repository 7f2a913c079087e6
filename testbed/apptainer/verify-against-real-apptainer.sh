#!/bin/bash
# verify-against-real-apptainer.sh [APPTAINER]
#
# Run this on a node WITH the real Apptainer, as root (the mode the double imitates; as a user it
# still runs and reports the differences of that mode). It needs siftool + mksquashfs (to build
# the same test image the double uses; that real Apptainer accepts this image is itself checked)
# and python3. It starts a real instance with a bind mount and compares what real Apptainer does
# with what the double ASSUMES: `instance list --json` fields and layout, the instance file's place
# and keys, log places, the process layout (master -> sinit as PID 1 of new PID/mount/IPC
# namespaces), exec instance://, instance stop. Every mismatch is printed as "DIFF: ..."; raw
# outputs are kept in the printed directory. Exit status: 0 if no difference, 1 otherwise.
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
AP=${1:-apptainer}
command -v "$AP" >/dev/null || { echo "no $AP on this node" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 needed" >&2; exit 2; }

out=$(mktemp -d /tmp/apptainer-verify.XXXXXX)
name=lbverify$$
diffs=0 same=0
diff_() { diffs=$((diffs + 1)); echo "DIFF: $*"; }
same_() { same=$((same + 1)); echo "same: $*"; }
expect() { # WHAT GOT EXPECTED
  if [[ $2 == "$3" ]]; then same_ "$1"; else diff_ "$1: real=[$2] double assumes=[$3]"; fi
}
cleanup() { "$AP" instance stop "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
echo "raw outputs in $out"

v=$("$AP" --version 2>&1 | tee "$out/version")
if [[ $v =~ ^apptainer\ version\ [0-9]+\.[0-9]+\.[0-9]+ ]]; then same_ "--version format ($v)"; else diff_ "--version: real=[$v] double prints 'apptainer version X.Y.Z'"; fi

"$here/build-test-image.sh" "$out/test.sif" >"$out/build.log" 2>&1 || { echo "could not build the test image (see $out/build.log)" >&2; exit 2; }
mkdir -p "$out/bind"
echo "marker-$$" >"$out/bind/marker"

# --pid on instance start: the double accepts and ignores it (instances always get a PID namespace).
if "$AP" instance start --help 2>&1 | grep -q -- '--pid '; then pidflag=accepted; else pidflag=absent; fi
echo "instance start --pid flag: $pidflag (the double accepts it as a no-op)" | tee "$out/pidflag"

(cd "$out" && "$AP" instance start --bind "$out/bind:/data" "$out/test.sif" "$name" first second) >"$out/start.out" 2>"$out/start.err"
rc=$?
expect "instance start of the double's SIF exits 0" "$rc" 0
expect "instance start stderr" "$(grep -v '^DEBUG\|^VERBOSE' "$out/start.err")" "INFO:    instance started successfully"
((rc == 0)) || { echo "real Apptainer did not start the image; stopping here"; exit 1; }

"$AP" instance list --json >"$out/list.json"
"$AP" instance list >"$out/list.txt"
"$AP" instance list --logs >"$out/list-logs.txt"
python3 - "$out/list.json" "$name" "$out/test.sif" >"$out/list-check" <<'EOF'
import json, sys
raw = open(sys.argv[1]).read()
d = json.loads(raw)
i = [x for x in d.get("instances", []) if x.get("instance") == sys.argv[2]]
print("keys", list(i[0].keys()) if i else None)
print("pid", i[0]["pid"] if i else "")
print("img", i[0]["img"] if i else "")
print("ip", repr(i[0]["ip"]) if i else "")
print("logErrPath", i[0]["logErrPath"] if i else "")
print("logOutPath", i[0]["logOutPath"] if i else "")
print("tabindent", raw.startswith('{\n\t"instances": [\n\t\t{\n\t\t\t"instance": '))
print("toplevel", list(d.keys()))
EOF
get() { sed -n "s/^$1 //p" "$out/list-check"; }
expect "instance list --json top-level keys" "$(get toplevel)" "['instances']"
expect "instance list --json per-instance keys, in order" "$(get keys)" "['instance', 'pid', 'img', 'ip', 'logErrPath', 'logOutPath']"
expect "instance list --json is indented with tabs (Go json.Encoder SetIndent)" "$(get tabindent)" True
expect "instance list --json img is the absolute image path" "$(get img)" "$out/test.sif"
expect "instance list --json ip without a network" "$(get ip)" "''"
pid=$(get pid)
cfg=${APPTAINER_CONFIGDIR:-$HOME/.apptainer}
host=$(uname -n) user=$(id -un)
expect "logOutPath" "$(get logOutPath)" "$cfg/instances/logs/$host/$user/$name.out"
expect "logErrPath" "$(get logErrPath)" "$cfg/instances/logs/$host/$user/$name.err"
expect "instance list header" "$(head -1 "$out/list.txt")" "INSTANCE NAME    PID      IP    IMAGE"
expect "instance list --logs header" "$(head -1 "$out/list-logs.txt")" "INSTANCE NAME    PID      LOGS"

state=$cfg/instances/app/$host/$user/$name/$name.json
if [[ -f $state ]]; then
  same_ "instance file at $state"
  cp "$state" "$out/instance.json"
  keys=$(python3 -c 'import json,sys; print(list(json.load(open(sys.argv[1])).keys()))' "$state")
  expect "instance file keys, in order" "$keys" "['pid', 'ppid', 'name', 'user', 'image', 'config', 'userns', 'cgroup', 'ip', 'logErrPath', 'logOutPath', 'checkpoint']"
  python3 -c 'import json,sys,base64; print(base64.b64decode(json.load(open(sys.argv[1]))["config"]).decode())' "$state" >"$out/instance-config.json" 2>/dev/null
  echo "      (the double writes only a small subset of the engine config; the real one is in $out/instance-config.json)"
  ppid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ppid"])' "$state")
  expect "instance file pid == list pid" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$state")" "$pid"
  expect "instance file compact (one line, no spaces after ':')" "$(head -c 7 "$state")" '{"pid":'
else
  diff_ "no instance file at $state (the double writes it there); found: $(find "$cfg/instances" -name "$name.json" 2>/dev/null)"
  ppid=$(awk '/^PPid:/ {print $2}' /proc/"$pid"/status)
fi

# Process layout.
expect "master cmdline" "$(tr '\0' '|' </proc/"$ppid"/cmdline)" "Apptainer instance: $user [$name]|"
expect "master is the container process's parent" "$(awk '/^PPid:/ {print $2}' /proc/"$pid"/status)" "$ppid"
expect "master in the host PID namespace" "$(readlink /proc/"$ppid"/ns/pid)" "$(readlink /proc/self/ns/pid)"
expect "master is a session leader" "$(awk '{print $6}' /proc/"$ppid"/stat)" "$ppid"
expect "container process comm" "$(cat /proc/"$pid"/comm)" sinit
expect "container process cmdline" "$(tr '\0' '|' </proc/"$pid"/cmdline | sed 's/|*$//')" sinit
expect "container process is PID 1 in its namespace" "$(awk '/^NSpid:/ {print $NF}' /proc/"$pid"/status)" 1
for ns in pid mnt ipc; do
  expect "new $ns namespace" "$([[ $(readlink /proc/"$pid"/ns/$ns) != "$(readlink /proc/self/ns/$ns)" ]] && echo new || echo host)" new
done
for ns in net uts user cgroup; do
  expect "$ns namespace" "$([[ $(readlink /proc/"$pid"/ns/$ns) != "$(readlink /proc/self/ns/$ns)" ]] && echo new || echo host)" host
done
kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null | xargs)
expect "sinit's children (the startscript only)" "$(wc -w <<<"$kids")" 1
kid=${kids%% *}
[[ -n $kid ]] && expect "startscript child leads its own process group" "$(awk '{print $5}' /proc/"$kid"/stat)" "$kid"
[[ -n $kid ]] && echo "      startscript child cmdline: $(tr '\0' ' ' </proc/"$kid"/cmdline)"
echo "      sinit exe: $(readlink /proc/"$pid"/exe)   (the double: its own starter binary, also outside the container)"
cat /proc/"$pid"/mountinfo >"$out/sinit-mountinfo"
echo "      container root: $(awk '$5 == "/" {print $9, $10, $6}' "$out/sinit-mountinfo" | head -1)"
expect "sinit sees the bind" "$(cat /proc/"$pid"/root/data/marker 2>/dev/null)" "marker-$$"
ls -l /proc/"$pid"/fd >"$out/sinit-fds" 2>&1
expect "sinit stdout is the .out log" "$(readlink /proc/"$pid"/fd/1)" "$cfg/instances/logs/$host/$user/$name.out"
expect "sinit stdin" "$(readlink /proc/"$pid"/fd/0)" /dev/null
sleep 1
cp "$cfg/instances/logs/$host/$user/$name.out" "$out/log.out" 2>/dev/null
cp "$cfg/instances/logs/$host/$user/$name.err" "$out/log.err" 2>/dev/null
expect "startscript stdout in the .out log, unprefixed" "$(grep -c '^startscript: pid 2 args: first second$' "$out/log.out" 2>/dev/null)" 1
expect "startscript stderr in the .err log, unprefixed" "$(grep -c '^startscript: this line goes to the error log$' "$out/log.err" 2>/dev/null)" 1
loops=$(for d in /sys/block/loop*/loop/backing_file; do [[ -r $d && $(cat "$d") == "$out/test.sif" ]] && echo "${d%/loop/backing_file}"; done)
expect "one loop device backs the image" "$(wc -w <<<"$loops")" 1
for l in $loops; do expect "loop device autoclear" "$(cat "$l/loop/autoclear")" 1; expect "loop device read-only" "$(cat "$l/ro")" 1; done

# exec instance://
expect "exec instance:// reads the bind" "$("$AP" exec "instance://$name" cat /data/marker 2>/dev/null)" "marker-$$"
expect "exec instance:// sees sinit as PID 1" "$("$AP" exec "instance://$name" cat /proc/1/comm 2>/dev/null)" sinit
expect "exec instance:// parent pid inside" "$("$AP" exec "instance://$name" sh -c 'echo $PPID' 2>/dev/null)" 0
"$AP" exec "instance://$name" sh -c 'exit 7' 2>/dev/null
expect "exec instance:// exit status" "$?" 7
expect "exec instance:// root read-only" "$("$AP" exec "instance://$name" sh -c 'touch /x 2>/dev/null && echo rw || echo ro' 2>/dev/null)" ro
"$AP" exec "instance://$name" env >"$out/exec-env" 2>&1
"$AP" exec "instance://$name" cat /proc/self/mountinfo >"$out/exec-mountinfo" 2>&1

# stop
"$AP" instance stop "$name" >"$out/stop.out" 2>"$out/stop.err"
expect "instance stop exit status" "$?" 0
expect "instance stop message" "$(grep -v '^DEBUG\|^VERBOSE' "$out/stop.err")" "INFO:    Stopping $name instance of $out/test.sif (PID=$pid)"
sleep 1
expect "instance directory removed" "$([[ -e $(dirname "$state") ]] && echo present || echo gone)" gone
expect "logs kept" "$([[ -e $cfg/instances/logs/$host/$user/$name.out ]] && echo kept || echo gone)" kept
alive() { [[ -d /proc/$1 && $(awk '/^State:/ {print $2}' /proc/"$1"/status 2>/dev/null) != Z ]]; }
for _ in $(seq 50); do alive "$ppid" || break; sleep 0.1; done
expect "master gone (a zombie counts as gone)" "$(alive "$ppid" && echo alive || echo gone)" gone
loops=$(for d in /sys/block/loop*/loop/backing_file; do [[ -r $d && $(cat "$d") == "$out/test.sif" ]] && echo x; done)
expect "loop device released" "$(wc -w <<<"$loops")" 0
rm -f "$cfg/instances/logs/$host/$user/$name".{out,err}

echo "$same same, $diffs different (raw outputs: $out)"
((diffs == 0))
