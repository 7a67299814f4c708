/* main.c: the command line (docs/spec.md section 9). One function per subcommand;
 * the daemon itself is daemon.c. */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "derive.h"
#include "fault.h"
#include "log.h"
#include "prefix.h"
#include "vec.h"
#include "wgkey.h"

#define EXIT_USAGE     2
#define DEFAULT_CONFIG DAEMON_DEFAULT_CONFIG

struct options {
	const char *config_path; /* NULL: built-in defaults */
	const char **ifaces;	 /* -i, in order */
	size_t n_ifaces, cap_ifaces;
	bool oneshot;
	bool dry_run;
	bool check_config;
	int verbosity; /* +1 per -v, -1 per -q */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: wg-rtsync [-c FILE] [-i IFACE]... [--oneshot] [--dry-run] "
		"[-v|-q]\n"
		"                 [--check-config]\n"
		"       wg-rtsync addr PUBKEY PREFIX...\n"
		"       wg-rtsync [-c FILE] status [--json|--prometheus]\n"
		"       wg-rtsync [-c FILE] poll [IFACE...]\n"
		"       wg-rtsync --version | --help\n"
		"\n"
		"Keeps a routing table and the AllowedIPs of WireGuard peers in sync.\n"
		"\n"
		"  -c, --config FILE    configuration (default " DEFAULT_CONFIG
		" if it exists,\n"
		"                       else built-in defaults)\n"
		"  -i, --interface NAME manage only this interface (repeatable)\n"
		"      --oneshot        sync once, then exit\n"
		"      --dry-run        print each change instead of making it\n"
		"  -v, --verbose        more log output (debug)\n"
		"  -q, --quiet          less log output (warnings and errors)\n"
		"      --check-config   check the configuration and exit\n"
		"  addr PUBKEY PREFIX.. print the gateway address derived from a peer's\n"
		"                       public key, one per prefix\n"
		"  status [--json|--prometheus]\n"
		"                       ask the running daemon (found through the\n"
		"                       state_dir of the configuration) for its state\n"
		"  poll [IFACE...]      make the running daemon read WireGuard now and\n"
		"                       sync (every interface, or those named); returns\n"
		"                       when done\n");
}

__attribute__((format(printf, 1, 2))) static int fail_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "wg-rtsync: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'wg-rtsync --help'.\n");
	return EXIT_USAGE;
}

static void free_options(struct options *o)
{
	free(o->ifaces);
}

enum { OPT_ONESHOT = 256, OPT_DRY_RUN, OPT_CHECK_CONFIG, OPT_VERSION };

/* Fills o; returns -1 on success with *next the index of the first
 * non-option argument, else an exit status (0 after --help/--version). */
