// SPDX-License-Identifier: Apache-2.0
// Split virtqueue device side against a synthetic guest (memfd regions): chains, indirect
// tables, region-straddling buffers, mergeable and plain RX, oversize and short frames, event-idx
// interrupts, quiescence under a running worker, and every class of bad guest input, each of
// which must stop the queue with the right reason and wake the control thread.
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "drivers/vhost/vhost_mem.h"
#include "drivers/vhost/virtq.h"
#include "vhost_guest.h"

#define FEAT_ALL \
	(VHOST_BIT(VIRTIO_F_VERSION_1) | VHOST_BIT(VIRTIO_NET_F_MRG_RXBUF) | \
		VHOST_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VHOST_BIT(VIRTIO_RING_F_EVENT_IDX))
#define FEAT_V1 VHOST_BIT(VIRTIO_F_VERSION_1)

static struct mempool *pool, *jumbo;
static struct guest g;
static struct gq q;
static struct virtq vq;
static int errfd;

static void setup(void)
{
	pool = pkt_pool_create("vq", 512, PKT_DATA_ROOM_DEFAULT, 0, -1);
	jumbo = pkt_pool_create("vqj", 64, PKT_DATA_ROOM_JUMBO, 0, -1);
	ck_assert_ptr_nonnull(pool);
	ck_assert_ptr_nonnull(jumbo);
	ck_assert_int_eq(guest_create(&g, true), 0);
	errfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(errfd, 0);
	virtq_init(&vq, 3, 1, errfd);
}

static void teardown(void)
{
	virtq_quiesce(&vq);
	guest_destroy(&g);
	close(errfd);
	ck_assert_uint_eq(mempool_destroy(pool), 0);
	ck_assert_uint_eq(mempool_destroy(jumbo), 0);
}

static void start(uint16_t size, uint64_t features, struct mempool *mp)
{
	struct virtq_config cfg;
	struct err err = {0};
	bool fixed;

	gq_init(&q, &g, size);
	cfg = gq_config(&q, features, mp);
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), 0);
	ck_assert(!fixed);
	ck_assert(virtq_is_ready(&vq));
}

static uint64_t errfd_read(void)
{
	uint64_t v = 0;

	if (read(errfd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

// Writes a TX frame: 12-byte zero header + `len` bytes of pattern starting at `seed`.
static void fill_frame(uint8_t *p, unsigned len, uint8_t seed)
{
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i);
}

static void check_frame(const struct pkt *p, unsigned len, uint8_t seed)
{
	const uint8_t *d = pkt_data(p);

	ck_assert_uint_eq(p->len, len);
	for (unsigned i = 0; i < len; i++)
		ck_assert_uint_eq(d[i], (uint8_t)(seed + i));
}

// One descriptor: header + frame.
static uint16_t post_tx(unsigned len, uint8_t seed)
{
	uint64_t gpa;
	uint16_t head = gq_post(&q, 12 + len, false, &gpa);
	uint8_t *b = guest_ptr(&g, gpa);

	memset(b, 0, 12);
	fill_frame(b + 12, len, seed);
	return head;
}

static struct virtq_stats_snap stats(void)
{
	struct virtq_stats_snap s;

	virtq_stats_read(&vq, &s);
	return s;
}

START_TEST(test_dequeue_simple)
{
	struct pkt *pkts[32];
	uint16_t h0, h1;

	start(256, FEAT_ALL, pool);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 32), 0); // empty ring
	h0 = post_tx(60, 1);
	h1 = post_tx(1514, 7);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 32), 2);
	check_frame(pkts[0], 60, 1);
	check_frame(pkts[1], 1514, 7);
	ck_assert_uint_eq(pkts[0]->in_port, 3);
	ck_assert_uint_eq(pkts[0]->rxq, 1);
	ck_assert_uint_eq(gq_used_idx(&q), 2);
	ck_assert_uint_eq(q.used->ring[0].id, h0);
	ck_assert_uint_eq(q.used->ring[1].id, h1);
	ck_assert_uint_eq(q.used->ring[1].len, 0);
	ck_assert_uint_eq(virtq_base(&vq), 2);
	pkt_free_bulk(pkts, 2);
	ck_assert_uint_eq(stats().packets, 2);
	ck_assert_uint_eq(stats().bytes, 60 + 1514);
	// We poll: the guest is told not to kick (avail_event parked behind the index).
	ck_assert_uint_eq(q.used->flags, VIRTQ_USED_F_NO_NOTIFY);
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_NONE);
	ck_assert_uint_eq(errfd_read(), 0);
}
END_TEST

START_TEST(test_dequeue_burst_limit)
{
	struct pkt *pkts[64];

	start(256, FEAT_ALL, pool);
	for (int i = 0; i < 40; i++)
		post_tx(64, (uint8_t)i);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 64), 32);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts + 32, 64), 8);
	for (int i = 0; i < 40; i++)
		check_frame(pkts[i], 64, (uint8_t)i);
	pkt_free_bulk(pkts, 40);
	ck_assert_uint_eq(gq_used_idx(&q), 40);
}
END_TEST

