/* daemon.c: the event loop and what each event does (see daemon.h and
 * docs/daemon.md). Everything runs in one thread: after epoll returns, the
 * handlers only record what changed (the reconcilers mark destinations
 * dirty, interfaces are flagged); run_due() then does the work that is due:
 * resyncs, WireGuard polls, route dumps and one sync round per touched
 * interface. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "daemon.h"
#include "evloop.h"
#include "iface.h"
#include "links.h"
#include "clock.h"
#include "log.h"
#include "notify.h"
#include "pollbudget.h"
#include "privs.h"
#include "statedir.h"
#include "wg_auto.h"

#define ONESHOT_EXTRA_ROUNDS 3
#define MAX_EVENTS	     32
#define MMAP_THRESHOLD	     (256 * 1024)
#define TRIM_THRESHOLD	     (1024 * 1024)
/* A burst: this many changes applied; trimmed once it has been quiet so long. */
#define TRIM_AFTER_CHANGES 1024
#define TRIM_QUIET_MS	   1000
/* A poll read in pieces that has made no step for this long fails. */
#define READ_STALL_MS 5000
/* systemd's STATUS= line is sent at most this often. */
#define STATUS_EVERY_MS 1000

struct daemon {
	const struct daemon_options *opt;
	struct config *cfg;
	char cfg_name[PATH_MAX];
	struct settings top; /* the top level of cfg: daemon-wide settings */
	struct iface_env env;
	struct link_table links;
	struct iface *ifaces;
	size_t n_ifaces;

	int epfd, sigfd, timerfd;
	struct ev_handler nl_h, sig_h, timer_h;
	/* The poll read in progress, one at a time (iface_poll_start): its
	 * device and the fd it waits on, in epfd only while the loop waits
	 * (the backend may close it in any call). */
	struct {
		struct iface *ifc; /* NULL: none */
		int fd;
		bool watched;
		uint64_t started;  /* monotonic ms */
		uint64_t progress; /* monotonic ms: its start or last step */
		struct ev_handler h;
	} rd;
	struct control *ctl;
	char ctl_path[108];

	bool quit;
	bool lost;	       /* events were lost: full resync */
	uint64_t discover_due; /* next look for new interfaces */
	uint64_t trim_mark;    /* changes applied when the last burst was seen */
	uint64_t trim_due;     /* heap trim after that burst (0: none) */
	double started;
	uint64_t resyncs, lost_events;

	/* systemd (notify.h) */
	/* Started, or RELOADING=1 sent: READY=1 once the rounds due ran. */
	bool unready;
	char status_line[256];	 /* the STATUS= last sent */
	uint64_t status_sent;	 /* when (monotonic ms) */
	uint64_t status_due;	 /* a changed line waits until then (0: none) */
	uint64_t watchdog_every; /* ms; 0: no watchdog */
	uint64_t watchdog_due;
};

/* ---- configuration ---- */

/* Loads the configuration the options name; NULL with one line in err. */
static struct config *load_config(const struct daemon_options *o, char *name,
				  size_t namelen, char *err, size_t errlen)
{
	const char *path = o->config_path;
	struct config *c;

	if (!path && access(DAEMON_DEFAULT_CONFIG, F_OK) == 0)
		path = DAEMON_DEFAULT_CONFIG;
	snprintf(name, namelen, "%s", path ? path : "built-in defaults");
	if (!path) {
		c = config_default();
		if (!c)
			snprintf(err, errlen, "out of memory");
		return c;
	}
	return config_load(path, err, errlen);
}

static void apply_log_level(const struct daemon *d)
{
	int level = (int)d->top.log_level + d->opt->verbosity;

	if (level < LOG_LEVEL_ERROR)
		level = LOG_LEVEL_ERROR;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	log_set_level((enum log_level)level);
}

static bool named_on_command_line(const struct daemon *d, const char *name)
{
	if (!d->opt->n_ifaces)
		return true;
	for (size_t i = 0; i < d->opt->n_ifaces; i++)
		if (!strcmp(d->opt->ifaces[i], name))
			return true;
	return false;
}

/* Whether name is to be managed: -i, `interfaces:` and sync_routes. The
 * settings are returned in s (caller frees) when it is. */
static bool wanted(const struct daemon *d, const char *name, struct settings *s)
{
	if (!named_on_command_line(d, name) || !config_manages(d->cfg, name))
		return false;
	if (config_settings_for(d->cfg, name, s)) {
		log_err("%s: out of memory", name);
		return false;
	}
	if (s->sync_routes)
		return true;
	settings_free(s);
	return false;
}

/* ---- interfaces ---- */

static struct iface *iface_by_index(struct daemon *d, int ifindex)
{
	for (struct iface *i = d->ifaces; i; i = i->next)
		if (i->ifindex == ifindex)
			return i;
	return NULL;
}

static void schedule_iface(struct iface *ifc, uint64_t now)
{
	ifc->poll_due = now + ifc->s.wg_poll_interval_ms;
	ifc->resync_due = now + ifc->s.resync_interval_ms;
}

static void read_stop(struct daemon *d, struct iface *ifc);

static void forget(struct daemon *d, struct iface *ifc, const char *why)
{
	struct iface **pp = &d->ifaces;

	read_stop(d, ifc);
	while (*pp != ifc)
		pp = &(*pp)->next;
	*pp = ifc->next;
	d->n_ifaces--;
	log_info("%s: %s; forgotten until it comes back", ifc->name, why);
	iface_free(ifc);
}

/* More rounds after the first one of an interface, while they change
 * something (a round's commits can make more work, a move for instance) and
 * nothing fails: so that it has converged when systemd hears READY=1 and
 * when --oneshot exits. A dry run commits nothing, so one round is all. */
