/*
 * The kernel's mount API (fsopen, fsconfig, fsmount, move_mount, open_tree: Linux 5.2; mount_setattr:
 * 5.12) called through syscall(2), its constants and struct mount_attr from the kernel's own header.
 * glibc wraps these calls only since 2.36, and the distributions clusters run do not all have it
 * (RHEL 9 ships 2.34): the same calls then build everywhere, with one code path.
 */
#ifndef LIFEBOAT_MOUNT_API_H
#define LIFEBOAT_MOUNT_API_H

#include <linux/mount.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int lb_fsopen(const char *type, unsigned int flags)
{
	return (int)syscall(SYS_fsopen, type, flags);
}

static inline int lb_fsconfig(int context, unsigned int command, const char *key, const void *value, int aux)
{
	return (int)syscall(SYS_fsconfig, context, command, key, value, aux);
}

static inline int lb_fsmount(int context, unsigned int flags, unsigned int attributes)
{
	return (int)syscall(SYS_fsmount, context, flags, attributes);
}

static inline int lb_move_mount(int from_directory, const char *from_path, int to_directory, const char *to_path,
				unsigned int flags)
{
	return (int)syscall(SYS_move_mount, from_directory, from_path, to_directory, to_path, flags);
}

static inline int lb_open_tree(int directory, const char *path, unsigned int flags)
{
	return (int)syscall(SYS_open_tree, directory, path, flags);
}

static inline int lb_mount_setattr(int directory, const char *path, unsigned int flags, struct mount_attr *attributes,
				   size_t size)
{
	return (int)syscall(SYS_mount_setattr, directory, path, flags, attributes, size);
}

#endif
