// SPDX-License-Identifier: Apache-2.0
// Packed virtqueue device side against a synthetic guest (memfd regions): plain, chained and
// indirect buffers, chains that wrap around the ring, many rounds of wrap-counter flips in both
// directions, mergeable and plain RX, ring full, interrupts under the driver's event suppression,
// the vhost-user ring base with wrap counters, quiescence under a running worker, and every class
// of bad guest input, each of which must stop the queue with the right reason.
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
#include "drivers/vhost/virtq_packed.h"
#include "vhost_guest.h"

#define FEAT_ALL \
	(VHOST_BIT(VIRTIO_F_VERSION_1) | VHOST_BIT(VIRTIO_NET_F_MRG_RXBUF) | \
		VHOST_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VHOST_BIT(VIRTIO_RING_F_EVENT_IDX))
#define FEAT_V1 VHOST_BIT(VIRTIO_F_VERSION_1)
#define USED_BITS (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED)

static struct mempool *pool, *jumbo;
static struct guest g;
static struct pgq q;
static struct virtq vq;
static int errfd;

static void setup(void)
{
	pool = pkt_pool_create("vqp", 512, PKT_DATA_ROOM_DEFAULT, 0, -1);
	jumbo = pkt_pool_create("vqpj", 64, PKT_DATA_ROOM_JUMBO, 0, -1);
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

static void start_cfg(const struct virtq_config *cfg)
{
	struct err err = {0};
	bool fixed;

	ck_assert_msg(virtq_start(&vq, cfg, &fixed, &err) == 0, "start: %s", err.msg);
	ck_assert(!fixed);
	ck_assert(virtq_is_ready(&vq));
	ck_assert(vq.packed);
}

static void start(uint16_t size, uint64_t features, struct mempool *mp)
{
	struct virtq_config cfg;

	pgq_init(&q, &g, size);
	cfg = pgq_config(&q, features, mp);
	start_cfg(&cfg);
}

static uint64_t errfd_read(void)
{
	uint64_t v = 0;

	if (read(errfd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

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

// One descriptor: 12-byte zero header + `len` bytes of pattern from `seed`. Returns the id.
static uint16_t post_tx(unsigned len, uint8_t seed)
{
	uint64_t gpa;
	uint16_t id = pgq_post(&q, 12 + len, false, &gpa);
	uint8_t *b = guest_ptr(&g, gpa);

	memset(b, 0, 12);
	fill_frame(b + 12, len, seed);
	return id;
}

// The header alone, then the frame over `parts` descriptors (1 + parts in the chain).
static uint16_t post_tx_chain(unsigned len, uint8_t seed, unsigned parts)
{
	struct pgq_elem e[8];
	uint64_t hdr = guest_alloc(&g, 12, 16);
	uint8_t frame[2048];
	unsigned off = 0;

	ck_assert_uint_le(parts, 7);
	ck_assert_uint_le(len, sizeof(frame));
	memset(guest_ptr(&g, hdr), 0, 12);
	fill_frame(frame, len, seed);
	e[0] = (struct pgq_elem){.addr = hdr, .len = 12};
	for (unsigned i = 0; i < parts; i++) {
		unsigned l = i + 1 < parts ? len / parts : len - off;
		uint64_t a = guest_alloc(&g, l ? l : 1, 16);

		memcpy(guest_ptr(&g, a), frame + off, l);
		e[1 + i] = (struct pgq_elem){.addr = a, .len = l};
		off += l;
	}
	return pgq_add(&q, e, 1 + parts);
}

static void expect_used(uint16_t id, uint32_t len, uint16_t wflag)
{
	uint16_t got_id, flags;
	uint32_t got_len;

	ck_assert_msg(pgq_get(&q, &got_id, &got_len, &flags), "no used descriptor for id %u", id);
	ck_assert_uint_eq(got_id, id);
	ck_assert_uint_eq(flags & VIRTQ_DESC_F_WRITE, wflag);
	if (wflag)
		ck_assert_uint_eq(got_len, len);
}

static void expect_no_used(void)
{
	uint16_t id, flags;
	uint32_t len;

	ck_assert(!pgq_get(&q, &id, &len, &flags));
}

static struct virtq_stats_snap stats(void)
{
	struct virtq_stats_snap s;

	virtq_stats_read(&vq, &s);
	return s;
}

// The ring base half the guest would expect: its own avail position and wrap counter.
static uint32_t guest_half(void)
{
	return q.avail_pos | (q.avail_wrap ? VIRTQ_PACKED_WRAP : 0);
}

START_TEST(test_dequeue_simple)
{
	struct pkt *pkts[32];
	uint16_t id0, id1;

	start(256, FEAT_ALL, pool);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 32), 0); // empty ring
	// We poll: the guest is asked not to kick.
	ck_assert_uint_eq(q.device->flags, VIRTQ_EVENT_F_DISABLE);
	id0 = post_tx(60, 1);
	id1 = post_tx(1514, 7);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 32), 2);
	check_frame(pkts[0], 60, 1);
	check_frame(pkts[1], 1514, 7);
	ck_assert_uint_eq(pkts[0]->in_port, 3);
	ck_assert_uint_eq(pkts[0]->rxq, 1);
	pkt_free_bulk(pkts, 2);
	expect_used(id0, 0, 0);
	expect_used(id1, 0, 0);
	expect_no_used();
	// Used descriptors carry our wrap counter (1) in both bits.
	ck_assert_uint_eq(atomic_load(&q.desc[0].flags) & USED_BITS, USED_BITS);
	ck_assert_uint_eq(virtq_base(&vq), 2 | VIRTQ_PACKED_WRAP | (2u | VIRTQ_PACKED_WRAP) << 16);
	ck_assert_uint_eq(stats().packets, 2);
	ck_assert_uint_eq(stats().bytes, 60 + 1514);
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
	for (int i = 0; i < 40; i++)
		expect_used((uint16_t)(i % 256), 0, 0);
}
END_TEST