static void settle(struct daemon *d, struct iface *ifc)
{
	for (int k = 0;
	     k < ONESHOT_EXTRA_ROUNDS && ifc->status.last_failed == 0 && !d->opt->dry_run;
	     k++) {
		uint64_t before = ifc->status.applied;

		iface_sync(&d->env, ifc, false);
		if (ifc->status.applied == before)
			break;
	}
}

/* Starts managing link e if it is a WireGuard interface we want. Returns 0
 * when it is managed now or is not for us, else the error (-ENODEV: not
 * ready yet). */
static int try_start(struct daemon *d, struct link_entry *e)
{
	enum wg_link_type type;
	struct settings s;
	struct iface *ifc;
	struct iface_status st;
	char why[STATEDIR_MSG_LEN];
	int r;

	if (iface_by_index(d, e->ifindex))
		return 0;
	type = links_wireguard_type(e, NULL);
	if (type == WG_LINK_NONE)
		return 0;
	if (type == WG_LINK_PENDING)
		return -ENODEV;
	if (!wanted(d, e->name, &s)) {
		if (!e->noted)
			log_info(
				"%s: WireGuard interface not managed (-i, interfaces: or "
				"sync_routes: false)",
				e->name);
		e->noted = true;
		return 0;
	}
	/* Without its state file, what it learned would be taken for static. */
	r = statedir_check(s.state_dir, why, sizeof(why));
	if (r) {
		settings_free(&s);
		if (r != e->last_error)
			log_err("%s: cannot manage it: %s; trying again", e->name, why);
		e->last_error = r;
		return r;
	}
	r = iface_start(&d->env, e->name, e->ifindex, e->up, &s, &ifc);
	settings_free(&s);
	if (r == -ENODEV || r == -EAGAIN) {
		log_debug("%s: not ready yet (%s)", e->name,
			  r == -EAGAIN ? "no private key" : "no device");
		return r;
	}
	if (r) {
		/* Retried on every tick: said once per new reason. */
		if (r != e->last_error)
			log_err("%s: cannot manage it: %s; trying again", e->name,
				strerror(-r));
		e->last_error = r;
		return r;
	}
	e->last_error = 0;
	settle(d, ifc);
	schedule_iface(ifc, clock_mono_ms());
	ifc->next = d->ifaces;
	d->ifaces = ifc;
	d->n_ifaces++;
	iface_get_status(&d->env, ifc, &st);
	log_info("%s: managing it (%s, table %u, %zu peers, %zu AllowedIPs, %zu learned)",
		 ifc->name, st.backend, st.table, st.st.peers, st.st.allowed_ips,
		 st.st.learned);
	return 0;
}

/* Looks at every link that is not managed yet. */
static void discover(struct daemon *d)
{
	for (size_t i = 0; i < d->links.n; i++)
		try_start(d, &d->links.v[i]);
	d->discover_due = clock_mono_ms() + d->top.wg_poll_interval_ms;
}

static int collect_link(const struct nl_link *l, void *ctx)
{
	return links_update(ctx, l);
}

static int load_links(struct daemon *d)
{
	int r;

	links_clear(&d->links);
	r = nl_route_dump_links(d->env.nr, collect_link, &d->links);
	if (r)
		log_err("cannot read the links: %s", strerror(-r));
	return r;
}

/* ---- rtnetlink events ---- */

static int on_route(void *ctx, bool removed, const struct kroute *rt)
{
	struct daemon *d = ctx;

	for (struct iface *i = d->ifaces; i; i = i->next) {
		int r;

		if (i->s.routing_table != rt->table)
			continue;
		/* Its table changes: a torn dump of it waits (redump.h). Those
		 * of other tables can neither tear its dump nor put it off. */
		i->route_heard = true;
		if (!i->s.watch_routes)
			continue;
		r = iface_route_event(i, removed, rt);
		if (r) {
			log_err("%s: route event: %s; re-reading the routes", i->name,
				strerror(-r));
			/* The model lacks what the event said. */
			iface_doubt_routes(i);
		}
		/* Our own routes' events never make a storm. */
		if (rt->protocol != i->s.route_protocol)
			pacing_event(&i->pacing, removed);
		i->touched = true;
	}
	return 0;
}

static int on_link(void *ctx, bool removed, const struct nl_link *l)
{
	struct daemon *d = ctx;
	struct iface *ifc = iface_by_index(d, l->ifindex);

	if (removed) {
		links_remove(&d->links, l->ifindex);
		if (ifc)
			forget(d, ifc, "the link was removed");
		return 0;
	}
	if (links_update(&d->links, l)) {
		d->lost = true; /* the table is incomplete: read it again */
		return 0;
	}
	if (!ifc) {
		d->discover_due = 0; /* a new link, or a renamed one: look now */
		return 0;
	}
	if (l->name[0] && strcmp(l->name, ifc->name) != 0) {
		forget(d, ifc, "the link was renamed");
		d->discover_due = 0;
		return 0;
	}
	if (l->up != ifc->up) {
		log_info("%s: link %s", ifc->name, l->up ? "up" : "down");
		/* A downed link loses its routes without a route event. */
		ifc->up = l->up;
		ifc->status.resyncs_link++;
		ifc->need_dump = true;
		ifc->touched = true;
	}
	return 0;
}

static int on_addr(void *ctx, bool removed, const struct nl_addr *a)
{
	struct daemon *d = ctx;
	struct iface *ifc = iface_by_index(d, a->ifindex);
	char buf[PREFIX_STRLEN];
	int r;

	if (!ifc)
		return 0;
	r = iface_addr_event(ifc, removed, a);
	if (r)
		log_err("%s: address event: %s", ifc->name, strerror(-r));
	else
		log_debug("%s: address %s %s", ifc->name, prefix_format(&a->addr, buf),
			  removed ? "removed" : "added");
	return 0;
}

