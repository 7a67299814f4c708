/* test_names.c: table and protocol names, as iproute2 resolves them. */
#include <errno.h>

#include "names.h"
#include "testutil.h"

static int use_fixture(void **state)
{
	(void)state;
	names_set_root(src_path("tests/config/iproute2"));
	return 0;
}

static int use_empty_root(void **state)
{
	(void)state;
	names_set_root(src_path("tests/config/no-such-root"));
	return 0;
}

static int restore_root(void **state)
{
	(void)state;
	names_set_root(NULL);
	return 0;
}

static uint32_t table(const char *text)
{
	uint32_t id = 0xdeadbeef;

	assert_int_equal(name_to_table(text, &id), 0);
	return id;
}

static uint8_t protocol(const char *text)
{
	uint8_t id = 0xee;

	assert_int_equal(name_to_protocol(text, &id), 0);
	return id;
}

static void test_numbers(void **state)
{
	uint32_t t = 7;
	uint8_t p = 7;

	(void)state;
	assert_int_equal(table("100"), 100);
	assert_int_equal(table("0x10"), 16);
	assert_int_equal(table("0"), 0);
	assert_int_equal(table("4294967295"), 4294967295u);
	assert_int_equal(protocol("255"), 255);
	assert_int_equal(protocol("0xff"), 255);
	assert_int_equal(name_to_table("4294967296", &t), -EINVAL);
	assert_int_equal(name_to_protocol("256", &p), -EINVAL);
	assert_int_equal(name_to_table("", &t), -EINVAL);
	assert_int_equal(name_to_table("-1", &t), -EINVAL);
	assert_int_equal(name_to_table("+1", &t), -EINVAL);
	assert_int_equal(name_to_table("12x", &t), -EINVAL);
	assert_int_equal(name_to_table("0x", &t), -EINVAL);
	assert_int_equal(name_to_table(NULL, &t), -EINVAL);
	/* Failures leave the output alone. */
	assert_int_equal(t, 7);
	assert_int_equal(p, 7);
}

/* Without any file, iproute2's own names still work. */
static void test_builtin_names(void **state)
{
	uint32_t t;
	uint8_t p;

	(void)state;
	assert_int_equal(table("main"), 254);
	assert_int_equal(table("local"), 255);
	assert_int_equal(table("default"), 253);
	assert_int_equal(table("unspec"), 0);
	assert_int_equal(protocol("unspec"), 0);
	assert_int_equal(protocol("kernel"), 2);
	assert_int_equal(protocol("boot"), 3);
	assert_int_equal(protocol("static"), 4);
	assert_int_equal(protocol("bird"), 12);
	assert_int_equal(protocol("babel"), 42);
	assert_int_equal(protocol("bgp"), 186);
	assert_int_equal(name_to_table("wgtab", &t), -ENOENT);
	assert_int_equal(name_to_table("Main", &t), -ENOENT); /* case matters */
	assert_int_equal(name_to_protocol("myproto", &p), -ENOENT);
}

static void test_files(void **state)
{
	uint32_t t;
	uint8_t p;

	(void)state;
	/* /etc/iproute2/rt_tables, with a hex id and a trailing comment */
	assert_int_equal(table("wgtab"), 100);
	assert_int_equal(table("hextab"), 0x65);
	assert_int_equal(table("main"), 254);
	/* /etc/iproute2/rt_tables.d: *.conf only */
	assert_int_equal(table("dtab"), 200);
	assert_int_equal(name_to_table("notconf", &t), -ENOENT);
	/* /usr/share/iproute2/rt_tables.d, unless /etc has a file of that name */
	assert_int_equal(table("usrdtab"), 302);
	assert_int_equal(table("shadow_etc"), 201);
	assert_int_equal(name_to_table("shadow_usr", &t), -ENOENT);
	/* /usr/share/iproute2/rt_tables is read only without the /etc one */
	assert_int_equal(name_to_table("usronly", &t), -ENOENT);
	/* rt_protos: no /etc file here, so /usr/share's; plus /etc's .d */
	assert_int_equal(protocol("myproto"), 77);
	assert_int_equal(protocol("wgproto"), 99);
	assert_int_equal(protocol("bird"), 12);
	assert_int_equal(protocol("static"), 4); /* built in, not in the files */
	assert_int_equal(name_to_protocol("toolarge", &p), -ENOENT);
	assert_int_equal(name_to_protocol("nosuchproto", &p), -ENOENT);
	/* Comment and junk lines name nothing. */
	assert_int_equal(name_to_table("this", &t), -ENOENT);
	assert_int_equal(name_to_table("#", &t), -ENOENT);
}

/* A root with only /usr/share/iproute2/rt_tables falls back to it. */
static void test_usr_fallback(void **state)
{
	(void)state;
	names_set_root(src_path("tests/config/iproute2-usr"));
	assert_int_equal(table("usronly"), 300);
	assert_int_equal(table("main"), 254);
	names_set_root(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_numbers, use_fixture, restore_root),
		cmocka_unit_test_setup_teardown(test_builtin_names, use_empty_root,
						restore_root),
		cmocka_unit_test_setup_teardown(test_files, use_fixture, restore_root),
		cmocka_unit_test(test_usr_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
