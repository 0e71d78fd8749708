// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/mempool.c: get/put, exhaustion, per-thread caches and their
// accounting, object layout (alignment, no 2 MiB/page straddling), registry, destroy with
// objects in use, and a multi-thread stress that detects double allocation and loss.
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "dataplane/mempool.h"

#define MB (1ul << 20)

static void setup(void)
{
	log_set_level(LOG_LVL_WARN);
	ck_assert_int_eq(mem_init(NULL, NULL), 0);
}

static void teardown(void)
{
	mempool_thread_register(-1);
	mem_fini();
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

static void assert_unique(void **objs, unsigned n)
{
	void **copy = malloc(n * sizeof(*copy));

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, objs, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cmp_ptr);
	for (unsigned i = 1; i < n; i++)
		ck_assert_ptr_ne(copy[i - 1], copy[i]);
	free(copy);
}

START_TEST(test_create_invalid)
{
	errno = 0;
	ck_assert_ptr_null(mempool_create("x", 0, 64, 0, -1, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(mempool_create("x", 10, 0, 0, -1, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(mempool_create("x", 10, 64, MEMPOOL_CACHE_MAX + 1, -1, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(mempool_create("x", 10, 64, 0, MEM_MAX_NUMA, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(mempool_create(NULL, 10, 64, 0, -1, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(mempool_destroy(NULL), 0);
}
END_TEST

struct init_rec {
	unsigned calls;
	unsigned idx_sum;
	unsigned nonzero;
};

static void rec_init(struct mempool *mp, void *obj, unsigned idx, void *arg)
{
	struct init_rec *r = arg;
	const unsigned char *b = obj;

	for (unsigned i = 0; i < 100; i++)
		r->nonzero += b[i] != 0;
	r->calls++;
	r->idx_sum += idx;
	*(unsigned *)obj = idx + 1;
}

START_TEST(test_get_put)
{
	struct init_rec rec = {0};
	struct mempool_info info;
	void *objs[101];
	struct mempool *mp = mempool_create("gp", 100, 100, 0, -1, rec_init, &rec);

	ck_assert_ptr_nonnull(mp);
	ck_assert_str_eq(mempool_name(mp), "gp");
	ck_assert_uint_eq(rec.calls, 100);
	ck_assert_uint_eq(rec.idx_sum, 99 * 100 / 2);
	ck_assert_uint_eq(rec.nonzero, 0);
	for (unsigned i = 0; i < 100; i++) {
		ck_assert_int_eq(mempool_get_bulk(mp, &objs[i], 1), 0);
		ck_assert_uint_eq((uintptr_t)objs[i] % CACHE_LINE_SIZE, 0);
		ck_assert_uint_ge(*(unsigned *)objs[i], 1);
	}
	assert_unique(objs, 100);
	// Exhausted: -ENOBUFS, counted once per failed call.
	ck_assert_int_eq(mempool_get_bulk(mp, &objs[100], 1), -ENOBUFS);
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.in_use, 100);
	ck_assert_uint_eq(info.alloc_fail, 1);
	ck_assert_uint_eq(info.n, 100);
	ck_assert_uint_eq(info.elt_size, 100);
	ck_assert_uint_eq(info.cache_size, 0);
	ck_assert_str_eq(info.name, "gp");

	// n = 0 is a successful no-op, not a failure.
	ck_assert_int_eq(mempool_get_bulk(mp, objs, 0), 0);
	mempool_put_bulk(mp, objs, 0);
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.alloc_fail, 1);
	// All or nothing: 3 free, asking 5 takes none.
	mempool_put_bulk(mp, objs, 3);
	ck_assert_uint_eq(mempool_in_use(mp), 97);
	ck_assert_int_eq(mempool_get_bulk(mp, objs, 5), -ENOBUFS);
	ck_assert_uint_eq(mempool_in_use(mp), 97);
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.alloc_fail, 2);
	ck_assert_uint_eq(info.free_ring, 3);
	ck_assert_int_eq(mempool_get_bulk(mp, objs, 3), 0);
	mempool_put_bulk(mp, objs, 100);
	ck_assert_uint_eq(mempool_in_use(mp), 0);
	ck_assert_uint_eq(mempool_destroy(mp), 0);
}
END_TEST

START_TEST(test_cache)
{
	struct mempool_info info;
	void *objs[64], *one;
	struct mempool *mp = mempool_create("cache", 1000, 64, 32, -1, NULL, NULL);

	ck_assert_ptr_nonnull(mp);
	mempool_thread_register(0);
	// First get refills the cache with size + n from the ring.
	ck_assert_int_eq(mempool_get_bulk(mp, &one, 1), 0);
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.in_use, 1);
	ck_assert_uint_eq(info.free_ring, 1000 - 33);
	// Returned to the cache: free again, the ring does not change.
	mempool_put_bulk(mp, &one, 1);
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.in_use, 0);
	ck_assert_uint_eq(info.free_ring, 1000 - 33);

	// Two gets of 30 (each <= cache size), then put back one by one: above 48 cached the
	// excess is flushed to the ring, leaving 32.
	ck_assert_int_eq(mempool_get_bulk(mp, objs, 30), 0);
	ck_assert_int_eq(mempool_get_bulk(mp, objs + 30, 30), 0);
	ck_assert_uint_eq(mempool_in_use(mp), 60);
	assert_unique(objs, 60);
	for (unsigned i = 0; i < 60; i++)
		mempool_put_bulk(mp, &objs[i], 1);
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.in_use, 0);
	// Cached objects = n - ring; never above the flush threshold after a put.
	ck_assert_uint_le(1000 - info.free_ring, 48);
	ck_assert_uint_ge(1000 - info.free_ring, 32);
	// A get larger than the cache goes to the ring directly.
	ck_assert_int_eq(mempool_get_bulk(mp, objs, 40), 0);
	ck_assert_uint_eq(mempool_in_use(mp), 40);
	mempool_put_bulk(mp, objs, 40);
	mempool_cache_flush(mp);
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.free_ring, 1000);
	ck_assert_uint_eq(info.in_use, 0);
	ck_assert_uint_eq(info.cache_size, 32);

	// Another slot on the same thread sees its own (empty) cache.
	mempool_thread_register(5);
	ck_assert_int_eq(mempool_get_bulk(mp, &one, 1), 0);
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.free_ring, 1000 - 33);
	// Leaving slot 5 returns its cache to the ring.
	mempool_thread_register(0);
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.free_ring, 1000 - 1);
	mempool_put_bulk(mp, &one, 1); // taken via slot 5, returned via slot 0
	ck_assert_uint_eq(mempool_in_use(mp), 0);
	// Out-of-range slot: reported, the thread runs without cache.
	mempool_thread_register(MEMPOOL_MAX_CACHES);
	ck_assert_int_eq(mempool_get_bulk(mp, &one, 1), 0);
	mempool_put_bulk(mp, &one, 1);
	ck_assert_uint_eq(mempool_destroy(mp), 0);
}
END_TEST

// A registered thread reaches every object: its cache plus the ring.
START_TEST(test_cache_exhaustion)
{
	void *objs[100];
	unsigned got = 0;
	struct mempool *mp = mempool_create("cx", 100, 64, 32, -1, NULL, NULL);

	ck_assert_ptr_nonnull(mp);
	mempool_thread_register(1);
	while (got < 100 && mempool_get_bulk(mp, &objs[got], 1) == 0)
		got++;
	ck_assert_uint_eq(got, 100);
	assert_unique(objs, 100);
	ck_assert_int_eq(mempool_get_bulk(mp, objs, 1), -ENOBUFS);
	struct mempool_info info;
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.alloc_fail, 1);
	ck_assert_uint_eq(info.in_use, 100);
	// Destroy with objects out: reported and the memory is kept.
	ck_assert_uint_eq(mempool_destroy(mp), 100);
}
END_TEST