// Many rounds on a 16-descriptor ring, chains of 1 to 3 descriptors: the positions and wrap
// counters of both sides stay in step through dozens of laps (chains cross the ring's end).
START_TEST(test_dequeue_wrap_rounds)
{
	uint64_t mark;

	start(16, FEAT_ALL, pool);
	mark = g.next_gpa;
	for (unsigned round = 0; round < 300; round++) {
		unsigned k = 1 + round % 5, total = 0;
		uint16_t ids[5];
		struct pkt *pkts[8];

		g.next_gpa = mark;
		for (unsigned j = 0; j < k; j++) {
			unsigned parts = (round + j) % 3; // 0: one plain descriptor
			unsigned len = 60 + (round * 7 + j * 13) % 1400;
			uint8_t seed = (uint8_t)(round + j);

			ids[j] = parts == 0 ? post_tx(len, seed) : post_tx_chain(len, seed, parts);
		}
		while (total < k) {
			uint16_t n = virtq_dequeue_burst(&vq, pkts + total, 8);

			ck_assert_uint_gt(n, 0);
			total += n;
		}
		for (unsigned j = 0; j < k; j++) {
			check_frame(
				pkts[j], 60 + (round * 7 + j * 13) % 1400, (uint8_t)(round + j));
			expect_used(ids[j], 0, 0);
		}
		pkt_free_bulk(pkts, k);
		expect_no_used();
		ck_assert_uint_eq(virtq_base(&vq) & 0xffff, guest_half());
	}
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_NONE);
	ck_assert_uint_eq(stats().packets, 900);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

// Header alone, a zero-length descriptor, the frame in three pieces of which one straddles the
// two guest memory regions, the chain wrapping around the end of the ring.
START_TEST(test_dequeue_chain_straddle)
{
	struct pkt *pkts[8];
	uint64_t hdr, a, b, c;
	struct pgq_elem e[5];
	uint8_t frame[1000];
	uint16_t id;

	start(8, FEAT_V1, pool);
	for (int i = 0; i < 6; i++)
		post_tx(60, 0);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 6);
	pkt_free_bulk(pkts, 6);
	for (int i = 0; i < 6; i++)
		expect_used((uint16_t)i, 0, 0);
	hdr = guest_alloc(&g, 12, 16);
	a = guest_alloc(&g, 100, 16);
	g.next_gpa = GUEST_GPA0 + GUEST_REGION_SIZE - 300; // b crosses into region 1
	b = guest_alloc(&g, 600, 1);
	c = guest_alloc(&g, 300, 1);
	fill_frame(frame, 1000, 9);
	memset(guest_ptr(&g, hdr), 0, 12);
	memcpy(guest_ptr(&g, a), frame, 100);
	memcpy(guest_ptr(&g, b), frame + 100, 300); // the guest's view is per region
	memcpy(guest_ptr(&g, b + 300), frame + 400, 300);
	memcpy(guest_ptr(&g, c), frame + 700, 300);
	e[0] = (struct pgq_elem){.addr = hdr, .len = 12};
	e[1] = (struct pgq_elem){.addr = a, .len = 0};
	e[2] = (struct pgq_elem){.addr = a, .len = 100};
	e[3] = (struct pgq_elem){.addr = b, .len = 600};
	e[4] = (struct pgq_elem){.addr = c, .len = 300};
	id = pgq_add(&q, e, 5); // positions 6, 7, 0, 1, 2
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 1);
	check_frame(pkts[0], 1000, 9);
	pkt_free(pkts[0]);
	expect_used(id, 0, 0);
	ck_assert_uint_eq(virtq_base(&vq) & 0xffff, 3); // wrap counter flipped to 0
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_NONE);
}
END_TEST

static uint64_t indirect_table(unsigned n, struct virtq_pdesc **tab)
{
	uint64_t t = guest_alloc(&g, 16ull * n, 16);

	*tab = guest_ptr(&g, t);
	memset(*tab, 0, 16ull * n);
	return t;
}

START_TEST(test_dequeue_indirect)
{
	struct pkt *p;
	struct virtq_pdesc *tab;
	uint64_t t = indirect_table(3, &tab);
	uint64_t hdr = guest_alloc(&g, 12, 16), data = guest_alloc(&g, 200, 16);
	struct pgq_elem e = {.addr = t, .len = 3 * 16, .flags = VIRTQ_DESC_F_INDIRECT};
	uint16_t id;

	start(64, FEAT_ALL, pool);
	memset(guest_ptr(&g, hdr), 0, 12);
	fill_frame(guest_ptr(&g, data), 200, 3);
	// Entries follow each other; NEXT and ids in the table are reserved and ignored.
	tab[0] =
		(struct virtq_pdesc){.addr = hdr, .len = 12, .id = 999, .flags = VIRTQ_DESC_F_NEXT};
	tab[1] = (struct virtq_pdesc){.addr = data, .len = 0};
	tab[2] = (struct virtq_pdesc){.addr = data, .len = 200};
	id = pgq_add(&q, &e, 1);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, &p, 1), 1);
	check_frame(p, 200, 3);
	pkt_free(p);
	expect_used(id, 0, 0);
	ck_assert_uint_eq(virtq_base(&vq) & 0xffff, 1 | VIRTQ_PACKED_WRAP);
}
END_TEST

// One burst mixing runs of plain descriptors with a chain, an indirect table and an oversize
// frame: every frame lands in order, every buffer is given back in order.
START_TEST(test_dequeue_mixed_burst)
{
	struct pkt *pkts[8];
	struct virtq_pdesc *tab;
	uint64_t t = indirect_table(2, &tab);
	uint64_t ihdr = guest_alloc(&g, 12, 16), idata = guest_alloc(&g, 80, 16);
	struct pgq_elem e = {.addr = t, .len = 32, .flags = VIRTQ_DESC_F_INDIRECT};
	uint16_t id[6];

	start(64, FEAT_ALL, pool);
	id[0] = post_tx(60, 1);
	id[1] = post_tx_chain(300, 2, 2);
	id[2] = post_tx(1514, 3);
	id[3] = post_tx(PKT_DATA_ROOM_DEFAULT + 1, 4); // too big for the pool: dropped, completed
	memset(guest_ptr(&g, ihdr), 0, 12);
	fill_frame(guest_ptr(&g, idata), 80, 5);
	tab[0] = (struct virtq_pdesc){.addr = ihdr, .len = 12};
	tab[1] = (struct virtq_pdesc){.addr = idata, .len = 80};
	id[4] = pgq_add(&q, &e, 1);
	id[5] = post_tx(100, 6);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 5);
	check_frame(pkts[0], 60, 1);
	check_frame(pkts[1], 300, 2);
	check_frame(pkts[2], 1514, 3);
	check_frame(pkts[3], 80, 5);
	check_frame(pkts[4], 100, 6);
	pkt_free_bulk(pkts, 5);
	for (int i = 0; i < 6; i++)
		expect_used(id[i], 0, 0);
	expect_no_used();
	ck_assert_uint_eq(stats().drop_oversize, 1);
	ck_assert_uint_eq(stats().packets, 5);
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_NONE);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_dequeue_oversize_and_short)
{
	struct pkt *pkts[4];

	start(64, FEAT_ALL, pool);
	post_tx(PKT_DATA_ROOM_DEFAULT + 1, 0); // one byte too many for the pool
	post_tx(PKT_DATA_ROOM_DEFAULT, 5); // exactly fits
	pgq_post(&q, 5, false, NULL); // shorter than the virtio-net header
	post_tx(0, 0); // header only: an empty frame, passed on
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 4), 2);
	check_frame(pkts[0], PKT_DATA_ROOM_DEFAULT, 5);
	ck_assert_uint_eq(pkts[1]->len, 0);
	pkt_free_bulk(pkts, 2);
	ck_assert_uint_eq(stats().drop_oversize, 1);
	ck_assert_uint_eq(stats().drop_invalid, 1);
	for (int i = 0; i < 4; i++)
		expect_used((uint16_t)i, 0, 0); // every buffer went back to the guest
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
	struct mempool *small = pkt_pool_create("vqps", 4, PKT_DATA_ROOM_DEFAULT, 0, -1);
	struct pkt *pkts[8];

	start(64, FEAT_ALL, small);
	for (int i = 0; i < 5; i++)
		post_tx(64, (uint8_t)i);
	post_tx_chain(64, 5, 1);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 4);
	ck_assert_uint_eq(stats().drop_nobuf, 2); // 4 buffers for 6 frames
	for (int i = 0; i < 4; i++)
		expect_used((uint16_t)i, 0, 0);
	expect_no_used(); // the other two wait in the ring
	pkt_free_bulk(pkts, 4);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 2);
	check_frame(pkts[0], 64, 4);
	check_frame(pkts[1], 64, 5);
	pkt_free_bulk(pkts, 2);
	expect_used(4, 0, 0);
	expect_used(5, 0, 0);
	virtq_quiesce(&vq);
	ck_assert_uint_eq(mempool_destroy(small), 0);
}
END_TEST

