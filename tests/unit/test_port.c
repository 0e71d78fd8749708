// SPDX-License-Identifier: Apache-2.0
// Port layer: option parsing and its error messages, the registry, the generic lifecycle
// (create/start/stop/destroy) with the null driver, the fast-path table and stats baselines.
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/log.h"
#include "dataplane/mempool.h"
#include "dataplane/net.h"
#include "dataplane/pkt.h"
#include "drivers/port.h"

static struct mempool *pool;

static void setup(void)
{
	pool = pkt_pool_create("test_port", 512, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
}

static void teardown(void)
{
	ck_assert_uint_eq(mempool_destroy(pool), 0);
}

#define ARGS(...) \
	struct port_kv kv_[] = {__VA_ARGS__}; \
	struct port_args a = {.kv = kv_, .n = ARRAY_SIZE(kv_), .port_name = "p1"}

START_TEST(test_args_uint)
{
	ARGS({"a", "42"}, {"b", "x"}, {"c", "-1"}, {"d", " 5"}, {"e", "99999999999999999999"},
		{"f", "7"}, {"g", ""}, {"h", "0x10"});
	struct err err = {0};
	unsigned v = 3;

	ck_assert_int_eq(port_args_get_uint(&a, "missing", 0, 10, &v, &err), 0);
	ck_assert_uint_eq(v, 3); // default kept
	ck_assert_int_eq(port_args_get_uint(&a, "a", 0, 100, &v, &err), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_uint_eq(a.used, 1);
	const char *bad[] = {"b", "c", "d", "e", "g", "h"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&err);
		v = 3;
		ck_assert_int_eq(port_args_get_uint(&a, bad[i], 0, 100, &v, &err), -EINVAL);
		ck_assert_uint_eq(v, 3);
		ck_assert_str_eq(err.field, bad[i]);
	}
	err_clear(&err);
	ck_assert_int_eq(port_args_get_uint(&a, "f", 8, 16, &v, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "port p1: option 'f' must be an integer in 8..16 (got '7')");
	err_clear(&err);
	ck_assert_int_eq(port_args_get_uint(&a, "a", 0, 41, &v, &err), -EINVAL);
	ck_assert_int_eq(err.code, -EINVAL);
}
END_TEST

START_TEST(test_args_bool_mac)
{
	ARGS({"t1", "true"}, {"t2", "YES"}, {"t3", "on"}, {"t4", "1"}, {"f1", "false"},
		{"f2", "no"}, {"f3", "Off"}, {"f4", "0"}, {"bad", "maybe"},
		{"m", "02:aB:cd:00:11:ff"}, {"m1", "02:ab:cd:00:11"},
		{"m2", "02:ab:cd:00:11:ff:00"}, {"m3", "2:ab:cd:00:11:ff"},
		{"m4", "02-ab-cd-00-11-ff"}, {"m5", "zz:ab:cd:00:11:ff"});
	struct err err = {0};
	uint8_t mac[6] = {1, 2, 3, 4, 5, 6};
	bool b;

	for (int i = 1; i <= 4; i++) {
		char k[4] = {'t', (char)('0' + i), 0};
		b = false;
		ck_assert_int_eq(port_args_get_bool(&a, k, &b, &err), 0);
		ck_assert(b);
		k[0] = 'f';
		ck_assert_int_eq(port_args_get_bool(&a, k, &b, &err), 0);
		ck_assert(!b);
	}
	b = true;
	ck_assert_int_eq(port_args_get_bool(&a, "absent", &b, &err), 0);
	ck_assert(b);
	ck_assert_int_eq(port_args_get_bool(&a, "bad", &b, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "port p1: option 'bad' must be true or false (got 'maybe')");
	ck_assert_str_eq(err.field, "bad");

	ck_assert_int_eq(port_args_get_mac(&a, "m", mac, &err), 0);
	const uint8_t want[6] = {0x02, 0xab, 0xcd, 0x00, 0x11, 0xff};
	ck_assert_mem_eq(mac, want, 6);
	const char *bad[] = {"m1", "m2", "m3", "m4", "m5"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&err);
		ck_assert_int_eq(port_args_get_mac(&a, bad[i], mac, &err), -EINVAL);
		ck_assert_mem_eq(mac, want, 6); // untouched on error
		ck_assert_ptr_nonnull(strstr(err.msg, "port p1: option '"));
		ck_assert_ptr_nonnull(strstr(err.msg, "must be a MAC address"));
	}
	// Everything read is marked used.
	ck_assert_uint_eq(a.used, (1u << ARRAY_SIZE(kv_)) - 1);
}
END_TEST

START_TEST(test_registry)
{
	struct err err = {0};

	ck_assert_ptr_nonnull(port_ops_lookup("null"));
	ck_assert_ptr_nonnull(port_ops_lookup("pcap"));
	ck_assert_ptr_nonnull(port_ops_lookup("af_packet"));
	ck_assert_ptr_nonnull(port_ops_lookup("tap"));
	ck_assert_ptr_null(port_ops_lookup("nosuch"));
	ck_assert_ptr_null(port_ops_lookup(NULL));
	ck_assert_int_eq(port_type_check("null", &err), 0);
	ck_assert_int_eq(err.code, 0);
	ck_assert_int_eq(port_type_check("nosuch", &err), -EINVAL);
	ck_assert_str_eq(err.field, "type");
	ck_assert_ptr_nonnull(strstr(err.msg,
		"unknown port type 'nosuch' (known: null, pcap, "
		"af_packet, tap"));
}
END_TEST

static struct port *mk(const char *name, const char *type, const struct port_kv *kv, unsigned n,
	uint16_t id, struct err *err)
{
	struct port tmpl = {.id = id, .pool = pool};

	return port_create(name, type, kv, n, &tmpl, err);
}

START_TEST(test_create_errors)
{
	struct err err = {0};
	char longname[PORT_NAME_MAX + 1];

	memset(longname, 'a', PORT_NAME_MAX);
	longname[PORT_NAME_MAX] = '\0';
	const char *bad_names[] = {"", "a b", "a/b", "\xc3\xa9", longname, "x;y"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		err_clear(&err);
		errno = 0;
		ck_assert_ptr_null(mk(bad_names[i], "null", NULL, 0, 1, &err));
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_str_eq(err.field, "name");
	}
	longname[PORT_NAME_MAX - 1] = '\0'; // 63 characters: the longest valid name
	struct port *p = mk(longname, "null", NULL, 0, 1, &err);
	ck_assert_ptr_nonnull(p);
	port_destroy(p);
	p = mk("a-b_c.d:e9", "null", NULL, 0, 1, &err);
	ck_assert_ptr_nonnull(p);
	port_destroy(p);

	err_clear(&err);
	ck_assert_ptr_null(mk("p1", "nosuch", NULL, 0, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown port type 'nosuch'"));

	struct port_kv unknown[] = {{"size", "64"}, {"foo", "1"}};
	err_clear(&err);
	ck_assert_ptr_null(mk("p1", "null", unknown, 2, 1, &err));
	ck_assert_str_eq(err.msg,
		"port p1: unknown option 'foo' for type null (valid: size, flows, "
		"rxq, txq, src-mac, dst-mac, rx, rate)");
	ck_assert_str_eq(err.field, "foo");

	struct port_kv dup[] = {{"size", "64"}, {"size", "65"}};
	err_clear(&err);
	ck_assert_ptr_null(mk("p1", "null", dup, 2, 1, &err));
	ck_assert_str_eq(err.msg, "port p1: option 'size' given twice");

	struct port_kv badval[] = {{"size", "10"}};
	err_clear(&err);
	ck_assert_ptr_null(mk("p1", "null", badval, 1, 1, &err));
	ck_assert_str_eq(err.field, "size");
	ck_assert_ptr_nonnull(strstr(err.msg, "port p1: option 'size' must be an integer in 60.."));

	struct port_kv empty_key[] = {{"", "1"}};
	err_clear(&err);
	ck_assert_ptr_null(mk("p1", "null", empty_key, 1, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "empty name"));

	struct port_kv many[PORT_ARGS_MAX + 1];
	for (unsigned i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct port_kv){"size", "64"};
	err_clear(&err);
	ck_assert_ptr_null(mk("p1", "null", many, ARRAY_SIZE(many), 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "too many options"));

	err_clear(&err);
	ck_assert_ptr_null(mk("p1", "null", NULL, 0, PORT_MAX, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "out of range"));
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

// The fast-path entry of an id with no started port receives nothing and frees what it is given.
static void assert_fp_idle(uint16_t id)
{
	struct pkt *pkts[8];

	ck_assert_uint_eq(port_fp[id].n_rxq, 0);
	ck_assert_uint_eq(port_fp[id].n_txq, 0);
	ck_assert_uint_eq(port_fp[id].rx_burst(port_fp[id].rxq[0], pkts, 8), 0);
	ck_assert_int_eq(pkt_alloc_bulk(pool, pkts, 8), 0);
	ck_assert_uint_eq(mempool_in_use(pool), 8);
	ck_assert_uint_eq(port_fp[id].tx_burst(port_fp[id].txq[0], pkts, 8), 0);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}

START_TEST(test_lifecycle)
{
	struct port_kv kv[] = {{"rxq", "2"}, {"txq", "3"}};
	struct port_stats st;
	struct pkt *pkts[32];
	struct err err = {0};
	struct port *p;

	assert_fp_idle(7);
	assert_fp_idle(PORT_MAX - 1);
	p = mk("p1", "null", kv, 2, 7, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_str_eq(p->name, "p1");
	ck_assert_uint_eq(p->id, 7);
	ck_assert_int_eq(p->state, PORT_S_PROBED);
	ck_assert_str_eq(port_state_name(p->state), "probed");
	ck_assert_uint_eq(p->n_rxq, 2);
	ck_assert_uint_eq(p->n_txq, 3);
	ck_assert_uint_eq((uintptr_t)p->priv % CACHE_LINE_SIZE, 0);
	assert_fp_idle(7); // created, not started: still idle

	ck_assert_int_eq(port_start(p, &err), 0);
	ck_assert_int_eq(p->state, PORT_S_STARTED);
	ck_assert_int_eq(port_start(p, &err), 0); // idempotent
	ck_assert_uint_eq(port_fp[7].n_rxq, 2);
	ck_assert_uint_eq(port_fp[7].n_txq, 3);
	ck_assert_ptr_eq(port_fp[7].rxq[1], p->rxq[1]);
	ck_assert_ptr_null(port_fp[7].rxq[2]);
	ck_assert_uint_eq(port_fp[7].rx_burst(port_fp[7].rxq[1], pkts, 32), 32);
	ck_assert_uint_eq(port_fp[7].tx_burst(port_fp[7].txq[2], pkts, 32), 32);
	ck_assert_uint_eq(mempool_in_use(pool), 0);

	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.n_rxq, 2);
	ck_assert_uint_eq(st.rx_packets, 32);
	ck_assert_uint_eq(st.rxq[1].packets, 32);
	ck_assert_uint_eq(st.tx_packets, 32);
	ck_assert_uint_eq(st.txq[2].bytes, 32 * 64);
	port_stats_clear(p);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rx_packets, 0);
	ck_assert_uint_eq(st.txq[2].bytes, 0);
	ck_assert_uint_eq(port_fp[7].rx_burst(port_fp[7].rxq[0], pkts, 4), 4);
	pkt_free_bulk(pkts, 4);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rx_packets, 4);
	ck_assert_uint_eq(st.rxq[0].bytes, 4 * 64);

	// Broken: workers find the idle functions at once, queues stay until stop.
	port_mark_broken(p, "peer sent garbage");
	ck_assert_int_eq(p->state, PORT_S_BROKEN);
	ck_assert_uint_eq(port_fp[7].rx_burst(port_fp[7].rxq[0], pkts, 4), 0);
	ck_assert_ptr_nonnull(port_fp[7].rxq[0]);
	ck_assert_int_eq(port_start(p, &err), 0); // reset
	ck_assert_int_eq(p->state, PORT_S_STARTED);
	ck_assert_uint_eq(port_fp[7].rx_burst(port_fp[7].rxq[0], pkts, 4), 4);
	pkt_free_bulk(pkts, 4);

	port_stop(p);
	ck_assert_int_eq(p->state, PORT_S_STOPPED);
	assert_fp_idle(7);
	ck_assert_int_eq(port_start(p, &err), 0); // restart after stop
	ck_assert_uint_eq(port_fp[7].rx_burst(port_fp[7].rxq[0], pkts, 4), 4);
	pkt_free_bulk(pkts, 4);

	ck_assert_int_eq(port_reconfigure(p, kv, 1, &err), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot change at run time"));
	err_clear(&err);
	struct port_kv unknown[] = {{"bogus", "1"}};
	ck_assert_int_eq(port_reconfigure(p, unknown, 1, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown option 'bogus'"));

	port_destroy(p); // stops a started port
	assert_fp_idle(7);
	port_destroy(NULL);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

static unsigned qc_calls;
static void on_queues_changed(struct port *p)
{
	qc_calls++;
}

START_TEST(test_template_and_publish)
{
	struct port tmpl = {
		.id = 9, .pool = pool, .queues_changed = on_queues_changed, .dp_priv = &qc_calls};
	struct err err = {0};
	struct port *p = port_create("p9", "null", NULL, 0, &tmpl, &err);

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(p->pool, pool);
	ck_assert_ptr_eq(p->queues_changed, on_queues_changed);
	ck_assert_ptr_eq(p->dp_priv, &qc_calls);
	// Publishing a port that is not started leaves the entry idle.
	port_fp_publish(p);
	assert_fp_idle(9);
	ck_assert_int_eq(port_start(p, &err), 0);
	// A driver changing its queue count re-publishes.
	p->n_txq = 1;
	port_fp_publish(p);
	ck_assert_uint_eq(port_fp[9].n_txq, 1);
	port_destroy(p);
	assert_fp_idle(9);
}
END_TEST

START_TEST(test_csum_finalize)
{
	struct pkt *p = pkt_alloc(pool);
	uint8_t *d;
	struct net_ipv4_hdr ip;
	uint32_t sum;
	uint16_t field;

	ck_assert_ptr_nonnull(p);
	d = pkt_data(p);
	p->len = 14 + 20 + 8 + 11;
	memset(d, 0, p->len);
	net_put_be16(d + 12, NET_ETH_P_IPV4);
	d[14] = 0x45;
	net_put_be16(d + 16, 20 + 8 + 11);
	d[23] = NET_IPPROTO_UDP;
	memcpy(d + 26, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
	net_put_be16(d + 34, 1234);
	net_put_be16(d + 36, 80);
	net_put_be16(d + 38, 8 + 11);
	memcpy(d + 42, "hello world", 11);
	memcpy(&ip, d + 14, sizeof(ip));
	// Partial: the field holds the folded pseudo-header sum (not complemented).
	sum = net_ipv4_pseudo_csum(&ip, NET_IPPROTO_UDP, 8 + 11);
	field = (uint16_t)~net_csum_fold(sum);
	memcpy(d + 40, &field, 2);
	p->flags |= PKT_F_L4_CSUM_PARTIAL;
	p->csum_start = 34;
	p->csum_off = 6;
	ck_assert_int_eq(port_csum_finalize(p), 0);
	ck_assert_uint_eq(p->flags & PKT_F_L4_CSUM_PARTIAL, 0);
	// A correct UDP checksum sums (with the pseudo header) to 0xffff, i.e. folds to 0.
	ck_assert_uint_eq(net_csum_fold(net_csum_partial(d + 34, 19, sum)), 0);
	memcpy(&field, d + 40, 2);
	ck_assert_uint_ne(field, 0);

	// Offsets outside the frame are refused and the flag stays.
	p->flags |= PKT_F_L4_CSUM_PARTIAL;
	p->csum_start = 50;
	p->csum_off = 6;
	ck_assert_int_eq(port_csum_finalize(p), -EINVAL);
	ck_assert_uint_ne(p->flags & PKT_F_L4_CSUM_PARTIAL, 0);
	p->csum_start = 200;
	p->csum_off = 0;
	ck_assert_int_eq(port_csum_finalize(p), -EINVAL);
	pkt_free(p);
}
END_TEST

static unsigned n_types;
static void count_type(const struct port_ops *ops, void *arg)
{
	ck_assert_ptr_nonnull(ops->type);
	ck_assert_ptr_nonnull(ops->probe);
	ck_assert_ptr_nonnull(ops->remove);
	n_types++;
}

START_TEST(test_env_and_foreach)
{
	struct port_env env = {0};

	ck_assert_ptr_null(port_env_get());
	port_env_set(&env);
	ck_assert_ptr_nonnull(port_env_get());
	port_env_set(NULL);
	ck_assert_ptr_null(port_env_get());
	n_types = 0;
	port_ops_foreach(count_type, NULL);
	ck_assert_uint_ge(n_types, 4);
}
END_TEST

static Suite *port_suite(void)
{
	Suite *s = suite_create("port");
	TCase *tc = tcase_create("port");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_args_uint);
	tcase_add_test(tc, test_args_bool_mac);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_create_errors);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_template_and_publish);
	tcase_add_test(tc, test_csum_finalize);
	tcase_add_test(tc, test_env_and_foreach);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(port_suite());
	int failed;

	log_set_level(LOG_LVL_ERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
