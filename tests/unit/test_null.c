// SPDX-License-Identifier: Apache-2.0
// The null port: generated frames have the configured size and valid Ethernet/IPv4/UDP headers,
// flows rotate round robin, tx frees and counts, counters add up, errors name the option.
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mempool.h"
#include "dataplane/net.h"
#include "dataplane/pkt.h"
#include "drivers/port.h"

static struct mempool *pool;

static void setup(void)
{
	pool = pkt_pool_create("test_null", 256, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
}

static void teardown(void)
{
	ck_assert_uint_eq(mempool_destroy(pool), 0);
}

static struct port *mk(const struct port_kv *kv, unsigned n, uint16_t id, struct err *err)
{
	struct port tmpl = {.id = id, .pool = pool};
	struct port *p = port_create("n1", "null", kv, n, &tmpl, err);

	if (p != NULL)
		ck_assert_int_eq(port_start(p, err), 0);
	return p;
}

// Checks one generated frame; returns its flow's (IPv4 source, UDP source port).
static void check_frame(const struct pkt *p, unsigned size, const uint8_t dst[6],
	const uint8_t src[6], uint32_t *ip_src, uint16_t *sport)
{
	const uint8_t *d = pkt_data(p);
	struct net_ipv4_hdr ip;

	ck_assert_uint_eq(p->len, size);
	ck_assert_mem_eq(d, dst, 6);
	ck_assert_mem_eq(d + 6, src, 6);
	ck_assert_uint_eq(net_get_be16(d + 12), NET_ETH_P_IPV4);
	memcpy(&ip, d + 14, sizeof(ip));
	ck_assert_uint_eq(ip.ver_ihl, 0x45);
	ck_assert_uint_eq(net_ntohs(ip.tot_len), size - 14);
	ck_assert_uint_eq(ip.proto, NET_IPPROTO_UDP);
	ck_assert_uint_gt(ip.ttl, 0);
	ck_assert_uint_eq(net_ipv4_csum(&ip), 0); // checksum over a valid header folds to 0
	ck_assert_uint_eq(net_get_be16(d + 38), size - 34); // UDP length
	ck_assert_uint_eq(net_get_be16(d + 40), 0); // no UDP checksum: valid over IPv4
	for (unsigned i = 42; i < size; i++)
		ck_assert_uint_eq(d[i], 0);
	*ip_src = net_ntohl(ip.src);
	*sport = net_get_be16(d + 34);
}

START_TEST(test_defaults)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct port_stats st;
	struct pkt *pkts[32];
	struct err err = {0};
	struct port *p = mk(NULL, 0, 0xab, &err);
	uint32_t ip0 = 0, ip;
	uint16_t sp0 = 0, sp;

	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_uint_eq(p->n_rxq, 1);
	ck_assert_uint_eq(p->n_txq, 1);
	const uint8_t mac[6] = {0x02, 0x6e, 0x75, 0x6c, 0x00, 0xab};
	ck_assert_mem_eq(p->mac, mac, 6);
	ck_assert(p->ops->link_get(p));
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 32), 32);
	for (int i = 0; i < 32; i++) {
		check_frame(pkts[i], 64, bcast, mac, &ip, &sp);
		if (i == 0) {
			ip0 = ip;
			sp0 = sp;
		}
		ck_assert_uint_eq(ip, ip0); // one flow
		ck_assert_uint_eq(sp, sp0);
		ck_assert_uint_eq(pkts[i]->in_port, 0xab);
	}
	ck_assert_uint_eq(ip0 >> 16, 0xc612); // 198.18.0.0/16
	ck_assert_uint_eq(p->ops->tx_burst(p->txq[0], pkts, 32), 32);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rx_packets, 32);
	ck_assert_uint_eq(st.rx_bytes, 32 * 64);
	ck_assert_uint_eq(st.tx_packets, 32);
	ck_assert_uint_eq(st.tx_bytes, 32 * 64);
	ck_assert_uint_eq(st.rx_drop_nobuf, 0);
	port_destroy(p);
}
END_TEST

