/* evloop.h: the daemon's one epoll set. Every fd in it carries a pointer
 * to one of these as its epoll data; the loop calls on_event. */
#ifndef WGRS_EVLOOP_H
#define WGRS_EVLOOP_H

#include <stdint.h>

struct ev_handler {
	void (*on_event)(struct ev_handler *h, uint32_t events);
};

#endif
