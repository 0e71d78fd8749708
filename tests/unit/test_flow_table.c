// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/flow_table.c (and flow_trace.c): rules through the real pipeline
// (pl_process with a hand-built snapshot and a capturing flush), cache vs classifier counters,
// cache invalidation on every kind of change, add/replace/del (strict and not)/mod, port
// resolution and removal, every action with checksums verified from scratch, mirrors and
// copies, table-miss, timeouts with an injected clock, dumps, synthetic and live traces.
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/flow_parse.h"
#include "dataplane/flow_table.h"
#include "dataplane/flow_trace.h"
#include "dataplane/mac_table.h"
#include "dataplane/net.h"
#include "dataplane/pipeline.h"
#include "dataplane/pkt.h"
#include "dataplane/rcu.h"

#define N_PORTS 6
#define POOL_N 256

static struct mempool *pool;
static struct pl_port ports[N_PORTS];
static uint16_t members[N_PORTS];
static struct pl_bridge br;
static struct pl_snapshot snap;
static struct pl_txbuf tx[PORT_MAX];
static struct pl_port_counters ctr[PORT_MAX];
static uint64_t pending[PORT_MAX / 64];
static struct pl_ctx ctx;
static struct flow_table *ft;
static bool gone[N_PORTS];
static uint32_t now = 1000;

struct capture {
	unsigned n;
	struct {
		uint16_t port;
		struct pkt *p;
	} out[4 * POOL_N];
};
static struct capture cap;

static uint32_t test_clock(void)
{
	return now;
}

static void capture_flush(struct pl_ctx *c, uint16_t port)
{
	struct pl_txbuf *tb = &c->tx[port];

	for (unsigned i = 0; i < tb->n; i++) {
		ck_assert_uint_lt(cap.n, ARRAY_SIZE(cap.out));
		cap.out[cap.n].port = port;
		cap.out[cap.n].p = tb->pkts[i];
		cap.n++;
	}
	tb->n = 0;
	c->tx_pending[port / 64] &= ~(1ULL << (port % 64));
}

static void drain(void)
{
	for (unsigned w = 0; w < PORT_MAX / 64; w++) {
		while (pending[w])
			capture_flush(&ctx, (uint16_t)(w * 64 + __builtin_ctzll(pending[w])));
	}
}

static void cap_reset(void)
{
	for (unsigned i = 0; i < cap.n; i++)
		pkt_free(cap.out[i].p);
	cap.n = 0;
}

static unsigned cap_count(uint16_t port)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cap.n; i++)
		n += cap.out[i].port == port;
	return n;
}

static struct pkt *cap_get(uint16_t port)
{
	for (unsigned i = 0; i < cap.n; i++)
		if (cap.out[i].port == port)
			return cap.out[i].p;
	ck_abort_msg("nothing sent on port %u", port);
	return NULL;
}

static int port_lookup(void *arg, const char *name)
{
	unsigned id;

	if (strcmp(name, "other") == 0)
		return -EXDEV;
	if (sscanf(name, "p%u", &id) != 1 || id >= N_PORTS || gone[id])
		return -ENOENT;
	return (int)id;
}

// A packet from trace-style fields ("tcp,nw_src=...,tp_dst=80").
static struct pkt *mkpkt(const char *fields)
{
	struct flow_spec s;
	struct err e = {0};
	uint8_t buf[256];
	unsigned len;
	struct pkt *p;

	ck_assert_msg(flow_parse(fields, strlen(fields), FLOW_PARSE_PACKET, &s, &e) == 0, "%s: %s",
		fields, e.msg);
	len = flow_trace_build_frame(&s, buf, sizeof(buf));
	ck_assert_uint_gt(len, 0);
	p = pkt_alloc(pool);
	ck_assert_ptr_nonnull(p);
	memcpy(pkt_data(p), buf, len);
	p->len = len;
	return p;
}

static void send_pkt(uint16_t in_port, struct pkt *p)
{
	pl_process(&ctx, in_port, &p, 1);
	drain();
}

static void send_fields(uint16_t in_port, const char *fields)
{
	send_pkt(in_port, mkpkt(fields));
}

static int add(const char *text)
{
	struct flow_spec s;
	struct err e = {0};
	int ret;

	ck_assert_msg(
		flow_parse(text, strlen(text), FLOW_PARSE_ADD, &s, &e) == 0, "%s: %s", text, e.msg);
	ret = flow_table_add(ft, &s, 0, &e);
	br.flows = flow_table_active(ft) ? ft : NULL;
	return ret;
}

static unsigned del(const char *filter, bool strict)
{
	struct flow_spec s;
	struct err e = {0};
	unsigned n = 99;

	ck_assert_msg(flow_parse(filter, strlen(filter), FLOW_PARSE_FILTER, &s, &e) == 0, "%s: %s",
		filter, e.msg);
	ck_assert_int_eq(flow_table_del(ft, &s, strict, &n), 0);
	br.flows = flow_table_active(ft) ? ft : NULL;
	return n;
}