// Header alone, a zero-length descriptor, the frame in three pieces of which one straddles the
// two guest memory regions.
START_TEST(test_dequeue_chain_straddle)
{
	struct pkt *p;
	uint64_t hdr = guest_alloc(&g, 12, 16);
	uint64_t a = guest_alloc(&g, 100, 16);
	uint64_t b, c;
	uint8_t frame[1000];

	start(64, FEAT_V1, pool);
	g.next_gpa = GUEST_GPA0 + GUEST_REGION_SIZE - 300; // b crosses into region 1
	b = guest_alloc(&g, 600, 1);
	c = guest_alloc(&g, 300, 1);
	fill_frame(frame, 1000, 9);
	memset(guest_ptr(&g, hdr), 0, 12);
	memcpy(guest_ptr(&g, a), frame, 100);
	memcpy(guest_ptr(&g, b), frame + 100, 300); // guest's view is per region
	memcpy(guest_ptr(&g, b + 300), frame + 400, 300);
	memcpy(guest_ptr(&g, c), frame + 700, 300);
	gq_set_desc(&q, 5, hdr, 12, VIRTQ_DESC_F_NEXT, 9);
	gq_set_desc(&q, 9, a, 0, VIRTQ_DESC_F_NEXT, 2);
	gq_set_desc(&q, 2, a, 100, VIRTQ_DESC_F_NEXT, 7);
	gq_set_desc(&q, 7, b, 600, VIRTQ_DESC_F_NEXT, 1);
	gq_set_desc(&q, 1, c, 300, 0, 0);
	gq_push(&q, 5);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, &p, 1), 1);
	check_frame(p, 1000, 9);
	pkt_free(p);
	ck_assert_uint_eq(q.used->ring[0].id, 5);
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_NONE);
}
END_TEST

START_TEST(test_dequeue_indirect)
{
	struct pkt *p;
	uint64_t t = guest_alloc(&g, 3 * 16, 16);
	uint64_t hdr = guest_alloc(&g, 12, 16), data = guest_alloc(&g, 200, 16);
	struct virtq_desc *tab = guest_ptr(&g, t);

	start(64, FEAT_ALL, pool);
	memset(guest_ptr(&g, hdr), 0, 12);
	fill_frame(guest_ptr(&g, data), 200, 3);
	tab[0] = (struct virtq_desc){0};
	tab[2].addr = hdr;
	tab[2].len = 12;
	tab[2].flags = VIRTQ_DESC_F_NEXT;
	tab[2].next = 1;
	tab[1].addr = data;
	tab[1].len = 200;
	tab[1].flags = 0;
	// The indirect table starts at entry 0 (here: a zero-length descriptor pointing on).
	tab[0].addr = hdr;
	tab[0].len = 0;
	tab[0].flags = VIRTQ_DESC_F_NEXT;
	tab[0].next = 2;
	gq_set_desc(&q, 0, t, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	gq_push(&q, 0);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, &p, 1), 1);
	check_frame(p, 200, 3);
	pkt_free(p);
}
END_TEST

// One burst mixing the fast path (plain descriptors) with chains and indirect tables that go
// through the walker, and an oversize plain frame: every frame lands in order, every chain is
// completed in order.
START_TEST(test_dequeue_mixed_burst)
{
	struct pkt *pkts[8];
	uint64_t hdr = guest_alloc(&g, 12, 16), data = guest_alloc(&g, 300, 16);
	uint64_t t = guest_alloc(&g, 2 * 16, 16), ihdr = guest_alloc(&g, 12, 16);
	uint64_t idata = guest_alloc(&g, 80, 16);
	struct virtq_desc *tab = guest_ptr(&g, t);
	uint16_t h[6];

	start(64, FEAT_ALL, pool);
	q.free_desc = 10; // plain buffers from 10 on; chains below
	h[0] = post_tx(60, 1);
	memset(guest_ptr(&g, hdr), 0, 12);
	fill_frame(guest_ptr(&g, data), 300, 2);
	gq_set_desc(&q, 3, hdr, 12, VIRTQ_DESC_F_NEXT, 4);
	gq_set_desc(&q, 4, data, 300, 0, 0);
	gq_push(&q, 3);
	h[1] = 3;
	h[2] = post_tx(1514, 3);
	h[3] = post_tx(PKT_DATA_ROOM_DEFAULT + 1, 4); // too big for the pool: dropped, completed
	memset(guest_ptr(&g, ihdr), 0, 12);
	fill_frame(guest_ptr(&g, idata), 80, 5);
	tab[0] =
		(struct virtq_desc){.addr = ihdr, .len = 12, .flags = VIRTQ_DESC_F_NEXT, .next = 1};
	tab[1] = (struct virtq_desc){.addr = idata, .len = 80};
	gq_set_desc(&q, 5, t, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	gq_push(&q, 5);
	h[4] = 5;
	h[5] = post_tx(100, 6);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 5);
	check_frame(pkts[0], 60, 1);
	check_frame(pkts[1], 300, 2);
	check_frame(pkts[2], 1514, 3);
	check_frame(pkts[3], 80, 5);
	check_frame(pkts[4], 100, 6);
	pkt_free_bulk(pkts, 5);
	ck_assert_uint_eq(gq_used_idx(&q), 6);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(q.used->ring[i].id, h[i]);
	ck_assert_uint_eq(stats().drop_oversize, 1);
	ck_assert_uint_eq(stats().packets, 5);
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_NONE);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_dequeue_oversize_and_short)
{
	struct pkt *pkts[4];
	uint64_t gpa;

	start(64, FEAT_ALL, pool);
	post_tx(PKT_DATA_ROOM_DEFAULT + 1, 0); // one byte too many for the pool
	post_tx(PKT_DATA_ROOM_DEFAULT, 5); // exactly fits
	gq_post(&q, 5, false, &gpa); // shorter than the virtio-net header
	post_tx(0, 0); // header only: an empty frame, passed on (the pipeline counts runts)
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 4), 2);
	check_frame(pkts[0], PKT_DATA_ROOM_DEFAULT, 5);
	ck_assert_uint_eq(pkts[1]->len, 0);
	pkt_free_bulk(pkts, 2);
	ck_assert_uint_eq(stats().drop_oversize, 1);
	ck_assert_uint_eq(stats().drop_invalid, 1);
	ck_assert_uint_eq(gq_used_idx(&q), 4); // every chain went back to the guest
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_NONE);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_dequeue_jumbo)
{
	struct pkt *p;

	start(64, FEAT_ALL, jumbo);
	post_tx(9014, 1);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, &p, 1), 1);
	check_frame(p, 9014, 1);
	pkt_free(p);
}
END_TEST