START_TEST(test_cache_clamped)
{
	struct mempool_info info;
	struct mempool *mp = mempool_create("small", 10, 64, 256, -1, NULL, NULL);

	ck_assert_ptr_nonnull(mp);
	mempool_info_get(mp, &info);
	ck_assert_uint_eq(info.cache_size, 6);
	ck_assert_uint_eq(mempool_destroy(mp), 0);
}
END_TEST

struct seg_find {
	const void *va;
	struct mem_segment seg;
};

static int seg_find_cb(const struct mem_segment *seg, void *arg)
{
	struct seg_find *f = arg;

	if ((const char *)f->va >= (const char *)seg->va &&
		(const char *)f->va < (const char *)seg->va + seg->size) {
		f->seg = *seg;
		return 1;
	}
	return 0;
}

struct straddle {
	struct mem_segment seg;
	unsigned elt;
	unsigned bad_2m;
	unsigned bad_page;
	unsigned bad_align;
	unsigned count;
};

static void straddle_cb(struct mempool *mp, void *obj, unsigned idx, void *arg)
{
	struct straddle *s = arg;
	uintptr_t rel = (uintptr_t)obj - (uintptr_t)s->seg.va;
	uintptr_t a = (uintptr_t)obj;

	s->count++;
	s->bad_align += a % CACHE_LINE_SIZE != 0;
	s->bad_2m += rel / (2 * MB) != (rel + s->elt - 1) / (2 * MB);
	if (s->seg.hugepages)
		s->bad_page += a / s->seg.page_size != (a + s->elt - 1) / s->seg.page_size;
}

