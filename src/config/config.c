/* config.c: the YAML configuration file, from its bytes to the settings of
 * each interface. The file is read whole (a regular file, bounded in size),
 * checked and converted as events by reader.c (libyaml, in two readings,
 * each linear in the size), the settings mappings by convert.c, and the
 * `interfaces:` entries here. Nothing of a refused file is kept. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "convert.h"
#include "vec.h"

/* 16 MiB holds about 180 000 peers with two gateways each; a larger file is
 * more likely a mistake (a log, a dump) than a configuration. */
#define MAX_FILE_SIZE (16u << 20)

/* An `interfaces:` entry: the keys it sets (mask) and their values. */
struct iface_override {
	char *pattern;
	uint32_t mask;
	struct settings values;
};

struct config {
	struct settings top;
	bool lists_interfaces;
	size_t n_overrides, cap_overrides;
	struct iface_override *overrides;
};

/* What loading `interfaces:` needs beyond the config it fills. */
struct interfaces_loader {
	struct config *c;
	void *patterns; /* of c->overrides: a tsearch tree */
};

/* ---- the file ---- */

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	return "another kind of file";
}

/* Reads to the end: the size fstat gave may have changed since. */
static int read_fd(struct reader *r, int fd, size_t size, struct buf *text)
{
	int ret = buf_read_fd(text, fd, size, MAX_FILE_SIZE);

	if (ret == -ENOMEM)
		return reader_fail(r, NULL, NULL, "out of memory");
	if (ret == -EFBIG)
		return reader_fail(r, NULL, NULL, "larger than 16 MiB");
	if (ret)
		return reader_fail(r, NULL, NULL, "cannot read: %s", strerror(-ret));
	return 0;
}

/* Reads path into text. Only a regular file is read: a FIFO or a device
 * could block the daemon for ever or never end, so the file is opened
 * without waiting and looked at before it is read. /dev/null reads as an
 * empty file (the built-in defaults), as `-c /dev/null` asks. */
static int read_file(struct reader *r, const char *path, struct buf *text)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY), ret;
	struct stat st;

	if (fd < 0)
		return reader_fail(r, NULL, NULL, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st))
		ret = reader_fail(r, NULL, NULL, "cannot read: %s", strerror(errno));
	else if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		ret = buf_append(text, "", 0)
			      ? reader_fail(r, NULL, NULL, "out of memory")
			      : 0;
	else if (!S_ISREG(st.st_mode))
		ret = reader_fail(r, NULL, NULL, "not a regular file (%s)",
				  file_kind(st.st_mode));
	else if (st.st_size > MAX_FILE_SIZE)
		ret = reader_fail(r, NULL, NULL, "larger than 16 MiB");
	else
		ret = read_fd(r, fd, (size_t)st.st_size, text);
	close(fd);
	return ret;
}

/* ---- interfaces ---- */

static int pattern_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* One entry; the reader is at its name. */
static int load_interface(struct reader *r, struct interfaces_loader *il)
{
	struct config *c = il->c;
	struct iface_override entry = {0}, *ov;
	char path[PATH_TEXT_LEN];
	const char *name;
	char **found = NULL;

	if (reader_key(r, "interfaces",
		       "an entry is named by an interface name or pattern", &name))
		return -1;
	if (!*name)
		return reader_fail(r, &r->ev.mark, "interfaces",
				   "an entry is named by an interface name or pattern");
	path_join(path, "interfaces", name);
	entry.pattern = strdup(name);
	if (entry.pattern)
		found = tsearch(entry.pattern, &il->patterns, pattern_cmp);
	if (found && *found != entry.pattern) {
		free(entry.pattern);
		return reader_fail(r, &r->ev.mark, path, "duplicate interface");
	}
	if (!found || vec_push(c->overrides, c->n_overrides, c->cap_overrides, entry)) {
		if (found)
			tdelete(entry.pattern, &il->patterns, pattern_cmp);
		free(entry.pattern);
		return reader_fail(r, &r->ev.mark, path, "out of memory");
	}
	c->lists_interfaces = true;
	ov = &c->overrides[c->n_overrides - 1];
	if (reader_next(r))
		return -1;
	if (event_is_null(&r->ev))
		return 0; /* listed, nothing overridden */
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return reader_fail(r, &r->ev.mark, path,
				   "expected a mapping of settings, not %s",
				   event_kind(&r->ev));
	return convert_settings(r, path, &ov->values, &ov->mask, NULL, NULL, NULL);
}