START_TEST(test_dequeue_nobuf)
{
	struct mempool *small = pkt_pool_create("vqs", 4, PKT_DATA_ROOM_DEFAULT, 0, -1);
	struct pkt *pkts[8];

	start(64, FEAT_ALL, small);
	for (int i = 0; i < 6; i++)
		post_tx(64, (uint8_t)i);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 4);
	ck_assert_uint_eq(stats().drop_nobuf, 2);
	ck_assert_uint_eq(gq_used_idx(&q), 4); // the other two wait in the ring
	pkt_free_bulk(pkts, 4);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 2);
	check_frame(pkts[1], 64, 5);
	pkt_free_bulk(pkts, 2);
	virtq_quiesce(&vq);
	ck_assert_uint_eq(mempool_destroy(small), 0);
}
END_TEST

// ---- bad guest input: each case stops the queue with its reason ----

static void expect_broken(enum virtq_error e)
{
	struct pkt *pkts[4];

	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 4), 0);
	ck_assert_msg(virtq_get_error(&vq) == e, "error %s, expected %s",
		virtq_error_name(virtq_get_error(&vq)), virtq_error_name(e));
	ck_assert_uint_eq(errfd_read(), 1);
	// Stopped: nothing more happens, and the control thread is not woken again.
	post_tx(60, 0);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 4), 0);
	ck_assert_uint_eq(errfd_read(), 0);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
	ck_assert_uint_eq(gq_used_idx(&q), 0);
	ck_assert_uint_ge(stats().drop_invalid, 1);
}

START_TEST(test_bad_head)
{
	start(16, FEAT_ALL, pool);
	gq_push(&q, 16);
	expect_broken(VIRTQ_ERR_HEAD);
}
END_TEST

START_TEST(test_bad_next)
{
	start(16, FEAT_ALL, pool);
	gq_set_desc(&q, 0, guest_alloc(&g, 64, 16), 64, VIRTQ_DESC_F_NEXT, 16);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_NEXT);
}
END_TEST

START_TEST(test_bad_loop)
{
	uint64_t b = guest_alloc(&g, 64, 16);

	start(16, FEAT_ALL, pool);
	gq_set_desc(&q, 0, b, 64, VIRTQ_DESC_F_NEXT, 1);
	gq_set_desc(&q, 1, b, 64, VIRTQ_DESC_F_NEXT, 0);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_CHAIN_LONG);
}
END_TEST

START_TEST(test_bad_chain_too_long)
{
	uint64_t b = guest_alloc(&g, 64, 16);

	// 16 descriptors chained, the last pointing at the first again: 17 > ring size.
	start(16, FEAT_ALL, pool);
	for (uint16_t i = 0; i < 16; i++)
		gq_set_desc(&q, i, b, 4, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % 16));
	gq_push(&q, 3);
	expect_broken(VIRTQ_ERR_CHAIN_LONG);
}
END_TEST

START_TEST(test_bad_addr_outside)
{
	start(16, FEAT_ALL, pool);
	gq_set_desc(&q, 0, 0x10, 64, 0, 0); // below region 0
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_ADDR);
}
END_TEST

START_TEST(test_bad_addr_partly_outside)
{
	start(16, FEAT_ALL, pool);
	// Starts inside region 1, ends past the end of guest memory.
	gq_set_desc(&q, 0, GUEST_GPA0 + 2 * GUEST_REGION_SIZE - 32, 64, 0, 0);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_ADDR);
}
END_TEST

START_TEST(test_bad_len_overflow)
{
	start(16, FEAT_ALL, pool);
	gq_set_desc(&q, 0, UINT64_MAX - 16, 0xffffffffu, 0, 0);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_ADDR);
}
END_TEST

