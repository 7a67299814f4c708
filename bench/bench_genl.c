/* bench_genl.c: the user-space part of the idle poll against kernel
 * WireGuard, natively. Kernel WireGuard does not run on this machine's
 * hardware (the VM emulates), so the two parts of a poll are measured
 * apart: the kernel's dump in the VM (e2e.py, B5's floor), and here the
 * daemon's own work on what it receives: walking a WG_CMD_GET_DEVICE dump
 * of N AllowedIPs (16 peers, half IPv4 /32, half IPv6 /64, in messages of
 * at most 32 KiB, the size the kernel fills for a large receive buffer)
 * into the device fingerprint, as every idle poll does.
 *
 * usage: bench_genl [N...]      (default: 10000 100000 1000000)
 * Prints one Markdown table row per N: N, the dump's bytes, the median
 * time of one parse over 21, ns per AllowedIP, and the share of a core at
 * one poll a second. */
#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "genl_codec.h"

#define PEERS	 16
#define MSG_MAX	 32768
#define SAMPLES	 21
#define GENL_FAM 0x23

struct dump {
	char *buf;
	size_t len, cap;
	struct nlmsghdr *nlh; /* the message being filled */
	struct nlattr *peers, *peer, *ips;
};

static void put_key(struct nlmsghdr *nlh, uint16_t type, unsigned i)
{
	uint8_t k[WG_KEY_LEN] = {0};

	memcpy(k, &i, sizeof(i));
	k[WG_KEY_LEN - 1] = 0x42;
	mnl_attr_put(nlh, type, WG_KEY_LEN, k);
}

/* A new message, continuing peer p (the kernel repeats its key). */
static void open_msg(struct dump *d, unsigned p)
{
	d->nlh = mnl_nlmsg_put_header(d->buf + d->len);
	d->nlh->nlmsg_type = GENL_FAM;
	d->nlh->nlmsg_flags = NLM_F_MULTI;
	((struct genlmsghdr *)mnl_nlmsg_put_extra_header(d->nlh, GENL_HDRLEN))->cmd =
		WG_CMD_GET_DEVICE;
	put_key(d->nlh, WGDEVICE_A_PUBLIC_KEY, 1000);
	mnl_attr_put_u16(d->nlh, WGDEVICE_A_LISTEN_PORT, 51820);
	d->peers = mnl_attr_nest_start(d->nlh, WGDEVICE_A_PEERS);
	d->peer = mnl_attr_nest_start(d->nlh, 0);
	put_key(d->nlh, WGPEER_A_PUBLIC_KEY, p);
	mnl_attr_put_u64(d->nlh, WGPEER_A_RX_BYTES, 12345);
	mnl_attr_put_u64(d->nlh, WGPEER_A_TX_BYTES, 67890);
	d->ips = mnl_attr_nest_start(d->nlh, WGPEER_A_ALLOWEDIPS);
}

static void close_msg(struct dump *d)
{
	mnl_attr_nest_end(d->nlh, d->ips);
	mnl_attr_nest_end(d->nlh, d->peer);
	mnl_attr_nest_end(d->nlh, d->peers);
	d->len += MNL_ALIGN(d->nlh->nlmsg_len);
}

static void put_ip(struct dump *d, unsigned i)
{
	struct nlattr *ip = mnl_attr_nest_start(d->nlh, 0);
	uint8_t addr[16] = {0x20, 0x01, 0x0d, 0xb8};

	if (i % 2) {
		uint32_t v4 = htonl(0xc6336400u + i); /* 198.51.100.0 onwards */

		mnl_attr_put_u8(d->nlh, WGALLOWEDIP_A_CIDR_MASK, 32);
		mnl_attr_put(d->nlh, WGALLOWEDIP_A_IPADDR, 4, &v4);
		mnl_attr_put_u16(d->nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
	} else {
		uint32_t net = htonl(i);

		memcpy(addr + 4, &net, sizeof(net));
		mnl_attr_put_u8(d->nlh, WGALLOWEDIP_A_CIDR_MASK, 64);
		mnl_attr_put(d->nlh, WGALLOWEDIP_A_IPADDR, 16, addr);
		mnl_attr_put_u16(d->nlh, WGALLOWEDIP_A_FAMILY, AF_INET6);
	}
	mnl_attr_nest_end(d->nlh, ip);
}

static void make_dump(struct dump *d, unsigned n)
{
	struct nlmsghdr *done;

	d->cap = (size_t)n * 64 + 1024 * 1024;
	d->buf = calloc(1, d->cap);
	d->len = 0;
	if (!d->buf)
		exit(1);
	for (unsigned p = 0, i = 0; p < PEERS; p++) {
		open_msg(d, p);
		for (unsigned end = (unsigned)((uint64_t)n * (p + 1) / PEERS); i < end;
		     i++) {
			if (d->nlh->nlmsg_len + 64 > MSG_MAX) {
				close_msg(d);
				open_msg(d, p);
			}
			put_ip(d, i);
		}
		close_msg(d);
	}
	done = mnl_nlmsg_put_header(d->buf + d->len);
	done->nlmsg_type = NLMSG_DONE;
	done->nlmsg_flags = NLM_F_MULTI;
	done->nlmsg_len += sizeof(int);
	d->len += MNL_ALIGN(done->nlmsg_len);
}

static int run(unsigned n)
{
	struct dump d;
	double t[SAMPLES];

	make_dump(&d, n);
	for (int s = 0; s < SAMPLES; s++) {
		struct wg_key pub;
		uint64_t fp;
		bool temp;
		double t0 = now();
		int r = wg_genl_parse_fingerprint(d.buf, d.len, &pub, &fp, &temp);

		t[s] = now() - t0;
		if (r) {
			fprintf(stderr, "bench_genl: the dump did not parse: %d\n", r);
			return 1;
		}
	}
	qsort(t, SAMPLES, sizeof(t[0]), cmp_double);
	printf("| %u | %zu | %.3f | %.1f | %.3f |\n", n, d.len, t[SAMPLES / 2] * 1e3,
	       t[SAMPLES / 2] * 1e9 / n, t[SAMPLES / 2] * 100.0);
	free(d.buf);
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned sizes[] = {10000, 100000, 1000000};

	printf("| AllowedIPs | dump bytes | parse ms (median of %d) | ns per AllowedIP | "
	       "%% of a core at 1 poll/s |\n|---:|---:|---:|---:|---:|\n",
	       SAMPLES);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (run((unsigned)strtoul(argv[i], NULL, 10)))
				return 1;
		return 0;
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (run(sizes[i]))
			return 1;
	return 0;
}
