// SPDX-License-Identifier: Apache-2.0
// The pcap port: frames written by tx read back byte-exact by rx, loop mode, both byte orders
// and timestamp resolutions, and clear errors for missing, truncated, foreign or huge files.
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "drivers/port.h"

static struct mempool *pool;
static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_pcap.%d.XXXXXX", getpid());
	ck_assert_ptr_nonnull(mkdtemp(dir));
	pool = pkt_pool_create("test_pcap", 256, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
}

static void teardown(void)
{
	char cmd[128];

	ck_assert_uint_eq(mempool_destroy(pool), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *path(const char *name)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static struct port *mk_pool(
	struct mempool *mp, const struct port_kv *kv, unsigned n, struct err *err)
{
	struct port tmpl = {.id = 11, .pool = mp};
	struct port *p = port_create("pc1", "pcap", kv, n, &tmpl, err);

	if (p != NULL)
		ck_assert_int_eq(port_start(p, err), 0);
	return p;
}

static struct port *mk(const struct port_kv *kv, unsigned n, struct err *err)
{
	return mk_pool(pool, kv, n, err);
}

static void fill(uint8_t *d, unsigned len, unsigned seed)
{
	for (unsigned i = 0; i < len; i++)
		d[i] = (uint8_t)(seed * 31 + i * 7);
}

static void write_file(const char *p, const void *data, size_t size)
{
	FILE *f = fopen(p, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, size, f), size);
	fclose(f);
}

static size_t file_size(const char *p)
{
	struct stat st;

	ck_assert_int_eq(stat(p, &st), 0);
	return (size_t)st.st_size;
}

static const unsigned lens[] = {60, 14, 1514, 61, 200, 2048, 99};

START_TEST(test_roundtrip)
{
	struct port_kv txkv[] = {{"tx", path("out.pcap")}};
	struct port_kv rxkv[] = {{"rx", path("out.pcap")}, {"start-delay", "0"}};
	struct pkt *pkts[16];
	struct port_stats st;
	struct err err = {0};
	struct port *p = mk(txkv, 1, &err);
	unsigned n = ARRAY_SIZE(lens);

	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_uint_eq(p->n_rxq, 0);
	ck_assert_uint_eq(p->n_txq, 1);
	ck_assert_int_eq(pkt_alloc_bulk(pool, pkts, n), 0);
	for (unsigned i = 0; i < n; i++) {
		pkts[i]->len = lens[i];
		fill(pkt_data(pkts[i]), lens[i], i);
	}
	ck_assert_uint_eq(p->ops->tx_burst(p->txq[0], pkts, n), n);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.tx_packets, n);
	port_destroy(p); // flushes

	// Header: native order, microseconds, v2.4, Ethernet.
	FILE *f = fopen(path("out.pcap"), "rb");
	uint32_t hdr[6];
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(hdr, 4, 6, f), 6);
	fclose(f);
	ck_assert_uint_eq(hdr[0], 0xa1b2c3d4);
	ck_assert_uint_eq(hdr[1], 2 | 4u << 16);
	ck_assert_uint_eq(hdr[5], 1);
	size_t want = 24;
	for (unsigned i = 0; i < n; i++)
		want += 16 + lens[i];
	ck_assert_uint_eq(file_size(path("out.pcap")), want);

	p = mk(rxkv, 2, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_uint_eq(p->n_rxq, 1);
	// Bursts smaller than the file: order and content preserved across bursts.
	unsigned got = 0;
	while (got < n) {
		uint16_t k = p->ops->rx_burst(p->rxq[0], pkts + got, 3);
		ck_assert_uint_gt(k, 0);
		got += k;
	}
	ck_assert_uint_eq(got, n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t expect[2048];

		fill(expect, lens[i], i);
		ck_assert_uint_eq(pkts[i]->len, lens[i]);
		ck_assert_mem_eq(pkt_data(pkts[i]), expect, lens[i]);
	}
	pkt_free_bulk(pkts, n);
	// No loop: the end of the file is the end of rx.
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 16), 0);
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 16), 0);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rx_packets, n);
	ck_assert_uint_eq(st.rx_drop_invalid, 0); // 14 and 2048 (the data room) are both valid
	port_destroy(p);
}
END_TEST

// Builds a classic pcap in memory: byte order and timestamp magic chosen by the caller.
static size_t build(uint8_t *buf, bool swap, bool nsec, const unsigned *l, unsigned n)
{
	uint32_t magic = nsec ? 0xa1b23c4d : 0xa1b2c3d4;
	uint32_t h32[4];
	uint16_t h16[2] = {2, 4};
	size_t off = 0;

#define P32(v) (swap ? __builtin_bswap32(v) : (v))
#define P16(v) (swap ? __builtin_bswap16(v) : (v))
	h32[0] = P32(magic);
	memcpy(buf, h32, 4);
	h16[0] = P16(h16[0]);
	h16[1] = P16(h16[1]);
	memcpy(buf + 4, h16, 4);
	h32[0] = 0;
	h32[1] = 0;
	h32[2] = P32(65535u);
	h32[3] = P32(1u);
	memcpy(buf + 8, h32, 16);
	off = 24;
	for (unsigned i = 0; i < n; i++) {
		h32[0] = P32(1000 + i);
		h32[1] = P32(nsec ? 999999999u : 999999u);
		h32[2] = P32(l[i]);
		h32[3] = P32(l[i]);
		memcpy(buf + off, h32, 16);
		fill(buf + off + 16, l[i], i);
		off += 16 + l[i];
	}
	return off;
#undef P32
#undef P16
}