START_TEST(test_bad_indirect_nested)
{
	uint64_t t1 = guest_alloc(&g, 32, 16), t2 = guest_alloc(&g, 32, 16);
	struct virtq_desc *d = guest_ptr(&g, t1);

	start(16, FEAT_ALL, pool);
	d[0].addr = t2;
	d[0].len = 32;
	d[0].flags = VIRTQ_DESC_F_INDIRECT;
	gq_set_desc(&q, 0, t1, 32, VIRTQ_DESC_F_INDIRECT, 0);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_INDIRECT_NESTED);
}
END_TEST

START_TEST(test_bad_indirect_feature)
{
	start(16, FEAT_V1, pool);
	gq_set_desc(&q, 0, guest_alloc(&g, 32, 16), 32, VIRTQ_DESC_F_INDIRECT, 0);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_INDIRECT_FEATURE);
}
END_TEST

START_TEST(test_bad_indirect_next)
{
	start(16, FEAT_ALL, pool);
	gq_set_desc(
		&q, 0, guest_alloc(&g, 32, 16), 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_INDIRECT_NEXT);
}
END_TEST

START_TEST(test_bad_indirect_len_zero)
{
	start(16, FEAT_ALL, pool);
	gq_set_desc(&q, 0, guest_alloc(&g, 32, 16), 0, VIRTQ_DESC_F_INDIRECT, 0);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_INDIRECT_LEN);
}
END_TEST

START_TEST(test_bad_indirect_len_odd)
{
	start(16, FEAT_ALL, pool);
	gq_set_desc(&q, 0, guest_alloc(&g, 32, 16), 24, VIRTQ_DESC_F_INDIRECT, 0);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_INDIRECT_LEN);
}
END_TEST

START_TEST(test_bad_indirect_outside)
{
	start(16, FEAT_ALL, pool);
	gq_set_desc(&q, 0, GUEST_GPA0 + 2 * GUEST_REGION_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_ADDR);
}
END_TEST

START_TEST(test_bad_indirect_loop)
{
	uint64_t t = guest_alloc(&g, 32, 16), b = guest_alloc(&g, 64, 16);
	struct virtq_desc *d = guest_ptr(&g, t);

	start(16, FEAT_ALL, pool);
	d[0].addr = b;
	d[0].len = 8;
	d[0].flags = VIRTQ_DESC_F_NEXT;
	d[0].next = 1;
	d[1].addr = b;
	d[1].len = 8;
	d[1].flags = VIRTQ_DESC_F_NEXT;
	d[1].next = 0;
	gq_set_desc(&q, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_CHAIN_LONG);
}
END_TEST

START_TEST(test_bad_indirect_next_range)
{
	uint64_t t = guest_alloc(&g, 32, 16), b = guest_alloc(&g, 64, 16);
	struct virtq_desc *d = guest_ptr(&g, t);

	start(16, FEAT_ALL, pool);
	d[0].addr = b;
	d[0].len = 8;
	d[0].flags = VIRTQ_DESC_F_NEXT;
	d[0].next = 2; // the table has 2 entries
	gq_set_desc(&q, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_NEXT);
}
END_TEST

// A region mapped at an offset that is not 16-aligned (the front-end's mmap_offset) cannot hold
// an indirect table we would read misaligned.
START_TEST(test_bad_indirect_misaligned_map)
{
	struct vhost_mem_region r[2] = {
		{.gpa = GUEST_GPA0,
			.size = GUEST_REGION_SIZE,
			.uva = GUEST_GPA0 + GUEST_UVA_OFF,
			.hva = g.base[0]},
		{.gpa = GUEST_GPA0 + GUEST_REGION_SIZE,
			.size = GUEST_REGION_SIZE - 64,
			.uva = GUEST_GPA0 + GUEST_REGION_SIZE + GUEST_UVA_OFF,
			.hva = g.base[1] + 8},
	};
	struct vhost_mem *m = vhost_mem_create(r, 2);
	struct virtq_config cfg;
	struct err err = {0};
	bool fixed;

	ck_assert_ptr_nonnull(m);
	gq_init(&q, &g, 16);
	cfg = gq_config(&q, FEAT_ALL, pool);
	cfg.mem = m;
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), 0);
	gq_set_desc(&q, 0, GUEST_GPA0 + GUEST_REGION_SIZE + 64, 32, VIRTQ_DESC_F_INDIRECT, 0);
	gq_push(&q, 0);
	expect_broken(VIRTQ_ERR_ADDR);
	virtq_quiesce(&vq);
	vhost_mem_destroy(m);
}
END_TEST

START_TEST(test_bad_direction_tx)
{
	start(16, FEAT_ALL, pool);
	gq_post(&q, 64, true, NULL); // device-writable buffer on the guest's TX ring
	expect_broken(VIRTQ_ERR_DIRECTION);
}
END_TEST

START_TEST(test_bad_avail_jump)
{
	start(16, FEAT_ALL, pool);
	atomic_store(&q.avail->idx, 17);
	expect_broken(VIRTQ_ERR_AVAIL_IDX);
}
END_TEST

