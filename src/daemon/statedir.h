/* statedir.h: the state directory (docs/spec.md 6.1), opened so that no
 * other user can redirect what the daemon writes there. The daemon runs as
 * root: a state directory another user can write to, or reach through a
 * directory or symbolic link of theirs, would let them swap the state file
 * for a link to any file root then appends to, renames or replaces.
 *
 * The path is walked from "/" one component at a time, each opened
 * relative to the last (O_NOFOLLOW, so that nothing swapped in between two
 * steps is followed). A directory on the way must belong to root or to the
 * daemon's user (its effective uid) and be writable by nobody else, unless
 * its sticky bit is set (/tmp); a symbolic link is followed only when it
 * belongs to root or the daemon's user. The state directory itself must
 * belong to the daemon's user and be writable by neither its group nor
 * others. The caller then works relative to the returned descriptor. */
#ifndef WGRS_STATEDIR_H
#define WGRS_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>

/* Enough room for any message of these functions. */
#define STATEDIR_MSG_LEN 768

/* Opens dir (an absolute path) as an O_DIRECTORY descriptor, making missing
 * directories (mode 0700) when create is set. Returns the descriptor, or
 * -errno with one line in msg that names the path and, when refused, the
 * reason and the fix: -EPERM for a directory or link another user could
 * change, -ENOENT (without create) when it does not exist, -ENOTDIR, -ELOOP,
 * or what the system said. */
int statedir_open(const char *dir, bool create, char *msg, size_t msglen);

/* What statedir_open(dir, true, ...) would say, without making anything: 0
 * when dir is safe, or when the part of it that exists is safe to make the
 * rest in; else -errno and msg as above. */
int statedir_check(const char *dir, char *msg, size_t msglen);

#endif
