#!/bin/bash
# build-test-image.sh OUT.sif [STARTSCRIPT_FILE]
#
# Builds a real SIF image (siftool + mksquashfs, no Apptainer needed) from a busybox-static root
# file system laid out the way `apptainer build` lays out an image:
#
#   /.singularity.d/startscript      the definition file's %startscript ("#!/bin/sh" + body)
#   /.singularity.d/runscript        the %runscript
#   /.singularity.d/actions/{exec,run,shell,start,test}, /.singularity.d/env/*.sh,
#   /.singularity.d/labels.json, /.singularity.d/Singularity (the definition file)
#   /.exec /.run /.shell /singularity /environment   the legacy symlinks
#
# The SIF holds, like an image from `apptainer build`: the definition file (data type 1, Deffile)
# and the squashfs root file system as the primary system partition (data type 4, parttype 2
# PrimSys, squashfs, amd64). Real Apptainer (and the double, ./apptainer) find the startscript INSIDE the root file
# system at /.singularity.d/startscript, not in a SIF descriptor: the Deffile object is metadata
# only (what `apptainer inspect --deffile` prints).
#
# STARTSCRIPT_FILE, if given, replaces the default %startscript body.
set -euo pipefail

out=${1:?usage: build-test-image.sh OUT.sif [STARTSCRIPT_FILE]}
startbody=${2:-}
for tool in siftool mksquashfs; do
  command -v "$tool" >/dev/null || { echo "build-test-image.sh: $tool missing (apt-get install siftool squashfs-tools)" >&2; exit 1; }
done
busybox=/bin/busybox
[[ -x $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || busybox=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/busybox$' || true)
[[ -x ${busybox:-} ]] || { echo "build-test-image.sh: busybox-static missing (apt-get install busybox-static)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,var/tmp,home,root,mnt,opt,run}
chmod 1777 "$root/tmp" "$root/var/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
touch "$root/etc/hosts" "$root/etc/resolv.conf"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

# The definition file this image would have been built from.
if [[ -n $startbody ]]; then start=$(cat "$startbody"); else
  start='echo "startscript: pid $$ args: $*"
echo "startscript: this line goes to the error log" >&2
exec sleep 1000000'
fi
deffile=$work/Singularity
cat >"$deffile" <<EOF
Bootstrap: scratch

%labels
    org.lifeboat.testbed apptainer-double

%runscript
    exec /bin/sh "\$@"

%startscript
$(sed 's/^/    /' <<<"$start")
EOF

sd=$root/.singularity.d
mkdir -p "$sd"/{actions,env,libs}
printf '#!/bin/sh\n\n%s\n' "$start" >"$sd/startscript"
printf '#!/bin/sh\n\nexec /bin/sh "$@"\n' >"$sd/runscript"
chmod 755 "$sd/startscript" "$sd/runscript"
cp "$deffile" "$sd/Singularity"
cat >"$sd/labels.json" <<'EOF'
{
	"org.label-schema.build-arch": "amd64",
	"org.label-schema.schema-version": "1.0",
	"org.lifeboat.testbed": "apptainer-double"
}
EOF
printf '#!/bin/sh\nPATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\nexport PATH\n' >"$sd/env/01-base.sh"
printf '#!/bin/sh\n# Custom environment shell code should follow\n' >"$sd/env/90-environment.sh"
printf '#!/bin/sh\nPS1="Apptainer> "\nexport PS1\n' >"$sd/env/99-base.sh"
for a in exec run shell start test; do
  case $a in
    exec)  body='for __s in /.singularity.d/env/*.sh; do [ -f "$__s" ] && . "$__s"; done; exec "$@"' ;;
    run)   body='for __s in /.singularity.d/env/*.sh; do [ -f "$__s" ] && . "$__s"; done; exec /.singularity.d/runscript "$@"' ;;
    shell) body='for __s in /.singularity.d/env/*.sh; do [ -f "$__s" ] && . "$__s"; done; exec /bin/sh "$@"' ;;
    start) body='for __s in /.singularity.d/env/*.sh; do [ -f "$__s" ] && . "$__s"; done; [ -x /.singularity.d/startscript ] && exec /.singularity.d/startscript "$@"' ;;
    test)  body='exit 0' ;;
  esac
  printf '#!/bin/sh\n\n%s\n' "$body" >"$sd/actions/$a"
  chmod 755 "$sd/actions/$a"
done
ln -s .singularity.d/actions/exec "$root/.exec"
ln -s .singularity.d/actions/run "$root/.run"
ln -s .singularity.d/actions/shell "$root/.shell"
ln -s .singularity.d/runscript "$root/singularity"
ln -s .singularity.d/env/90-environment.sh "$root/environment"

mksquashfs "$root" "$work/rootfs.squashfs" -noappend -all-root -comp gzip -quiet >/dev/null

rm -f "$out"
siftool new "$out"
siftool add "$out" "$deffile" --datatype 1 --filename Singularity
# The root file system must be the PRIMARY system partition (--parttype 2, "*System" in
# `siftool list`): Apptainer only ever mounts the PartPrimSys partition as the container's root
# (pkg/image/sif.go); an image with only a --parttype 1 (System) partition does not run. (Adding
# with --parttype 1 and then `siftool setprim` also works, but siftool 2.8.3's setprim resets the
# descriptor's architecture to "unknown".)
siftool add "$out" "$work/rootfs.squashfs" --datatype 4 --parttype 2 --partfs 1 --partarch 2
siftool list "$out"