// A good chain before the bad one is still delivered and completed.
START_TEST(test_bad_after_good)
{
	struct pkt *pkts[4];

	start(16, FEAT_ALL, pool);
	post_tx(60, 4);
	gq_push(&q, 99);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 4), 1);
	check_frame(pkts[0], 60, 4);
	pkt_free(pkts[0]);
	ck_assert_uint_eq(gq_used_idx(&q), 1);
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_HEAD);
	ck_assert_uint_eq(errfd_read(), 1);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

// ---- enqueue (guest RX) ----

static struct pkt *mkpkt(struct mempool *mp, unsigned len, uint8_t seed)
{
	struct pkt *p = pkt_alloc(mp);

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(pkt_append(p, len));
	fill_frame(pkt_data(p), len, seed);
	return p;
}

START_TEST(test_enqueue_mergeable)
{
	struct pkt *pkts[3];
	uint64_t gpa[4];
	uint16_t heads[4];

	start(256, FEAT_ALL, pool);
	for (int i = 0; i < 4; i++)
		heads[i] = gq_post(&q, 2048, true, &gpa[i]);
	for (int i = 0; i < 3; i++)
		pkts[i] = mkpkt(pool, 100 + i, (uint8_t)(10 * i));
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, pkts, 3), 3);
	pkt_free_bulk(pkts, 3);
	ck_assert_uint_eq(gq_used_idx(&q), 3);
	for (int i = 0; i < 3; i++) {
		const uint8_t *b = guest_ptr(&g, gpa[i]);
		struct virtio_net_hdr h;

		memcpy(&h, b, sizeof(h));
		ck_assert_uint_eq(h.num_buffers, 1);
		ck_assert_uint_eq(h.flags, 0);
		ck_assert_uint_eq(q.used->ring[i].id, heads[i]);
		ck_assert_uint_eq(q.used->ring[i].len, 12 + 100 + i);
		for (int k = 0; k < 100 + i; k++)
			ck_assert_uint_eq(b[12 + k], (uint8_t)(10 * i + k));
	}
	ck_assert_uint_eq(stats().packets, 3);
	ck_assert_uint_eq(stats().bytes, 303);
}
END_TEST

START_TEST(test_enqueue_mergeable_jumbo)
{
	struct pkt *p = mkpkt(jumbo, 9000, 77);
	uint64_t gpa[8];
	uint8_t out[9012];
	unsigned off = 0;

	start(256, FEAT_ALL, jumbo);
	for (int i = 0; i < 8; i++)
		gq_post(&q, 1500, true, &gpa[i]);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, &p, 1), 1);
	pkt_free(p);
	ck_assert_uint_eq(gq_used_idx(&q), 7); // ceil(9012 / 1500)
	for (int i = 0; i < 7; i++) {
		uint32_t len = q.used->ring[i].len;

		ck_assert_uint_eq(len, i < 6 ? 1500 : 9012 - 6 * 1500);
		memcpy(out + off, guest_ptr(&g, gpa[i]), len);
		off += len;
	}
	ck_assert_uint_eq(((struct virtio_net_hdr *)out)->num_buffers, 7);
	for (int k = 0; k < 9000; k++)
		ck_assert_uint_eq(out[12 + k], (uint8_t)(77 + k));
	ck_assert_uint_eq(virtq_base(&vq), 7);
}
END_TEST

START_TEST(test_enqueue_ring_full)
{
	struct pkt *pkts[3];

	start(256, FEAT_ALL, jumbo);
	gq_post(&q, 2048, true, NULL);
	gq_post(&q, 2048, true, NULL);
	pkts[0] = mkpkt(jumbo, 1000, 0);
	pkts[1] = mkpkt(jumbo, 3000, 0); // needs 2 buffers, only 1 left
	pkts[2] = mkpkt(jumbo, 60, 0);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, pkts, 3), 1);
	pkt_free_bulk(pkts, 3);
	ck_assert_uint_eq(stats().drop_full, 2);
	ck_assert_uint_eq(gq_used_idx(&q), 1); // the partial reservation was rolled back
	ck_assert_uint_eq(virtq_base(&vq), 1);
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_NONE);
}
END_TEST

// Without mergeable buffers one chain holds the whole frame (header in its own descriptor).
START_TEST(test_enqueue_plain_chain)
{
	struct pkt *p = mkpkt(pool, 1500, 3);
	uint64_t hdr = guest_alloc(&g, 12, 16), d1 = guest_alloc(&g, 1000, 16);
	uint64_t d2 = guest_alloc(&g, 1000, 16), small = guest_alloc(&g, 100, 16);
	uint8_t *b1 = guest_ptr(&g, d1), *b2 = guest_ptr(&g, d2);

	start(64, FEAT_V1, pool);
	gq_set_desc(&q, 0, small, 100, VIRTQ_DESC_F_WRITE, 0); // too small for 12 + 1500
	gq_push(&q, 0);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, &p, 1), 0);
	ck_assert_uint_eq(stats().drop_full, 1);
	ck_assert_uint_eq(gq_used_idx(&q), 0); // not consumed
	// Buffers are used in order, so the small one blocks its ring; a fresh ring with a chain
	// big enough (header in its own descriptor, frame over two) takes the frame.
	virtq_quiesce(&vq);
	gq_init(&q, &g, 64);
	{
		struct virtq_config cfg = gq_config(&q, FEAT_V1, pool);
		struct err err = {0};
		bool fixed;

		ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), 0);
	}
	gq_set_desc(&q, 4, hdr, 12, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 5);
	gq_set_desc(&q, 5, d1, 1000, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 6);
	gq_set_desc(&q, 6, d2, 1000, VIRTQ_DESC_F_WRITE, 0);
	gq_push(&q, 4);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, &p, 1), 1);
	pkt_free(p);
	ck_assert_uint_eq(q.used->ring[0].id, 4);
	ck_assert_uint_eq(q.used->ring[0].len, 1512);
	for (int k = 0; k < 1000; k++)
		ck_assert_uint_eq(b1[k], (uint8_t)(3 + k));
	for (int k = 0; k < 500; k++)
		ck_assert_uint_eq(b2[k], (uint8_t)(3 + 1000 + k));
}
END_TEST