static void setup(void)
{
	struct flow_table_port_ops ops = {.lookup = port_lookup};

	pool = pkt_pool_create("t_flow", POOL_N, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
	memset(&snap, 0, sizeof(snap));
	memset(ports, 0, sizeof(ports));
	memset(tx, 0, sizeof(tx));
	memset(ctr, 0, sizeof(ctr));
	memset(pending, 0, sizeof(pending));
	memset(&cap, 0, sizeof(cap));
	memset(gone, 0, sizeof(gone));
	for (uint16_t i = 0; i < N_PORTS; i++) {
		ports[i].id = i;
		ports[i].enabled = true;
		ports[i].vlan_mode = PL_VLAN_TRUNK;
		ports[i].mtu = 1500;
		snprintf(ports[i].name, sizeof(ports[i].name), "p%u", i);
		members[i] = i;
		snap.ports[i] = &ports[i];
	}
	memset(&br, 0, sizeof(br));
	snprintf(br.name, sizeof(br.name), "br0");
	br.n_ports = 4;
	br.ports = members;
	br.macs = mac_table_create(1024, 300);
	snap.bridges[0] = &br;
	snap.pool = pool;
	ctx = (struct pl_ctx){.snap = &snap,
		.worker = 0,
		.now_sec = now,
		.tx = tx,
		.ctr = ctr,
		.tx_pending = pending,
		.flush = capture_flush};
	flow_table_set_clock(test_clock);
	ft = flow_table_create("br0", 2, FLOW_MISS_NORMAL, &ops);
	ck_assert_ptr_nonnull(ft);
}

static void teardown(void)
{
	cap_reset();
	flow_trace_live_stop(PORT_MAX);
	flow_table_destroy(ft);
	rcu_barrier();
	flow_table_set_clock(NULL);
	for (unsigned i = 0; i < PORT_MAX; i++)
		ck_assert_uint_eq(tx[i].n, 0);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
	mac_table_destroy(br.macs);
	ck_assert_uint_eq(mempool_destroy(pool), 0);
}

static struct flow_table_stats stats(void)
{
	struct flow_table_stats st;

	flow_table_stats_get(ft, &st);
	return st;
}

// ---- checksums verified from scratch ----

static const uint8_t *l3(const struct pkt *p)
{
	return pkt_data(p) + p->l3_off;
}

static bool ipv4_ok(const struct pkt *p)
{
	return net_ipv4_csum((const struct net_ipv4_hdr *)l3(p)) == 0;
}

static bool l4_ok(const struct pkt *p)
{
	const uint8_t *ip = l3(p), *l4;
	bool v6 = (ip[0] >> 4) == 6;
	unsigned len;
	uint8_t proto;
	uint32_t sum;

	if (v6) {
		len = net_get_be16(ip + 4);
		proto = ip[6];
		l4 = ip + 40;
		sum = net_ipv6_pseudo_csum((const struct net_ipv6_hdr *)ip, proto, len);
	} else {
		len = net_get_be16(ip + 2) - (ip[0] & 0xf) * 4u;
		proto = ip[9];
		l4 = ip + (ip[0] & 0xf) * 4;
		sum = net_ipv4_pseudo_csum((const struct net_ipv4_hdr *)ip, proto, (uint16_t)len);
	}
	if (proto == NET_IPPROTO_SCTP) {
		uint8_t tmp[256];
		uint32_t crc = 0xffffffff, want;

		memcpy(tmp, l4, len);
		memset(tmp + 8, 0, 4);
		for (unsigned i = 0; i < len; i++) {
			crc ^= tmp[i];
			for (int k = 0; k < 8; k++)
				crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
		}
		crc = ~crc;
		want = (uint32_t)l4[8] | (uint32_t)l4[9] << 8 | (uint32_t)l4[10] << 16 |
			(uint32_t)l4[11] << 24;
		return crc == want;
	}
	if (proto == NET_IPPROTO_UDP && !v6 && net_get_be16(l4 + 6) == 0)
		return true;
	return net_csum_fold(net_csum_partial(l4, len, sum)) == 0;
}

// ---- tests ----

START_TEST(basic_output_and_counters)
{
	struct flow_table_stats st;

	ck_assert_int_eq(add("priority=100,in_port=p0,tcp,tp_dst=80 actions=output:p2"), 0);
	ck_assert_ptr_eq(br.flows, ft);
	send_fields(0, "tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1234,tp_dst=80");
	ck_assert_uint_eq(cap.n, 1);
	ck_assert_uint_eq(cap_count(2), 1);
	st = stats();
	ck_assert_uint_eq(st.packets, 1);
	ck_assert_uint_eq(st.cls_hits, 1);
	ck_assert_uint_eq(st.cache_hits, 0);
	ck_assert_uint_eq(st.cls_lookups, 1);
	ck_assert_uint_eq(st.subtables_searched, 1);
	// The same flow again: from the worker's cache.
	send_fields(0, "tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1234,tp_dst=80");
	st = stats();
	ck_assert_uint_eq(st.cache_hits, 1);
	ck_assert_uint_eq(st.cls_hits, 1);
	ck_assert_uint_eq(cap_count(2), 2);
	// Not matching (other port, other tp_dst): table miss -> normal (flood to 1..3).
	send_fields(1, "tcp,tp_dst=80");
	send_fields(0, "tcp,tp_dst=81");
	st = stats();
	ck_assert_uint_eq(st.misses, 2);
	ck_assert_uint_eq(st.rules, 1);
	ck_assert_uint_eq(st.subtables, 1);
	ck_assert_uint_eq(cap.n, 2 + 3 + 3);
	cap_reset();
}
END_TEST

static void dump_cb(void *arg, const struct flow_rule_info *ri)
{
	struct flow_rule_info *out = arg;
	static char texts[8][FLOW_TEXT_MAX];
	unsigned i = out[0].missing_outputs++; // slot 0 counts calls

	ck_assert_uint_lt(i, 7);
	out[i + 1] = *ri;
	snprintf(texts[i], sizeof(texts[i]), "%s", ri->text);
	out[i + 1].text = texts[i];
}

START_TEST(dump_and_rule_counters)
{
	struct flow_rule_info got[8];
	struct flow_spec f;
	struct err e = {0};

	ck_assert_int_eq(add("priority=10,udp actions=output:p1"), 0);
	ck_assert_int_eq(
		add("priority=20,cookie=0x5,udp,tp_dst=53,idle_timeout=30 actions=output:p2"), 0);
	ck_assert_int_eq(add("priority=10,arp actions=flood"), 0);
	send_fields(0, "udp,tp_dst=53");
	send_fields(0, "udp,tp_dst=53");
	send_fields(0, "udp,tp_dst=54");
	now += 7;
	memset(got, 0, sizeof(got));
	ck_assert_uint_eq(flow_table_dump(ft, NULL, false, now, dump_cb, got), 3);
	ck_assert_uint_eq(got[0].missing_outputs, 3);
	// Highest priority first, then oldest.
	ck_assert_str_eq(got[1].text,
		"priority=20,cookie=0x5,idle_timeout=30,udp,tp_dst=53 actions=output:p2");
	ck_assert_uint_eq(got[1].packets, 2);
	ck_assert_uint_eq(got[1].bytes, 2 * 60);
	ck_assert_int_eq(got[1].idle_age, 7);
	ck_assert_uint_eq(got[1].duration, 7);
	ck_assert_uint_eq(got[1].cookie, 5);
	ck_assert_str_eq(got[2].text, "priority=10,udp actions=output:p1");
	ck_assert_uint_eq(got[2].packets, 1);
	ck_assert_str_eq(got[3].text, "priority=10,arp actions=flood");
	ck_assert_int_eq(got[3].idle_age, -1);
	// Filtered dump.
	ck_assert_int_eq(flow_parse("udp", 3, FLOW_PARSE_FILTER, &f, &e), 0);
	memset(got, 0, sizeof(got));
	ck_assert_uint_eq(flow_table_dump(ft, &f, false, now, dump_cb, got), 2);
	ck_assert_int_eq(flow_parse("cookie=5/-1", 11, FLOW_PARSE_FILTER, &f, &e), 0);
	memset(got, 0, sizeof(got));
	ck_assert_uint_eq(flow_table_dump(ft, &f, false, now, dump_cb, got), 1);
	cap_reset();
}
END_TEST

START_TEST(cache_invalidation)
{
	send_fields(0, "udp,tp_dst=7"); // no rules: the table is skipped
	ck_assert_ptr_null(br.flows);
	ck_assert_uint_eq(cap.n, 3);
	cap_reset();
	ck_assert_int_eq(add("priority=1,udp actions=output:p1"), 0);
	for (int i = 0; i < 3; i++)
		send_fields(0, "udp,tp_dst=7");
	ck_assert_uint_eq(cap_count(1), 3);
	ck_assert_uint_eq(stats().cache_hits, 2);
	// A higher-priority rule: the cached entry must not be used any more.
	ck_assert_int_eq(add("priority=5,udp,tp_dst=7 actions=output:p2"), 0);
	send_fields(0, "udp,tp_dst=7");
	ck_assert_uint_eq(cap_count(2), 1);
	// Deleting it: back to the first rule at once.
	ck_assert_uint_eq(del("priority=5,udp,tp_dst=7", true), 1);
	send_fields(0, "udp,tp_dst=7");
	ck_assert_uint_eq(cap_count(1), 4);
	// Modifying actions: the cached rule is the same, its new actions apply.
	{
		struct flow_spec s;
		struct err e = {0};
		unsigned n;
		const char *t = "udp actions=output:p3";

		ck_assert_int_eq(flow_parse(t, strlen(t), FLOW_PARSE_ADD, &s, &e), 0);
		ck_assert_int_eq(flow_table_mod(ft, &s, false, 0, &n, &e), 0);
		ck_assert_uint_eq(n, 1);
	}
	send_fields(0, "udp,tp_dst=7");
	ck_assert_uint_eq(cap_count(3), 1);
	// Table-miss results are cached too, and invalidated by an add.
	send_fields(0, "tcp,tp_dst=7");
	send_fields(0, "tcp,tp_dst=7");
	ck_assert_uint_eq(stats().misses, 2);
	ck_assert_int_eq(add("priority=1,tcp actions=drop"), 0);
	send_fields(0, "tcp,tp_dst=7");
	ck_assert_uint_eq(stats().misses, 2);
	ck_assert_uint_eq(stats().dropped, 1);
	cap_reset();
}
END_TEST

START_TEST(replace_del_mod)
{
	struct flow_spec s;
	struct err e = {0};
	unsigned n;
	const char *t;

	ck_assert_int_eq(add("priority=10,ip,nw_dst=10.0.0.0/8 actions=output:p1"), 0);
	send_fields(0, "ip,nw_dst=10.1.1.1");
	// Same match and priority: replaced (counters restart).
	ck_assert_int_eq(add("priority=10,ip,nw_dst=10.0.0.0/8 actions=output:p2"), 0);
	ck_assert_uint_eq(flow_table_n_rules(ft), 1);
	send_fields(0, "ip,nw_dst=10.1.1.1");
	ck_assert_uint_eq(cap_count(2), 1);
	ck_assert_int_eq(add("priority=20,ip,nw_dst=10.0.0.0/8 actions=output:p3"), 0);
	ck_assert_int_eq(add("priority=30,ip,nw_dst=10.1.0.0/16 actions=output:p3"), 0);
	ck_assert_int_eq(add("priority=30,arp actions=drop"), 0);
	ck_assert_uint_eq(flow_table_n_rules(ft), 4);
	// Strict needs the exact match and priority.
	ck_assert_uint_eq(del("priority=11,ip,nw_dst=10.0.0.0/8", true), 0);
	ck_assert_uint_eq(del("ip,nw_dst=10.0.0.0/8", true), 0); // default priority 32768
	ck_assert_uint_eq(del("priority=20,ip,nw_dst=10.0.0.0/8", true), 1);
	// Non-strict: everything at least as specific as the filter.
	ck_assert_uint_eq(del("ip,nw_dst=10.0.0.0/8", false), 2);
	ck_assert_uint_eq(flow_table_n_rules(ft), 1);
	// mod-flows strict / non-strict.
	ck_assert_int_eq(add("priority=5,udp,tp_dst=1 actions=output:p1"), 0);
	ck_assert_int_eq(add("priority=6,udp,tp_dst=1 actions=output:p1"), 0);
	t = "priority=6,udp,tp_dst=1 actions=output:p2";
	ck_assert_int_eq(flow_parse(t, strlen(t), FLOW_PARSE_ADD, &s, &e), 0);
	ck_assert_int_eq(flow_table_mod(ft, &s, true, 0, &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	t = "udp actions=output:p3";
	ck_assert_int_eq(flow_parse(t, strlen(t), FLOW_PARSE_ADD, &s, &e), 0);
	ck_assert_int_eq(flow_table_mod(ft, &s, false, 0, &n, &e), 0);
	ck_assert_uint_eq(n, 2);
	// A mod naming an unknown port changes nothing.
	t = "udp actions=output:p9";
	ck_assert_int_eq(flow_parse(t, strlen(t), FLOW_PARSE_ADD, &s, &e), 0);
	ck_assert_int_eq(flow_table_mod(ft, &s, false, 0, &n, &e), -ENOENT);
	ck_assert_str_eq(e.field, "actions");
	ck_assert_ptr_nonnull(strstr(e.msg, "bridge br0 has no port p9"));
	send_fields(0, "udp,tp_dst=1");
	ck_assert_uint_eq(cap_count(3), 1);
	// Delete by cookie.
	ck_assert_int_eq(add("priority=7,cookie=0xab,udp,tp_dst=9 actions=drop"), 0);
	ck_assert_uint_eq(del("cookie=0xa0/0xf0", false), 1);
	ck_assert_uint_eq(del("", false), 3);
	ck_assert_uint_eq(flow_table_n_rules(ft), 0);
	ck_assert_ptr_null(br.flows);
	cap_reset();
}
END_TEST

START_TEST(port_changes)
{
	struct flow_spec s;
	struct err e = {0};
	const char *t;

	// Unknown or foreign ports are refused unless restoring.
	t = "in_port=p9 actions=drop";
	ck_assert_int_eq(flow_parse(t, strlen(t), FLOW_PARSE_ADD, &s, &e), 0);
	ck_assert_int_eq(flow_table_add(ft, &s, 0, &e), -ENOENT);
	ck_assert_str_eq(e.field, "in_port");
	ck_assert_str_eq(e.msg, "in_port=p9: bridge br0 has no port p9");
	memset(&e, 0, sizeof(e));
	t = "actions=output:other";
	ck_assert_int_eq(flow_parse(t, strlen(t), FLOW_PARSE_ADD, &s, &e), 0);
	ck_assert_int_eq(flow_table_add(ft, &s, 0, &e), -EXDEV);
	ck_assert_ptr_nonnull(strstr(e.msg, "belongs to another bridge"));
	ck_assert_uint_eq(flow_table_n_rules(ft), 0);

	// A port that goes away: its in_port rule stops matching, outputs to it do nothing.
	ck_assert_int_eq(add("priority=9,in_port=p1 actions=output:p2"), 0);
	ck_assert_int_eq(add("priority=8,in_port=p0 actions=output:p1,output:p3"), 0);
	send_fields(1, "ip");
	ck_assert_uint_eq(cap_count(2), 1);
	gone[1] = true;
	ports[1].enabled = false; // what the snapshot shows while the port is being removed
	flow_table_ports_changed(ft);
	send_fields(0, "ip");
	ck_assert_uint_eq(cap_count(3), 1);
	ck_assert_uint_eq(cap_count(1), 0);
	ck_assert_uint_eq(stats().output_missing, 1);
	// It comes back: both rules work again.
	gone[1] = false;
	ports[1].enabled = true;
	flow_table_ports_changed(ft);
	send_fields(0, "ip");
	ck_assert_uint_eq(cap_count(1), 1);
	send_fields(1, "ip");
	ck_assert_uint_eq(cap_count(2), 2);
	// Restoring with a missing port is allowed: the rule waits for it.
	memset(&e, 0, sizeof(e));
	t = "priority=50,in_port=p5 actions=output:p4";
	ck_assert_int_eq(flow_parse(t, strlen(t), FLOW_PARSE_ADD, &s, &e), 0);
	gone[5] = true;
	gone[4] = true;
	ck_assert_int_eq(flow_table_add(ft, &s, FLOW_TABLE_ALLOW_MISSING_PORTS, &e), 0);
	gone[5] = false;
	gone[4] = false;
	br.n_ports = 6;
	send_fields(5, "ip"); // still detached: table miss -> normal
	ck_assert_uint_eq(cap_count(4), 1);
	flow_table_ports_changed(ft);
	cap_reset();
	send_fields(5, "ip");
	ck_assert_uint_eq(cap.n, 1);
	ck_assert_uint_eq(cap_count(4), 1);
	cap_reset();
}
END_TEST

START_TEST(multiple_outputs_and_mirror)
{
	struct pkt *p;

	ck_assert_int_eq(add("tcp actions=mirror:p3,output:p1,mod_tp_dst:9999,output:p2"), 0);
	send_fields(0, "tcp,nw_src=1.1.1.1,nw_dst=2.2.2.2,tp_src=5,tp_dst=80");
	ck_assert_uint_eq(cap.n, 3);
	// The mirror has the frame as received, output:p1 before the rewrite, p2 after.
	p = cap_get(3);
	ck_assert_uint_eq(net_get_be16(pkt_data(p) + p->l4_off + 2), 80);
	p = cap_get(1);
	ck_assert_uint_eq(net_get_be16(pkt_data(p) + p->l4_off + 2), 80);
	p = cap_get(2);
	ck_assert_uint_eq(net_get_be16(pkt_data(p) + p->l4_off + 2), 9999);
	ck_assert(l4_ok(p));
	cap_reset();
	// Output to the ingress port is skipped (in_port action needed), flood excludes it.
	ck_assert_int_eq(add("priority=40000,udp actions=output:p0,in_port,flood"), 0);
	send_fields(0, "udp");
	ck_assert_uint_eq(cap_count(0), 1);
	ck_assert_uint_eq(cap_count(1) + cap_count(2) + cap_count(3), 3);
	cap_reset();
	// Disabled port and MTU.
	ports[2].enabled = false;
	ports[1].mtu = 40;
	ck_assert_int_eq(add("priority=40000,udp actions=output:p1,output:p2"), 0);
	send_fields(0, "udp");
	ck_assert_uint_eq(cap.n, 0);
	ck_assert_uint_eq(ctr[2].tx_drop_disabled, 1);
	ck_assert_uint_eq(ctr[1].tx_drop_mtu, 1);
}
END_TEST

START_TEST(set_fields_checksums)
{
	struct pkt *p;
	uint8_t *d;

	ck_assert_int_eq(add("priority=1,tcp actions=mod_nw_src:192.168.7.9,mod_nw_dst:172.16.0.1,"
			     "mod_tp_src:4000,mod_tp_dst:443,set_field:46->ip_dscp,mod_nw_ecn:1,"
			     "mod_dl_src:02:aa:bb:cc:dd:ee,mod_dl_dst:02:11:22:33:44:55,dec_ttl,"
			     "output:p1"),
		0);
	send_fields(0, "tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1,tp_dst=2,tcp_flags=+syn");
	p = cap_get(1);
	d = pkt_data(p);
	ck_assert(ipv4_ok(p));
	ck_assert(l4_ok(p));
	ck_assert_uint_eq(d[p->l3_off + 12], 192);
	ck_assert_uint_eq(d[p->l3_off + 19], 1);
	ck_assert_uint_eq(d[p->l3_off + 1], 46 << 2 | 1);
	ck_assert_uint_eq(d[p->l3_off + 8], 63);
	ck_assert_uint_eq(net_get_be16(d + p->l4_off), 4000);
	ck_assert_uint_eq(d[6], 0x02);
	ck_assert_uint_eq(d[11], 0xee);
	ck_assert_uint_eq(d[5], 0x55);
	cap_reset();

	// UDP with and without checksum.
	ck_assert_int_eq(
		add("priority=1,udp actions=mod_nw_dst:8.8.8.8,mod_tp_dst:53,output:p1"), 0);
	send_fields(0, "udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1,tp_dst=2");
	p = cap_get(1);
	ck_assert(ipv4_ok(p));
	ck_assert(l4_ok(p));
	ck_assert_uint_ne(net_get_be16(pkt_data(p) + p->l4_off + 6), 0);
	cap_reset();
	p = mkpkt("udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1,tp_dst=2");
	// No checksum: stays zero.
	memset(pkt_data(p) + 14 + 20 + 6, 0, 2);
	send_pkt(0, p);
	p = cap_get(1);
	ck_assert_uint_eq(net_get_be16(pkt_data(p) + p->l4_off + 6), 0);
	cap_reset();

	// IPv6 addresses and ports: TCP checksum through the pseudo-header.
	ck_assert_int_eq(add("priority=1,tcp6 actions=set_field:2001:db8::99->ipv6_dst,"
			     "mod_tp_dst:8080,set_field:10->ip_dscp,dec_ttl,output:p2"),
		0);
	send_fields(0, "tcp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,tp_src=3,tp_dst=4");
	p = cap_get(2);
	ck_assert(l4_ok(p));
	ck_assert_uint_eq(pkt_data(p)[p->l3_off + 39], 0x99);
	ck_assert_uint_eq(pkt_data(p)[p->l3_off + 7], 63);
	ck_assert_uint_eq((net_get_be16(pkt_data(p) + p->l3_off) >> 4) & 0xff, 10 << 2);
	cap_reset();

	// ICMPv6 checksum follows an address change too; SCTP gets a new CRC32c.
	ck_assert_int_eq(
		add("priority=1,icmp6 actions=set_field:2001:db8::7->ipv6_src,output:p2"), 0);
	send_fields(0, "icmp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,icmpv6_type=128");
	p = cap_get(2);
	ck_assert(l4_ok(p));
	cap_reset();
	ck_assert_int_eq(add("priority=1,sctp actions=mod_tp_src:7,output:p2"), 0);
	send_fields(0, "sctp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1,tp_dst=2");
	p = cap_get(2);
	ck_assert(l4_ok(p));
	ck_assert_uint_eq(net_get_be16(pkt_data(p) + p->l4_off), 7);
	cap_reset();

	// dec_ttl at 1: dropped.
	ck_assert_int_eq(add("priority=2,tcp actions=dec_ttl,output:p1"), 0);
	p = mkpkt("tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2");
	d = pkt_data(p);
	d[14 + 8] = 1;
	memset(d + 14 + 10, 0, 2);
	{
		uint16_t c = net_ipv4_csum((struct net_ipv4_hdr *)(d + 14));

		memcpy(d + 14 + 10, &c, 2);
	}
	send_pkt(0, p);
	ck_assert_uint_eq(cap.n, 0);
	ck_assert_uint_ge(stats().dropped, 1);
}
END_TEST

START_TEST(partial_checksum)
{
	struct pkt *p;
	uint8_t *d, *l4;
	uint32_t sum;
	uint16_t c;

	// A virtio NEEDS_CSUM packet: the TCP checksum field holds the pseudo-header sum.
	ck_assert_int_eq(
		add("priority=1,tcp actions=mod_nw_src:192.168.0.1,mod_tp_src:99,output:p1"), 0);
	p = mkpkt("tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1,tp_dst=2");
	d = pkt_data(p);
	l4 = d + 34;
	sum = net_ipv4_pseudo_csum((struct net_ipv4_hdr *)(d + 14), NET_IPPROTO_TCP, 20);
	c = (uint16_t)~net_csum_fold(sum);
	memcpy(l4 + 16, &c, 2);
	p->flags |= PKT_F_L4_CSUM_PARTIAL;
	p->csum_start = 34;
	p->csum_off = 16;
	send_pkt(0, p);
	p = cap_get(1);
	d = pkt_data(p);
	sum = net_ipv4_pseudo_csum((struct net_ipv4_hdr *)(d + 14), NET_IPPROTO_TCP, 20);
	memcpy(&c, d + 34 + 16, 2);
	// Still the pseudo-header sum of the new addresses (what the device expects).
	ck_assert_uint_eq(c, (uint16_t)~net_csum_fold(sum));
	ck_assert(ipv4_ok(p));
	cap_reset();
}
END_TEST

START_TEST(vlan_actions)
{
	struct pkt *p;
	uint8_t *d;

	ck_assert_int_eq(add("priority=1,in_port=p0 actions=mod_vlan_vid:10,output:p1"), 0);
	ck_assert_int_eq(add("priority=1,in_port=p1,dl_vlan=10 actions=strip_vlan,output:p2"), 0);
	ck_assert_int_eq(add("priority=1,in_port=p2,dl_vlan=10 actions=mod_vlan_vid:20,"
			     "mod_vlan_pcp:5,output:p3"),
		0);
	ck_assert_int_eq(add("priority=1,in_port=p3 actions=push_vlan:0x88a8,mod_vlan_vid:100,"
			     "output:p1"),
		0);
	ck_assert_int_eq(add("priority=1,in_port=p2,dl_vlan=0xffff actions=set_field:30->vlan_vid,"
			     "output:p3"),
		0);
	send_fields(0, "tcp,nw_src=1.1.1.1,tp_dst=5");
	p = cap_get(1);
	d = pkt_data(p);
	ck_assert_uint_eq(net_get_be16(d + 12), NET_ETH_P_VLAN);
	ck_assert_uint_eq(net_get_be16(d + 14), 10);
	ck_assert_uint_eq(net_get_be16(d + 16), NET_ETH_P_IPV4);
	ck_assert_uint_eq(p->l3_off, 18);
	ck_assert(!(p->flags & PKT_F_VLAN)); // the tag is in the data
	ck_assert(l4_ok(p));
	cap_reset();
	send_fields(1, "dl_vlan=10,tcp,tp_dst=5");
	p = cap_get(2);
	d = pkt_data(p);
	ck_assert_uint_eq(net_get_be16(d + 12), NET_ETH_P_IPV4);
	ck_assert_uint_eq(p->l3_off, 14);
	cap_reset();
	send_fields(2, "dl_vlan=10,dl_vlan_pcp=1,udp");
	p = cap_get(3);
	d = pkt_data(p);
	ck_assert_uint_eq(net_get_be16(d + 14), 5 << 13 | 20);
	cap_reset();
	// set_field vlan_vid on an untagged frame does nothing (mod_vlan_vid would push).
	send_fields(2, "udp");
	p = cap_get(3);
	ck_assert_uint_eq(net_get_be16(pkt_data(p) + 12), NET_ETH_P_IPV4);
	cap_reset();
	// QinQ: push an S-tag on top of a C-tag.
	send_fields(3, "dl_vlan=7,udp");
	p = cap_get(1);
	d = pkt_data(p);
	ck_assert_uint_eq(net_get_be16(d + 12), NET_ETH_P_QINQ);
	ck_assert_uint_eq(net_get_be16(d + 14) & 0xfff, 100);
	ck_assert_uint_eq(net_get_be16(d + 16), NET_ETH_P_VLAN);
	ck_assert_uint_eq(net_get_be16(d + 18), 7);
	ck_assert_uint_eq(p->l3_off, 22);
	cap_reset();
}
END_TEST

START_TEST(miss_drop_and_normal)
{
	struct flow_table_stats st;

	flow_table_set_miss(ft, FLOW_MISS_DROP);
	ck_assert(flow_table_active(ft));
	br.flows = ft;
	send_fields(0, "udp");
	ck_assert_uint_eq(cap.n, 0);
	st = stats();
	ck_assert_uint_eq(st.misses, 1);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_int_eq(st.miss, FLOW_MISS_DROP);
	ck_assert_int_eq(add("priority=1,udp actions=normal"), 0);
	send_fields(0, "dl_dst=ff:ff:ff:ff:ff:ff,udp");
	ck_assert_uint_eq(cap.n, 3);
	cap_reset();
	// normal learns: a reply to the learned MAC goes to one port.
	send_fields(1, "dl_src=02:00:00:00:00:01,udp");
	cap_reset();
	send_fields(0, "dl_dst=02:00:00:00:00:01,udp");
	ck_assert_uint_eq(cap.n, 1);
	ck_assert_uint_eq(cap_count(1), 1);
	cap_reset();
	// Runts and unparsed frames are counted on the ingress port.
	{
		struct pkt *p = pkt_alloc(pool);

		p->len = 10;
		send_pkt(0, p);
		ck_assert_uint_eq(ctr[0].rx_drop_runt, 1);
	}
}
END_TEST

START_TEST(timeouts)
{
	ck_assert_int_eq(add("priority=1,udp,tp_dst=1,idle_timeout=10 actions=output:p1"), 0);
	ck_assert_int_eq(add("priority=1,udp,tp_dst=2,hard_timeout=20 actions=output:p1"), 0);
	ck_assert_int_eq(add("priority=1,udp,tp_dst=3 actions=output:p1"), 0);
	now += 5;
	ctx.now_sec = now;
	send_fields(0, "udp,tp_dst=1"); // used at +5: the idle clock restarts
	now += 9;
	ck_assert_uint_eq(flow_table_run(ft, now), 0);
	ctx.now_sec = now;
	send_fields(0, "udp,tp_dst=2"); // use does not extend a hard timeout
	now += 1; // +15: 10 s idle for tp_dst=1
	ck_assert_uint_eq(flow_table_run(ft, now), 1);
	now += 4;
	ck_assert_uint_eq(flow_table_run(ft, now), 0);
	now += 1; // +20 since tp_dst=2 was added
	ck_assert_uint_eq(flow_table_run(ft, now), 1);
	ck_assert_uint_eq(flow_table_n_rules(ft), 1);
	// The expired rules are really gone for the (cached) traffic.
	cap_reset();
	send_fields(0, "udp,tp_dst=1");
	ck_assert_uint_eq(cap.n, 3); // table miss -> normal flood
	now += 100000;
	ck_assert_uint_eq(flow_table_run(ft, now), 0);
	cap_reset();
}
END_TEST

START_TEST(synthetic_trace)
{
	struct flow_trace *t = malloc(sizeof(*t));
	struct flow_spec pk;
	struct err e = {0};
	const char *f = "in_port=p0,dl_dst=02:00:00:00:00:09,tcp,nw_src=10.0.0.1,nw_dst=10.2.3.4,"
			"tp_dst=80";
	bool saw_rewrite = false;

	ck_assert_int_eq(add("priority=100,cookie=0x7,in_port=p0,tcp,nw_dst=10.0.0.0/8,tp_dst=80 "
			     "actions=mod_tp_dst:8080,output:p2,output:p3"),
		0);
	ck_assert_int_eq(add("priority=5,ip actions=drop"), 0);
	ck_assert_int_eq(flow_parse(f, strlen(f), FLOW_PARSE_PACKET, &pk, &e), 0);
	ck_assert_int_eq(flow_trace_run(ft, &snap, &br, 0, &pk, t, &e), 0);
	ck_assert(t->matched);
	ck_assert_uint_eq(t->priority, 100);
	ck_assert_uint_eq(t->cookie, 7);
	ck_assert_str_eq(t->rule,
		"priority=100,cookie=0x7,in_port=p0,tcp,nw_dst=10.0.0.0/8,tp_dst=80 "
		"actions=mod_tp_dst:8080,output:p2,output:p3");
	ck_assert_uint_eq(t->n_outputs, 2);
	ck_assert_str_eq(t->outputs[0], "p2");
	ck_assert_str_eq(t->outputs[1], "p3");
	ck_assert(!t->dropped);
	ck_assert_ptr_nonnull(strstr(t->packet, "nw_dst=10.2.3.4"));
	for (unsigned i = 0; i < t->n_stages; i++) {
		if (strcmp(t->stages[i].stage, "action") == 0 &&
			strstr(t->stages[i].text, "tp_dst=8080") != NULL)
			saw_rewrite = true;
	}
	ck_assert(saw_rewrite);
	// Nothing was sent and nothing counted by a trace.
	ck_assert_uint_eq(cap.n, 0);
	ck_assert_uint_eq(stats().packets, 0);

	// Lower rule: dropped; table miss: normal floods (read-only L2).
	f = "in_port=p1,udp,nw_dst=10.2.3.4";
	ck_assert_int_eq(flow_parse(f, strlen(f), FLOW_PARSE_PACKET, &pk, &e), 0);
	ck_assert_int_eq(flow_trace_run(ft, &snap, &br, 1, &pk, t, &e), 0);
	ck_assert(t->matched);
	ck_assert(t->dropped);
	ck_assert_uint_eq(t->priority, 5);
	f = "in_port=p1,arp,arp_op=1";
	ck_assert_int_eq(flow_parse(f, strlen(f), FLOW_PARSE_PACKET, &pk, &e), 0);
	ck_assert_int_eq(flow_trace_run(ft, &snap, &br, 1, &pk, t, &e), 0);
	ck_assert(!t->matched);
	ck_assert_uint_eq(t->n_outputs, 3);
	ck_assert_int_eq(mac_table_lookup(br.macs, 0, pk.value.eth_src, mac_table_now()), -ENOENT);
	free(t);
}
END_TEST

START_TEST(live_trace)
{
	struct flow_trace_rec recs[8];
	unsigned n;

	ck_assert_int_eq(add("priority=9,cookie=0x3,udp actions=output:p1,output:p2"), 0);
	ck_assert_int_eq(flow_trace_live_start(0, 2), 0);
	ck_assert_int_eq(flow_trace_live_start(0, 0), -EINVAL);
	ck_assert_int_eq(flow_trace_live_start(PORT_MAX, 1), -EINVAL);
	ck_assert_int_eq(flow_trace_live_start(0, 2), 0);
	send_fields(1, "udp"); // other port: not traced
	send_fields(0, "udp");
	send_fields(0, "udp");
	send_fields(0, "udp"); // budget exhausted
	ck_assert_uint_eq(flow_trace_live_remaining(0), 0);
	n = flow_trace_live_read(recs, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(recs[0].in_port, 0);
	// The packet on port 1 made a megaflow (the rule does not look at in_port): it serves.
	ck_assert_uint_eq(recs[0].decision, FLOW_TRACE_MEGAFLOW);
	ck_assert(!recs[0].miss);
	ck_assert_uint_eq(recs[1].decision, FLOW_TRACE_CACHE);
	ck_assert_uint_eq(recs[0].priority, 9);
	ck_assert_uint_eq(recs[0].cookie, 3);
	ck_assert_uint_eq(recs[0].n_out, 2);
	ck_assert_uint_eq(recs[0].out[0], 1);
	ck_assert_uint_eq(recs[0].out[1], 2);
	ck_assert_uint_eq(recs[0].key.eth_type, NET_ETH_P_IPV4);
	{
		char text[FLOW_TEXT_MAX];

		ck_assert(flow_trace_rule_text(ft, recs[0].rule_id, text, sizeof(text)));
		ck_assert_str_eq(text, "priority=9,cookie=0x3,udp actions=output:p1,output:p2");
	}
	ck_assert_uint_eq(flow_trace_live_read(recs, 8), 0);
	cap_reset();
}
END_TEST

START_TEST(many_rules_burst)
{
	enum { N = 3000 };
	struct pkt *pk[PKT_BURST];
	char text[128];

	// Exact rules (one mask) plus a few prefixes; bursts of mixed flows.
	for (unsigned i = 0; i < N; i++) {
		snprintf(text, sizeof(text),
			"priority=10,udp,nw_dst=10.0.%u.%u,tp_dst=%u actions=output:p%u", i / 256,
			i % 256, i % 7, 1 + i % 3);
		ck_assert_int_eq(add(text), 0);
	}
	ck_assert_int_eq(add("priority=5,udp,nw_dst=10.0.0.0/16 actions=drop"), 0);
	ck_assert_uint_eq(stats().subtables, 2);
	for (unsigned round = 0; round < 4; round++) {
		for (unsigned b = 0; b < PKT_BURST; b++) {
			unsigned i = (round * 977 + b * 131) % N;

			snprintf(text, sizeof(text), "udp,nw_dst=10.0.%u.%u,tp_dst=%u", i / 256,
				i % 256, (b % 5 == 0) ? 9 : i % 7);
			pk[b] = mkpkt(text);
		}
		pl_process(&ctx, 0, pk, PKT_BURST);
		drain();
		// 1 in 5 packets has the wrong port: caught by the /16 drop rule.
		ck_assert_uint_eq(cap.n, PKT_BURST - (PKT_BURST + 4) / 5);
		for (unsigned j = 0; j < cap.n; j++) {
			struct pkt *p = cap.out[j].p;
			unsigned a = pkt_data(p)[p->l3_off + 18], bb = pkt_data(p)[p->l3_off + 19];

			ck_assert_uint_eq(cap.out[j].port, 1 + (a * 256 + bb) % 3);
		}
		cap_reset();
	}
	ck_assert_uint_eq(stats().packets, 4 * PKT_BURST);
	ck_assert_uint_eq(del("udp", false), N + 1);
}
END_TEST

START_TEST(megaflows)
{
	char text[160];
	struct flow_table_stats st;

	// ACL: deny rules on sources the traffic never uses, one allow rule.
	for (unsigned l = 8; l <= 32; l += 4) {
		snprintf(text, sizeof(text), "priority=%u,udp,nw_src=11.0.0.0/%u actions=drop",
			100 + l, l);
		ck_assert_int_eq(add(text), 0);
	}
	ck_assert_int_eq(add("priority=10,udp,nw_dst=20.0.0.0/8 actions=output:p1"), 0);
	for (unsigned i = 0; i < 200; i++) {
		snprintf(text, sizeof(text), "udp,nw_src=10.0.%u.%u,nw_dst=20.0.0.%u,tp_src=%u",
			i / 200, i % 200, i % 7, 1000 + i);
		send_fields(0, text);
	}
	st = stats();
	ck_assert_uint_eq(cap_count(1), 200);
	// One classifier lookup made a megaflow (nw_src/8, nw_dst/8) for all the other flows.
	ck_assert_uint_eq(st.cls_lookups, 1);
	ck_assert_uint_eq(st.megaflow_hits, 199);
	// A flow the megaflow covers but a new rule now denies: the megaflow must not serve it.
	ck_assert_int_eq(add("priority=500,udp,nw_src=10.0.0.7 actions=drop"), 0);
	cap_reset();
	send_fields(0, "udp,nw_src=10.0.0.7,nw_dst=20.0.0.1,tp_src=5");
	ck_assert_uint_eq(cap.n, 0);
	send_fields(0, "udp,nw_src=10.0.0.8,nw_dst=20.0.0.1,tp_src=5");
	ck_assert_uint_eq(cap_count(1), 1);
	// Traffic a deny rule matches: dropped, also through the megaflow of its own.
	send_fields(0, "udp,nw_src=11.1.2.3,nw_dst=20.0.0.1");
	send_fields(0, "udp,nw_src=11.1.2.4,nw_dst=20.0.0.2");
	ck_assert_uint_eq(cap_count(1), 1);
	cap_reset();
}
END_TEST

// ---- a worker forwarding while the control side churns rules ----

static _Atomic bool churn_stop;
static _Atomic unsigned long churn_pkts, churn_bad;

static void churn_flush(struct pl_ctx *c, uint16_t port)
{
	struct pl_txbuf *tb = &c->tx[port];

	// The stable flow must always leave by p2, nothing else may leave.
	if (port != 2) {
		if (atomic_fetch_add(&churn_bad, tb->n) == 0)
			fprintf(stderr, "churn: %u packet(s) sent to port %u\n", tb->n, port);
	}
	pkt_free_bulk(tb->pkts, tb->n);
	tb->n = 0;
	c->tx_pending[port / 64] &= ~(1ULL << (port % 64));
}

static void *churn_worker(void *arg)
{
	static struct pl_txbuf wtx[PORT_MAX];
	static struct pl_port_counters wctr[PORT_MAX];
	static uint64_t wpending[PORT_MAX / 64];
	struct pl_ctx wctx = {.snap = &snap,
		.worker = 1,
		.now_sec = 1,
		.tx = wtx,
		.ctr = wctr,
		.tx_pending = wpending,
		.flush = churn_flush};
	uint8_t frame[256];
	struct flow_spec pk;
	struct err e = {0};
	const char *f = "udp,nw_src=10.7.7.7,nw_dst=10.8.8.8,tp_src=5,tp_dst=6";
	unsigned len;

	ck_assert_int_eq(flow_parse(f, strlen(f), FLOW_PARSE_PACKET, &pk, &e), 0);
	len = flow_trace_build_frame(&pk, frame, sizeof(frame));
	mempool_thread_register(1);
	ck_assert_int_eq(rcu_register(1), 0);
	while (!atomic_load(&churn_stop)) {
		struct pkt *b[PKT_BURST];
		unsigned n = 0;

		for (unsigned i = 0; i < 8; i++) {
			if ((b[n] = pkt_alloc(pool)) == NULL)
				break;
			memcpy(pkt_data(b[n]), frame, len);
			b[n++]->len = len;
		}
		pl_process(&wctx, 0, b, (uint16_t)n);
		for (unsigned w = 0; w < PORT_MAX / 64; w++) {
			while (wpending[w])
				churn_flush(
					&wctx, (uint16_t)(w * 64 + __builtin_ctzll(wpending[w])));
		}
		atomic_fetch_add(&churn_pkts, n);
		rcu_quiescent(1);
	}
	rcu_unregister(1);
	mempool_cache_flush(pool);
	mempool_thread_register(-1);
	return NULL;
}

START_TEST(churn_under_traffic)
{
	struct flow_spec s;
	struct err e = {0};
	pthread_t th;
	char text[160];
	unsigned changes = 0;
	double t0, t1;
	struct timespec ts;

	// The stable flow (10.7.7.7) must always take the priority-100 rule.
	ck_assert_int_eq(add("priority=100,udp,nw_src=10.7.7.7 actions=output:p2"), 0);
	ck_assert_int_eq(add("priority=1 actions=output:p3"), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, churn_worker, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec + ts.tv_nsec / 1e9;
	for (unsigned round = 0; round < 20; round++) {
		for (unsigned i = 0; i < 200; i++) {
			// Rules around the stable one: other sources (10.9/16), other masks, lower
			// and higher priorities; they never match it.
			if (i % 10 == 0) // overlapping the stable flow, at lower priorities
				snprintf(text, sizeof(text),
					"priority=%u,udp,nw_src=10.7.0.0/%u actions=output:p1",
					10 + i / 10, 8 + i % 16);
			else
				snprintf(text, sizeof(text),
					"priority=%u,udp,nw_src=10.9.%u.%u/%u,tp_dst=%u "
					"actions=output:p%u",
					50 + i % 100, i % 9, 10 + i, 24 + i % 9, i % 5, 1 + i % 3);
			ck_assert_int_eq(flow_parse(text, strlen(text), FLOW_PARSE_ADD, &s, &e), 0);
			ck_assert_int_eq(flow_table_add(ft, &s, 0, &e), 0);
			changes++;
		}
		ck_assert_int_eq(flow_parse("udp,tp_dst=2", 12, FLOW_PARSE_FILTER, &s, &e), 0);
		flow_table_del(ft, &s, false, NULL);
		ck_assert_int_eq(
			flow_parse("priority=1 actions=output:p3", 28, FLOW_PARSE_ADD, &s, &e), 0);
		ck_assert_int_eq(flow_table_mod(ft, &s, true, 0, NULL, &e), 0);
		ck_assert_int_eq(
			flow_parse("udp,nw_src=10.9.0.0/16", 22, FLOW_PARSE_FILTER, &s, &e), 0);
		flow_table_del(ft, &s, false, NULL);
		if (round % 2 == 0) {
			ck_assert_int_eq(flow_parse("priority=10,udp,nw_src=10.7.0.0/8", 33,
						 FLOW_PARSE_FILTER, &s, &e),
				0);
			flow_table_del(ft, &s, true, NULL);
		}
		changes += 3;
		flow_table_run(ft, now);
		rcu_poll();
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t1 = ts.tv_sec + ts.tv_nsec / 1e9;
	atomic_store(&churn_stop, true);
	pthread_join(th, NULL);
	rcu_barrier();
	printf("churn: %u rule changes in %.3f s (%.0f/s, deletes of ~200 rules counted as one), "
	       "%lu packets forwarded meanwhile\n",
		changes, t1 - t0, changes / (t1 - t0), atomic_load(&churn_pkts));
	ck_assert_uint_gt(atomic_load(&churn_pkts), 0);
	ck_assert_uint_eq(atomic_load(&churn_bad), 0);
}
END_TEST

static Suite *flow_table_suite(void)
{
	Suite *s = suite_create("flow_table");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, basic_output_and_counters);
	tcase_add_test(tc, dump_and_rule_counters);
	tcase_add_test(tc, cache_invalidation);
	tcase_add_test(tc, replace_del_mod);
	tcase_add_test(tc, port_changes);
	tcase_add_test(tc, multiple_outputs_and_mirror);
	tcase_add_test(tc, set_fields_checksums);
	tcase_add_test(tc, partial_checksum);
	tcase_add_test(tc, vlan_actions);
	tcase_add_test(tc, miss_drop_and_normal);
	tcase_add_test(tc, timeouts);
	tcase_add_test(tc, synthetic_trace);
	tcase_add_test(tc, live_trace);
	tcase_add_test(tc, many_rules_burst);
	tcase_add_test(tc, megaflows);
	tcase_add_test(tc, churn_under_traffic);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(flow_table_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
