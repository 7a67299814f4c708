/* fuzz_rtnl.h: what the four rtnetlink targets share. */
#ifndef WGRS_FUZZ_RTNL_H
#define WGRS_FUZZ_RTNL_H

#include <stddef.h>
#include <stdint.h>

/* Hands decode the input as one buffer (the decoders promise to take any
 * bytes), then each message of it as the daemon reads them (nl_msgs_next),
 * each copied into a buffer of exactly its nlmsg_len bytes, so that a read
 * past a message's own length is caught too. */
void fuzz_rtnl_messages(const uint8_t *data, size_t size,
			void (*decode)(const void *msg, size_t len));
/* A decoder's result other than success: NL_ROUTE_SKIP or an error it may
 * give. */
void fuzz_rtnl_check_result(int r);

#endif