START_TEST(test_enqueue_legacy_header)
{
	struct pkt *p = mkpkt(pool, 64, 1);
	uint64_t gpa;

	start(64, 0, pool); // legacy, no mergeable buffers: 10-byte header
	gq_post(&q, 200, true, &gpa);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, &p, 1), 1);
	pkt_free(p);
	ck_assert_uint_eq(q.used->ring[0].len, 74);
	ck_assert_uint_eq(((uint8_t *)guest_ptr(&g, gpa))[10], 1);
}
END_TEST

START_TEST(test_enqueue_bad_direction)
{
	struct pkt *p = mkpkt(pool, 64, 1);

	start(64, FEAT_ALL, pool);
	gq_post(&q, 200, false, NULL); // read-only buffer on the RX ring
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, &p, 1), 0);
	pkt_free(p);
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_DIRECTION);
	ck_assert_uint_eq(errfd_read(), 1);
	ck_assert_uint_eq(stats().drop_invalid, 1);
}
END_TEST

START_TEST(test_enqueue_bad_addr)
{
	struct pkt *p = mkpkt(pool, 64, 1);

	start(64, FEAT_ALL, pool);
	// 40 valid bytes, then outside guest memory: the frame (76 bytes with its header) reaches
	// the invalid part. (A buffer whose invalid tail is never needed is used as far as valid.)
	gq_set_desc(&q, 0, GUEST_GPA0 + 2 * GUEST_REGION_SIZE - 40, 2048, VIRTQ_DESC_F_WRITE, 0);
	gq_push(&q, 0);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, &p, 1), 0);
	pkt_free(p);
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_ADDR);
	ck_assert_uint_eq(errfd_read(), 1);
	ck_assert_uint_eq(gq_used_idx(&q), 0);
}
END_TEST

START_TEST(test_not_ready)
{
	struct pkt *pkts[2];

	ck_assert(!virtq_is_ready(&vq));
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 2), 0);
	pkts[0] = mkpkt(pool, 60, 0);
	pkts[1] = mkpkt(pool, 60, 0);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, pkts, 2), 0);
	pkt_free_bulk(pkts, 2);
	ck_assert_uint_eq(stats().drop_down, 2);
}
END_TEST

START_TEST(test_start_errors)
{
	struct virtq_config cfg;
	struct err err = {0};
	bool fixed;

	gq_init(&q, &g, 64);
	cfg = gq_config(&q, FEAT_ALL, pool);
	cfg.desc = 0x1000; // not a front-end address we know
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), -EINVAL);
	ck_assert_str_eq(err.field, "desc");
	ck_assert(!virtq_is_ready(&vq));
	err_clear(&err);
	cfg = gq_config(&q, FEAT_ALL, pool);
	cfg.used = GUEST_UVA_OFF + GUEST_GPA0 + 2 * GUEST_REGION_SIZE - 16; // runs off the end
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), -EINVAL);
	ck_assert_str_eq(err.field, "used");
	err_clear(&err);
	cfg = gq_config(&q, FEAT_ALL, pool);
	cfg.size = 48;
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), -EINVAL);
	err_clear(&err);
	cfg = gq_config(&q, FEAT_ALL, pool);
	cfg.mem = NULL;
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), -EINVAL);
	ck_assert(!virtq_is_ready(&vq));
}
END_TEST

// A restart continues where the queue stopped; a used index that disagrees with the base given
// (buffers left in flight by a previous back-end) wins.
START_TEST(test_restart_base)
{
	struct virtq_config cfg;
	struct err err = {0};
	struct pkt *p;
	bool fixed;

	start(64, FEAT_ALL, pool);
	post_tx(60, 0);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, &p, 1), 1);
	pkt_free(p);
	virtq_quiesce(&vq);
	ck_assert_uint_eq(virtq_base(&vq), 1);
	cfg = gq_config(&q, FEAT_ALL, pool);
	cfg.base = 1;
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), 0);
	ck_assert(!fixed);
	post_tx(60, 1);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, &p, 1), 1);
	check_frame(p, 60, 1);
	pkt_free(p);
	virtq_quiesce(&vq);
	cfg.base = 0;
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), 0);
	ck_assert(fixed);
	ck_assert_uint_eq(virtq_base(&vq), 2);
}
END_TEST