static int parse_options(int argc, char **argv, struct options *o, int *next)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"interface", required_argument, NULL, 'i'},
		{"oneshot", no_argument, NULL, OPT_ONESHOT},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	/* '+': stop at the first non-option, the subcommand. */
	while ((c = getopt_long(argc, argv, "+c:i:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'i':
			if (vec_push(o->ifaces, o->n_ifaces, o->cap_ifaces, optarg)) {
				fprintf(stderr, "wg-rtsync: out of memory\n");
				return EXIT_FAILURE;
			}
			break;
		case OPT_ONESHOT:
			o->oneshot = true;
			break;
		case OPT_DRY_RUN:
			o->dry_run = true;
			break;
		case 'v':
			o->verbosity++;
			break;
		case 'q':
			o->verbosity--;
			break;
		case OPT_CHECK_CONFIG:
			o->check_config = true;
			break;
		case OPT_VERSION:
			printf("wg-rtsync %s\n", WGRS_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try 'wg-rtsync --help'.\n");
			return EXIT_USAGE;
		}
	}
	*next = optind;
	return -1;
}

/* The configuration named by -c, else the default file when it exists, else
 * the built-in defaults. On error prints the one-line reason. */
static struct config *load_config(const struct options *o, const char **shown_name)
{
	char err[1024];
	const char *path = o->config_path;
	struct config *c;

	if (!path && access(DEFAULT_CONFIG, F_OK) == 0)
		path = DEFAULT_CONFIG;
	*shown_name = path ? path : "built-in defaults";
	if (!path) {
		c = config_default();
		if (!c)
			fprintf(stderr, "wg-rtsync: out of memory\n");
		return c;
	}
	c = config_load(path, err, sizeof(err));
	if (!c)
		fprintf(stderr, "%s\n", err);
	return c;
}

static int run_check_config(const struct options *o)
{
	const char *name;
	struct config *c = load_config(o, &name);

	if (!c)
		return EXIT_CONFIG;
	printf("%s: ok\n", name);
	config_free(c);
	return EXIT_SUCCESS;
}

static void daemon_options_of(const struct options *o, struct daemon_options *d)
{
	*d = (struct daemon_options){
		.config_path = o->config_path,
		.ifaces = o->ifaces,
		.n_ifaces = o->n_ifaces,
		.oneshot = o->oneshot,
		.dry_run = o->dry_run,
		.verbosity = o->verbosity,
	};
}

static int run_daemon(const struct options *o)
{
	struct daemon_options d;
	char msg[256];

	if (fault_check(msg, sizeof(msg)))
		return fail_usage("%s", msg);
	daemon_options_of(o, &d);
	return daemon_run(&d);
}

/* status [--json|--prometheus] */
static int run_status(const struct options *o, int argc, char **argv)
{
	enum status_format format = STATUS_TEXT;
	struct daemon_options d;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			format = STATUS_JSON;
		else if (!strcmp(argv[i], "--prometheus"))
			format = STATUS_PROMETHEUS;
		else
			return fail_usage("status: unknown argument '%s'", argv[i]);
	}
	daemon_options_of(o, &d);
	return daemon_status_query(&d, format);
}

/* poll [IFACE...] */
static int run_poll(const struct options *o, int argc, char **argv)
{
	struct daemon_options d;

	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' || strlen(argv[i]) >= IF_NAMESIZE)
			return fail_usage("poll: '%s' is not an interface name", argv[i]);
	daemon_options_of(o, &d);
	return daemon_poll_query(&d, argv + 1, (size_t)(argc - 1));
}

/* addr PUBKEY PREFIX...: everything is checked before anything is printed. */
static int run_addr(int argc, char **argv)
{
	struct prefix *prefixes;
	char buf[PREFIX_STRLEN];
	struct wg_key key;
	int i, n = argc - 2;

	if (argc < 3)
		return fail_usage("addr: usage: wg-rtsync addr PUBKEY PREFIX...");
	if (wg_key_from_base64(argv[1], &key))
		return fail_usage("addr: '%s' is not a WireGuard public key", argv[1]);
	prefixes = calloc((size_t)n, sizeof(*prefixes));
	if (!prefixes) {
		fprintf(stderr, "wg-rtsync: out of memory\n");
		return EXIT_FAILURE;
	}
	for (i = 0; i < n; i++) {
		struct prefix out;

		if (prefix_parse(argv[i + 2], &prefixes[i]) ||
		    derive_address(&key, &prefixes[i], &out)) {
			free(prefixes);
			return fail_usage(
				"addr: '%s' is not a prefix to derive an address in",
				argv[i + 2]);
		}
	}
	for (i = 0; i < n; i++) {
		struct prefix out;

		derive_address(&key, &prefixes[i], &out);
		printf("%s\n", addr_format(&out, buf));
	}
	free(prefixes);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	int next, ret;

	ret = parse_options(argc, argv, &o, &next);
	if (ret >= 0)
		goto out;
	if (next < argc && strcmp(argv[next], "addr") == 0) {
		ret = run_addr(argc - next, argv + next);
	} else if (next < argc && strcmp(argv[next], "status") == 0) {
		ret = run_status(&o, argc - next, argv + next);
	} else if (next < argc && strcmp(argv[next], "poll") == 0) {
		ret = run_poll(&o, argc - next, argv + next);
	} else if (next < argc) {
		ret = fail_usage("unknown command '%s'", argv[next]);
	} else if (o.check_config) {
		ret = run_check_config(&o);
	} else {
		ret = run_daemon(&o);
	}
out:
	free_options(&o);
	return ret;
}
