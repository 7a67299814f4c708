/* test_buf.c: the byte buffer (buf.h), reading a whole file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_fd_whole),
		cmocka_unit_test(test_read_fd_max),
		cmocka_unit_test(test_read_fd_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
