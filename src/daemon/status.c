/* status.c: renders the daemon's status as text or JSON (see status.h). */
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
		"\"last_sync\":",
		s->table, s->st.peers, s->st.allowed_ips, s->st.learned, s->st.routes,
		s->st.installed, s->st.conflicts, s->st.ambiguous_gateways,
		s->st.filtered, s->st.over_limit, (unsigned long long)s->rounds,
		(unsigned long long)s->applied, (unsigned long long)s->failed,
		(unsigned long long)s->last_failed);
	json_time(out, s->last_sync);
	fputs(",\"last_error\":", out);
	if (s->last_error_time > 0)
		json_string(out, s->last_error);
	else
		fputs("null", out);
	fputs(",\"last_error_time\":", out);
	json_time(out, s->last_error_time);
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