static void nl_event(struct ev_handler *h, uint32_t events)
{
	struct daemon *d = (struct daemon *)((char *)h - offsetof(struct daemon, nl_h));
	const struct nl_route_handlers handlers = {
		.route = on_route, .link = on_link, .addr = on_addr, .ctx = d};
	uint64_t now;
	int r;

	(void)events;
	r = nl_route_events_drain(d->env.nr, &handlers);
	now = clock_mono_ms();
	for (struct iface *i = d->ifaces; i; i = i->next) {
		/* Lost events may have been of any table. */
		if (i->route_heard || r == -ENOBUFS)
			i->route_event_at = now;
		i->route_heard = false;
	}
	if (r == -ENOBUFS) {
		d->lost_events++;
		log_warn(
			"rtnetlink: events were lost (receive buffer full); full resync");
		d->lost = true;
		/* Until the resync, what the reconcilers hold of the routes may
		 * be wrong either way: no round acts on it. */
		for (struct iface *i = d->ifaces; i; i = i->next)
			iface_doubt_routes(i);
	} else if (r < 0) {
		log_err("rtnetlink: reading events: %s", strerror(-r));
	}
}

/* ---- the work that is due ---- */

/* Re-reads everything: links, addresses, every device, every table. */
static void full_resync(struct daemon *d)
{
	uint64_t now = clock_mono_ms();

	d->lost = false;
	if (load_links(d)) {
		d->lost = true; /* try again on the next tick */
		return;
	}
	for (struct iface *i = d->ifaces, *next; i; i = next) {
		struct link_entry *e = links_find(&d->links, i->ifindex);

		next = i->next;
		if (!e || strcmp(e->name, i->name) != 0) {
			forget(d, i, "the link is gone");
			continue;
		}
		i->up = e->up;
		i->poll_due = now;
		i->resync_due = now; /* addresses and routes, below */
		i->lost_resync = true;
	}
	discover(d);
}

/* ---- the poll read in pieces ---- */

static void read_unwatch(struct daemon *d)
{
	if (d->rd.watched)
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->rd.fd, NULL);
	d->rd.watched = false;
}

/* Stops the read of ifc (any read, with NULL), if there is one. */
static void read_stop(struct daemon *d, struct iface *ifc)
{
	if (!d->rd.ifc || (ifc && d->rd.ifc != ifc))
		return;
	read_unwatch(d);
	d->env.wg->poll_abort(d->env.wg);
	d->rd.ifc = NULL;
}

static void poll_done(struct daemon *d, struct iface *ifc, int r);
static void read_step(struct daemon *d);

/* Starts the poll read of ifc, watched from the loop: 0, or -EOPNOTSUPP
 * (read it whole), or the read's error. */
static int read_start(struct daemon *d, struct iface *ifc)
{
	int r = iface_poll_start(&d->env, ifc, &d->rd.fd);

	if (r)
		return r;
	d->rd.ifc = ifc;
	d->rd.started = d->rd.progress = clock_mono_ms();
	read_step(d); /* what is there already; watched when more is to come */
	return 0;
}

/* After a read of ifc begun at start that ran for read_ms, to its end or
 * abandoned: the next poll wg_poll_interval later, or later still when the
 * read was long for wg_poll_budget (pollbudget.h). */
static void read_paid(struct iface *ifc, uint64_t start, uint64_t read_ms)
{
	ifc->status.device_read_ms += read_ms;
	ifc->poll_due = start + pollbudget_interval_ms(ifc->s.wg_poll_interval_ms,
						       read_ms, ifc->s.wg_poll_budget);
}

static void read_done(struct iface *ifc, uint64_t start, uint64_t read_ms)
{
	ifc->status.device_reads++;
	read_paid(ifc, start, read_ms);
}

/* A read that has made no step for READ_STALL_MS fails, as a whole read
 * without a reply for that long does (the UAPI socket's timeout): a hung
 * server holds no other poll up for longer. */
static void read_stalled(struct daemon *d, uint64_t now)
{
	struct iface *ifc = d->rd.ifc;

	if (!ifc || now < d->rd.progress + READ_STALL_MS)
		return;
	read_stop(d, ifc);
	pollturn_read_ended(&ifc->turn, false);
	poll_done(d, ifc, -ETIMEDOUT);
}

/* One step of the read: watched again when more is to come; its result
 * taken when it is over; the next one put off when a change abandoned it. */
static void read_step(struct daemon *d)
{
	struct iface *ifc = d->rd.ifc;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &d->rd.h};
	struct wg_device dev = {0};
	bool same = false;
	int r;

	read_unwatch(d);
	r = d->env.wg->poll_step(d->env.wg, &d->rd.fd, &dev, &same);
	d->rd.progress = clock_mono_ms();
	if (r == 0) {
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->rd.fd, &ev) == 0) {
			d->rd.watched = true;
			return;
		}
		r = -errno;
		d->env.wg->poll_abort(d->env.wg);
	}
	d->rd.ifc = NULL;
	if (r == -ECANCELED) {
		/* A change went first. The server did the read's work all the
		 * same (wireguard-go builds the whole reply before it writes):
		 * read again when that is paid for, not at once, where the read
		 * would stand in the way of the next change. */
		ifc->status.device_reads_abandoned++;
		pollturn_read_ended(&ifc->turn, true);
		read_paid(ifc, d->rd.started, d->rd.progress - d->rd.started);
		return;
	}
	pollturn_read_ended(&ifc->turn, false);
	if (r > 0)
		read_done(ifc, d->rd.started, d->rd.progress - d->rd.started);
	poll_done(d, ifc,
		  iface_poll_read(&d->env, ifc, r < 0 ? r : 0, &dev, same, false));
}

static void read_event(struct ev_handler *h, uint32_t events)
{
	struct daemon *d = (struct daemon *)((char *)h - offsetof(struct daemon, rd.h));

	(void)events;
	if (d->rd.ifc)
		read_step(d);
}

