/* replay.c: a fuzz target without libFuzzer, for any compiler: runs
 * LLVMFuzzerTestOneInput once on each file named, or on each file of each
 * directory named (its corpus), in name order. Each input is copied into a
 * buffer of exactly its size, as libFuzzer does, so that valgrind and ASan
 * see a read past its end. Exit 0 when every input passed; a finding
 * aborts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static int run_file(int dirfd, const char *name, const char *shown)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	uint8_t *input = NULL;
	size_t got = 0;
	struct stat st;
	ssize_t n = 1;

	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "replay: %s: %s\n", shown, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* malloc(0) may return NULL: one byte more, never read. */
	input = malloc(st.st_size ? (size_t)st.st_size : 1);
	while (input && got < (size_t)st.st_size && (n > 0 || errno == EINTR)) {
		n = read(fd, input + got, (size_t)st.st_size - got);
		if (n > 0)
			got += (size_t)n;
	}
	close(fd);
	if (!input || got < (size_t)st.st_size) {
		fprintf(stderr, "replay: %s: cannot read\n", shown);
		free(input);
		return -1;
	}
	LLVMFuzzerTestOneInput(input, got);
	free(input);
	return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Every regular file of dir; *count gets how many ran. */
static int run_dir(const char *dir, size_t *count)
{
	struct dirent **names;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), n, ret = 0;
	char shown[4096];
	struct stat st;

	if (dirfd < 0 || (n = scandir(dir, &names, not_hidden, name_cmp)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		if (dirfd >= 0)
			close(dirfd);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		snprintf(shown, sizeof(shown), "%s/%s", dir, names[i]->d_name);
		if (ret == 0 && fstatat(dirfd, names[i]->d_name, &st, 0) == 0 &&
		    S_ISREG(st.st_mode)) {
			ret = run_file(dirfd, names[i]->d_name, shown);
			(*count)++;
		}
		free(names[i]);
	}
	free(names);
	close(dirfd);
	return ret;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	struct stat st;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st)) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode) ? run_dir(argv[i], &count)
					: (count++, run_file(AT_FDCWD, argv[i], argv[i])))
			return 1;
	}
	printf("replay: %zu inputs, no finding\n", count);
	return count ? 0 : 1;
}
