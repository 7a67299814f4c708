/* status.c: renders the daemon's status (see status.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "status.h"

static const char *utc(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&s, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "never");
	return buf;
}

/* "  failures: route add ENETUNREACH 3 (failing), ..." */
static void write_failures_text(FILE *out, const struct iface_status *s)
{
	char name[16];

	for (size_t k = 0; k < s->n_failures; k++) {
		const struct failure_cause *c = &s->failures[k];

		fprintf(out, "%s%s %s %llu%s",
			k ? ", " : "  failures: ", failure_kind_name(c->kind),
			failure_errno_name(c->err, name, sizeof(name)),
			(unsigned long long)c->count, c->failing ? " (failing)" : "");
	}
	if (s->n_failures)
		fputc('\n', out);
}

void status_write_text(FILE *out, const struct daemon_status *ds)
{
	double now = clock_unix();
	char when[32];

	fprintf(out, "wg-rtsync %s, pid %d, config %s%s\n", ds->version, ds->pid,
		ds->config, ds->dry_run ? ", dry run" : "");
	fprintf(out, "running since %s, full resyncs %llu, lost-event resyncs %llu\n",
		utc(ds->started, when, sizeof(when)), (unsigned long long)ds->resyncs,
		(unsigned long long)ds->lost_events);
	if (!ds->n)
		fprintf(out, "no WireGuard interface managed\n");
	for (size_t i = 0; i < ds->n; i++) {
		const struct iface_status *s = &ds->v[i];

		fprintf(out, "\ninterface %s (index %d, %s)\n", s->name, s->ifindex,
			s->up ? "up" : "down");
		fprintf(out, "  backend %s, removal: %s, table %u\n", s->backend,
			s->removal, s->table);
		fprintf(out, "  peers %zu, AllowedIPs %zu, learned %zu\n", s->st.peers,
			s->st.allowed_ips, s->st.learned);
		fprintf(out, "  routes in table %zu, ours %zu\n", s->st.routes,
			s->st.installed);
		fprintf(out,
			"  table read %llu times, %llu torn; route adds refused by a "
			"route not seen %llu\n",
			(unsigned long long)s->route_dumps,
			(unsigned long long)s->torn_route_dumps,
			(unsigned long long)s->unseen_routes);
		fprintf(out,
			"  device read %llu times, %.3fs in all, %llu reads abandoned "
			"for a change; next poll in %.1fs\n",
			(unsigned long long)s->device_reads,
			(double)s->device_read_ms / 1e3,
			(unsigned long long)s->device_reads_abandoned, s->next_poll_in);
		fprintf(out,
			"  conflicts %zu, ambiguous gateways %zu, filtered %zu, over "
			"limit %zu\n",
			s->st.conflicts, s->st.ambiguous_gateways, s->st.filtered,
			s->st.over_limit);
		fprintf(out, "  last sync %s", utc(s->last_sync, when, sizeof(when)));
		if (s->last_sync > 0)
			fprintf(out, " (%.1fs ago)", now - s->last_sync);
		fprintf(out, ", rounds %llu, changes applied %llu, failed %llu\n",
			(unsigned long long)s->rounds, (unsigned long long)s->applied,
			(unsigned long long)s->failed);
		if (s->last_error_time > 0)
			fprintf(out, "  last error %s: %s\n",
				utc(s->last_error_time, when, sizeof(when)),
				s->last_error);
		write_failures_text(out, s);
	}
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void json_time(FILE *out, double t)
{
	if (t > 0)
		fprintf(out, "%.3f", t);
	else
		fputs("null", out);
}

/* "failures": [{"kind", "cause", "reason", "count", "failing", "last"}] */
static void json_failures(FILE *out, const struct iface_status *s)
{
	char name[16];

	fputs(",\"failures\":[", out);
	for (size_t k = 0; k < s->n_failures; k++) {
		const struct failure_cause *c = &s->failures[k];

		fputs(k ? ",{\"kind\":" : "{\"kind\":", out);
		json_string(out, failure_kind_name(c->kind));
		fputs(",\"cause\":", out);
		json_string(out, failure_errno_name(c->err, name, sizeof(name)));
		fputs(",\"reason\":", out);
		json_string(out, strerror(c->err));
		fprintf(out, ",\"count\":%llu,\"failing\":%s,\"last\":",
			(unsigned long long)c->count, c->failing ? "true" : "false");
		json_time(out, c->last);
		fputc('}', out);
	}
	fputc(']', out);
}

static void json_iface(FILE *out, const struct iface_status *s)
{
	fputs("{\"name\":", out);
	json_string(out, s->name);
	fprintf(out, ",\"ifindex\":%d,\"up\":%s,\"backend\":", s->ifindex,
		s->up ? "true" : "false");
	json_string(out, s->backend);
	fputs(",\"removal\":", out);
	json_string(out, s->removal);
	fprintf(out,
		",\"table\":%u,\"peers\":%zu,\"allowed_ips\":%zu,\"learned\":%zu,"
		"\"routes\":%zu,\"our_routes\":%zu,\"conflicts\":%zu,"
		"\"ambiguous_gateways\":%zu,\"filtered\":%zu,\"over_limit\":%zu,"
		"\"rounds\":%llu,\"applied\":%llu,\"failed\":%llu,\"last_failed\":%llu,"
		"\"route_dumps\":%llu,\"torn_route_dumps\":%llu,\"unseen_routes\":%llu,"
		"\"device_reads\":%llu,\"device_read_seconds\":%.3f,"
		"\"device_reads_abandoned\":%llu,\"next_poll_in\":%.3f,\"last_sync\":",
		s->table, s->st.peers, s->st.allowed_ips, s->st.learned, s->st.routes,
		s->st.installed, s->st.conflicts, s->st.ambiguous_gateways,
		s->st.filtered, s->st.over_limit, (unsigned long long)s->rounds,
		(unsigned long long)s->applied, (unsigned long long)s->failed,
		(unsigned long long)s->last_failed, (unsigned long long)s->route_dumps,
		(unsigned long long)s->torn_route_dumps,
		(unsigned long long)s->unseen_routes, (unsigned long long)s->device_reads,
		(double)s->device_read_ms / 1e3,
		(unsigned long long)s->device_reads_abandoned, s->next_poll_in);
	json_time(out, s->last_sync);
	fputs(",\"last_error\":", out);
	if (s->last_error_time > 0)
		json_string(out, s->last_error);
	else
		fputs("null", out);
	fputs(",\"last_error_time\":", out);
	json_time(out, s->last_error_time);
	json_failures(out, s);
	fputc('}', out);
}

void status_write_json(FILE *out, const struct daemon_status *ds)
{
	fputs("{\"version\":", out);
	json_string(out, ds->version);
	fprintf(out, ",\"pid\":%d,\"config\":", ds->pid);
	json_string(out, ds->config);
	fprintf(out, ",\"dry_run\":%s,\"started\":", ds->dry_run ? "true" : "false");
	json_time(out, ds->started);
	fprintf(out, ",\"resyncs\":%llu,\"lost_events\":%llu,\"interfaces\":[",
		(unsigned long long)ds->resyncs, (unsigned long long)ds->lost_events);
	for (size_t i = 0; i < ds->n; i++) {
		if (i)
			fputc(',', out);
		json_iface(out, &ds->v[i]);
	}
	fputs("]}\n", out);
}

void status_summary(const struct daemon_status *ds, char *buf, size_t len)
{
	struct rec_stats sum = {0};

	for (size_t i = 0; i < ds->n; i++) {
		sum.peers += ds->v[i].st.peers;
		sum.learned += ds->v[i].st.learned;
		sum.installed += ds->v[i].st.installed;
		sum.conflicts += ds->v[i].st.conflicts;
	}
	snprintf(buf, len,
		 "interfaces %zu, peers %zu, learned %zu, installed %zu, conflicts %zu",
		 ds->n, sum.peers, sum.learned, sum.installed, sum.conflicts);
}

/* ---- Prometheus ---- */

/* A label value: backslash, double quote and newline escaped. */
static void prom_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void prom_head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP wg_rtsync_%s %s\n# TYPE wg_rtsync_%s %s\n", name, help, name,
		type);
}