/* Whether ifc's round waits for its read to end (pollturn.h). */
static bool round_waits(const struct daemon *d, const struct iface *ifc)
{
	return pollturn_decide(&ifc->turn, d->rd.ifc == ifc) == POLL_TURN_WAIT;
}

/* Reads ifc: in pieces from the loop when it can (poll_done then runs when
 * the read is over), else at once; at_once: at once in any case. */
static void poll_iface(struct daemon *d, struct iface *ifc, uint64_t now, bool at_once)
{
	uint64_t start;
	int r;

	ifc->poll_due = now + ifc->s.wg_poll_interval_ms;
	if (d->rd.ifc == ifc && !at_once && !ifc->need_full)
		return; /* the last one is still being read */
	read_stop(d, ifc);
	if (!at_once && !ifc->need_full && !d->rd.ifc) {
		r = read_start(d, ifc);
		if (r != -EOPNOTSUPP) {
			if (r)
				poll_done(d, ifc, r);
			return;
		}
	}
	/* The periodic resync diffs the device even when it reads as before. */
	start = clock_mono_ms();
	r = iface_poll(&d->env, ifc, ifc->need_full);
	if (!r)
		read_done(ifc, now, clock_mono_ms() - start);
	poll_done(d, ifc, r);
}

/* After a read of ifc that returned r. */
static void poll_done(struct daemon *d, struct iface *ifc, int r)
{
	if (r == -ENODEV) {
		forget(d, ifc, "the WireGuard device is gone");
		d->discover_due = 0;
		return;
	}
	failures_op(&ifc->bl.failures, FAILURE_DEVICE_READ, r, strerror(-r));
	if (r)
		return;
	if (!ifc->s.watch_routes)
		ifc->need_dump = true; /* nobody told us about route changes */
	ifc->touched = true;
}

static void resync_iface(struct daemon *d, struct iface *ifc, uint64_t now)
{
	int r = iface_load_addrs(&d->env, ifc);

	/* Addresses decide which gateways are reachable: soon again. */
	ifc->resync_due = now + (r ? 1000 : ifc->s.resync_interval_ms);
	ifc->poll_due = now; /* and the device, diffed in full */
	failures_op(&ifc->bl.failures, FAILURE_ADDRESS_DUMP, r, strerror(-r));
	ifc->need_dump = true;
	ifc->need_full = true;
	ifc->touched = true;
}

/* One route dump for the interfaces v[0..n-1]; a failure is each one's. */
static int dump_routes(struct daemon *d, struct iface **v, size_t n)
{
	int r = ifaces_dump_routes(&d->env, v, n);

	for (size_t k = 0; k < n; k++)
		failures_op(&v[k]->bl.failures, FAILURE_ROUTE_DUMP, r, strerror(-r));
	return r;
}

/* After a torn dump, the next one is due once the route events of its table
 * have stopped (redump.h); 0: none. */
static uint64_t redump_at(const struct iface *ifc)
{
	if (ifc->need_dump)
		return 0; /* asked for already */
	return redump_due(&ifc->redump, ifc->route_event_at,
			  rec_routes_confirmed(ifc->rec));
}

/* One sync round per interface that is due, after one route dump for all
 * of those that need one. */
static void sync_due(struct daemon *d, uint64_t now)
{
	struct iface **dump = calloc(d->n_ifaces ? d->n_ifaces : 1, sizeof(*dump));
	size_t n_dump = 0;

	for (struct iface *i = d->ifaces; i; i = i->next) {
		uint64_t again = redump_at(i);

		if (again && again <= now) {
			i->need_dump = true;
			i->touched = true;
		}
		if (!i->touched)
			continue;
		if (!i->sync_due)
			i->sync_due =
				pacing_next_round(&i->pacing, now, i->s.batch_delay_ms);
		if (i->sync_due <= now && i->need_dump && dump)
			dump[n_dump++] = i;
	}
	if (n_dump && dump_routes(d, dump, n_dump))
		for (size_t k = 0; k < n_dump; k++)
			dump[k]->sync_due = now + 1000;
	free(dump);
	/* The events that came while the routes were read, applied after
	 * them, before the rounds (they may forget an interface). */
	if (n_dump)
		nl_event(&d->nl_h, 0);
	for (struct iface *i = d->ifaces, *next; i; i = next) {
		bool reading = d->rd.ifc == i;

		next = i->next;
		if (!i->touched || i->sync_due > now || i->need_dump || iface_held(i) ||
		    round_waits(d, i))
			continue;
		i->sync_due = 0;
		/* A change to the device abandons its read (backend.h): the
		 * fd may be closed in the round. */
		if (reading)
			read_unwatch(d);
		pacing_round_begin(&i->pacing, now);
		iface_sync(&d->env, i, false);
		pacing_round_end(&i->pacing, clock_mono_ms());
		if (reading && d->rd.ifc == i)
			read_step(d); /* watched again, or ended; may forget i */
	}
}

/* The transient buffers of a burst (change lists, device snapshots) leave
 * free pages between the model's allocations that the trim threshold does
 * not reach; once the burst is over they go back. */
static void trim_after_burst(struct daemon *d, uint64_t now)
{
	uint64_t applied = 0;

	for (struct iface *i = d->ifaces; i; i = i->next)
		applied += i->status.applied;
	if (applied < d->trim_mark) /* an interface went */
		d->trim_mark = applied;
	if (applied - d->trim_mark >= TRIM_AFTER_CHANGES) {
		d->trim_mark = applied;
		d->trim_due = now + TRIM_QUIET_MS;
	} else if (d->trim_due && d->trim_due <= now) {
		malloc_trim(0);
		d->trim_due = 0;
	}
}