// The walker on its own: segments, chain length, buffer id, and where the next chain starts.
START_TEST(test_walker)
{
	struct virtq_packed_walk w;
	struct virtq_seg s;
	uint64_t a = guest_alloc(&g, 100, 16), b = guest_alloc(&g, 50, 16);
	struct pgq_elem e[3] = {
		{.addr = a, .len = 100}, {.addr = b, .len = 0}, {.addr = b, .len = 50}};

	start(4, FEAT_ALL, pool);
	((uint8_t *)guest_ptr(&g, a))[99] = 0x5a;
	q.avail_pos = 2; // the chain takes positions 2, 3 and 0 (next lap)
	pgq_add_id(&q, e, 3, 3);
	virtq_packed_walk_init(&w, &vq, 2, true, false);
	ck_assert_int_eq(virtq_packed_walk_next(&w, &s), 1);
	ck_assert_uint_eq(s.p[99], 0x5a); // our view of the guest's buffer
	ck_assert_uint_eq(s.len, 100);
	ck_assert_int_eq(virtq_packed_walk_next(&w, &s), 1);
	ck_assert_uint_eq(s.len, 50);
	ck_assert_int_eq(virtq_packed_walk_next(&w, &s), 0);
	ck_assert_uint_eq(w.ndesc, 3);
	ck_assert_uint_eq(w.id, 3);
	ck_assert_uint_eq(w.pos, 1);
	ck_assert(!w.wrap);
	// finish takes the rest without handing it out.
	virtq_packed_walk_init(&w, &vq, 2, true, false);
	ck_assert_int_eq(virtq_packed_walk_next(&w, &s), 1);
	ck_assert_int_eq(virtq_packed_walk_finish(&w), 0);
	ck_assert_uint_eq(w.ndesc, 3);
	ck_assert_uint_eq(w.pos, 1);
	// As an RX chain it has the wrong direction.
	virtq_packed_walk_init(&w, &vq, 2, true, true);
	ck_assert_int_eq(virtq_packed_walk_next(&w, &s), -VIRTQ_ERR_DIRECTION);
	// In the wrong lap it is not available.
	virtq_packed_walk_init(&w, &vq, 2, false, false);
	ck_assert_int_eq(virtq_packed_walk_next(&w, &s), -VIRTQ_ERR_CHAIN_AVAIL);
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
	expect_no_used();
	ck_assert_uint_ge(stats().drop_invalid, 1);
}

// Writes descriptor i by hand, available in the lap of `wrap`.
static void set_desc(
	uint16_t i, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags, bool wrap)
{
	q.desc[i].addr = addr;
	q.desc[i].len = len;
	q.desc[i].id = id;
	atomic_store_explicit(&q.desc[i].flags, flags | pgq_wrap_bits(wrap), memory_order_release);
}

START_TEST(test_bad_id)
{
	start(16, FEAT_ALL, pool);
	set_desc(0, guest_alloc(&g, 64, 16), 64, 16, 0, true);
	expect_broken(VIRTQ_ERR_ID);
}
END_TEST

// The id counts in the chain's last descriptor only.
START_TEST(test_bad_id_chain_last)
{
	uint64_t b = guest_alloc(&g, 64, 16);
	struct pgq_elem e[2] = {{.addr = b, .len = 12}, {.addr = b, .len = 50}};

	start(16, FEAT_ALL, pool);
	pgq_add_id(&q, e, 2, 40);
	q.desc[0].id = 1; // a valid id in the first descriptor does not help
	expect_broken(VIRTQ_ERR_ID);
}
END_TEST

START_TEST(test_bad_indirect_id)
{
	struct virtq_pdesc *tab;
	uint64_t t = indirect_table(1, &tab);
	struct pgq_elem e = {.addr = t, .len = 16, .flags = VIRTQ_DESC_F_INDIRECT};

	start(16, FEAT_ALL, pool);
	tab[0] = (struct virtq_pdesc){.addr = guest_alloc(&g, 64, 16), .len = 64};
	pgq_add_id(&q, &e, 1, 0xffff);
	expect_broken(VIRTQ_ERR_ID);
}
END_TEST

// Every descriptor of the ring chained, the last one pointing on as well.
START_TEST(test_bad_chain_too_long)
{
	uint64_t b = guest_alloc(&g, 64, 16);

	start(8, FEAT_ALL, pool);
	for (uint16_t i = 1; i < 8; i++)
		set_desc(i, b, 4, 0, VIRTQ_DESC_F_NEXT, true);
	set_desc(0, b, 4, 0, VIRTQ_DESC_F_NEXT, true);
	expect_broken(VIRTQ_ERR_CHAIN_LONG);
}
END_TEST

// A chain whose second descriptor was never made available.
START_TEST(test_bad_chain_not_avail)
{
	uint64_t b = guest_alloc(&g, 64, 16);

	start(8, FEAT_ALL, pool);
	set_desc(0, b, 12, 0, VIRTQ_DESC_F_NEXT, true);
	expect_broken(VIRTQ_ERR_CHAIN_AVAIL);
}
END_TEST