/* name{interface="...",label="value",...}: label-value pairs, then NULL. */
__attribute__((sentinel)) static void prom_sample(FILE *out, const char *name,
						  const char *iface, ...)
{
	const char *label;
	va_list ap;

	fprintf(out, "wg_rtsync_%s{interface=\"", name);
	prom_value(out, iface);
	va_start(ap, iface);
	while ((label = va_arg(ap, const char *))) {
		fprintf(out, "\",%s=\"", label);
		prom_value(out, va_arg(ap, const char *));
	}
	va_end(ap);
	fputs("\"} ", out);
}

/* One gauge of rec_stats per interface. */
struct prom_gauge {
	const char *name, *help;
	size_t offset;
};

#define GAUGE(field, name, help)                                                         \
	{                                                                                \
		name, help, offsetof(struct rec_stats, field)                            \
	}

static const struct prom_gauge iface_gauges[] = {
	GAUGE(peers, "peers", "Peers of the interface."),
	GAUGE(routes, "routes", "Routes of the interface's table that wg-rtsync holds."),
	GAUGE(installed, "installed_routes",
	      "Routes wg-rtsync installed (its protocol, through the interface)."),
	GAUGE(conflicts, "conflicts",
	      "Destinations held back because another peer has them as a static "
	      "AllowedIP."),
	GAUGE(filtered, "filtered", "Destinations not learned: refused by learn_filter."),
	GAUGE(over_limit, "over_limit",
	      "Destinations not learned: over max_learned_prefixes."),
	GAUGE(ambiguous_gateways, "ambiguous_gateways",
	      "Gateway addresses claimed by two peers (routes via them are ignored)."),
};