// Packet-sized objects over several MiB: none crosses a 2 MiB boundary of its segment, nor a
// page when the segment is on hugepages.
START_TEST(test_no_straddle)
{
	struct straddle s = {.elt = 128 + 128 + 2048};
	struct seg_find f;
	void *obj;
	struct mempool *mp = mempool_create("straddle", 4000, s.elt, 0, -1, NULL, NULL);

	ck_assert_ptr_nonnull(mp);
	ck_assert_int_eq(mempool_get_bulk(mp, &obj, 1), 0);
	f.va = obj;
	ck_assert_int_eq(mem_segment_foreach(seg_find_cb, &f), 1);
	s.seg = f.seg;
	ck_assert_uint_ge(s.seg.size, 4000ul * s.elt);
	mempool_obj_foreach(mp, straddle_cb, &s);
	ck_assert_uint_eq(s.count, 4000);
	ck_assert_uint_eq(s.bad_align, 0);
	ck_assert_uint_eq(s.bad_2m, 0);
	ck_assert_uint_eq(s.bad_page, 0);
	if (!s.seg.hugepages)
		fprintf(stderr, "skipped: hugepage straddling check (pool on normal pages)\n");
	mempool_put_bulk(mp, &obj, 1);
	ck_assert_uint_eq(mempool_destroy(mp), 0);
}
END_TEST

static void count_cb(struct mempool *mp, void *arg)
{
	(*(unsigned *)arg)++;
}