// A chain that wraps around the ring must carry the next lap's counter after the wrap.
START_TEST(test_bad_chain_wrong_lap)
{
	uint64_t b = guest_alloc(&g, 64, 16);
	struct pkt *pkts[8];

	start(4, FEAT_ALL, pool);
	for (int i = 0; i < 3; i++)
		post_tx(60, 0);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 3);
	pkt_free_bulk(pkts, 3);
	for (int i = 0; i < 3; i++)
		expect_used((uint16_t)i, 0, 0);
	// Position 3 (lap 1) chains on to position 0, written with lap 1's counter (should be 0).
	set_desc(0, b, 50, 1, 0, true);
	set_desc(3, b, 12, 1, VIRTQ_DESC_F_NEXT, true);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 4), 0);
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_CHAIN_AVAIL);
	ck_assert_uint_eq(errfd_read(), 1);
}
END_TEST

START_TEST(test_bad_addr_outside)
{
	start(16, FEAT_ALL, pool);
	set_desc(0, 0x10, 64, 0, 0, true); // below region 0
	expect_broken(VIRTQ_ERR_ADDR);
}
END_TEST

START_TEST(test_bad_addr_partly_outside)
{
	start(16, FEAT_ALL, pool);
	set_desc(0, GUEST_GPA0 + 2 * GUEST_REGION_SIZE - 32, 64, 0, 0, true);
	expect_broken(VIRTQ_ERR_ADDR);
}
END_TEST

START_TEST(test_bad_len_overflow)
{
	start(16, FEAT_ALL, pool);
	set_desc(0, UINT64_MAX - 16, 0xffffffffu, 0, 0, true);
	expect_broken(VIRTQ_ERR_ADDR);
}
END_TEST

START_TEST(test_bad_direction_tx)
{
	start(16, FEAT_ALL, pool);
	pgq_post(&q, 64, true, NULL); // device-writable buffer on the guest's TX ring
	expect_broken(VIRTQ_ERR_DIRECTION);
}
END_TEST

START_TEST(test_bad_direction_in_chain)
{
	uint64_t b = guest_alloc(&g, 64, 16);
	struct pgq_elem e[2] = {
		{.addr = b, .len = 12}, {.addr = b, .len = 50, .flags = VIRTQ_DESC_F_WRITE}};

	start(16, FEAT_ALL, pool);
	pgq_add(&q, e, 2);
	expect_broken(VIRTQ_ERR_DIRECTION);
}
END_TEST

START_TEST(test_bad_indirect_feature)
{
	struct virtq_pdesc *tab;
	uint64_t t = indirect_table(2, &tab);
	struct pgq_elem e = {.addr = t, .len = 32, .flags = VIRTQ_DESC_F_INDIRECT};

	start(16, FEAT_V1, pool);
	pgq_add(&q, &e, 1);
	expect_broken(VIRTQ_ERR_INDIRECT_FEATURE);
}
END_TEST

START_TEST(test_bad_indirect_next)
{
	struct virtq_pdesc *tab;
	uint64_t t = indirect_table(2, &tab);

	start(16, FEAT_ALL, pool);
	set_desc(1, t, 32, 0, 0, true);
	set_desc(0, t, 32, 0, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, true);
	expect_broken(VIRTQ_ERR_INDIRECT_NEXT);
}
END_TEST

START_TEST(test_bad_indirect_in_chain)
{
	struct virtq_pdesc *tab;
	uint64_t t = indirect_table(2, &tab);
	uint64_t b = guest_alloc(&g, 64, 16);
	struct pgq_elem e[2] = {
		{.addr = b, .len = 12}, {.addr = t, .len = 32, .flags = VIRTQ_DESC_F_INDIRECT}};

	start(16, FEAT_ALL, pool);
	tab[0] = (struct virtq_pdesc){.addr = b, .len = 50};
	tab[1] = (struct virtq_pdesc){.addr = b, .len = 10};
	pgq_add(&q, e, 2);
	expect_broken(VIRTQ_ERR_INDIRECT_CHAIN);
}
END_TEST

START_TEST(test_bad_indirect_len_zero)
{
	struct virtq_pdesc *tab;
	struct pgq_elem e = {
		.addr = indirect_table(2, &tab), .len = 0, .flags = VIRTQ_DESC_F_INDIRECT};

	start(16, FEAT_ALL, pool);
	pgq_add(&q, &e, 1);
	expect_broken(VIRTQ_ERR_INDIRECT_LEN);
}
END_TEST

START_TEST(test_bad_indirect_len_odd)
{
	struct virtq_pdesc *tab;
	struct pgq_elem e = {
		.addr = indirect_table(2, &tab), .len = 24, .flags = VIRTQ_DESC_F_INDIRECT};

	start(16, FEAT_ALL, pool);
	pgq_add(&q, &e, 1);
	expect_broken(VIRTQ_ERR_INDIRECT_LEN);
}
END_TEST

START_TEST(test_bad_indirect_nested)
{
	struct virtq_pdesc *tab;
	uint64_t t = indirect_table(2, &tab);
	struct pgq_elem e = {.addr = t, .len = 32, .flags = VIRTQ_DESC_F_INDIRECT};

	start(16, FEAT_ALL, pool);
	tab[0] = (struct virtq_pdesc){.addr = guest_alloc(&g, 64, 16), .len = 12};
	tab[1] = (struct virtq_pdesc){.addr = t, .len = 32, .flags = VIRTQ_DESC_F_INDIRECT};
	pgq_add(&q, &e, 1);
	expect_broken(VIRTQ_ERR_INDIRECT_NESTED);
}
END_TEST

START_TEST(test_bad_indirect_outside)
{
	struct pgq_elem e = {.addr = GUEST_GPA0 + 2 * GUEST_REGION_SIZE - 16,
		.len = 32,
		.flags = VIRTQ_DESC_F_INDIRECT};

	start(16, FEAT_ALL, pool);
	pgq_add(&q, &e, 1);
	expect_broken(VIRTQ_ERR_ADDR);
}
END_TEST

START_TEST(test_bad_indirect_direction)
{
	struct virtq_pdesc *tab;
	uint64_t t = indirect_table(1, &tab);
	struct pgq_elem e = {.addr = t, .len = 16, .flags = VIRTQ_DESC_F_INDIRECT};

	start(16, FEAT_ALL, pool);
	tab[0] = (struct virtq_pdesc){
		.addr = guest_alloc(&g, 64, 16), .len = 64, .flags = VIRTQ_DESC_F_WRITE};
	pgq_add(&q, &e, 1);
	expect_broken(VIRTQ_ERR_DIRECTION);
}
END_TEST