static void prom_peer_gauge(FILE *out, const struct daemon_status *ds, bool learned)
{
	char key[WG_KEY_B64_LEN];

	prom_head(out, learned ? "learned_allowed_ips" : "static_allowed_ips", "gauge",
		  learned ? "AllowedIPs of the peer that wg-rtsync learned from routes."
			  : "AllowedIPs of the peer that wg-rtsync did not put there "
			    "(static).");
	for (size_t i = 0; i < ds->n; i++) {
		for (size_t k = 0; k < ds->v[i].n_peers; k++) {
			const struct rec_peer_stats *p = &ds->v[i].peers[k];

			wg_key_to_base64(&p->key, key);
			prom_sample(out,
				    learned ? "learned_allowed_ips"
					    : "static_allowed_ips",
				    ds->v[i].name, "peer", key, NULL);
			fprintf(out, "%zu\n",
				learned ? p->learned : p->allowed_ips - p->learned);
		}
	}
}

static void prom_changes(FILE *out, const struct daemon_status *ds, bool failed)
{
	static const char *const kinds[] = {
		[CHANGE_ALLOWED_ADD] = "allowed_ip_add",
		[CHANGE_ALLOWED_DEL] = "allowed_ip_del",
		[CHANGE_ROUTE_ADD] = "route_add",
		[CHANGE_ROUTE_DEL] = "route_del",
	};
	const char *name = failed ? "changes_failed_total" : "changes_applied_total";

	prom_head(out, name, "counter",
		  failed ? "Changes that failed, by kind (each is retried on the next "
			   "pass)."
			 : "Changes applied, by kind.");
	for (size_t i = 0; i < ds->n; i++) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			prom_sample(out, name, ds->v[i].name, "kind", kinds[k], NULL);
			fprintf(out, "%llu\n",
				(unsigned long long)(failed ? ds->v[i].failed_by_op[k]
							    : ds->v[i].applied_by_op[k]));
		}
	}
}

/* Every cause of failure (failures.h): its count, and whether it lasts. */
static void prom_failures(FILE *out, const struct daemon_status *ds, bool failing)
{
	const char *name = failing ? "failing" : "failures_total";
	char errname[16];

	prom_head(out, name, failing ? "gauge" : "counter",
		  failing ? "1 while a cause of failure lasts (it is said once, and "
			    "retried on every pass), 0 once it has ended."
			  : "Failures by kind of operation and cause (errno).");
	for (size_t i = 0; i < ds->n; i++) {
		for (size_t k = 0; k < ds->v[i].n_failures; k++) {
			const struct failure_cause *c = &ds->v[i].failures[k];

			prom_sample(out, name, ds->v[i].name, "kind",
				    failure_kind_id(c->kind), "cause",
				    failure_errno_name(c->err, errname, sizeof(errname)),
				    NULL);
			fprintf(out, "%llu\n",
				(unsigned long long)(failing ? c->failing : c->count));
		}
	}
}

static void prom_resyncs(FILE *out, const struct daemon_status *ds)
{
	prom_head(out, "resyncs_total", "counter",
		  "Full re-reads of routes and device, by cause: periodic "
		  "(resync_interval), enobufs (events were lost), link (down or up).");
	for (size_t i = 0; i < ds->n; i++) {
		const struct iface_status *s = &ds->v[i];
		const struct {
			const char *cause;
			uint64_t n;
		} v[] = {{"periodic", s->resyncs_periodic},
			 {"enobufs", s->resyncs_lost_events},
			 {"link", s->resyncs_link}};

		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
			prom_sample(out, "resyncs_total", s->name, "cause", v[k].cause,
				    NULL);
			fprintf(out, "%llu\n", (unsigned long long)v[k].n);
		}
	}
}

/* A counter of every interface, at offset in struct iface_status. */
static void prom_iface_counter(FILE *out, const struct daemon_status *ds,
			       const char *name, const char *help, size_t offset)
{
	prom_head(out, name, "counter", help);
	for (size_t i = 0; i < ds->n; i++) {
		prom_sample(out, name, ds->v[i].name, NULL);
		fprintf(out, "%llu\n",
			(unsigned long long)*(const uint64_t *)((const char *)&ds->v[i] +
								offset));
	}
}

