# Helpers shared by the launcher's CRIU tests. Sourced, never run; the caller sets $work (its
# temporary directory, one subdirectory per container holding manifest.copy.json) and defines
# fail MESSAGE.

PY=${PY:-/usr/bin/python3} # the one lifeboat-run's /usr bind provides inside a container

is_container_init() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q '^lifeboat-init --container-init '; }

now() { date +%s.%3N; }

elapsed() { "$PY" -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# wait_until SECONDS WHAT COMMAND...: until COMMAND succeeds, or fail naming WHAT.
wait_until() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || fail "timed out after ${seconds} s waiting for $what"
        sleep 0.1
    done
}

# make_root NAME DIR: the target's root, built from NAME's manifest skeleton as on the source:
# a tmpfs with every mount point, made read-only (CRIU restores the mounts onto it).
make_root() {
    local root=$2
    mkdir -p "$root"
    mount -t tmpfs -o mode=0755,nosuid,nodev lifeboat "$root"
    "$PY" - "$work/$1/manifest.copy.json" "$root" <<'PY'
import json, os, sys
manifest, root = json.load(open(sys.argv[1])), sys.argv[2]
for node in manifest["skeleton"]:
    path = root + node["path"]
    if node["type"] == "directory":
        os.mkdir(path, 0o755)
    elif node["type"] == "file":
        open(path, "x").close()
    else:
        os.symlink(node["target"], path)
PY
    mount -o remount,ro "$root"
}
