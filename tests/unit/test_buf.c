/* test_buf.c: the byte buffer (buf.h), reading a whole file, and the
 * mapped buffer: grown, reused, and leaving malloc's thresholds alone. */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define ASAN 1
#else
#define ASAN 0
#endif
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "buf.h"

/* A file holding n bytes (i % 251), read from its start. */
static int file_of(size_t n)
{
	FILE *f = tmpfile();
	int fd;

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(fputc((int)(i % 251), f), EOF);
	assert_int_equal(fflush(f), 0);
	fd = dup(fileno(f));
	fclose(f);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Read past any expected size, after what the buffer held, NUL-terminated. */
static void test_read_fd_whole(void **state)
{
	struct buf b = {0};
	int fd = file_of(200000);

	(void)state;
	assert_int_equal(buf_puts(&b, "head"), 0);
	assert_int_equal(buf_read_fd(&b, fd, 1000, 1 << 20), 0);
	close(fd);
	assert_int_equal(b.len, 4 + 200000);
	assert_memory_equal(b.data, "head", 4);
	for (size_t i = 0; i < 200000; i++)
		assert_int_equal((unsigned char)b.data[4 + i], i % 251);
	assert_int_equal(b.data[b.len], '\0');
	buf_free(&b);
}

/* max bytes are read; one more is -EFBIG. */
static void test_read_fd_max(void **state)
{
	struct buf b = {0};
	int fd = file_of(5000);

	(void)state;
	assert_int_equal(buf_read_fd(&b, fd, 0, 5000), 0);
	assert_int_equal(b.len, 5000);
	close(fd);
	buf_free(&b);
	fd = file_of(5001);
	assert_int_equal(buf_read_fd(&b, fd, 0, 5000), -EFBIG);
	close(fd);
	buf_free(&b);
	fd = file_of(0);
	assert_int_equal(buf_read_fd(&b, fd, 0, 5000), 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	close(fd);
	buf_free(&b);
}

static void test_read_fd_error(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(buf_read_fd(&b, -1, 0, 100), -EBADF);
	buf_free(&b);
}

/* Appends n bytes of a pattern that starts at seed. */
static void append_pattern(struct buf *b, size_t n, unsigned seed)
{
	char chunk[65536];

	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk);

		for (size_t i = 0; i < k; i++)
			chunk[i] = (char)((seed + done + i) % 251);
		assert_int_equal(buf_append(b, chunk, k), 0);
		done += k;
	}
}

static void assert_pattern(const struct buf *b, size_t n, unsigned seed)
{
	assert_int_equal(b->len, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal((unsigned char)b->data[i], (seed + i) % 251);
	assert_int_equal(b->data[n], '\0');
}

/* A mapped buffer grows (moved by mremap) with what it holds, is emptied
 * and filled again in the same mapping, and is unmapped by buf_free. */
static void test_mapped_grow_release(void **state)
{
	struct buf b;
	size_t cap;
	char *data;

	(void)state;
	buf_init_mapped(&b);
	assert_true(b.mapped);
	assert_null(b.data);
	append_pattern(&b, 9 << 20, 0);
	assert_pattern(&b, 9 << 20, 0);
	assert_true(b.cap > b.len);
	cap = b.cap;
	data = b.data;

	buf_release(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(b.cap, cap);
	append_pattern(&b, 5 << 20, 7);
	assert_pattern(&b, 5 << 20, 7);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);

	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_true(b.mapped);
	append_pattern(&b, 100, 3);
	assert_pattern(&b, 100, 3);
	buf_free(&b);
}

/* Whether malloc(1 MiB) is served by a mapping of its own (glibc's mmap
 * threshold is still below it). The block is not freed: freeing it would
 * raise the threshold itself (the child that asks exits soon). */
static bool mib_is_mapped(void)
{
	struct mallinfo2 before = mallinfo2();
	void *p = malloc(1 << 20);

	assert_non_null(p);
	return mallinfo2().hblks > before.hblks;
}

/* In a child of its own (the threshold is the process's): a buffer of
 * the kind asked grown to 8 MiB and freed, as a poll of a large device
 * does; exits 0 when malloc still maps 1 MiB afterwards, 1 when the
 * threshold moved, 2 when it was not below 1 MiB to begin with. */
static bool threshold_kept_after(bool mapped)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct buf b = {0};

		if (!mib_is_mapped())
			_exit(2);
		if (mapped)
			buf_init_mapped(&b);
		append_pattern(&b, 8 << 20, 0);
		buf_free(&b);
		_exit(mib_is_mapped() ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 2);
	return WEXITSTATUS(status) == 0;
}

/* The reason for mapped buffers: freeing a large malloc'd one raises
 * glibc's dynamic mmap threshold (so 1 MiB then comes from the heap); a
 * mapped one leaves it where it was. */
static void test_mapped_leaves_mmap_threshold(void **state)
{
	(void)state;
	assert_false(threshold_kept_after(false));
	assert_true(threshold_kept_after(true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_fd_whole),
		cmocka_unit_test(test_read_fd_max),
		cmocka_unit_test(test_read_fd_error),
		cmocka_unit_test(test_mapped_grow_release),
	};
	const struct CMUnitTest glibc_malloc[] = {
		cmocka_unit_test(test_mapped_leaves_mmap_threshold),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	/* Under valgrind or a sanitizer, malloc is theirs: glibc's threshold
	 * is not there to move (the unit tier runs both builds without). */
	if (RUNNING_ON_VALGRIND || ASAN)
		return r;
	return r | cmocka_run_group_tests(glibc_malloc, NULL, NULL);
}
