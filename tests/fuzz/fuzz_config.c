/* fuzz_config.c: the configuration loader (config_load, docs/spec.md
 * section 8) on any bytes, through its one path: the input is written to a
 * memfd and loaded by its /proc/self/fd name. A refused file gives one line
 * naming the file, with nothing of the file unescaped; a loaded one
 * resolves to settings within the rules of spec 8.2 for any interface. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static void check_settings(const struct settings *s)
{
	FUZZ_CHECK(s->wg_poll_interval_ms > 0 && s->resync_interval_ms > 0);
	FUZZ_CHECK(s->routing_table != 0 && s->route_protocol > 4 && s->state_dir);
	for (size_t i = 0; i < s->n_prefixes; i++)
		fuzz_check_prefix(&s->prefixes[i]);
	for (size_t i = 0; i < s->n_learn_filter; i++) {
		const struct filter_rule *f = &s->learn_filter[i];

		fuzz_check_prefix(&f->prefix);
		FUZZ_CHECK(f->prefix.len <= f->ge && f->ge <= f->le &&
			   f->le <= prefix_family_bits(f->prefix.family));
	}
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer_gateways *p = &s->peers[i];

		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(wg_key_cmp(&s->peers[j].key, &p->key) != 0);
		for (size_t j = 0; j < p->n_gateways; j++)
			fuzz_check_addr(&p->gateways[j]);
	}
}

static void check_interface(const struct config *c, const char *ifname)
{
	struct settings s;

	FUZZ_CHECK(config_settings_for(c, ifname, &s) == 0);
	check_settings(&s);
	settings_free(&s);
	if (!config_lists_interfaces(c))
		FUZZ_CHECK(config_manages(c, ifname));
}

/* The error is one line that names the file: "FILE:...". */
static void check_error(const char *path, const char *err)
{
	FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':');
	fuzz_check_line(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	char err[512];
	struct config *c;
	struct settings top;

	if (fd < 0) {
		fd = memfd_create("wg-rtsync.yaml", MFD_CLOEXEC);
		FUZZ_CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	FUZZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
	c = config_load(path, err, sizeof(err));
	if (!c) {
		check_error(path, err);
		return 0;
	}
	FUZZ_CHECK(config_settings_top(c, &top) == 0);
	check_settings(&top);
	settings_free(&top);
	check_interface(c, "wg0");
	check_interface(c, "wg-a");
	config_free(c);
	return 0;
}