// Good frames before the bad chain are still delivered and given back.
START_TEST(test_bad_after_good)
{
	struct pkt *pkts[4];
	uint16_t id;

	start(16, FEAT_ALL, pool);
	id = post_tx(60, 4);
	set_desc(1, guest_alloc(&g, 64, 16), 64, 99, 0, true);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 4), 1);
	check_frame(pkts[0], 60, 4);
	pkt_free(pkts[0]);
	expect_used(id, 0, 0);
	expect_no_used();
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_ID);
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

static void check_rx(uint64_t gpa, unsigned len, uint8_t seed, uint16_t nbufs)
{
	const uint8_t *b = guest_ptr(&g, gpa);
	struct virtio_net_hdr h;

	memcpy(&h, b, sizeof(h));
	ck_assert_uint_eq(h.num_buffers, nbufs);
	ck_assert_uint_eq(h.flags, 0);
	for (unsigned k = 0; k < len; k++)
		ck_assert_uint_eq(b[12 + k], (uint8_t)(seed + k));
}

START_TEST(test_enqueue_mergeable)
{
	struct pkt *pkts[3];
	uint64_t gpa[4];
	uint16_t ids[4];

	start(256, FEAT_ALL, pool);
	for (int i = 0; i < 4; i++)
		ids[i] = pgq_post(&q, 2048, true, &gpa[i]);
	for (int i = 0; i < 3; i++)
		pkts[i] = mkpkt(pool, 100 + i, (uint8_t)(10 * i));
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, pkts, 3), 3);
	pkt_free_bulk(pkts, 3);
	for (int i = 0; i < 3; i++) {
		expect_used(ids[i], 12 + 100 + i, VIRTQ_DESC_F_WRITE);
		check_rx(gpa[i], 100 + i, (uint8_t)(10 * i), 1);
	}
	expect_no_used();
	ck_assert_uint_eq(stats().packets, 3);
	ck_assert_uint_eq(stats().bytes, 303);
	ck_assert_uint_eq(virtq_base(&vq) & 0xffff, 3 | VIRTQ_PACKED_WRAP);
}
END_TEST

// 9000 bytes over 1500-byte buffers: seven used descriptors, one per buffer id, the header's
// num_buffers says 7.
START_TEST(test_enqueue_mergeable_jumbo)
{
	struct pkt *p = mkpkt(jumbo, 9000, 77);
	uint64_t gpa[8];
	uint16_t ids[8];
	uint8_t out[9012];
	unsigned off = 0;

	start(256, FEAT_ALL, jumbo);
	for (int i = 0; i < 8; i++)
		ids[i] = pgq_post(&q, 1500, true, &gpa[i]);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, &p, 1), 1);
	pkt_free(p);
	for (int i = 0; i < 7; i++) {
		uint32_t len = i < 6 ? 1500 : 9012 - 6 * 1500;

		expect_used(ids[i], len, VIRTQ_DESC_F_WRITE);
		memcpy(out + off, guest_ptr(&g, gpa[i]), len);
		off += len;
	}
	expect_no_used();
	ck_assert_uint_eq(((struct virtio_net_hdr *)out)->num_buffers, 7);
	for (int k = 0; k < 9000; k++)
		ck_assert_uint_eq(out[12 + k], (uint8_t)(77 + k));
	ck_assert_uint_eq(virtq_base(&vq) & 0xffff, 7 | VIRTQ_PACKED_WRAP);
}
END_TEST

START_TEST(test_enqueue_ring_full)
{
	struct pkt *pkts[3];

	start(256, FEAT_ALL, jumbo);
	pgq_post(&q, 2048, true, NULL);
	pgq_post(&q, 2048, true, NULL);
	pkts[0] = mkpkt(jumbo, 1000, 0);
	pkts[1] = mkpkt(jumbo, 3000, 0); // needs 2 buffers, only 1 left
	pkts[2] = mkpkt(jumbo, 60, 0);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, pkts, 3), 1);
	pkt_free_bulk(pkts, 3);
	ck_assert_uint_eq(stats().drop_full, 2);
	expect_used(0, 1012, VIRTQ_DESC_F_WRITE);
	expect_no_used(); // the partial reservation was rolled back
	ck_assert_uint_eq(virtq_base(&vq) & 0xffff, 1 | VIRTQ_PACKED_WRAP);
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_NONE);
	// Once the guest posts more, the rest fits.
	pgq_post(&q, 2048, true, NULL);
	pkts[0] = mkpkt(jumbo, 3000, 1);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, pkts, 1), 1);
	pkt_free(pkts[0]);
	expect_used(1, 2048, VIRTQ_DESC_F_WRITE);
	expect_used(2, 3012 - 2048, VIRTQ_DESC_F_WRITE);
}
END_TEST

// Without mergeable buffers one chain holds the whole frame (header in its own descriptor).
START_TEST(test_enqueue_plain_chain)
{
	struct pkt *p = mkpkt(pool, 1500, 3);
	uint64_t hdr = guest_alloc(&g, 12, 16), d1 = guest_alloc(&g, 1000, 16);
	uint64_t d2 = guest_alloc(&g, 1000, 16);
	uint8_t *b1 = guest_ptr(&g, d1), *b2 = guest_ptr(&g, d2);
	struct pgq_elem e[3] = {{.addr = hdr, .len = 12, .flags = VIRTQ_DESC_F_WRITE},
		{.addr = d1, .len = 1000, .flags = VIRTQ_DESC_F_WRITE},
		{.addr = d2, .len = 1000, .flags = VIRTQ_DESC_F_WRITE}};
	uint16_t id;

	start(64, FEAT_V1, pool);
	pgq_post(&q, 100, true, NULL); // too small for 12 + 1500
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, &p, 1), 0);
	ck_assert_uint_eq(stats().drop_full, 1);
	expect_no_used(); // not consumed
	// Buffers are used in order, so the small one blocks its ring; a fresh ring with a chain
	// big enough takes the frame.
	virtq_quiesce(&vq);
	start(64, FEAT_V1, pool);
	id = pgq_add(&q, e, 3);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, &p, 1), 1);
	pkt_free(p);
	expect_used(id, 1512, VIRTQ_DESC_F_WRITE);
	for (int k = 0; k < 1000; k++)
		ck_assert_uint_eq(b1[k], (uint8_t)(3 + k));
	for (int k = 0; k < 500; k++)
		ck_assert_uint_eq(b2[k], (uint8_t)(3 + 1000 + k));
}
END_TEST

