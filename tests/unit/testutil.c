#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

struct prefix P(const char *text) {
	struct prefix p;
	if (prefix_parse(text, &p) != 0)
		fail_msg("bad prefix in test: %s", text);
	return p;
}

struct prefix
A(const char *text) {
	struct prefix p;
	if (addr_parse(text, &p) != 0)
		fail_msg("bad address in test: %s", text);
	return p;
}

struct wg_key
K(const char *base64) {
	struct wg_key k;
	if (wg_key_from_base64(base64, &k) != 0)
		fail_msg("bad key in test: %s", base64);
	return k;
}

struct wg_key
key_n(unsigned n)
{
	struct wg_key k;
	memset(&k, 0, sizeof(k));
	k.b[0] = 0x42;
	k.b[28] = (uint8_t)(n >> 24);
	k.b[29] = (uint8_t)(n >> 16);
	k.b[30] = (uint8_t)(n >> 8);
	k.b[31] = (uint8_t)n;
	return k;
}

const char *src_path(const char *rel)
{
	static char buf[4096];
	const char *root = getenv("WGRS_SRCDIR");
	snprintf(buf, sizeof(buf), "%s/%s", root ? root : ".", rel);
	return buf;
}

void *read_source_file(const char *rel, size_t *len)
{
	const char *path = src_path(rel);
	FILE *in = fopen(path, "rb");
	char *data;
	long size;

	if (!in)
		fail_msg("cannot open %s", path);
	fseek(in, 0, SEEK_END);
	size = ftell(in);
	rewind(in);
	assert_true(size > 0);
	data = malloc((size_t)size);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, in), (size_t)size);
	fclose(in);
	*len = (size_t)size;
	return data;
}

/* Runs a program with the words of the formatted line (no shell); its
 * output goes to out. Returns the exit status. */
int run_program(const char *prog, char *out, size_t size, const char *fmt, ...)
{
	char line[8192], *argv[64];
	int argc = 0, pipefd[2], status;
	size_t got = 0;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	argv[argc++] = (char *)prog;
	for (char *tok = strtok(line, " "); tok && argc < 63; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(prog, argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char sink[256];
		bool keep = out && got + 1 < size;
		ssize_t n = read(pipefd[0], keep ? out + got : sink,
				 keep ? size - got - 1 : sizeof(sink));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (keep)
			got += (size_t)n;
	}
	if (out && size)
		out[got] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void log_capture_start(struct log_capture *c)
{
	c->f = tmpfile();
	assert_non_null(c->f);
	fflush(stderr);
	c->saved_stderr = dup(STDERR_FILENO);
	assert_int_equal(dup2(fileno(c->f), STDERR_FILENO), STDERR_FILENO);
}

void log_capture_stop(struct log_capture *c)
{
	fflush(stderr);
	dup2(c->saved_stderr, STDERR_FILENO);
	close(c->saved_stderr);
	fclose(c->f);
}

size_t log_capture_lines(struct log_capture *c, const char *level, const char *what)
{
	char line[1024];
	size_t n = 0;

	fflush(stderr);
	rewind(c->f);
	while (fgets(line, sizeof(line), c->f))
		n += !strncmp(line, level, strlen(level)) && strstr(line, what);
	return n;
}

void log_capture_clear(struct log_capture *c)
{
	fflush(stderr);
	assert_int_equal(ftruncate(fileno(c->f), 0), 0);
	rewind(c->f);
}

void sort_items(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n)
		qsort(base, n, size, cmp);
}