static void check_replay(struct port *p, const unsigned *l, unsigned n)
{
	struct pkt *pkts[16];

	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 16), n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t expect[2048];

		fill(expect, l[i], i);
		ck_assert_uint_eq(pkts[i]->len, l[i]);
		ck_assert_mem_eq(pkt_data(pkts[i]), expect, l[i]);
	}
	pkt_free_bulk(pkts, n);
}

START_TEST(test_byte_orders)
{
	static uint8_t buf[65536];
	const unsigned l[] = {60, 100, 1514};

	for (int swap = 0; swap < 2; swap++) {
		for (int nsec = 0; nsec < 2; nsec++) {
			struct port_kv kv[] = {{"rx", path("in.pcap")}, {"start-delay", "0"}};
			struct err err = {0};
			struct port *p;

			write_file(path("in.pcap"), buf, build(buf, swap, nsec, l, 3));
			p = mk(kv, 2, &err);
			ck_assert_msg(p != NULL, "swap %d nsec %d: %s", swap, nsec, err.msg);
			check_replay(p, l, 3);
			port_destroy(p);
		}
	}
}
END_TEST

START_TEST(test_loop_and_invalid)
{
	static uint8_t buf[65536];
	// Data room 256 here: 300 is too long, 10 too short; both skipped on every pass.
	const unsigned l[] = {60, 300, 100, 10, 256};
	const unsigned valid[] = {60, 100, 256};
	struct mempool *small = pkt_pool_create("test_pcap_small", 64, 256, 0, -1);
	struct port_kv kv[] = {{"rx", path("loop.pcap")}, {"loop", "true"}, {"start-delay", "0"}};
	struct pkt *pkts[16];
	struct port_stats st;
	struct err err = {0};
	struct port *p;

	ck_assert_ptr_nonnull(small);
	write_file(path("loop.pcap"), buf, build(buf, false, false, l, 5));
	p = mk_pool(small, kv, 3, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	for (int pass = 0; pass < 4; pass++) {
		unsigned k = p->ops->rx_burst(p->rxq[0], pkts, 16);

		// A burst stops at the end of the file; the next one starts over.
		ck_assert_uint_eq(k, 3);
		for (unsigned i = 0; i < k; i++)
			ck_assert_uint_eq(pkts[i]->len, valid[i]);
		pkt_free_bulk(pkts, k);
	}
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 2), 2);
	pkt_free_bulk(pkts, 2);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rx_packets, 14);
	ck_assert_uint_eq(st.rx_drop_invalid, 8); // 2 per completed pass
	port_destroy(p);
	ck_assert_uint_eq(mempool_destroy(small), 0);
}
END_TEST

static void expect_error(const char *file, const char *needle)
{
	struct port_kv kv[] = {{"rx", file}};
	struct err err = {0};

	errno = 0;
	ck_assert_ptr_null(mk(kv, 1, &err));
	ck_assert_int_ne(errno, 0);
	ck_assert_str_eq(err.field, "rx");
	ck_assert_msg(strstr(err.msg, file) != NULL, "'%s' does not name the file", err.msg);
	ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s' lacks '%s'", err.msg, needle);
	ck_assert_msg(strncmp(err.msg, "port pc1: ", 10) == 0, "'%s' lacks the port", err.msg);
}

