// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/pkt.c and the pkt.h inlines: pool layout, reset on alloc, head/tail
// room bounds, copy, bulk free across pools, leak accounting and IOVA refresh.
#include <check.h>
#include <errno.h>
#include <string.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "dataplane/pkt.h"

static void setup(void)
{
	log_set_level(LOG_LVL_WARN);
	ck_assert_int_eq(mem_init(NULL, NULL), 0);
}

static void teardown(void)
{
	mem_fini();
}

START_TEST(test_pool_create)
{
	errno = 0;
	ck_assert_ptr_null(pkt_pool_create("p", 16, 0, 0, -1));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(pkt_pool_create("p", 16, UINT16_MAX - PKT_HEADROOM + 1, 0, -1));
	ck_assert_int_eq(errno, EINVAL);

	struct mempool *mp = pkt_pool_create("p", 64, PKT_DATA_ROOM_DEFAULT, 8, -1);
	ck_assert_ptr_nonnull(mp);
	ck_assert_uint_eq(pkt_pool_data_room(mp), PKT_DATA_ROOM_DEFAULT);
	ck_assert(pkt_pool_is_pkt(mp));
	struct mempool_info info;
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.elt_size, sizeof(struct pkt) + PKT_HEADROOM + PKT_DATA_ROOM_DEFAULT);
	ck_assert_uint_eq(mempool_destroy(mp), 0);

	struct mempool *other = mempool_create("plain", 8, 64, 0, -1, NULL, NULL);
	ck_assert_ptr_nonnull(other);
	ck_assert_uint_eq(pkt_pool_data_room(other), 0);
	ck_assert(!pkt_pool_is_pkt(other));
	pkt_pool_refresh_iova(other); // not a packet pool: nothing happens
	ck_assert_uint_eq(mempool_destroy(other), 0);
}
END_TEST

START_TEST(test_alloc_reset)
{
	struct mempool *mp = pkt_pool_create("reset", 1, PKT_DATA_ROOM_JUMBO, 0, -1);
	struct pkt *p;

	ck_assert_ptr_nonnull(mp);
	p = pkt_alloc(mp);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq((uintptr_t)p % CACHE_LINE_SIZE, 0);
	ck_assert_ptr_eq(p->buf, (void *)(p + 1));
	ck_assert_uint_eq(p->buf_size, PKT_HEADROOM + PKT_DATA_ROOM_JUMBO);
	ck_assert_ptr_eq(p->pool, mp);
	ck_assert_uint_eq(p->data_off, PKT_HEADROOM);
	ck_assert_uint_eq(p->len, 0);
	ck_assert_uint_eq(p->flags, 0);
	ck_assert_uint_eq(p->buf_iova, mem_virt2iova(p->buf));
	ck_assert_uint_eq(p->buf_iova, (uintptr_t)p->buf); // auto = VA
	ck_assert_uint_eq(pkt_data_iova(p), (uintptr_t)pkt_data(p));
	ck_assert_uint_eq(pkt_headroom(p), PKT_HEADROOM);
	ck_assert_uint_eq(pkt_tailroom(p), PKT_DATA_ROOM_JUMBO);
	// The whole buffer is usable.
	memset(pkt_data(p), 0xee, PKT_DATA_ROOM_JUMBO);

	// Dirty the hot fields, free, allocate again (the only buffer): reset.
	p->data_off = 10;
	p->len = 99;
	p->flags = PKT_F_VLAN | PKT_F_HASH;
	p->vlan_tci = 100;
	p->trace_id = 7;
	pkt_free(p);
	ck_assert_uint_eq(mempool_in_use(mp), 0);
	struct pkt *q = pkt_alloc(mp);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(q->data_off, PKT_HEADROOM);
	ck_assert_uint_eq(q->len, 0);
	ck_assert_uint_eq(q->flags, 0);
	ck_assert_uint_eq(q->vlan_tci, 0);
	ck_assert_uint_eq(q->trace_id, 0);
	// Exhausted.
	ck_assert_ptr_null(pkt_alloc(mp));
	pkt_free(q);
	pkt_free(NULL);
	ck_assert_uint_eq(mempool_destroy(mp), 0);
}
END_TEST