// A chain longer than the frame needs: the rest is skipped, and the next buffer starts after
// the whole chain.
START_TEST(test_enqueue_chain_skip)
{
	struct pkt *pkts[2] = {mkpkt(pool, 100, 1), mkpkt(pool, 200, 2)};
	uint64_t a = guest_alloc(&g, 3000, 16), gpa;
	struct pgq_elem e[3] = {{.addr = a, .len = 1000, .flags = VIRTQ_DESC_F_WRITE},
		{.addr = a + 1000, .len = 1000, .flags = VIRTQ_DESC_F_WRITE},
		{.addr = a + 2000, .len = 1000, .flags = VIRTQ_DESC_F_WRITE}};
	struct virtq_config cfg;
	uint16_t id0, id1;

	// Both sides start at position 6: the chain takes 6, 7 and 0 (next lap), the buffer 1.
	pgq_init(&q, &g, 8);
	q.avail_pos = 6;
	q.used_pos = 6;
	cfg = pgq_config(&q, FEAT_ALL, pool);
	cfg.base = 6 | VIRTQ_PACKED_WRAP | (6u | VIRTQ_PACKED_WRAP) << 16;
	start_cfg(&cfg);
	id0 = pgq_add(&q, e, 3);
	id1 = pgq_post(&q, 2048, true, &gpa);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, pkts, 2), 2);
	pkt_free_bulk(pkts, 2);
	expect_used(id0, 112, VIRTQ_DESC_F_WRITE);
	expect_used(id1, 212, VIRTQ_DESC_F_WRITE);
	check_rx(a, 100, 1, 1);
	check_rx(gpa, 200, 2, 1);
	ck_assert_uint_eq(virtq_base(&vq) & 0xffff, 2);
}
END_TEST

START_TEST(test_enqueue_indirect)
{
	struct pkt *p = mkpkt(pool, 1000, 9);
	struct virtq_pdesc *tab;
	uint64_t t = indirect_table(2, &tab), a = guest_alloc(&g, 1024, 16);
	struct pgq_elem e = {.addr = t, .len = 32, .flags = VIRTQ_DESC_F_INDIRECT};
	uint16_t id;

	start(16, FEAT_ALL, pool);
	tab[0] = (struct virtq_pdesc){.addr = a, .len = 512, .flags = VIRTQ_DESC_F_WRITE};
	tab[1] = (struct virtq_pdesc){.addr = a + 512, .len = 512, .flags = VIRTQ_DESC_F_WRITE};
	id = pgq_add(&q, &e, 1);
	ck_assert_uint_eq(virtq_enqueue_burst(&vq, &p, 1), 1);
	pkt_free(p);
	expect_used(id, 1012, VIRTQ_DESC_F_WRITE);
	check_rx(a, 1000, 9, 1);
}
END_TEST

// Many rounds of RX on a 16-descriptor ring with plain buffers and two-descriptor chains.
START_TEST(test_enqueue_wrap_rounds)
{
	uint64_t mark;

	start(16, FEAT_ALL, pool);
	mark = g.next_gpa;
	for (unsigned round = 0; round < 300; round++) {
		unsigned k = 1 + round % 6;
		struct pkt *pkts[6];
		uint64_t gpa[6];
		uint16_t ids[6];

		g.next_gpa = mark;
		for (unsigned j = 0; j < k; j++) {
			if ((round + j) % 2) {
				uint64_t a = guest_alloc(&g, 2048, 64);
				struct pgq_elem e[2] = {
					{.addr = a, .len = 1024, .flags = VIRTQ_DESC_F_WRITE},
					{.addr = a + 1024,
						.len = 1024,
						.flags = VIRTQ_DESC_F_WRITE}};

				gpa[j] = a;
				ids[j] = pgq_add(&q, e, 2);
			} else {
				ids[j] = pgq_post(&q, 2048, true, &gpa[j]);
			}
			pkts[j] = mkpkt(
				pool, 60 + (round * 11 + j * 17) % 1400, (uint8_t)(round + j));
		}
		ck_assert_uint_eq(virtq_enqueue_burst(&vq, pkts, (uint16_t)k), k);
		for (unsigned j = 0; j < k; j++) {
			unsigned len = 60 + (round * 11 + j * 17) % 1400;

			expect_used(ids[j], 12 + len, VIRTQ_DESC_F_WRITE);
			check_rx(gpa[j], len, (uint8_t)(round + j), 1);
		}
		pkt_free_bulk(pkts, k);
		expect_no_used();
		ck_assert_uint_eq(virtq_base(&vq) & 0xffff, guest_half());
	}
	ck_assert_uint_eq(virtq_get_error(&vq), VIRTQ_ERR_NONE);
}
END_TEST

static void expect_rx_broken(enum virtq_error e)
{
	struct pkt *p = mkpkt(pool, 64, 1);

	ck_assert_uint_eq(virtq_enqueue_burst(&vq, &p, 1), 0);
	pkt_free(p);
	ck_assert_msg(virtq_get_error(&vq) == e, "error %s, expected %s",
		virtq_error_name(virtq_get_error(&vq)), virtq_error_name(e));
	ck_assert_uint_eq(errfd_read(), 1);
	ck_assert_uint_eq(stats().drop_invalid, 1);
	expect_no_used();
}

START_TEST(test_enqueue_bad_direction)
{
	start(64, FEAT_ALL, pool);
	pgq_post(&q, 200, false, NULL); // read-only buffer on the RX ring
	expect_rx_broken(VIRTQ_ERR_DIRECTION);
}
END_TEST

START_TEST(test_enqueue_bad_addr)
{
	start(64, FEAT_ALL, pool);
	// 40 valid bytes, then outside guest memory: the frame (76 bytes with its header) reaches
	// the invalid part.
	set_desc(0, GUEST_GPA0 + 2 * GUEST_REGION_SIZE - 40, 2048, 0, VIRTQ_DESC_F_WRITE, true);
	expect_rx_broken(VIRTQ_ERR_ADDR);
}
END_TEST

START_TEST(test_enqueue_bad_id)
{
	start(64, FEAT_ALL, pool);
	set_desc(0, guest_alloc(&g, 2048, 64), 2048, 64, VIRTQ_DESC_F_WRITE, true);
	expect_rx_broken(VIRTQ_ERR_ID);
}
END_TEST