START_TEST(test_size_flows_macs)
{
	struct port_kv kv[] = {{"size", "1500"}, {"flows", "3"}, {"src-mac", "02:00:00:00:00:0a"},
		{"dst-mac", "02:00:00:00:00:0b"}};
	const uint8_t src[6] = {2, 0, 0, 0, 0, 0x0a}, dst[6] = {2, 0, 0, 0, 0, 0x0b};
	struct pkt *pkts[7];
	struct err err = {0};
	struct port *p = mk(kv, ARRAY_SIZE(kv), 3, &err);
	uint32_t ips[7];
	uint16_t sps[7];

	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_mem_eq(p->mac, src, 6);
	// Dirty buffers first: generated frames must not carry stale bytes.
	ck_assert_int_eq(pkt_alloc_bulk(pool, pkts, 7), 0);
	for (int i = 0; i < 7; i++)
		memset(pkt_data(pkts[i]), 0xa5, 1500);
	pkt_free_bulk(pkts, 7);
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 7), 7);
	for (int i = 0; i < 7; i++)
		check_frame(pkts[i], 1500, dst, src, &ips[i], &sps[i]);
	// Round robin over 3 flows: 0 1 2 0 1 2 0, flows differ in IPv4 source and UDP port.
	ck_assert_uint_ne(ips[0], ips[1]);
	ck_assert_uint_ne(ips[1], ips[2]);
	ck_assert_uint_ne(sps[0], sps[2]);
	for (int i = 3; i < 7; i++) {
		ck_assert_uint_eq(ips[i], ips[i - 3]);
		ck_assert_uint_eq(sps[i], sps[i - 3]);
	}
	pkt_free_bulk(pkts, 7);
	// The next burst continues where the last one stopped (flow 1).
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 1), 1);
	check_frame(pkts[0], 1500, dst, src, &ips[0], &sps[0]);
	ck_assert_uint_eq(ips[0], ips[1]);
	pkt_free(pkts[0]);
	port_destroy(p);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_sizes)
{
	const char *ok[] = {"60", "61", "63", "65", "128", "2048"};
	struct pkt *pkts[4];
	uint32_t ip;
	uint16_t sp;
	const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct port_kv kv[] = {{"size", ok[i]}};
		struct err err = {0};
		struct port *p = mk(kv, 1, 1, &err);
		unsigned size = (unsigned)atoi(ok[i]);

		ck_assert_msg(p != NULL, "%s", err.msg);
		ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 4), 4);
		for (int j = 0; j < 4; j++)
			check_frame(pkts[j], size, bcast, p->mac, &ip, &sp);
		pkt_free_bulk(pkts, 4);
		port_destroy(p);
	}
	const char *bad[] = {"59", "0", "2049", "abc", "-64"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct port_kv kv[] = {{"size", bad[i]}};
		struct err err = {0};

		ck_assert_ptr_null(mk(kv, 1, 1, &err));
		ck_assert_str_eq(err.field, "size");
		ck_assert_ptr_nonnull(strstr(err.msg,
			"port n1: option 'size' must be an integer in "
			"60..2048"));
	}
	struct port_kv mc[] = {{"src-mac", "01:00:5e:00:00:01"}};
	struct err err = {0};
	ck_assert_ptr_null(mk(mc, 1, 1, &err));
	ck_assert_str_eq(err.field, "src-mac");
	struct port_kv flows[] = {{"flows", "0"}};
	err_clear(&err);
	ck_assert_ptr_null(mk(flows, 1, 1, &err));
	ck_assert_str_eq(err.field, "flows");
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_sink_and_queues)
{
	struct port_kv sink[] = {{"rx", "false"}, {"txq", "2"}};
	struct port_kv multi[] = {{"rxq", "4"}, {"flows", "8"}};
	struct port_stats st;
	struct pkt *pkts[16];
	struct err err = {0};
	struct port *p = mk(sink, 2, 1, &err);

	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_uint_eq(p->n_rxq, 0);
	ck_assert_uint_eq(p->n_txq, 2);
	ck_assert_uint_eq(port_fp[1].n_rxq, 0);
	ck_assert_int_eq(pkt_alloc_bulk(pool, pkts, 16), 0);
	for (int i = 0; i < 16; i++)
		pkts[i]->len = 100 + i;
	ck_assert_uint_eq(port_fp[1].tx_burst(port_fp[1].txq[1], pkts, 16), 16);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.tx_packets, 16);
	ck_assert_uint_eq(st.tx_bytes, 16 * 100 + 120);
	ck_assert_uint_eq(st.txq[1].packets, 16);
	ck_assert_uint_eq(st.txq[0].packets, 0);
	ck_assert_uint_eq(st.rx_packets, 0);
	port_destroy(p);

	// Queues start at different flows.
	p = mk(multi, 2, 2, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	uint32_t first[4];
	for (int q = 0; q < 4; q++) {
		ck_assert_uint_eq(p->ops->rx_burst(p->rxq[q], pkts, 1), 1);
		ck_assert_uint_eq(pkts[0]->rxq, q);
		memcpy(&first[q], pkt_data(pkts[0]) + 26, 4);
		pkt_free(pkts[0]);
	}
	ck_assert_uint_ne(first[0], first[1]);
	ck_assert_uint_ne(first[1], first[2]);
	ck_assert_uint_ne(first[2], first[3]);
	port_destroy(p);
}
END_TEST

