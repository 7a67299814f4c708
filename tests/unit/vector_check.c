/* vector_check.c: checks that conformance vectors are well formed, without
 * running them: every file loads, its name matches the file, it says what it
 * checks, and the expected changes of each step are written in the order the
 * reconciler emits them (docs/conformance.md). Lets vector authors catch a
 * typo before the runner blames the core for it.
 *
 * Usage: vector_check [FILE...]; without files, every .yaml file of tests/vectors
 * under $WGRS_SRCDIR (default "."). Exit 0 when all are well formed. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vector_load.h"

/* Within one destination: AllowedIP changes, then our old route's deletion,
 * then the new route. */
static int op_rank(enum change_op op)
{
	switch (op) {
	case CHANGE_ALLOWED_ADD:
	case CHANGE_ALLOWED_DEL:
		return 0;
	case CHANGE_ROUTE_DEL:
		return 1;
	case CHANGE_ROUTE_ADD:
		return 2;
	}
	return 3;
}

static bool name_matches_file(const char *path, const char *name)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n < 5 || strcmp(base + n - 5, ".yaml"))
		return false;
	return strlen(name) == n - 5 && !strncmp(base, name, n - 5);
}

static int check_order(const char *path, const struct vector *v)
{
	char a[PREFIX_STRLEN], b[PREFIX_STRLEN];
	int bad = 0;

	for (size_t s = 0; s < v->n_steps; s++) {
		const struct vec_step *st = &v->steps[s];

		for (size_t i = 1; i < st->n_changes; i++) {
			const struct change *x = &st->changes[i - 1],
					    *y = &st->changes[i];
			int c = prefix_cmp(&x->dst, &y->dst);

			if (c < 0 || (c == 0 && op_rank(x->op) <= op_rank(y->op)))
				continue;
			fprintf(stderr,
				"%s: steps[%zu].changes[%zu]: %s comes after %s; the "
				"order is "
				"by destination (prefix order), then AllowedIP, "
				"route-del, "
				"route-add\n",
				path, s, i, prefix_format(&y->dst, a),
				prefix_format(&x->dst, b));
			bad = 1;
		}
	}
	return bad;
}

static int check_file(const char *path)
{
	struct vector v;
	char err[512];
	int bad = 0;

	if (vector_load(path, &v, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (!name_matches_file(path, v.name)) {
		fprintf(stderr, "%s: name '%s' is not the file's name without .yaml\n",
			path, v.name);
		bad = 1;
	}
	if (!v.description[0]) {
		fprintf(stderr, "%s: description: missing (say which rule it checks)\n",
			path);
		bad = 1;
	}
	bad |= check_order(path, &v);
	vector_free(&v);
	return bad;
}

int main(int argc, char **argv)
{
	const char *srcdir = getenv("WGRS_SRCDIR");
	char pattern[4096];
	glob_t g;
	int bad = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			bad |= check_file(argv[i]);
		return bad;
	}
	snprintf(pattern, sizeof(pattern), "%s/tests/vectors/*.yaml",
		 srcdir ? srcdir : ".");
	if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		fprintf(stderr, "no vectors match %s (set WGRS_SRCDIR)\n", pattern);
		return 1;
	}
	for (size_t i = 0; i < g.gl_pathc; i++)
		bad |= check_file(g.gl_pathv[i]);
	printf("%zu vectors checked, %s\n", g.gl_pathc,
	       bad ? "some malformed" : "all well formed");
	globfree(&g);
	return bad;
}