void status_write_prometheus(FILE *out, const struct daemon_status *ds)
{
	prom_head(out, "info", "gauge", "The running wg-rtsync; always 1.");
	fputs("wg_rtsync_info{version=\"", out);
	prom_value(out, ds->version);
	fputs("\"} 1\n", out);
	prom_head(out, "start_time_seconds", "gauge",
		  "When the daemon started (unix time).");
	fprintf(out, "wg_rtsync_start_time_seconds %.3f\n", ds->started);
	prom_head(out, "interfaces", "gauge", "WireGuard interfaces managed.");
	fprintf(out, "wg_rtsync_interfaces %zu\n", ds->n);

	prom_head(out, "interface_info", "gauge",
		  "A managed interface: its WireGuard backend, how it removes "
		  "AllowedIPs, its routing table; always 1.");
	for (size_t i = 0; i < ds->n; i++) {
		char table[16];

		snprintf(table, sizeof(table), "%u", ds->v[i].table);
		prom_sample(out, "interface_info", ds->v[i].name, "backend",
			    ds->v[i].backend, "removal", ds->v[i].removal, "table", table,
			    NULL);
		fputs("1\n", out);
	}
	prom_head(out, "interface_up", "gauge", "1 when the link is up.");
	for (size_t i = 0; i < ds->n; i++) {
		prom_sample(out, "interface_up", ds->v[i].name, NULL);
		fprintf(out, "%d\n", ds->v[i].up);
	}
	for (size_t g = 0; g < sizeof(iface_gauges) / sizeof(iface_gauges[0]); g++) {
		prom_head(out, iface_gauges[g].name, "gauge", iface_gauges[g].help);
		for (size_t i = 0; i < ds->n; i++) {
			const char *st = (const char *)&ds->v[i].st;

			prom_sample(out, iface_gauges[g].name, ds->v[i].name, NULL);
			fprintf(out, "%zu\n",
				*(const size_t *)(st + iface_gauges[g].offset));
		}
	}
	prom_peer_gauge(out, ds, false);
	prom_peer_gauge(out, ds, true);

	prom_head(out, "passes_total", "counter", "Sync rounds (passes) run.");
	for (size_t i = 0; i < ds->n; i++) {
		prom_sample(out, "passes_total", ds->v[i].name, NULL);
		fprintf(out, "%llu\n", (unsigned long long)ds->v[i].rounds);
	}
	prom_changes(out, ds, false);
	prom_changes(out, ds, true);
	prom_failures(out, ds, false);
	prom_failures(out, ds, true);
	prom_resyncs(out, ds);
	prom_iface_counter(out, ds, "route_dumps_total", "Reads of the routing table.",
			   offsetof(struct iface_status, route_dumps));
	prom_iface_counter(out, ds, "torn_route_dumps_total",
			   "Reads of the routing table during which routes changed: "
			   "read again before their gaps are acted on.",
			   offsetof(struct iface_status, torn_route_dumps));
	prom_iface_counter(out, ds, "unseen_routes_total",
			   "Route additions the kernel refused (EEXIST) because a route "
			   "wg-rtsync had not seen stands there; never replaced.",
			   offsetof(struct iface_status, unseen_routes));
	prom_iface_counter(out, ds, "device_reads_total",
			   "Reads of the WireGuard device to their end: polls and full "
			   "reads.",
			   offsetof(struct iface_status, device_reads));
	prom_head(out, "device_read_seconds_total", "counter",
		  "Time the reads of the WireGuard device took, summed: what "
		  "wg_poll_budget bounds.");
	for (size_t i = 0; i < ds->n; i++) {
		prom_sample(out, "device_read_seconds_total", ds->v[i].name, NULL);
		fprintf(out, "%.3f\n", (double)ds->v[i].device_read_ms / 1e3);
	}
	prom_iface_counter(out, ds, "device_reads_abandoned_total",
			   "Polls of the WireGuard device abandoned so that a change "
			   "went first; read again after it.",
			   offsetof(struct iface_status, device_reads_abandoned));
	prom_head(out, "last_pass_duration_seconds", "gauge",
		  "How long the last pass took (planning and applying its changes).");
	for (size_t i = 0; i < ds->n; i++) {
		prom_sample(out, "last_pass_duration_seconds", ds->v[i].name, NULL);
		fprintf(out, "%.9f\n", ds->v[i].last_round_seconds);
	}
	prom_head(out, "last_pass_timestamp_seconds", "gauge",
		  "When the last pass ran (unix time).");
	for (size_t i = 0; i < ds->n; i++) {
		prom_sample(out, "last_pass_timestamp_seconds", ds->v[i].name, NULL);
		fprintf(out, "%.3f\n", ds->v[i].last_sync);
	}
}
