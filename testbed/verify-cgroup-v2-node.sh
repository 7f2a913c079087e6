#!/bin/bash
# verify-cgroup-v2-node.sh [--no-write] [JOBID]
#
# Run this as root on a compute node of a site that runs cgroup v2 with Slurm's cgroup/v2 plugin,
# while a job runs there (say `sbatch -w NODE --wrap 'sleep 600'`); JOBID defaults to the first
# job `scontrol listpids` shows on the node. The project's own machines run cgroup v1, so the v2
# paths of Lifeboat are tested only on recorded layouts (README: cgroup v2); this script checks
# the layout they assume on the real thing and prints each check as "same: ..." or "DIFF: ...":
#
#   - the node runs cgroup v2 alone: /sys/fs/cgroup is cgroup2, /proc/self/cgroup one 0:: line;
#   - Slurm runs cgroup/v2 (or autodetect, which picks it here) and proctrack/cgroup;
#   - every pid Slurm lists for the job is in /SLICE/slurmstepd.scope/job_JOBID/... (or
#     NODE_slurmstepd.scope), the one place Lifeboat takes for the job's cgroup on v2
#     (agent: container/ProcessCgroups.java, launcher: src/cgroup.c), and the job directory is root's;
#   - a task's cgroup is a leaf (no controllers enabled for children) below user/, which has some;
#   - root moves a process into that leaf by writing its cgroup.procs, and Slurm then lists it as
#     the job's (scontrol listpids), as the agent does with a restored container
#     (container/CgroupAdopter.java); a write into user/ is refused (the no-internal-process rule,
#     why the agent refuses a cgroup that is not a leaf). A probe `sleep` is moved and then killed;
#     --no-write skips these two checks;
#   - the agent's own cgroup, where CRIU restores a container until it is moved, is a leaf;
#   - Apptainer, if installed, would leave a user's instance in the job's cgroup.
#
# Raw outputs are kept in the printed directory. Exit status: 0 if nothing differs, 1 otherwise,
# 2 if the checks cannot run.
set -uo pipefail

write=yes
if [[ ${1:-} == --no-write ]]; then
  write=no
  shift
fi
job=${1:-}
cgroot=${CGROUP_ROOT:-/sys/fs/cgroup} # another only to try the script out on a v1 node's unified hierarchy

[[ $(id -u) -eq 0 ]] || { echo "run as root: the write checks move a process between cgroups" >&2; exit 2; }
command -v scontrol >/dev/null || { echo "no scontrol on this node" >&2; exit 2; }

out=$(mktemp -d /tmp/lifeboat-cgroup-v2.XXXXXX)
diffs=0 same=0
diff_() { diffs=$((diffs + 1)); echo "DIFF: $*"; }
same_() { same=$((same + 1)); echo "same: $*"; }
note() { echo "      $*"; }
expect() { # WHAT GOT EXPECTED
  if [[ $2 == "$3" ]]; then same_ "$1"; else diff_ "$1: real=[$2] Lifeboat assumes=[$3]"; fi
}
probe=
cleanup() { [[ -z $probe ]] || kill -KILL "$probe" 2>/dev/null || true; }
trap cleanup EXIT
echo "raw outputs in $out"

# The node.
expect "file system at $cgroot" "$(stat -f -c %T "$cgroot" 2>/dev/null)" cgroup2fs
cp /proc/self/cgroup "$out/self-cgroup"
expect "/proc/self/cgroup: lines, and the first one's hierarchy" \
  "$(awk 'END { print NR }' "$out/self-cgroup"), $(head -1 "$out/self-cgroup" | cut -d: -f1,2)" "1, 0:"
grep -E "^[^ ]+ [^ ]+ [^ ]+ [^ ]+ $cgroot " /proc/self/mountinfo >"$out/cgroup-mount"
note "mount: $(sed 's/.* - //' "$out/cgroup-mount")"

# Slurm's configuration.
scontrol show config >"$out/config" 2>&1
config() { awk -v key="$1" '$1 == key { sub(/^[^=]*= */, ""); print; exit }' "$out/config"; }
plugin=$(config CgroupPlugin)
if [[ -z $plugin ]]; then # not shown by this scontrol: cgroup.conf beside slurm.conf, autodetect by default
  plugin=$(awk -F= 'tolower($1) ~ /^ *cgroupplugin *$/ { gsub(/ /, "", $2); print $2 }' \
    "$(dirname "$(config SLURM_CONF)")/cgroup.conf" 2>/dev/null)
  plugin=${plugin:-autodetect}
fi
if [[ $plugin == cgroup/v2 || $plugin == autodetect ]]; then same_ "CgroupPlugin ($plugin)"; else diff_ "CgroupPlugin: real=[$plugin] Lifeboat assumes=[cgroup/v2]"; fi
expect "ProctrackType" "$(config ProctrackType)" proctrack/cgroup
note "TaskPlugin: $(config TaskPlugin)"

# The job's processes.
if [[ -z $job ]]; then
  scontrol listpids >"$out/listpids-all" 2>&1
  job=$(awk 'NR > 1 && $2 ~ /^[0-9]+$/ { print $2; exit }' "$out/listpids-all")
  [[ -n $job ]] || { echo "no job runs on this node (scontrol listpids: $(head -1 "$out/listpids-all")); start one" >&2; exit 2; }