// Interrupts: without event idx the NO_INTERRUPT flag decides; with it, used_event does, and
// a burst that does not cross it stays silent.
START_TEST(test_notify)
{
	int callfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct virtq_config cfg;
	struct err err = {0};
	struct pkt *pkts[8];
	uint64_t v;
	bool fixed;

	gq_init(&q, &g, 64);
	cfg = gq_config(&q, FEAT_V1, pool);
	cfg.callfd = callfd;
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), 0);
	q.avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	post_tx(60, 0);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 1);
	pkt_free(pkts[0]);
	ck_assert_int_lt(read(callfd, &v, 8), 0);
	ck_assert_uint_eq(stats().notify_suppressed, 1);
	q.avail->flags = 0;
	post_tx(60, 0);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 1);
	pkt_free(pkts[0]);
	ck_assert_int_eq(read(callfd, &v, 8), 8);
	ck_assert_uint_eq(stats().notify, 1);

	// Event idx: the guest wants an interrupt once used idx passes used_event = 4.
	virtq_quiesce(&vq);
	gq_init(&q, &g, 64);
	cfg = gq_config(&q, FEAT_ALL, pool);
	cfg.callfd = callfd;
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), 0);
	q.avail->ring[64] = 4; // used_event
	post_tx(60, 0);
	post_tx(60, 0);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 2);
	pkt_free_bulk(pkts, 2);
	ck_assert_int_eq(read(callfd, &v, 8), 8); // the first check after start always signals
	for (int i = 0; i < 2; i++)
		post_tx(60, 0);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 2); // used 2 -> 4: not past 4
	pkt_free_bulk(pkts, 2);
	ck_assert_int_lt(read(callfd, &v, 8), 0);
	post_tx(60, 0);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 1); // used 4 -> 5: crosses
	pkt_free(pkts[0]);
	ck_assert_int_eq(read(callfd, &v, 8), 8);
	// With event idx we park avail_event behind the index: the guest never needs to kick.
	ck_assert_uint_eq(*(volatile uint16_t *)&q.used->ring[64], (uint16_t)-1);
	virtq_quiesce(&vq);
	close(callfd);
}
END_TEST

// The worker keeps polling while the control thread stops and restarts the queue; during every
// stop the ring pointers are poisoned, so a worker that ran while quiesced would crash.
static _Atomic bool worker_run;
static _Atomic uint64_t worker_got;

static void *worker(void *arg)
{
	struct pkt *pkts[32];

	(void)arg;
	mempool_thread_register(1);
	while (atomic_load(&worker_run)) {
		uint16_t n = virtq_dequeue_burst(&vq, pkts, 32);

		pkt_free_bulk(pkts, n);
		atomic_fetch_add(&worker_got, n);
	}
	mempool_thread_register(-1);
	return NULL;
}

START_TEST(test_quiesce_under_load)
{
	pthread_t t;
	uint64_t posted = 0;

	start(256, FEAT_ALL, pool);
	atomic_store(&worker_run, true);
	ck_assert_int_eq(pthread_create(&t, NULL, worker, NULL), 0);
	for (int round = 0; round < 300; round++) {
		struct virtq_config cfg;
		struct err err = {0};
		struct virtq_desc *desc;
		const struct vhost_mem *mem;
		bool fixed;

		virtq_quiesce(&vq);
		desc = vq.desc;
		mem = vq.mem;
		vq.desc = NULL;
		vq.mem = NULL;
		// Refill while stopped: the worker must not see these until the restart.
		for (int i = 0; i < 8 && (uint16_t)(q.avail_idx - gq_used_idx(&q)) < 250; i++) {
			q.free_desc = q.avail_idx; // descriptors are reused in ring order
			post_tx(60, 0);
			posted++;
			g.next_gpa = GUEST_GPA0 + 64 * 1024; // recycle buffer space
		}
		usleep(50);
		vq.desc = desc;
		vq.mem = mem;
		cfg = gq_config(&q, FEAT_ALL, pool);
		cfg.base = virtq_base(&vq);
		ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), 0);
		usleep(50);
	}
	for (int i = 0; i < 1000 && atomic_load(&worker_got) < posted; i++)
		usleep(1000);
	atomic_store(&worker_run, false);
	pthread_join(t, NULL);
	ck_assert_uint_eq(atomic_load(&worker_got), posted);
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_NONE);
}
END_TEST