START_TEST(test_nobuf)
{
	struct mempool *small = pkt_pool_create("test_null_small", 8, PKT_DATA_ROOM_DEFAULT, 0, -1);
	struct port tmpl = {.id = 4, .pool = small};
	struct port_stats st;
	struct pkt *pkts[32];
	struct err err = {0};
	struct port *p;

	ck_assert_ptr_nonnull(small);
	p = port_create("n4", "null", NULL, 0, &tmpl, &err);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(port_start(p, &err), 0);
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 32), 0);
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 8), 8);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rx_drop_nobuf, 32);
	ck_assert_uint_eq(st.rx_packets, 8);
	pkt_free_bulk(pkts, 8);
	port_destroy(p);
	ck_assert_uint_eq(mempool_destroy(small), 0);
}
END_TEST

START_TEST(test_no_pool)
{
	struct port tmpl = {.id = 5};
	struct port_kv sink[] = {{"rx", "no"}};
	struct err err = {0};
	struct port *p = port_create("n5", "null", NULL, 0, &tmpl, &err);

	// A generator needs a pool; a sink does not.
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(strstr(err.msg, "port n5: no packet pool"));
	err_clear(&err);
	p = port_create("n5", "null", sink, 1, &tmpl, &err);
	ck_assert_ptr_nonnull(p);
	port_destroy(p);
}
END_TEST

START_TEST(test_rate)
{
	struct port_kv kv[] = {{"rate", "1000"}};
	struct port_kv bad[] = {{"rate", "fast"}};
	struct port_stats st;
	struct pkt *pkts[32];
	struct err err = {0};
	struct port *p = mk(kv, 1, 6, &err);
	unsigned got = 0;

	ck_assert_msg(p != NULL, "%s", err.msg);
	// 300 ms at 1000 packets/s: about 300 packets, never the thousands polling would give.
	for (int i = 0; i < 300; i++) {
		uint16_t k = p->ops->rx_burst(p->rxq[0], pkts, 32);

		got += k;
		pkt_free_bulk(pkts, k);
		usleep(1000);
	}
	ck_assert_msg(got >= 150 && got <= 450, "got %u packets", got);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rx_packets, got);
	port_destroy(p);
	ck_assert_ptr_null(mk(bad, 1, 6, &err));
	ck_assert_str_eq(err.field, "rate");
}
END_TEST

static Suite *null_suite(void)
{
	Suite *s = suite_create("null");
	TCase *tc = tcase_create("null");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_size_flows_macs);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_sink_and_queues);
	tcase_add_test(tc, test_nobuf);
	tcase_add_test(tc, test_no_pool);
	tcase_add_test(tc, test_rate);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(null_suite());
	int failed;

	log_set_level(LOG_LVL_ERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
