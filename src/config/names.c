/* names.c: routing table and protocol names, read as iproute2 reads them.
 *
 * Search order for a name: the main file (/etc/iproute2/NAME, or when that is
 * missing /usr/share/iproute2/NAME), then NAME.d/ (*.conf files) under /etc/iproute2,
 * then NAME.d/ (*.conf) under /usr/share/iproute2 (skipping files that /etc
 * overrides by name), then the names iproute2 itself builds in. The first
 * match wins. Files are re-read on each call: lookups happen only while a
 * configuration is loaded. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

struct builtin_name {
	uint32_t id;
	const char *name;
};

static const struct builtin_name builtin_tables[] = {
	{0, "unspec"},
	{253, "default"},
	{254, "main"},
	{255, "local"},
};

/* iproute2's own table, so the names work on hosts without rt_protos. */
static const struct builtin_name builtin_protocols[] = {
	{0, "unspec"}, {1, "redirect"}, {2, "kernel"},	    {3, "boot"},
	{4, "static"}, {8, "gated"},	{9, "ra"},	    {10, "mrt"},
	{11, "zebra"}, {12, "bird"},	{13, "dnrouted"},   {14, "xorp"},
	{15, "ntk"},   {16, "dhcp"},	{18, "keepalived"}, {42, "babel"},
	{99, "openr"}, {186, "bgp"},	{187, "isis"},	    {188, "ospf"},
	{189, "rip"},  {192, "eigrp"},
};

struct name_db {
	const char *file; /* "rt_tables" or "rt_protos" */
	uint32_t max;
	const struct builtin_name *builtin;
	size_t n_builtin;
};

static const struct name_db tables_db = {"rt_tables", UINT32_MAX, builtin_tables,
					 sizeof(builtin_tables) /
						 sizeof(builtin_tables[0])};
static const struct name_db protocols_db = {"rt_protos", 255, builtin_protocols,
					    sizeof(builtin_protocols) /
						    sizeof(builtin_protocols[0])};

static char root_dir[PATH_MAX];

void names_set_root(const char *root)
{
	snprintf(root_dir, sizeof(root_dir), "%s", root ? root : "");
}

/* Decimal or 0x-hex, nothing else (no sign, no spaces). 0, -EINVAL when the
 * text is not a number, -ERANGE when it is one above max. */
static int parse_id(const char *text, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;
	int base = 10;

	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		text += 2;
	}
	if (base == 16 ? !isxdigit((unsigned char)*text) : !isdigit((unsigned char)*text))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, base);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/* One "ID NAME" line; comments and malformed lines are skipped, as iproute2
 * does. Returns 1 when the line names name. */
static int line_matches(char *line, const char *name, uint32_t max, uint32_t *out)
{
	char *id_text, *name_text, *save = NULL;
	uint32_t id;

	id_text = strtok_r(line, " \t\r\n", &save);
	if (!id_text || id_text[0] == '#')
		return 0;
	name_text = strtok_r(NULL, " \t\r\n", &save);
	if (!name_text || strcmp(name_text, name) != 0)
		return 0;
	if (parse_id(id_text, max, &id) != 0)
		return 0;
	*out = id;
	return 1;
}

static int lookup_file(const char *path, const char *name, uint32_t max, uint32_t *out)
{
	char line[512];
	int found = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = line_matches(line, name, max, out);
	fclose(f);
	return found;
}

static int is_conf_file(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > 5 &&
	       strcmp(d->d_name + len - 5, ".conf") == 0;
}

static int file_exists(const char *dir, const char *file)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return 0;
	fclose(f);
	return 1;
}

/* The .conf files of a NAME.d directory, in alphabetical order (iproute2 uses readdir
 * order, which is arbitrary; sorting keeps results stable). Files also present in
 * shadow_dir are skipped. */
static int lookup_dir(const char *dir, const char *shadow_dir, const char *name,
		      uint32_t max, uint32_t *out)
{
	struct dirent **list;
	char path[PATH_MAX * 2];
	int n, i, found = 0;

	n = scandir(dir, &list, is_conf_file, alphasort);
	if (n < 0)
		return 0;
	for (i = 0; i < n; i++) {
		const char *file = list[i]->d_name;

		if (!found && !(shadow_dir && file_exists(shadow_dir, file))) {
			snprintf(path, sizeof(path), "%s/%s", dir, file);
			found = lookup_file(path, name, max, out);
		}
		free(list[i]);
	}
	free(list);
	return found;
}

static int lookup_name(const struct name_db *db, const char *name, uint32_t *out)
{
	char etc[PATH_MAX + 32], usr[PATH_MAX + 32], path[PATH_MAX * 2];
	char etc_d[PATH_MAX * 2], usr_d[PATH_MAX * 2];
	size_t i;

	snprintf(etc, sizeof(etc), "%s/etc/iproute2", root_dir);
	snprintf(usr, sizeof(usr), "%s/usr/share/iproute2", root_dir);

	snprintf(path, sizeof(path), "%s/%s", etc, db->file);
	if (!file_exists(etc, db->file))
		snprintf(path, sizeof(path), "%s/%s", usr, db->file);
	if (lookup_file(path, name, db->max, out))
		return 0;

	snprintf(etc_d, sizeof(etc_d), "%s/%s.d", etc, db->file);
	snprintf(usr_d, sizeof(usr_d), "%s/%s.d", usr, db->file);
	if (lookup_dir(etc_d, NULL, name, db->max, out) ||
	    lookup_dir(usr_d, etc_d, name, db->max, out))
		return 0;

	for (i = 0; i < db->n_builtin; i++) {
		if (strcmp(db->builtin[i].name, name) == 0) {
			*out = db->builtin[i].id;
			return 0;
		}
	}
	return -ENOENT;
}

static int resolve(const struct name_db *db, const char *text, uint32_t *out)
{
	int err;

	if (!text || !*text)
		return -EINVAL;
	err = parse_id(text, db->max, out);
	if (err == 0)
		return 0;
	/* "12x", "-1", an id too large: a bad number rather than a name. */
	if (err == -ERANGE || isdigit((unsigned char)text[0]) || text[0] == '-' ||
	    text[0] == '+')
		return -EINVAL;
	return lookup_name(db, text, out);
}

int name_to_table(const char *text, uint32_t *out)
{
	return resolve(&tables_db, text, out);
}

int name_to_protocol(const char *text, uint8_t *out)
{
	uint32_t id;
	int err = resolve(&protocols_db, text, &id);

	if (err == 0)
		*out = (uint8_t)id;
	return err;
}