START_TEST(test_room_bounds)
{
	struct mempool *mp = pkt_pool_create("bounds", 4, 256, 0, -1);
	struct pkt *p = pkt_alloc(mp);
	uint8_t *d;

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(pkt_append(p, 257));
	d = pkt_append(p, 100);
	ck_assert_ptr_eq(d, pkt_data(p));
	ck_assert_uint_eq(p->len, 100);
	memset(d, 1, 100);
	ck_assert_ptr_eq(pkt_append(p, 156), pkt_data(p) + 100);
	ck_assert_uint_eq(pkt_tailroom(p), 0);
	ck_assert_ptr_null(pkt_append(p, 1));

	ck_assert_ptr_null(pkt_prepend(p, PKT_HEADROOM + 1));
	d = pkt_prepend(p, 14);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(p->len, 270);
	ck_assert_uint_eq(pkt_headroom(p), PKT_HEADROOM - 14);
	ck_assert_ptr_eq(pkt_prepend(p, PKT_HEADROOM - 14), (uint8_t *)p->buf);
	ck_assert_ptr_null(pkt_prepend(p, 1));

	ck_assert_ptr_null(pkt_adj(p, p->len + 1));
	ck_assert_ptr_eq(pkt_adj(p, PKT_HEADROOM), (uint8_t *)p->buf + PKT_HEADROOM);
	ck_assert_uint_eq(p->len, 256);
	ck_assert_int_eq(pkt_trim(p, 257), -EINVAL);
	ck_assert_uint_eq(p->len, 256);
	ck_assert_int_eq(pkt_trim(p, 56), 0);
	ck_assert_uint_eq(p->len, 200);
	ck_assert_uint_eq(pkt_tailroom(p), 56);
	ck_assert_ptr_eq(pkt_adj(p, 200), pkt_data(p));
	ck_assert_uint_eq(p->len, 0);
	pkt_free(p);
	ck_assert_uint_eq(mempool_destroy(mp), 0);
}
END_TEST

START_TEST(test_copy)
{
	struct mempool *small = pkt_pool_create("small", 2, 1024, 0, -1);
	struct mempool *jumbo = pkt_pool_create("jumbo", 2, PKT_DATA_ROOM_JUMBO, 0, -1);
	struct pkt *p = pkt_alloc(jumbo), *c;

	ck_assert_ptr_nonnull(p);
	uint8_t *d = pkt_append(p, 1000);
	for (unsigned i = 0; i < 1000; i++)
		d[i] = (uint8_t)(i * 7);
	pkt_adj(p, 10); // frame starts later than the default headroom
	p->in_port = 3;
	p->vlan_tci = 42;
	p->flags = PKT_F_VLAN | PKT_F_PARSED;
	p->hash = 0xdeadbeef;
	p->eth_type = 0x0800;
	p->l3_off = 14;
	p->l4_off = 34;
	p->rxq = 2;
	p->pipeline[0] = 11;
	p->pipeline[1] = 12;
	p->rx_tsc = 123456;
	p->trace_id = 9;

	c = pkt_copy(small, p);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_ne(c, p);
	ck_assert_ptr_eq(c->pool, small);
	ck_assert_uint_eq(c->len, 990);
	ck_assert_uint_eq(c->data_off, PKT_HEADROOM);
	ck_assert_int_eq(memcmp(pkt_data(c), pkt_data(p), 990), 0);
	ck_assert_uint_eq(c->in_port, 3);
	ck_assert_uint_eq(c->vlan_tci, 42);
	ck_assert_uint_eq(c->flags, PKT_F_VLAN | PKT_F_PARSED);
	ck_assert_uint_eq(c->hash, 0xdeadbeef);
	ck_assert_uint_eq(c->eth_type, 0x0800);
	ck_assert_uint_eq(c->l3_off, 14);
	ck_assert_uint_eq(c->l4_off, 34);
	ck_assert_uint_eq(c->rxq, 2);
	ck_assert_uint_eq(c->pipeline[1], 12);
	ck_assert_uint_eq(c->rx_tsc, 123456);
	ck_assert_uint_eq(c->trace_id, 9);
	ck_assert_uint_eq(c->buf_iova, mem_virt2iova(c->buf));

	// Too big for the small pool's data room.
	ck_assert_ptr_nonnull(pkt_append(p, 100));
	ck_assert_ptr_null(pkt_copy(small, p));
	// Exhausted pool.
	struct pkt *c2 = pkt_copy(small, c);
	ck_assert_ptr_nonnull(c2);
	ck_assert_ptr_null(pkt_copy(small, c));
	struct pkt *all[3] = {p, c, c2};
	pkt_free_bulk(all, 3);
	ck_assert_uint_eq(mempool_in_use(small), 0);
	ck_assert_uint_eq(mempool_in_use(jumbo), 0);
	ck_assert_uint_eq(mempool_destroy(small), 0);
	ck_assert_uint_eq(mempool_destroy(jumbo), 0);
}
END_TEST