static void run_due(struct daemon *d)
{
	uint64_t now;

	if (d->lost)
		full_resync(d);
	now = clock_mono_ms();
	if (d->discover_due <= now)
		discover(d);
	read_stalled(d, now);
	for (struct iface *i = d->ifaces, *next; i; i = next) {
		next = i->next;
		if (i->resync_due <= now) {
			d->resyncs++;
			if (i->lost_resync)
				i->status.resyncs_lost_events++;
			else
				i->status.resyncs_periodic++;
			i->lost_resync = false;
			resync_iface(d, i, now);
		}
		/* One read in progress at a time: the others wait for it. */
		if (i->poll_due <= now && (!d->rd.ifc || d->rd.ifc == i))
			poll_iface(d, i, now, false); /* may forget i */
	}
	sync_due(d, now);
	trim_after_burst(d, clock_mono_ms());
	if (d->watchdog_every && d->watchdog_due <= now) {
		notify_watchdog();
		d->watchdog_due = now + d->watchdog_every;
	}
}

/* Arms the timer for the earliest thing due. */
static void arm_timer(struct daemon *d)
{
	uint64_t due = d->discover_due;
	struct itimerspec its = {0};

	for (struct iface *i = d->ifaces; i; i = i->next) {
		uint64_t again = redump_at(i);

		/* While a read is in progress, the next is due at its end. */
		if (i->poll_due < due && !d->rd.ifc)
			due = i->poll_due;
		if (i->resync_due < due)
			due = i->resync_due;
		/* A held round waits for its dump (again), not its time. */
		if (i->touched && i->sync_due && i->sync_due < due &&
		    (i->need_dump || !iface_held(i)) && !round_waits(d, i))
			due = i->sync_due;
		if (again && again < due)
			due = again;
	}
	if (d->rd.ifc && d->rd.progress + READ_STALL_MS < due)
		due = d->rd.progress + READ_STALL_MS;
	if (d->trim_due && d->trim_due < due)
		due = d->trim_due;
	if (d->status_due && d->status_due < due)
		due = d->status_due;
	if (d->watchdog_every && d->watchdog_due < due)
		due = d->watchdog_due;
	if (d->lost)
		due = clock_mono_ms() + 1000; /* the resync failed: try again */
	if (due == 0)
		due = 1; /* 0 would disarm the timer */
	its.it_value.tv_sec = (time_t)(due / 1000);
	its.it_value.tv_nsec = (long)(due % 1000) * 1000000;
	timerfd_settime(d->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void timer_event(struct ev_handler *h, uint32_t events)
{
	struct daemon *d =
		(struct daemon *)((char *)h - offsetof(struct daemon, timer_h));
	uint64_t expirations;

	(void)events;
	if (read(d->timerfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_err("timer: %s", strerror(errno));
}

/* ---- status, and the control socket ---- */

/* The status of the daemon and every interface (with per-peer counts when
 * asked); free with free_status(). -ENOMEM. */
static int get_status(struct daemon *d, bool peers, struct daemon_status *ds)
{
	uint64_t now = clock_mono_ms();
	size_t i = 0;

	*ds = (struct daemon_status){
		.version = WGRS_VERSION,
		.pid = (int)getpid(),
		.config = d->cfg_name,
		.dry_run = d->opt->dry_run,
		.started = d->started,
		.resyncs = d->resyncs,
		.lost_events = d->lost_events,
	};
	ds->v = calloc(d->n_ifaces ? d->n_ifaces : 1, sizeof(*ds->v));
	if (!ds->v)
		return -ENOMEM;
	for (struct iface *ifc = d->ifaces; ifc; ifc = ifc->next, i++) {
		iface_get_status(&d->env, ifc, &ds->v[i]);
		ds->n = i + 1;
		if (d->rd.ifc != ifc && ifc->poll_due > now)
			ds->v[i].next_poll_in = (double)(ifc->poll_due - now) / 1e3;
		if (peers && iface_get_peer_stats(ifc, &ds->v[i]))
			return -ENOMEM;
	}
	return 0;
}

static void free_status(struct daemon_status *ds)
{
	for (size_t i = 0; i < ds->n; i++)
		free(ds->v[i].peers);
	free(ds->v);
}

/* STATUS= for systemd, when it changed, at most once a second. */
static void update_status(struct daemon *d, uint64_t now)
{
	struct daemon_status ds;
	char line[sizeof(d->status_line)];

	d->status_due = 0;
	if (!notify_listening())
		return;
	if (get_status(d, false, &ds)) {
		free_status(&ds);
		return;
	}
	status_summary(&ds, line, sizeof(line));
	free_status(&ds);
	if (!strcmp(line, d->status_line))
		return;
	if (d->status_sent && now < d->status_sent + STATUS_EVERY_MS) {
		d->status_due = d->status_sent + STATUS_EVERY_MS;
		return;
	}
	notify_status(line);
	snprintf(d->status_line, sizeof(d->status_line), "%s", line);
	d->status_sent = now;
}

static char *reply_text(const char *text, size_t *len)
{
	char *copy = strdup(text);

	*len = copy ? strlen(copy) : 0;
	return copy;
}

static char *status_reply(struct daemon *d, const char *format, size_t *len)
{
	bool json = !strcmp(format, " json"), prom = !strcmp(format, " prometheus");
	struct daemon_status ds;
	char *text = NULL;
	FILE *out;

	if (format[0] && !json && !prom)
		return reply_text(
			"error: unknown status format (try \"status\", \"status "
			"json\" or \"status prometheus\")\n",
			len);
	if (get_status(d, prom, &ds)) {
		free_status(&ds);
		return NULL;
	}
	out = open_memstream(&text, len);
	if (out) {
		if (json)
			status_write_json(out, &ds);
		else if (prom)
			status_write_prometheus(out, &ds);
		else
			status_write_text(out, &ds);
		if (fclose(out)) {
			free(text);
			text = NULL;
		}
	}
	free_status(&ds);
	return text;
}

static struct iface *iface_by_name(struct daemon *d, const char *name)
{
	for (struct iface *i = d->ifaces; i; i = i->next)
		if (!strcmp(i->name, name))
			return i;
	return NULL;
}

/* Reads the device now and runs the round, as a poll would, only at once;
 * routes are dumped first when an event asked for it. False when the
 * device was gone (ifc is freed then). */
static bool serve_now(struct daemon *d, struct iface *ifc)
{
	int ifindex = ifc->ifindex;

	poll_iface(d, ifc, clock_mono_ms(), true);
	if (!iface_by_index(d, ifindex))
		return false; /* the device is gone: forgotten */
	if (ifc->need_dump && dump_routes(d, &ifc, 1))
		return true; /* said; the next round tries again */
	ifc->sync_due = 0;
	iface_sync(&d->env, ifc, false);
	return true;
}

/* "poll [IFACE...]": first the events that are waiting (a link that has
 * just come, wg-quick's PostUp) and a look for new interfaces; then every
 * interface named (none: all) is read and synced before the reply. */
static char *poll_reply(struct daemon *d, char *args, size_t *len)
{
	char *names[16], *save = NULL, *text = NULL, *tok;
	size_t n = 0;
	FILE *out;

	for (tok = strtok_r(args, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (n == sizeof(names) / sizeof(names[0]))
			return reply_text("error: poll: too many interfaces in one "
					  "request\n",
					  len);
		names[n++] = tok;
	}
	nl_event(&d->nl_h, 0);
	if (d->lost)
		full_resync(d);
	discover(d);
	for (size_t i = 0; i < n; i++) {
		if (!iface_by_name(d, names[i])) {
			char msg[128];

			snprintf(msg, sizeof(msg),
				 "error: %s: not a WireGuard interface this daemon "
				 "manages\n",
				 names[i]);
			return reply_text(msg, len);
		}
	}
	out = open_memstream(&text, len);
	if (!out)
		return NULL;
	for (struct iface *i = d->ifaces, *next; i; i = next) {
		uint64_t applied = i->status.applied, failed = i->status.failed;
		bool named = !n;

		next = i->next;
		for (size_t k = 0; k < n; k++)
			named = named || !strcmp(names[k], i->name);
		if (!named)
			continue;
		fprintf(out, "%s: ", i->name);
		if (!serve_now(d, i))
			fprintf(out, "the device is gone\n");
		else
			fprintf(out, "%llu changes applied, %llu failed\n",
				(unsigned long long)(i->status.applied - applied),
				(unsigned long long)(i->status.failed - failed));
	}
	if (fclose(out)) {
		free(text);
		return NULL;
	}
	return text;
}

static char *control_reply(void *ctx, const char *request, size_t *len)
{
	struct daemon *d = ctx;
	char args[256];

	if (!strncmp(request, "status", 6) && (!request[6] || request[6] == ' '))
		return status_reply(d, request + 6, len);
	if (!strncmp(request, "poll", 4) && (!request[4] || request[4] == ' ')) {
		snprintf(args, sizeof(args), "%s", request + 4);
		return poll_reply(d, args, len);
	}
	return reply_text("error: unknown request (try \"status\", \"status json\", "
			  "\"status prometheus\" or \"poll [IFACE...]\")\n",
			  len);
}

static void open_control(struct daemon *d)
{
	char path[sizeof(d->ctl_path)];
	int r = control_path(d->top.state_dir, path, sizeof(path));

	if (!r && d->ctl && !strcmp(path, d->ctl_path))
		return;
	control_close(d->ctl);
	d->ctl = NULL;
	d->ctl_path[0] = '\0';
	if (!r)
		r = control_open(&d->ctl, path, d->epfd, control_reply, d);
	if (r == -EADDRINUSE) {
		log_err("control socket %s: another wg-rtsync answers there; status "
			"queries go to it",
			path);
		return;
	}
	if (r) {
		log_err("control socket %s: %s; `wg-rtsync status` will not work", path,
			strerror(-r));
		return;
	}
	snprintf(d->ctl_path, sizeof(d->ctl_path), "%s", path);
	log_debug("control socket %s", path);
}

/* ---- signals ---- */

static void reload(struct daemon *d)
{
	char err[1024], name[PATH_MAX];
	struct config *c = load_config(d->opt, name, sizeof(name), err, sizeof(err));
	struct settings top;

	if (!c) {
		log_err("reload refused, the old configuration stays: %s", err);
		return;
	}
	if (config_settings_top(c, &top)) {
		config_free(c);
		log_err("reload refused, the old configuration stays: out of memory");
		return;
	}
	if (statedir_check(top.state_dir, err, sizeof(err))) {
		config_free(c);
		settings_free(&top);
		log_err("reload refused, the old configuration stays: %s", err);
		return;
	}
	config_free(d->cfg);
	settings_free(&d->top);
	d->cfg = c;
	d->top = top;
	snprintf(d->cfg_name, sizeof(d->cfg_name), "%s", name);
	apply_log_level(d);
	for (struct iface *i = d->ifaces, *next; i; i = next) {
		struct settings s;

		next = i->next;
		if (!wanted(d, i->name, &s)) {
			forget(d, i, "no longer to be managed (configuration)");
			continue;
		}
		if (iface_set_settings(i, &s))
			log_err("%s: out of memory; keeping its old settings", i->name);
		settings_free(&s);
		schedule_iface(i, clock_mono_ms());
	}
	open_control(d);
	discover(d);
	log_info("configuration reloaded from %s", d->cfg_name);
}

static void signal_event(struct ev_handler *h, uint32_t events)
{
	struct daemon *d = (struct daemon *)((char *)h - offsetof(struct daemon, sig_h));
	struct signalfd_siginfo si;

	(void)events;
	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reloading the configuration");
			notify_reloading();
			reload(d);
			d->unready = true; /* READY=1 after the rounds it made due */
		} else {
			log_info("%s: exiting", strsignal((int)si.ssi_signo));
			notify_stopping();
			d->quit = true;
		}
	}
}

/* ---- set-up and tear-down ---- */

static int add_fd(struct daemon *d, int fd, struct ev_handler *h)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = h};

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int event_rcvbuf(void)
{
	const char *v = getenv(DAEMON_RCVBUF_ENV);
	long n = v ? strtol(v, NULL, 10) : 0;

	return n > 0 && n < INT_MAX ? (int)n : 0;
}

static int open_loop(struct daemon *d)
{
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->epfd < 0 || d->sigfd < 0 || d->timerfd < 0)
		return -errno;
	r = nl_route_events_open(d->env.nr, event_rcvbuf());
	if (r)
		return r;
	d->nl_h.on_event = nl_event;
	d->sig_h.on_event = signal_event;
	d->timer_h.on_event = timer_event;
	d->rd.h.on_event = read_event;
	r = add_fd(d, nl_route_events_fd(d->env.nr), &d->nl_h);
	if (!r)
		r = add_fd(d, d->sigfd, &d->sig_h);
	if (!r)
		r = add_fd(d, d->timerfd, &d->timer_h);
	return r;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void daemon_free(struct daemon *d)
{
	if (d->env.wg)
		read_stop(d, NULL);
	while (d->ifaces) {
		struct iface *next = d->ifaces->next;

		iface_free(d->ifaces);
		d->ifaces = next;
	}
	control_close(d->ctl);
	if (d->env.wg)
		d->env.wg->destroy(d->env.wg);
	if (d->env.rt)
		d->env.rt->destroy(d->env.rt); /* frees env.nr */
	links_free(&d->links);
	settings_free(&d->top);
	config_free(d->cfg);
	close_fd(d->epfd);
	close_fd(d->sigfd);
	close_fd(d->timerfd);
}

static void cleanup_on_exit(struct daemon *d)
{
	read_stop(d, NULL);
	for (struct iface *i = d->ifaces; i; i = i->next)
		if (i->s.cleanup_on_exit)
			iface_teardown(&d->env, i);
}

/* At start and after a reload, systemd hears READY=1 once every interface
 * has had the round that was due: its first full pass, or the one its new
 * settings called for. One whose first dump was torn waits for the next
 * (docs/spec.md 5.18), at most a few seconds. */
static void ready_when_done(struct daemon *d)
{
	if (!d->unready)
		return;
	for (struct iface *i = d->ifaces; i; i = i->next)
		if (i->touched || iface_held(i))
			return;
	d->unready = false;
	notify_ready();
}

static int loop(struct daemon *d)
{
	struct epoll_event evs[MAX_EVENTS];

	while (!d->quit) {
		int n;

		run_due(d);
		if (d->quit)
			break;
		update_status(d, clock_mono_ms());
		ready_when_done(d);
		arm_timer(d);
		n = epoll_wait(d->epfd, evs, MAX_EVENTS, -1);
		if (n < 0 && errno != EINTR) {
			log_err("epoll: %s", strerror(errno));
			return EXIT_FAILURE;
		}
		for (int i = 0; i < n; i++) {
			struct ev_handler *h = evs[i].data.ptr;

			h->on_event(h, evs[i].events);
		}
	}
	cleanup_on_exit(d);
	return EXIT_SUCCESS;
}

/* --oneshot reads no events: an interface whose first dump was torn waits
 * here until the routes stop changing and reads them again, each dump on
 * its own (no event says what changed in between), until one is clean or
 * the hold is over (redump.h); then its first round. */
static int oneshot_confirm(struct daemon *d, struct iface *ifc)
{
	while (iface_held(ifc)) {
		uint64_t now = clock_mono_ms();
		uint64_t until = ifc->redump.hold_since + REDUMP_HOLD_MS;
		int r;

		if (until > now)
			nl_route_wait_quiet(d->env.nr, ifc->s.routing_table,
					    REDUMP_QUIET_MS, (int)(until - now));
		iface_doubt_routes(ifc);
		r = ifaces_dump_routes(&d->env, &ifc, 1);
		if (r) {
			log_err("%s: reading the routes: %s", ifc->name, strerror(-r));
			return r;
		}
	}
	iface_sync(&d->env, ifc, true);
	settle(d, ifc);
	return 0;
}

/* --oneshot: every interface there is now, one sync each (repeated while a
 * round's commits leave more to do), then the exit status. */
static int oneshot(struct daemon *d)
{
	bool failed = false;

	for (size_t i = 0; i < d->opt->n_ifaces; i++) {
		struct link_entry *e = links_find_name(&d->links, d->opt->ifaces[i]);

		if (!e || links_wireguard_type(e, NULL) == WG_LINK_NONE ||
		    links_wireguard_type(e, NULL) == WG_LINK_PENDING) {
			log_err("%s: no such WireGuard interface", d->opt->ifaces[i]);
			failed = true;
		}
	}
	for (size_t i = 0; i < d->links.n; i++) {
		struct link_entry *e = &d->links.v[i];
		int r = try_start(d, e);

		if (r == -EAGAIN)
			log_err("%s: the device has no private key: nothing done",
				e->name);
		if (r && links_wireguard_type(e, NULL) != WG_LINK_PENDING)
			failed = true;
	}
	/* try_start() ran each interface's rounds (settle()). */
	for (struct iface *i = d->ifaces; i; i = i->next)
		if (iface_held(i) && oneshot_confirm(d, i))
			failed = true;
	for (struct iface *i = d->ifaces; i; i = i->next)
		if (i->status.last_failed)
			failed = true;
	if (!d->ifaces && !failed)
		log_info("no WireGuard interface to manage");
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Nothing the daemon does later needs more than CAP_NET_ADMIN (privs.h,
 * docs/daemon.md): the rest goes before anything is read or changed. */
static int drop_privileges(void)
{
	char msg[256];
	bool net_admin;
	int r = privs_keep_net_admin(&net_admin, msg, sizeof(msg));

	if (r)
		log_err("%s", msg);
	else if (!net_admin)
		log_warn("running without CAP_NET_ADMIN: routes cannot be changed, nor "
			 "kernel WireGuard read or changed");
	else
		log_debug("capabilities: CAP_NET_ADMIN alone");
	return r;
}

int daemon_run(const struct daemon_options *o)
{
	struct daemon d = {.opt = o, .epfd = -1, .sigfd = -1, .timerfd = -1};
	char err[1024];
	int r, status = EXIT_FAILURE;

	d.cfg = load_config(o, d.cfg_name, sizeof(d.cfg_name), err, sizeof(err));
	if (!d.cfg) {
		fprintf(stderr, "%s\n", err);
		return EXIT_CONFIG;
	}
	if (config_settings_top(d.cfg, &d.top)) {
		config_free(d.cfg);
		fprintf(stderr, "wg-rtsync: out of memory\n");
		return EXIT_FAILURE;
	}
	apply_log_level(&d);
	if (statedir_check(d.top.state_dir, err, sizeof(err))) {
		log_err("%s", err);
		goto out;
	}
	if (drop_privileges())
		goto out;
	/* Bursts (a route storm, the read of a large device) allocate big
	 * buffers for a moment; with glibc's adaptive thresholds those stay in
	 * the heap after being freed. Fixed ones give them back. */
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
	d.started = clock_unix();
	d.env.dry_run = o->dry_run;
	d.env.nr = nl_route_new();
	if (!d.env.nr) {
		log_err("cannot open rtnetlink: %s", strerror(errno));
		goto out;
	}
	d.env.rt = nl_route_backend(d.env.nr);
	d.env.wg = wg_backend_auto_new(NULL);
	if (!d.env.wg) {
		log_err("cannot set up the WireGuard backends: out of memory");
		goto out;
	}
	d.env.wg->read_only = o->dry_run;
	if (!o->oneshot) {
		r = open_loop(&d);
		if (r) {
			log_err("cannot set up the event loop: %s", strerror(-r));
			goto out;
		}
		open_control(&d);
	}
	/* The event socket is open before the first dumps: nothing is missed. */
	if (load_links(&d))
		goto out;
	log_info("wg-rtsync %s started (config %s%s)", WGRS_VERSION, d.cfg_name,
		 o->dry_run ? ", dry run: nothing is changed" : "");
	if (o->oneshot) {
		status = oneshot(&d);
		goto out;
	}
	/* Every interface there is now has had its first full pass (and more
	 * rounds while they changed something: settle()) when discover()
	 * returns, but one whose first dump was torn: the service is ready
	 * once that one has had it too (ready_when_done). */
	discover(&d);
	d.watchdog_every = notify_watchdog_interval_ms();
	update_status(&d, clock_mono_ms());
	d.unready = true;
	status = loop(&d);
out:
	daemon_free(&d);
	return status;
}

/* Sends request to the daemon whose configuration o names and prints the
 * reply: on stdout, or on stderr with exit status 1 when it is an error. */
static int query(const struct daemon_options *o, const char *what, const char *request)
{
	char err[1024], name[PATH_MAX], path[108];
	struct settings top;
	struct config *c = load_config(o, name, sizeof(name), err, sizeof(err));
	char *reply = NULL;
	size_t len = 0;
	FILE *out;
	int r;

	/* A daemon keeps its old settings when the file turns bad: ask it
	 * anyway, where the built-in defaults put the socket. */
	if (!c) {
		fprintf(stderr, "%s\nwg-rtsync: %s: asking at the default state_dir\n",
			err, what);
		c = config_default();
		if (!c) {
			fprintf(stderr, "wg-rtsync: out of memory\n");
			return EXIT_FAILURE;
		}
	}
	r = config_settings_top(c, &top);
	config_free(c);
	if (r) {
		fprintf(stderr, "wg-rtsync: out of memory\n");
		return EXIT_FAILURE;
	}
	r = control_path(top.state_dir, path, sizeof(path));
	settings_free(&top);
	out = open_memstream(&reply, &len);
	if (!out) {
		fprintf(stderr, "wg-rtsync: out of memory\n");
		return EXIT_FAILURE;
	}
	if (!r)
		r = control_query(path, request, out);
	if (fclose(out) && !r)
		r = -ENOMEM;
	if (r == -ENOENT || r == -ECONNREFUSED)
		fprintf(stderr, "wg-rtsync: %s: no daemon answers on %s\n", what, path);
	else if (r)
		fprintf(stderr, "wg-rtsync: %s: %s: %s\n", what, path, strerror(-r));
	else if (!strncmp(reply, "error: ", 7))
		fprintf(stderr, "wg-rtsync: %s: %s", what, reply + 7);
	else
		fwrite(reply, 1, len, stdout);
	r = r || !strncmp(reply, "error: ", 7);
	free(reply);
	return r ? EXIT_FAILURE : EXIT_SUCCESS;
}

int daemon_status_query(const struct daemon_options *o, enum status_format format)
{
	static const char *const requests[] = {
		[STATUS_TEXT] = "status\n",
		[STATUS_JSON] = "status json\n",
		[STATUS_PROMETHEUS] = "status prometheus\n",
	};

	return query(o, "status", requests[format]);
}

int daemon_poll_query(const struct daemon_options *o, char *const *names, size_t n)
{
	char request[256] = "poll";
	size_t len = strlen(request);

	for (size_t i = 0; i < n; i++) {
		int w = snprintf(request + len, sizeof(request) - len, " %s", names[i]);

		if (w < 0 || (size_t)w >= sizeof(request) - len - 1) {
			fprintf(stderr, "wg-rtsync: poll: too many interfaces at once\n");
			return EXIT_FAILURE;
		}
		len += (size_t)w;
	}
	request[len++] = '\n';
	request[len] = '\0';
	return query(o, "poll", request);
}