START_TEST(test_registry)
{
	unsigned n = 0;
	struct mempool *a = mempool_create("reg-a", 10, 64, 0, -1, NULL, NULL);
	struct mempool *b = mempool_create("reg-b", 10, 64, 0, 0, NULL, NULL);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	mempool_foreach(count_cb, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_nonnull(mempool_priv(a));
	ck_assert_uint_eq(((uint64_t *)mempool_priv(a))[7], 0);
	ck_assert_uint_eq(mempool_destroy(a), 0);
	n = 0;
	mempool_foreach(count_cb, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(mempool_destroy(b), 0);
	n = 0;
	mempool_foreach(count_cb, &n);
	ck_assert_uint_eq(n, 0);
}
END_TEST

#define STRESS_N 512
#define STRESS_ITERS 100000

struct stress_obj {
	_Atomic unsigned owner; // 0 free, else thread id + 1
};

struct stress {
	struct mempool *mp;
	_Atomic unsigned errors;
	_Atomic uint64_t fails;
};

struct stress_arg {
	struct stress *s;
	int slot; // -1: unregistered
	unsigned id;
};

static void *stress_thread(void *p)
{
	struct stress_arg *a = p;
	struct stress *s = a->s;
	void *held[64];
	unsigned n_held = 0;
	uint32_t rnd = 2463534242u + a->id;

	mempool_thread_register(a->slot);
	for (unsigned it = 0; it < STRESS_ITERS; it++) {
		rnd ^= rnd << 13;
		rnd ^= rnd >> 17;
		rnd ^= rnd << 5;
		unsigned n = 1 + rnd % 32;
		if (n_held + n <= 64 && (rnd & 0x100)) {
			if (mempool_get_bulk(s->mp, &held[n_held], n) < 0) {
				atomic_fetch_add(&s->fails, 1);
				continue;
			}
			for (unsigned i = 0; i < n; i++) {
				struct stress_obj *o = held[n_held + i];
				unsigned expect = 0;
				if (!atomic_compare_exchange_strong(&o->owner, &expect, a->id + 1))
					atomic_fetch_add(&s->errors, 1);
			}
			n_held += n;
		} else if (n_held) {
			n = n > n_held ? n_held : n;
			n_held -= n;
			for (unsigned i = 0; i < n; i++) {
				struct stress_obj *o = held[n_held + i];
				if (atomic_exchange(&o->owner, 0) != a->id + 1)
					atomic_fetch_add(&s->errors, 1);
			}
			mempool_put_bulk(s->mp, &held[n_held], n);
		}
	}
	for (unsigned i = 0; i < n_held; i++)
		atomic_store(&((struct stress_obj *)held[i])->owner, 0);
	mempool_put_bulk(s->mp, held, n_held);
	mempool_cache_flush(s->mp);
	return NULL;
}

START_TEST(test_stress)
{
	struct stress s = {0};
	struct stress_arg args[3] = {{&s, 0, 0}, {&s, 1, 1}, {&s, -1, 2}};
	pthread_t th[3];
	void *all[STRESS_N];

	s.mp = mempool_create("stress", STRESS_N, sizeof(struct stress_obj), 32, -1, NULL, NULL);
	ck_assert_ptr_nonnull(s.mp);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, stress_thread, &args[i]), 0);
	for (unsigned i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	unsigned errors = atomic_load(&s.errors);
	ck_assert_uint_eq(errors, 0);
	ck_assert_uint_eq(mempool_in_use(s.mp), 0);
	struct mempool_info info;
	mempool_info_get(s.mp, &info);
	ck_assert_uint_eq(info.free_ring, STRESS_N);
	ck_assert_uint_eq(info.alloc_fail, atomic_load(&s.fails));
	// Nothing lost or duplicated: every object comes back exactly once.
	ck_assert_int_eq(mempool_get_bulk(s.mp, all, STRESS_N), 0);
	assert_unique(all, STRESS_N);
	mempool_put_bulk(s.mp, all, STRESS_N);
	ck_assert_uint_eq(mempool_destroy(s.mp), 0);
}
END_TEST

static Suite *mempool_suite(void)
{
	Suite *s = suite_create("mempool");
	TCase *tc = tcase_create("mempool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_create_invalid);
	tcase_add_test(tc, test_get_put);
	tcase_add_test(tc, test_cache);
	tcase_add_test(tc, test_cache_exhaustion);
	tcase_add_test(tc, test_cache_clamped);
	tcase_add_test(tc, test_no_straddle);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_stress);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mempool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