START_TEST(test_bad_files)
{
	static uint8_t buf[65536];
	const unsigned l[] = {60, 100};
	size_t size = build(buf, false, false, l, 2);
	int fd;

	expect_error(path("missing.pcap"), "No such file");
	write_file(path("trunc1.pcap"), buf, size - 1); // last record short of one byte
	expect_error(path("trunc1.pcap"), "truncated");
	write_file(path("trunc2.pcap"), buf, 24 + 16 + 60 + 5); // incomplete record header
	expect_error(path("trunc2.pcap"), "truncated");
	write_file(path("trunc3.pcap"), buf, 10); // incomplete file header
	expect_error(path("trunc3.pcap"), "truncated");
	write_file(path("empty.pcap"), buf, 0);
	expect_error(path("empty.pcap"), "truncated");

	memcpy(buf, "GARBAGE!", 8);
	write_file(path("magic.pcap"), buf, size);
	expect_error(path("magic.pcap"), "not a pcap file");
	memcpy(buf, (uint32_t[]){0x0a0d0d0a}, 4);
	write_file(path("ng.pcap"), buf, size);
	expect_error(path("ng.pcap"), "pcapng");

	size = build(buf, false, false, l, 2);
	memcpy(buf + 20, (uint32_t[]){101}, 4); // LINKTYPE_RAW
	write_file(path("raw.pcap"), buf, size);
	expect_error(path("raw.pcap"), "link type 101");

	size = build(buf, false, false, l, 2);
	memcpy(buf + 24 + 8, (uint32_t[]){0x7fffffff}, 4); // absurd record length
	write_file(path("huge_rec.pcap"), buf, size);
	expect_error(path("huge_rec.pcap"), "corrupt");

	// Bigger than the 256 MiB bound (sparse: costs no disk).
	fd = open(path("big.pcap"), O_CREAT | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 300 << 20), 0);
	close(fd);
	expect_error(path("big.pcap"), "256 MiB limit");

	expect_error(dir, "not a regular file");

	struct port_kv none[] = {{"loop", "true"}};
	struct err err = {0};
	ck_assert_ptr_null(mk(none, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "needs rx=FILE and/or tx=FILE"));
	struct port_kv badtx[] = {{"tx", path("nodir/out.pcap")}};
	err_clear(&err);
	ck_assert_ptr_null(mk(badtx, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot create pcap file"));
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_empty_file_ok)
{
	static uint8_t buf[64];
	struct port_kv kv[] = {{"rx", path("hdr.pcap")}, {"loop", "yes"}};
	struct pkt *pkts[4];
	struct err err = {0};
	struct port *p;

	write_file(path("hdr.pcap"), buf, build(buf, false, false, NULL, 0));
	p = mk(kv, 2, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 4), 0);
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 4), 0);
	port_destroy(p);
}
END_TEST

START_TEST(test_start_delay)
{
	static uint8_t buf[4096];
	const unsigned l[] = {60, 70};
	struct port_kv kv[] = {{"rx", path("d.pcap")}, {"start-delay", "300"}};
	struct pkt *pkts[4];
	struct err err = {0};
	struct port *p;

	write_file(path("d.pcap"), buf, build(buf, false, false, l, 2));
	p = mk(kv, 2, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 4), 0); // not yet
	usleep(400 * 1000);
	check_replay(p, l, 2);
	// A restart replays the file again, after the delay.
	port_stop(p);
	ck_assert_int_eq(port_start(p, &err), 0);
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 4), 0);
	usleep(400 * 1000);
	check_replay(p, l, 2);
	port_destroy(p);
}
END_TEST

static void (*timer_cb)(void *arg);
static void *timer_arg;
static int fake_timer;

static void *fake_timer_add(unsigned ms, void (*cb)(void *arg), void *arg)
{
	timer_cb = cb;
	timer_arg = arg;
	return &fake_timer;
}

static void fake_timer_del(void *h)
{
	timer_cb = NULL;
}

START_TEST(test_tx_idle_flush_and_sink)
{
	struct port_env env = {.timer_add = fake_timer_add, .timer_del = fake_timer_del};
	struct port_kv kv[] = {{"tx", path("idle.pcap")}};
	struct port_kv rxonly[] = {{"rx", path("idle.pcap")}};
	struct port_stats st;
	struct pkt *pkt;
	struct err err = {0};
	struct port *p, *r;

	port_env_set(&env);
	p = mk(kv, 1, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_ptr_nonnull(timer_cb);
	pkt = pkt_alloc(pool);
	pkt->len = 80;
	fill(pkt_data(pkt), 80, 0);
	ck_assert_uint_eq(p->ops->tx_burst(p->txq[0], &pkt, 1), 1);
	ck_assert_uint_eq(file_size(path("idle.pcap")), 24); // still buffered
	usleep(1100 * 1000);
	timer_cb(timer_arg); // what the control loop does every second
	ck_assert_uint_eq(file_size(path("idle.pcap")), 24 + 16 + 80);
	ck_assert_ptr_nonnull(timer_cb); // re-armed

	// An rx-only pcap port drops what it is asked to send, counted as tx_drop_down.
	r = mk(rxonly, 1, &err);
	ck_assert_msg(r != NULL, "%s", err.msg);
	pkt = pkt_alloc(pool);
	pkt->len = 60;
	ck_assert_uint_eq(r->ops->tx_burst(r->txq[0], &pkt, 1), 0);
	ck_assert_int_eq(port_stats_get(r, &st), 0);
	ck_assert_uint_eq(st.tx_drop_down, 1);
	port_destroy(r);
	port_destroy(p);
	ck_assert_ptr_null(timer_cb); // cancelled
	port_env_set(NULL);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

static Suite *pcap_suite(void)
{
	Suite *s = suite_create("pcap");
	TCase *tc = tcase_create("pcap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_byte_orders);
	tcase_add_test(tc, test_loop_and_invalid);
	tcase_add_test(tc, test_bad_files);
	tcase_add_test(tc, test_empty_file_ok);
	tcase_add_test(tc, test_start_delay);
	tcase_add_test(tc, test_tx_idle_flush_and_sink);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pcap_suite());
	int failed;

	log_set_level(LOG_LVL_ERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