/* The top level's `interfaces:` (a convert_extra_fn). */
static int load_interfaces(struct reader *r, void *ctx)
{
	int more;

	if (event_is_null(&r->ev))
		return 0;
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return reader_fail(r, &r->ev.mark, "interfaces",
				   "expected a mapping of interface names, not %s",
				   event_kind(&r->ev));
	while ((more = reader_next_key(r)) > 0) {
		if (load_interface(r, ctx))
			return -1;
	}
	return more;
}

/* ---- the document ---- */

static void keep(void *p)
{
	(void)p;
}

static struct config *config_new(void)
{
	struct config *c = calloc(1, sizeof(*c));

	if (c && settings_defaults(&c->top)) {
		free(c);
		return NULL;
	}
	return c;
}

static int load_root(struct reader *r, struct config *c)
{
	struct interfaces_loader il = {.c = c};
	struct settings top;
	uint32_t mask;
	int ret;

	if (reader_check(r) || reader_start(r))
		return -1;
	if (r->ev.type == YAML_STREAM_END_EVENT || event_is_null(&r->ev))
		return 0; /* an empty file: the defaults */
	if (r->ev.type != YAML_MAPPING_START_EVENT)
		return reader_fail(r, &r->ev.mark, "top level",
				   "expected a mapping of settings, not %s",
				   event_kind(&r->ev));
	ret = convert_settings(r, "", &top, &mask, "interfaces", load_interfaces, &il);
	if (ret == 0 && settings_apply_keys(&c->top, &top, mask))
		ret = reader_fail(r, NULL, NULL, "out of memory");
	settings_free(&top);
	tdestroy(il.patterns, keep); /* the patterns are the entries' */
	return ret;
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	struct buf text = {0};
	struct reader r = {.file = path, .err = err, .errlen = errlen};
	struct config *c = NULL;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	ret = read_file(&r, path, &text);
	if (ret == 0) {
		r.text = text.data;
		r.len = text.len;
		c = config_new();
		ret = c ? load_root(&r, c) : reader_fail(&r, NULL, NULL, "out of memory");
	}
	reader_free(&r);
	free(text.data); /* buf_free is declared in buf.h, not defined */
	if (ret) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *config_default(void)
{
	return config_new();
}

void config_free(struct config *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_overrides; i++) {
		free(c->overrides[i].pattern);
		settings_free(&c->overrides[i].values);
	}
	free(c->overrides);
	settings_free(&c->top);
	free(c);
}

int config_settings_for(const struct config *c, const char *ifname, struct settings *out)
{
	size_t i;

	if (settings_copy(out, &c->top))
		return -ENOMEM;
	for (i = 0; i < c->n_overrides; i++) {
		const struct iface_override *ov = &c->overrides[i];

		if (fnmatch(ov->pattern, ifname, 0) != 0)
			continue;
		if (settings_apply_keys(out, &ov->values, ov->mask)) {
			settings_free(out);
			return -ENOMEM;
		}
	}
	return 0;
}

int config_settings_top(const struct config *c, struct settings *out)
{
	return settings_copy(out, &c->top) ? -ENOMEM : 0;
}

bool config_lists_interfaces(const struct config *c)
{
	return c->lists_interfaces;
}

bool config_manages(const struct config *c, const char *ifname)
{
	size_t i;

	if (!c->lists_interfaces)
		return true;
	for (i = 0; i < c->n_overrides; i++) {
		if (fnmatch(c->overrides[i].pattern, ifname, 0) == 0)
			return true;
	}
	return false;
}