// The unused rest of a chain is still checked: a bad descriptor there stops the queue.
START_TEST(test_enqueue_bad_chain_rest)
{
	uint64_t a = guest_alloc(&g, 2048, 64);

	start(64, FEAT_ALL, pool);
	set_desc(1, a + 1024, 1024, 0, 0, true); // read-only in an RX chain
	set_desc(0, a, 1024, 0, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, true);
	expect_rx_broken(VIRTQ_ERR_DIRECTION);
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

	pgq_init(&q, &g, 64);
	cfg = pgq_config(&q, FEAT_ALL, pool);
	cfg.desc = 0x1000; // not a front-end address we know
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), -EINVAL);
	ck_assert_str_eq(err.field, "desc");
	err_clear(&err);
	cfg = pgq_config(&q, FEAT_ALL, pool);
	cfg.desc = GUEST_UVA_OFF + GUEST_GPA0 + 2 * GUEST_REGION_SIZE - 512; // runs off the end
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), -EINVAL);
	ck_assert_str_eq(err.field, "desc");
	err_clear(&err);
	cfg = pgq_config(&q, FEAT_ALL, pool);
	cfg.avail = 0x10;
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), -EINVAL);
	ck_assert_str_eq(err.field, "avail");
	err_clear(&err);
	cfg = pgq_config(&q, FEAT_ALL, pool);
	cfg.used = GUEST_UVA_OFF + GUEST_GPA0 + 2 * GUEST_REGION_SIZE - 2;
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), -EINVAL);
	ck_assert_str_eq(err.field, "used");
	err_clear(&err);
	cfg = pgq_config(&q, FEAT_ALL, pool);
	cfg.used += 2; // device area misaligned
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), -EINVAL);
	ck_assert_str_eq(err.field, "addr");
	err_clear(&err);
	cfg = pgq_config(&q, FEAT_ALL, pool);
	cfg.base = 64 | VIRTQ_PACKED_WRAP; // position outside the ring
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), -EINVAL);
	ck_assert_str_eq(err.field, "base");
	ck_assert(!virtq_is_ready(&vq));
}
END_TEST

// The ring base round trip through a stop: position and wrap counter survive; a used half
// behind the avail half (chains left in flight) is adopted; DPDK's bare 0x8000 is accepted.
START_TEST(test_base_restore)
{
	struct virtq_config cfg;
	struct err err = {0};
	struct pkt *pkts[8];
	uint32_t base;
	bool fixed;

	start(8, FEAT_ALL, pool);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++)
			post_tx(60, (uint8_t)i);
		ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 4);
		pkt_free_bulk(pkts, 4);
		for (int i = 0; i < 4; i++)
			ck_assert(pgq_get(&q, &(uint16_t){0}, &(uint32_t){0}, NULL));
	}
	virtq_quiesce(&vq);
	base = virtq_base(&vq);
	ck_assert_uint_eq(base, 4 | 4u << 16); // 12 descriptors: position 4, wrap counter 0
	cfg = pgq_config(&q, FEAT_ALL, pool);
	cfg.base = base;
	start_cfg(&cfg);
	post_tx(70, 9);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 1);
	check_frame(pkts[0], 70, 9);
	pkt_free(pkts[0]);
	ck_assert(pgq_get(&q, &(uint16_t){0}, &(uint32_t){0}, NULL));
	virtq_quiesce(&vq);

	// A previous back-end took two chains (avail half 7) without giving them back (used 5).
	post_tx(61, 1);
	post_tx(62, 2);
	cfg.base = 7 | 5u << 16;
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), 0);
	ck_assert(fixed);
	ck_assert_uint_eq(virtq_base(&vq), 5 | 5u << 16);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 2);
	check_frame(pkts[0], 61, 1);
	check_frame(pkts[1], 62, 2);
	pkt_free_bulk(pkts, 2);
	virtq_quiesce(&vq);

	// DPDK's virtio-user sends the avail half only: nothing to adopt.
	pgq_init(&q, &g, 8);
	cfg = pgq_config(&q, FEAT_ALL, pool);
	cfg.base = VIRTQ_PACKED_WRAP;
	start_cfg(&cfg);
	ck_assert_uint_eq(virtq_base(&vq) & 0xffff, VIRTQ_PACKED_WRAP);
	post_tx(63, 3);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), 1);
	check_frame(pkts[0], 63, 3);
	pkt_free(pkts[0]);
}
END_TEST

// A queue restarted with another layout follows it (features changed between sessions).
START_TEST(test_layout_switch)
{
	struct virtq_config cfg;
	struct err err = {0};
	struct pkt *p;
	struct gq sq;
	bool fixed;

	start(16, FEAT_ALL, pool);
	post_tx(60, 1);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, &p, 1), 1);
	pkt_free(p);
	virtq_quiesce(&vq);
	gq_init(&sq, &g, 16);
	cfg = gq_config(&sq, FEAT_ALL, pool);
	ck_assert_int_eq(virtq_start(&vq, &cfg, &fixed, &err), 0);
	ck_assert(!vq.packed);
	{
		uint64_t gpa;

		gq_post(&sq, 72, false, &gpa);
		memset(guest_ptr(&g, gpa), 0, 12);
		fill_frame((uint8_t *)guest_ptr(&g, gpa) + 12, 60, 5);
	}
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, &p, 1), 1);
	check_frame(p, 60, 5);
	pkt_free(p);
	ck_assert_uint_eq(gq_used_idx(&sq), 1);
	virtq_quiesce(&vq);
	start(16, FEAT_ALL, pool);
	post_tx(61, 6);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, &p, 1), 1);
	check_frame(p, 61, 6);
	pkt_free(p);
}
END_TEST

// ---- interrupts ----

static int start_with_callfd(uint16_t size, uint64_t features)
{
	int callfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct virtq_config cfg;

	ck_assert_int_ge(callfd, 0);
	pgq_init(&q, &g, size);
	cfg = pgq_config(&q, features, pool);
	cfg.callfd = callfd;
	start_cfg(&cfg);
	return callfd;
}

static bool tx_and_signalled(int callfd, unsigned n)
{
	struct pkt *pkts[8];
	uint64_t v;

	for (unsigned i = 0; i < n; i++)
		post_tx(60, 0);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 8), n);
	pkt_free_bulk(pkts, n);
	for (unsigned i = 0; i < n; i++)
		ck_assert(pgq_get(&q, &(uint16_t){0}, &(uint32_t){0}, NULL));
	return read(callfd, &v, 8) == 8;
}

// Flags ENABLE / DISABLE (and the reserved 3, and DESC without event idx) decide alone.
START_TEST(test_notify_flags)
{
	int callfd = start_with_callfd(64, FEAT_V1);

	ck_assert(tx_and_signalled(callfd, 1)); // ENABLE (zeroed area)
	q.driver->flags = VIRTQ_EVENT_F_DISABLE;
	ck_assert(!tx_and_signalled(callfd, 2));
	ck_assert_uint_eq(stats().notify_suppressed, 1);
	q.driver->flags = 3;
	ck_assert(tx_and_signalled(callfd, 1));
	q.driver->flags = VIRTQ_EVENT_F_DESC; // needs event idx, not negotiated: like ENABLE
	q.driver->off_wrap = 60 | VIRTQ_PACKED_WRAP;
	ck_assert(tx_and_signalled(callfd, 1));
	ck_assert_uint_eq(stats().notify, 3);
	virtq_quiesce(&vq);
	close(callfd);
}
END_TEST