START_TEST(test_free_bulk_mixed)
{
	struct mempool *a = pkt_pool_create("a", 64, 512, 16, -1);
	struct mempool *b = pkt_pool_create("b", 64, 512, 16, -1);
	struct pkt *pa[PKT_BURST], *pb[PKT_BURST], *mix[2 * PKT_BURST + 4];
	unsigned n = 0;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	mempool_thread_register(3);
	ck_assert_int_eq(pkt_alloc_bulk(a, pa, PKT_BURST), 0);
	ck_assert_int_eq(pkt_alloc_bulk(b, pb, PKT_BURST), 0);
	for (unsigned i = 0; i < PKT_BURST; i++) {
		ck_assert_ptr_eq(pa[i]->pool, a);
		ck_assert_uint_eq(pa[i]->data_off, PKT_HEADROOM);
	}
	// Runs of various lengths, alternating pools, with NULL holes.
	for (unsigned i = 0; i < PKT_BURST; i++) {
		mix[n++] = pa[i];
		if (i % 3 == 0)
			mix[n++] = pb[i];
		if (i == 5)
			mix[n++] = NULL;
	}
	for (unsigned i = 0; i < PKT_BURST; i++)
		if (i % 3 != 0)
			mix[n++] = pb[i];
	ck_assert_uint_eq(mempool_in_use(a), PKT_BURST);
	ck_assert_uint_eq(mempool_in_use(b), PKT_BURST);
	pkt_free_bulk(mix, n);
	ck_assert_uint_eq(mempool_in_use(a), 0);
	ck_assert_uint_eq(mempool_in_use(b), 0);
	mempool_thread_register(-1);
	ck_assert_uint_eq(mempool_destroy(a), 0);
	ck_assert_uint_eq(mempool_destroy(b), 0);
}
END_TEST

// Many alloc/free rounds (bulk all-or-nothing included) leave the leak counter at its baseline.
START_TEST(test_leak_baseline)
{
	struct mempool *mp = pkt_pool_create("leak", 100, 256, 16, -1);
	struct pkt *pkts[PKT_BURST], *held[100];
	unsigned n_held = 0;

	ck_assert_ptr_nonnull(mp);
	mempool_thread_register(0);
	for (unsigned round = 0; round < 1000; round++) {
		unsigned n = 1 + round % PKT_BURST;
		if (pkt_alloc_bulk(mp, pkts, n) == 0) {
			pkt_free_bulk(pkts, n / 2);
			for (unsigned i = n / 2; i < n && n_held < 100; i++)
				held[n_held++] = pkts[i];
		} else {
			// All or nothing: a failed bulk takes none.
			ck_assert_uint_eq(mempool_in_use(mp), n_held);
			pkt_free_bulk(held, n_held);
			n_held = 0;
		}
		ck_assert_uint_eq(mempool_in_use(mp), n_held);
	}
	pkt_free_bulk(held, n_held);
	ck_assert_uint_eq(mempool_in_use(mp), 0);
	struct mempool_info info;
	mempool_info_get(mp, &info);
	ck_assert_uint_gt(info.alloc_fail, 0);
	ck_assert_int_eq(pkt_alloc_bulk(mp, pkts, PKT_BURST), 0);
	pkt_free_bulk(pkts, PKT_BURST);
	mempool_thread_register(-1);
	ck_assert_uint_eq(mempool_destroy(mp), 0);
}
END_TEST

static void corrupt_iova(struct mempool *mp, void *obj, unsigned idx, void *arg)
{
	((struct pkt *)obj)->buf_iova = 1;
}

START_TEST(test_refresh_iova)
{
	struct mempool *mp = pkt_pool_create("iova", 16, 512, 0, -1);
	struct pkt *p;

	ck_assert_ptr_nonnull(mp);
	mempool_obj_foreach(mp, corrupt_iova, NULL);
	p = pkt_alloc(mp);
	ck_assert_uint_eq(p->buf_iova, 1);
	pkt_free(p);
	pkt_pools_refresh_iova();
	for (unsigned i = 0; i < 16; i++) {
		struct pkt *q = pkt_alloc(mp);
		ck_assert_ptr_nonnull(q);
		ck_assert_uint_eq(q->buf_iova, (uintptr_t)q->buf);
	}
	// 16 left allocated on purpose: destroy reports them.
	ck_assert_uint_eq(mempool_destroy(mp), 16);
}
END_TEST

static Suite *pkt_suite(void)
{
	Suite *s = suite_create("pkt");
	TCase *tc = tcase_create("pkt");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_pool_create);
	tcase_add_test(tc, test_alloc_reset);
	tcase_add_test(tc, test_room_bounds);
	tcase_add_test(tc, test_copy);
	tcase_add_test(tc, test_free_bulk_mixed);
	tcase_add_test(tc, test_leak_baseline);
	tcase_add_test(tc, test_refresh_iova);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pkt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