// Translation edges of the memory table.
START_TEST(test_mem_translate)
{
	const struct vhost_mem *m = g.mem;
	uint64_t seg;

	// Our mapping and the guest's are two views of the same memfd pages.
	g.base[0][8] = 0x11;
	g.base[1][0] = 0x22;
	ck_assert_uint_eq(*(uint8_t *)vhost_mem_gpa(m, GUEST_GPA0 + 8, 1), 0x11);
	ck_assert_uint_eq(*(uint8_t *)vhost_mem_gpa(m, GUEST_GPA0 + GUEST_REGION_SIZE, 1), 0x22);
	ck_assert_ptr_nonnull(vhost_mem_gpa(m, GUEST_GPA0 + GUEST_REGION_SIZE - 16, 16));
	ck_assert_ptr_null(vhost_mem_gpa(m, GUEST_GPA0 + GUEST_REGION_SIZE - 16, 17)); // straddles
	ck_assert_ptr_null(vhost_mem_gpa(m, GUEST_GPA0 - 1, 1));
	ck_assert_ptr_null(vhost_mem_gpa(m, GUEST_GPA0 + 2 * GUEST_REGION_SIZE, 0));
	ck_assert_ptr_null(vhost_mem_gpa(m, GUEST_GPA0, UINT64_MAX));
	ck_assert_ptr_null(vhost_mem_gpa(m, UINT64_MAX, 2));
	ck_assert_ptr_nonnull(vhost_mem_gpa_seg(m, GUEST_GPA0 + GUEST_REGION_SIZE - 16, 100, &seg));
	ck_assert_uint_eq(seg, 16);
	ck_assert_uint_eq(*(uint8_t *)vhost_mem_uva(m, GUEST_GPA0 + GUEST_UVA_OFF + 8, 8), 0x11);
	ck_assert_ptr_null(vhost_mem_uva(m, GUEST_GPA0 + 8, 8)); // a gpa is not a uva
	ck_assert_uint_eq(vhost_mem_size(m), 2 * GUEST_REGION_SIZE);
}
END_TEST

// Mapping refuses regions past the end of their file, and fds that are not memory files.
START_TEST(test_mem_map_errors)
{
	struct vhost_memory t = g.table;
	struct err err = {0};
	int fds[2] = {g.fd[0], g.fd[1]}, p[2];
	struct vhost_mem *m;

	t.regions[1].mmap_offset = 4096; // offset + size > file size
	ck_assert_ptr_null(vhost_mem_map(&t, fds, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "past the file size"));
	err_clear(&err);
	ck_assert_int_eq(pipe(p), 0);
	t = g.table;
	fds[1] = p[0];
	ck_assert_ptr_null(vhost_mem_map(&t, fds, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "not a memory file"));
	close(p[0]);
	close(p[1]);
	// A region at an offset inside the file maps to the right bytes.
	t = g.table;
	t.nregions = 1;
	t.regions[0].mmap_offset = 8192;
	t.regions[0].size = 4096;
	fds[0] = g.fd[0];
	g.base[0][8192] = 0x5a;
	m = vhost_mem_map(&t, fds, &err);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(*(uint8_t *)vhost_mem_gpa(m, t.regions[0].gpa, 1), 0x5a);
	vhost_mem_destroy(m);
}
END_TEST

static Suite *virtq_suite(void)
{
	Suite *s = suite_create("vhost_virtq");
	TCase *tc = tcase_create("virtq");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_dequeue_simple);
	tcase_add_test(tc, test_dequeue_burst_limit);
	tcase_add_test(tc, test_dequeue_chain_straddle);
	tcase_add_test(tc, test_dequeue_mixed_burst);
	tcase_add_test(tc, test_dequeue_indirect);
	tcase_add_test(tc, test_dequeue_oversize_and_short);
	tcase_add_test(tc, test_dequeue_jumbo);
	tcase_add_test(tc, test_dequeue_nobuf);
	tcase_add_test(tc, test_bad_head);
	tcase_add_test(tc, test_bad_next);
	tcase_add_test(tc, test_bad_loop);
	tcase_add_test(tc, test_bad_chain_too_long);
	tcase_add_test(tc, test_bad_addr_outside);
	tcase_add_test(tc, test_bad_addr_partly_outside);
	tcase_add_test(tc, test_bad_len_overflow);
	tcase_add_test(tc, test_bad_indirect_nested);
	tcase_add_test(tc, test_bad_indirect_feature);
	tcase_add_test(tc, test_bad_indirect_next);
	tcase_add_test(tc, test_bad_indirect_len_zero);
	tcase_add_test(tc, test_bad_indirect_len_odd);
	tcase_add_test(tc, test_bad_indirect_outside);
	tcase_add_test(tc, test_bad_indirect_loop);
	tcase_add_test(tc, test_bad_indirect_next_range);
	tcase_add_test(tc, test_bad_indirect_misaligned_map);
	tcase_add_test(tc, test_bad_direction_tx);
	tcase_add_test(tc, test_bad_avail_jump);
	tcase_add_test(tc, test_bad_after_good);
	tcase_add_test(tc, test_enqueue_mergeable);
	tcase_add_test(tc, test_enqueue_mergeable_jumbo);
	tcase_add_test(tc, test_enqueue_ring_full);
	tcase_add_test(tc, test_enqueue_plain_chain);
	tcase_add_test(tc, test_enqueue_legacy_header);
	tcase_add_test(tc, test_enqueue_bad_direction);
	tcase_add_test(tc, test_enqueue_bad_addr);
	tcase_add_test(tc, test_not_ready);
	tcase_add_test(tc, test_start_errors);
	tcase_add_test(tc, test_restart_base);
	tcase_add_test(tc, test_notify);
	tcase_add_test(tc, test_quiesce_under_load);
	tcase_add_test(tc, test_mem_translate);
	tcase_add_test(tc, test_mem_map_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(virtq_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
