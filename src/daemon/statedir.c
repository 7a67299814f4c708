/* statedir.c: the state directory, walked safely (see statedir.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statedir.h"

/* As many links as the kernel follows in one path. */
#define MAX_LINKS 40

enum walk_mode { WALK_OPEN, WALK_CREATE, WALK_CHECK };

struct walk {
	const char *dir; /* as configured, for messages */
	char *msg;
	size_t msglen;
	uid_t euid;
	char at[PATH_MAX]; /* the directory walked so far, for messages */
	char rest[PATH_MAX];
	size_t pos; /* in rest */
	int cur;    /* the directory at */
	int links;
};

static int say(struct walk *w, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int say(struct walk *w, int err, const char *fmt, ...)
{
	va_list ap;

	if (w->msg && w->msglen) {
		va_start(ap, fmt);
		vsnprintf(w->msg, w->msglen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static bool trusted_owner(const struct walk *w, uid_t uid)
{
	return uid == 0 || uid == w->euid;
}

/* A directory on the way: nobody but root and us may change what it holds. */
static int check_ancestor(struct walk *w, const struct stat *st)
{
	if (!trusted_owner(w, st->st_uid))
		return say(w, -EPERM,
			   "state_dir %s: %s belongs to uid %u, neither root nor the "
			   "daemon's user (uid %u): that user could replace what lies "
			   "under it",
			   w->dir, w->at, (unsigned)st->st_uid, (unsigned)w->euid);
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
		return say(w, -EPERM,
			   "state_dir %s: %s is writable by its group or others (mode "
			   "%04o) and not sticky: another user could replace what lies "
			   "under it",
			   w->dir, w->at, (unsigned)(st->st_mode & 07777));
	return 0;
}

/* The state directory itself: ours alone. */
static int check_final(struct walk *w, const struct stat *st)
{
	if (st->st_uid != w->euid)
		return say(w, -EPERM,
			   "state_dir %s belongs to uid %u, not to the daemon's user "
			   "(uid %u): refusing to keep state there (chown it, or remove "
			   "it and let wg-rtsync make it)",
			   w->dir, (unsigned)st->st_uid, (unsigned)w->euid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return say(w, -EPERM,
			   "state_dir %s is writable by its group or others (mode %04o): "
			   "refusing to keep state there (chmod go-w %s)",
			   w->dir, (unsigned)(st->st_mode & 07777), w->dir);
	return 0;
}

/* The next component of the rest into comp; false at the end. last tells
 * whether only slashes follow it. */
static bool next_component(struct walk *w, char *comp, size_t len, bool *last)
{
	const char *s = w->rest + w->pos, *end;
	size_t n;

	while (*s == '/')
		s++;
	if (!*s)
		return false;
	end = strchrnul(s, '/');
	n = (size_t)(end - s);
	if (n >= len)
		n = len - 1; /* longer than NAME_MAX: openat says ENAMETOOLONG */
	memcpy(comp, s, n);
	comp[n] = '\0';
	w->pos = (size_t)(end - w->rest);
	while (*end == '/')
		end++;
	*last = !*end;
	return true;
}

static void at_enter(struct walk *w, const char *comp)
{
	size_t len = strlen(w->at);
	char *slash;

	if (!strcmp(comp, "..")) {
		slash = strrchr(w->at, '/');
		if (slash)
			slash[slash == w->at] = '\0';
		return;
	}
	snprintf(w->at + len, sizeof(w->at) - len, "%s%s", len > 1 ? "/" : "", comp);
}

static int open_root(struct walk *w)
{
	if (w->cur >= 0)
		close(w->cur);
	w->cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(w->at, sizeof(w->at), "/");
	return w->cur < 0 ? say(w, -errno, "state_dir %s: opening /: %s", w->dir,
				strerror(errno))
			  : 0;
}

/* Follows the link comp in the current directory, which is trusted: only
 * the link's owner could have made it point elsewhere. */
static int follow(struct walk *w, const char *comp, const struct stat *st)
{
	char target[PATH_MAX], rest[PATH_MAX];
	ssize_t n;
	int len;

	if (++w->links > MAX_LINKS)
		return say(w, -ELOOP, "state_dir %s: too many symbolic links", w->dir);
	if (!trusted_owner(w, st->st_uid))
		return say(w, -EPERM,
			   "state_dir %s: the symbolic link %s%s%s belongs to uid %u, "
			   "neither root nor the daemon's user: refusing to follow it",
			   w->dir, w->at, strlen(w->at) > 1 ? "/" : "", comp,
			   (unsigned)st->st_uid);
	n = readlinkat(w->cur, comp, target, sizeof(target) - 1);
	if (n < 0)
		return say(w, -errno, "state_dir %s: reading the link %s: %s", w->dir,
			   comp, strerror(errno));
	target[n] = '\0';
	len = snprintf(rest, sizeof(rest), "%s/%s", target, w->rest + w->pos);
	if (len < 0 || (size_t)len >= sizeof(rest))
		return say(w, -ENAMETOOLONG, "state_dir %s: path too long", w->dir);
	memcpy(w->rest, rest, (size_t)len + 1);
	w->pos = 0;
	return target[0] == '/' ? open_root(w) : 0;
}

/* Looks comp up in the current directory, making it when it is missing and
 * the mode says so. 1: it is missing (WALK_CHECK, or WALK_OPEN: -ENOENT). */
static int look_up(struct walk *w, const char *comp, enum walk_mode mode, struct stat *st)
{
	for (int tries = 0; tries < 2; tries++) {
		if (!fstatat(w->cur, comp, st, AT_SYMLINK_NOFOLLOW))
			return 0;
		if (errno != ENOENT)
			break;
		if (mode == WALK_CHECK)
			return 1;
		if (mode == WALK_OPEN)
			return say(w, -ENOENT, "state_dir %s does not exist", w->dir);
		/* Made by someone else in between (EEXIST): look again. */
		if (mkdirat(w->cur, comp, 0700) && errno != EEXIST)
			return say(w, -errno, "cannot create state directory %s: %s",
				   w->dir, strerror(errno));
	}
	return say(w, -errno, "state_dir %s: %s%s%s: %s", w->dir, w->at,
		   strlen(w->at) > 1 ? "/" : "", comp, strerror(errno));
}

/* One step down into the directory comp (not a link). */
static int enter(struct walk *w, const char *comp, bool last)
{
	struct stat st;
	int fd = openat(w->cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	at_enter(w, comp);
	if (fd < 0)
		return say(w, -errno, "state_dir %s: %s: %s", w->dir, w->at,
			   errno == ENOTDIR ? "not a directory" : strerror(errno));
	close(w->cur);
	w->cur = fd;
	if (fstat(fd, &st))
		return say(w, -errno, "state_dir %s: %s: %s", w->dir, w->at,
			   strerror(errno));
	return last ? check_final(w, &st) : check_ancestor(w, &st);
}

static int walk(const char *dir, enum walk_mode mode, char *msg, size_t msglen)
{
	struct walk w = {.dir = dir, .msg = msg, .msglen = msglen, .cur = -1};
	char comp[NAME_MAX + 2];
	bool last, final_checked = false;
	struct stat st;
	int r, fd;

	w.euid = geteuid();
	if (msg && msglen)
		msg[0] = '\0';
	if (!dir || dir[0] != '/')
		return say(&w, -EINVAL, "state_dir %s: not an absolute path",
			   dir ? dir : "(none)");
	if (strlen(dir) >= sizeof(w.rest))
		return say(&w, -ENAMETOOLONG, "state_dir %s: path too long", dir);
	strcpy(w.rest, dir);
	r = open_root(&w);
	if (!r && !fstat(w.cur, &st))
		r = check_ancestor(&w, &st);
	while (!r && next_component(&w, comp, sizeof(comp), &last)) {
		if (!strcmp(comp, "."))
			continue;
		r = look_up(&w, comp, mode, &st);
		if (r == 1) { /* missing: we would make the rest */
			close(w.cur);
			return 0;
		}
		if (!r && S_ISLNK(st.st_mode))
			r = follow(&w, comp, &st);
		else if (!r)
			r = enter(&w, comp, last);
		final_checked = !r && last && !S_ISLNK(st.st_mode);
	}
	/* "/" itself, a path ending in "." or in a link: where the walk ended. */
	if (!r && !final_checked)
		r = fstat(w.cur, &st) ? -errno : check_final(&w, &st);
	if (r || mode == WALK_CHECK) {
		close(w.cur);
		return r;
	}
	/* The walk holds an O_PATH descriptor; callers read and sync. */
	fd = openat(w.cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		r = say(&w, -errno, "state_dir %s: %s", dir, strerror(errno));
	close(w.cur);
	return fd < 0 ? r : fd;
}

int statedir_open(const char *dir, bool create, char *msg, size_t msglen)
{
	return walk(dir, create ? WALK_CREATE : WALK_OPEN, msg, msglen);
}

int statedir_check(const char *dir, char *msg, size_t msglen)
{
	return walk(dir, WALK_CHECK, msg, msglen);
}