fi
[[ $job =~ ^[0-9]+$ ]] || { echo "JOBID must be a number: $job" >&2; exit 2; }
echo "job $job"
scontrol listpids "$job" >"$out/listpids" 2>&1 || { echo "scontrol listpids $job: $(cat "$out/listpids")" >&2; exit 2; }
job_place="^0::/[^/]+/([^/]+_)?slurmstepd\\.scope/job_${job}(/|\$)"
task_pid= task_path= job_path=
while read -r pid _ step localid _; do
  [[ $pid =~ ^[0-9]+$ ]] || continue
  line=$(grep '^0::' "/proc/$pid/cgroup" 2>/dev/null) || continue
  echo "$pid $step $localid $line" >>"$out/job-cgroups"
  if [[ $line =~ $job_place ]]; then
    same_ "pid $pid (step $step) in ${line#0::}"
    [[ -n $job_path ]] || job_path=$(sed -E "s#^0::(/[^/]+/[^/]+/job_${job}).*#\\1#" <<<"$line")
    # A task's cgroup: the batch step's task 0 if there is one, else the first task seen.
    if [[ $line =~ /user/task_[0-9]+$ ]] && [[ -z $task_pid || ($step == batch && $localid == 0) ]]; then
      task_pid=$pid task_path=${line#0::}
    fi
  else
    diff_ "pid $pid (step $step): its cgroup is not where Slurm's cgroup/v2 puts job $job's processes: [$line]"
  fi
done <"$out/listpids"

if [[ -n $job_path ]]; then
  expect "owner of the job directory $cgroot$job_path" "$(stat -c %u "$cgroot$job_path")" 0
fi
if [[ -z $task_pid ]]; then
  diff_ "no pid of job $job in a .../user/task_N cgroup (is TaskPlugin=task/cgroup set? task_special holds tasks without it)"
else
  leaf=$cgroot$task_path
  echo "task pid $task_pid in $task_path"
  expect "controllers the task's cgroup enables for children (a leaf has none)" "$(cat "$leaf/cgroup.subtree_control")" ""
  note "controllers enabled below user/: [$(cat "$(dirname "$leaf")/cgroup.subtree_control")] (with none the leaf rule would not bite)"
  note "the job's memory.max: $(cat "$cgroot$job_path/memory.max" 2>/dev/null || echo none)"
  if [[ $write == yes ]]; then
    sleep 300 &
    probe=$!
    if echo "$probe" 2>"$out/write.err" >"$leaf/cgroup.procs"; then
      same_ "root wrote a pid into $leaf/cgroup.procs"
    else
      diff_ "root could not write a pid into $leaf/cgroup.procs: $(cat "$out/write.err")"
    fi
    expect "the probe's cgroup after the write" "$(grep '^0::' "/proc/$probe/cgroup")" "0::$task_path"
    scontrol listpids "$job" >"$out/listpids-after" 2>&1
    expect "Slurm lists the moved probe as job $job's (scontrol listpids)" \
      "$(awk -v pid="$probe" '$1 == pid { print "listed" }' "$out/listpids-after")" listed
    if echo "$probe" 2>"$out/internal.err" >"$(dirname "$leaf")/cgroup.procs"; then
      diff_ "root could put a process into $(dirname "$leaf"), which is not a leaf: the no-internal-process rule did not refuse it"
    else
      same_ "a write into $(dirname "$leaf")/cgroup.procs is refused ($(sed 's/.*: //' "$out/internal.err"))"
    fi
    kill -KILL "$probe" 2>/dev/null
    wait "$probe" 2>/dev/null
    probe=
  fi
fi

# The agent's cgroup: CRIU restores a container there (--manage-cgroups=ignore) until it is moved.
agent=$(systemctl show -p MainPID --value lifeboat-agent 2>/dev/null)
if [[ -n $agent && $agent != 0 ]]; then
  agent_path=$(sed -n 's/^0:://p' "/proc/$agent/cgroup")
  expect "controllers the agent's cgroup $agent_path enables for children" "$(cat "$cgroot$agent_path/cgroup.subtree_control")" ""
else
  note "lifeboat-agent is not running here: its cgroup is not checked"
fi

# Apptainer 1.2 and later start an instance in a cgroup of its own, outside the job's, when run by
# root, or by a user on cgroup v2 with `systemd cgroups = yes` and DBUS_SESSION_BUS_ADDRESS and
# XDG_RUNTIME_DIR set (its launcher's setCgroups): Lifeboat would not find the instance, and
# Slurm would not track it. Read from Apptainer's source, not observed on a node.
if command -v apptainer >/dev/null; then
  version=$(apptainer --version 2>/dev/null | awk '{ print $3 }')
  conf=$(apptainer buildcfg SYSCONFDIR 2>/dev/null)/apptainer/apptainer.conf
  systemd=$(awk -F= 'tolower($1) ~ /^ *systemd cgroups *$/ { gsub(/ /, "", $2); print $2 }' "$conf" 2>/dev/null)
  note "Apptainer $version, 'systemd cgroups = ${systemd:-yes (the default)}' in $conf"
  note "as root, Apptainer 1.2 and later always start an instance in a cgroup of its own: root's instances leave the job's cgroup"
  touch "$out/task-env"
  if [[ -n $task_pid ]]; then
    tr '\0' '\n' <"/proc/$task_pid/environ" | grep -E '^(DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR)=' >"$out/task-env"
  fi
  if [[ ${systemd:-yes} == yes && $(wc -l <"$out/task-env") -eq 2 ]] &&
    [[ $(printf '%s\n1.2.0\n' "$version" | sort -V | head -1) == 1.2.0 ]]; then
    diff_ "job $job's tasks have DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR and Apptainer $version uses systemd cgroups:" \
      "a user's instance would leave the job's cgroup (unset both in the job, or set 'systemd cgroups = no')"
  else
    same_ "a user's Apptainer instance would stay in the job's cgroup"
  fi
else
  note "no apptainer here"
fi

echo "$same same, $diffs different (raw outputs: $out)"
((diffs == 0))