// With event idx and RING_EVENT_FLAGS_DESC, an interrupt once the descriptor at the offset (in
// the lap of its wrap counter) is used, across the end of the ring too.
START_TEST(test_notify_desc)
{
	int callfd = start_with_callfd(8, FEAT_ALL);

	q.driver->flags = VIRTQ_EVENT_F_DESC;
	q.driver->off_wrap = 4 | VIRTQ_PACKED_WRAP;
	ck_assert(tx_and_signalled(callfd, 2)); // the first check after a start always signals
	ck_assert(!tx_and_signalled(callfd, 2)); // used 2, 3
	ck_assert(tx_and_signalled(callfd, 1)); // used 4
	// Next lap: position 1 with wrap counter 0.
	q.driver->off_wrap = 1;
	ck_assert(!tx_and_signalled(callfd, 3)); // 5, 6, 7
	ck_assert(!tx_and_signalled(callfd, 1)); // 0 (lap 2)
	ck_assert(tx_and_signalled(callfd, 2)); // 1, 2
	// An offset in the past lap is not signalled again.
	q.driver->off_wrap = 6 | VIRTQ_PACKED_WRAP;
	ck_assert(!tx_and_signalled(callfd, 3));
	ck_assert_uint_eq(stats().notify, 3);
	ck_assert_uint_eq(stats().notify_suppressed, 4);
	virtq_quiesce(&vq);
	close(callfd);
}
END_TEST

// Status view of a running ring: descriptors taken, and descriptors posted but not taken.
START_TEST(test_ring_state)
{
	struct pkt *pkts[4];
	uint16_t consumed, pending;

	start(16, FEAT_ALL, pool);
	post_tx(60, 0);
	post_tx_chain(100, 0, 2);
	virtq_packed_ring_state(&vq, &consumed, &pending);
	ck_assert_uint_eq(consumed, 0);
	ck_assert_uint_eq(pending, 4);
	ck_assert_uint_eq(virtq_dequeue_burst(&vq, pkts, 4), 2);
	pkt_free_bulk(pkts, 2);
	virtq_packed_ring_state(&vq, &consumed, &pending);
	ck_assert_uint_eq(consumed, 4);
	ck_assert_uint_eq(pending, 0);
}
END_TEST

// The worker keeps polling while the control thread stops and restarts the queue from its
// saved base (with its wrap counter); during every stop the ring pointer is poisoned, so a
// worker that ran while quiesced would crash.
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
	unsigned inflight = 0;
	uint64_t posted = 0, mark;
	pthread_t t;

	start(64, FEAT_ALL, pool);
	mark = g.next_gpa;
	atomic_store(&worker_run, true);
	ck_assert_int_eq(pthread_create(&t, NULL, worker, NULL), 0);
	for (int round = 0; round < 300; round++) {
		struct virtq_config cfg;
		struct virtq_pdesc *ring;

		virtq_quiesce(&vq);
		ring = vq.pdesc;
		vq.pdesc = NULL;
		while (pgq_get(&q, &(uint16_t){0}, &(uint32_t){0}, NULL))
			inflight--;
		// Refill while stopped: the worker must not see these until the restart.
		for (int i = 0; i < 8 && inflight < 60; i++) {
			g.next_gpa = mark; // recycle buffer space
			post_tx(60, 0);
			posted++;
			inflight++;
		}
		usleep(50);
		vq.pdesc = ring;
		cfg = pgq_config(&q, FEAT_ALL, pool);
		cfg.base = virtq_base(&vq);
		start_cfg(&cfg);
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

static Suite *packed_suite(void)
{
	Suite *s = suite_create("vhost_packed");
	TCase *tc = tcase_create("packed");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_dequeue_simple);
	tcase_add_test(tc, test_dequeue_burst_limit);
	tcase_add_test(tc, test_dequeue_wrap_rounds);
	tcase_add_test(tc, test_dequeue_chain_straddle);
	tcase_add_test(tc, test_dequeue_indirect);
	tcase_add_test(tc, test_dequeue_mixed_burst);
	tcase_add_test(tc, test_dequeue_oversize_and_short);
	tcase_add_test(tc, test_dequeue_jumbo);
	tcase_add_test(tc, test_dequeue_nobuf);
	tcase_add_test(tc, test_walker);
	tcase_add_test(tc, test_bad_id);
	tcase_add_test(tc, test_bad_id_chain_last);
	tcase_add_test(tc, test_bad_indirect_id);
	tcase_add_test(tc, test_bad_chain_too_long);
	tcase_add_test(tc, test_bad_chain_not_avail);
	tcase_add_test(tc, test_bad_chain_wrong_lap);
	tcase_add_test(tc, test_bad_addr_outside);
	tcase_add_test(tc, test_bad_addr_partly_outside);
	tcase_add_test(tc, test_bad_len_overflow);
	tcase_add_test(tc, test_bad_direction_tx);
	tcase_add_test(tc, test_bad_direction_in_chain);
	tcase_add_test(tc, test_bad_indirect_feature);
	tcase_add_test(tc, test_bad_indirect_next);
	tcase_add_test(tc, test_bad_indirect_in_chain);
	tcase_add_test(tc, test_bad_indirect_len_zero);
	tcase_add_test(tc, test_bad_indirect_len_odd);
	tcase_add_test(tc, test_bad_indirect_nested);
	tcase_add_test(tc, test_bad_indirect_outside);
	tcase_add_test(tc, test_bad_indirect_direction);
	tcase_add_test(tc, test_bad_after_good);
	tcase_add_test(tc, test_enqueue_mergeable);
	tcase_add_test(tc, test_enqueue_mergeable_jumbo);
	tcase_add_test(tc, test_enqueue_ring_full);
	tcase_add_test(tc, test_enqueue_plain_chain);
	tcase_add_test(tc, test_enqueue_chain_skip);
	tcase_add_test(tc, test_enqueue_indirect);
	tcase_add_test(tc, test_enqueue_wrap_rounds);
	tcase_add_test(tc, test_enqueue_bad_direction);
	tcase_add_test(tc, test_enqueue_bad_addr);
	tcase_add_test(tc, test_enqueue_bad_id);
	tcase_add_test(tc, test_enqueue_bad_chain_rest);
	tcase_add_test(tc, test_not_ready);
	tcase_add_test(tc, test_start_errors);
	tcase_add_test(tc, test_base_restore);
	tcase_add_test(tc, test_layout_switch);
	tcase_add_test(tc, test_notify_flags);
	tcase_add_test(tc, test_notify_desc);
	tcase_add_test(tc, test_ring_state);
	tcase_add_test(tc, test_quiesce_under_load);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(packed_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
