// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/ring.c: single-thread semantics (capacity, bulk vs burst, FIFO,
// wraparound) and multi-thread stress checking every token arrives exactly once, in order.
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "dataplane/ring.h"

START_TEST(test_create_invalid)
{
	errno = 0;
	ck_assert_ptr_null(ring_create("r", 0, -1, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(ring_create("r", (1u << 28) + 1, -1, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(ring_create("r", 8, -1, 0x80));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(ring_create(NULL, 8, -1, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(ring_create("r", 8, 4096, 0));
	ck_assert_int_eq(errno, EINVAL);
	ring_destroy(NULL);
}
END_TEST

// Capacity is exactly the requested count, whether or not it is a power of two.
START_TEST(test_capacity_exact)
{
	static const unsigned counts[] = {1, 2, 5, 7, 8, 100, 1000, 1024, 1025};

	for (unsigned k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		unsigned cnt = counts[k], space = 0;
		struct ring *r = ring_create("cap", cnt, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		void *obj = (void *)(uintptr_t)0x1234;

		ck_assert_ptr_nonnull(r);
		ck_assert_uint_eq(ring_capacity(r), cnt);
		ck_assert_uint_eq(ring_free_count(r), cnt);
		for (unsigned i = 0; i < cnt; i++)
			ck_assert_uint_eq(ring_enqueue_bulk(r, &obj, 1, &space), 1);
		ck_assert_uint_eq(space, 0);
		ck_assert_uint_eq(ring_count(r), cnt);
		ck_assert_uint_eq(ring_free_count(r), 0);
		ck_assert_uint_eq(ring_enqueue_bulk(r, &obj, 1, &space), 0);
		ck_assert_uint_eq(ring_enqueue_burst(r, &obj, 1, &space), 0);
		ck_assert_uint_eq(space, 0);
		ring_destroy(r);
	}
}
END_TEST

START_TEST(test_bulk_burst)
{
	struct ring *r = ring_create("bb", 10, -1, 0);
	void *in[16], *out[16];
	unsigned space = 99, avail = 99;

	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(ring_name(r), "bb");
	for (unsigned i = 0; i < 16; i++)
		in[i] = (void *)(uintptr_t)(i + 1);
	ck_assert_uint_eq(ring_enqueue_bulk(r, in, 8, &space), 8);
	ck_assert_uint_eq(space, 2);
	// Bulk: all or nothing, nothing changes on failure.
	ck_assert_uint_eq(ring_enqueue_bulk(r, in + 8, 3, &space), 0);
	ck_assert_uint_eq(space, 2);
	ck_assert_uint_eq(ring_count(r), 8);
	// Burst: what fits.
	ck_assert_uint_eq(ring_enqueue_burst(r, in + 8, 3, &space), 2);
	ck_assert_uint_eq(space, 0);
	ck_assert_uint_eq(ring_count(r), 10);

	ck_assert_uint_eq(ring_dequeue_bulk(r, out, 11, &avail), 0);
	ck_assert_uint_eq(avail, 10);
	ck_assert_uint_eq(ring_dequeue_bulk(r, out, 4, &avail), 4);
	ck_assert_uint_eq(avail, 6);
	for (unsigned i = 0; i < 4; i++)
		ck_assert_ptr_eq(out[i], in[i]);
	ck_assert_uint_eq(ring_dequeue_burst(r, out, 16, &avail), 6);
	ck_assert_uint_eq(avail, 0);
	for (unsigned i = 0; i < 6; i++)
		ck_assert_ptr_eq(out[i], in[4 + i]);
	ck_assert_uint_eq(ring_dequeue_burst(r, out, 16, NULL), 0);
	ck_assert_uint_eq(ring_dequeue_bulk(r, out, 1, NULL), 0);
	ck_assert_uint_eq(ring_count(r), 0);
	// n = 0 is a no-op for both.
	ck_assert_uint_eq(ring_enqueue_bulk(r, in, 0, NULL), 0);
	ck_assert_uint_eq(ring_dequeue_burst(r, out, 0, NULL), 0);
	ring_destroy(r);
}
END_TEST

// Indices run far past the storage size: FIFO order must hold across every wrap, including
// bulk copies that split at the end of the storage.
START_TEST(test_wraparound)
{
	struct ring *r = ring_create("wrap", 7, -1, 0);
	uintptr_t next_in = 1, next_out = 1;
	void *buf[8];

	ck_assert_ptr_nonnull(r);
	for (unsigned iter = 0; iter < 20000; iter++) {
		unsigned n = 1 + iter % 7;
		unsigned free_n = ring_free_count(r);
		unsigned want = n <= free_n ? n : free_n;
		for (unsigned i = 0; i < want; i++)
			buf[i] = (void *)(next_in + i);
		ck_assert_uint_eq(ring_enqueue_burst(r, buf, n, NULL), want);
		next_in += want;
		unsigned m = 1 + (iter * 3) % 5;
		unsigned got = ring_dequeue_burst(r, buf, m, NULL);
		ck_assert_uint_le(got, m);
		for (unsigned i = 0; i < got; i++)
			ck_assert_uint_eq((uintptr_t)buf[i], next_out++);
		ck_assert_uint_eq(ring_count(r), next_in - next_out);
	}
	ring_destroy(r);
}
END_TEST

#define STRESS_PRODUCERS 2
#define STRESS_CONSUMERS 2
#define STRESS_PER_PRODUCER 1500000u

struct stress {
	struct ring *r;
	unsigned n_prod;
	unsigned per_prod;
	_Atomic unsigned producers_done;
	_Atomic uint64_t consumed;
	_Atomic uint8_t *seen; // n_prod x per_prod
	_Atomic unsigned order_errors;
};

struct stress_arg {
	struct stress *s;
	unsigned id;
};

// Token = producer << 32 | (sequence + 1); never NULL.
static void *stress_producer(void *p)
{
	struct stress_arg *a = p;
	struct stress *s = a->s;
	void *buf[32];
	uint64_t seq = 0;

	while (seq < s->per_prod) {
		unsigned n = 1 + (unsigned)(seq % 32);
		if (n > s->per_prod - seq)
			n = (unsigned)(s->per_prod - seq);
		for (unsigned i = 0; i < n; i++)
			buf[i] = (void *)(uintptr_t)(((uint64_t)a->id << 32) | (seq + i + 1));
		// Alternate bulk and burst to exercise both reservation paths.
		unsigned done = (seq & 1) ? ring_enqueue_bulk(s->r, buf, n, NULL)
					  : ring_enqueue_burst(s->r, buf, n, NULL);
		seq += done;
		if (done == 0)
			sched_yield();
	}
	atomic_fetch_add(&s->producers_done, 1);
	return NULL;
}

static void *stress_consumer(void *p)
{
	struct stress_arg *a = p;
	struct stress *s = a->s;
	uint64_t last[STRESS_PRODUCERS] = {0};
	void *buf[32];
	unsigned k = 0;

	for (;;) {
		unsigned want = 1 + (k++ % 32);
		unsigned n = (k & 1) ? ring_dequeue_burst(s->r, buf, want, NULL)
				     : ring_dequeue_bulk(s->r, buf, want, NULL);
		if (n == 0) {
			if (atomic_load(&s->producers_done) == s->n_prod && ring_count(s->r) == 0)
				break;
			sched_yield();
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			uint64_t tok = (uintptr_t)buf[i];
			unsigned prod = (unsigned)(tok >> 32);
			uint64_t seq = tok & 0xffffffffu;
			if (prod >= s->n_prod || seq == 0 || seq > s->per_prod) {
				atomic_fetch_add(&s->order_errors, 1);
				continue;
			}
			// One producer's tokens reach any one consumer in increasing order.
			if (seq <= last[prod])
				atomic_fetch_add(&s->order_errors, 1);
			last[prod] = seq;
			uint64_t slot = (uint64_t)prod * s->per_prod + seq - 1;
			atomic_fetch_add_explicit(&s->seen[slot], 1, memory_order_relaxed);
		}
		atomic_fetch_add(&s->consumed, n);
	}
	return NULL;
}

static void stress_run(
	unsigned flags, unsigned n_prod, unsigned n_cons, unsigned per_prod, unsigned ring_size)
{
	struct stress s = {.n_prod = n_prod, .per_prod = per_prod};
	pthread_t prod[STRESS_PRODUCERS], cons[STRESS_CONSUMERS];
	struct stress_arg pa[STRESS_PRODUCERS], ca[STRESS_CONSUMERS];
	uint64_t total = (uint64_t)n_prod * per_prod;

	s.r = ring_create("stress", ring_size, -1, flags);
	ck_assert_ptr_nonnull(s.r);
	s.seen = calloc(total, sizeof(*s.seen));
	ck_assert_ptr_nonnull(s.seen);
	for (unsigned i = 0; i < n_cons; i++) {
		ca[i] = (struct stress_arg){&s, i};
		ck_assert_int_eq(pthread_create(&cons[i], NULL, stress_consumer, &ca[i]), 0);
	}
	for (unsigned i = 0; i < n_prod; i++) {
		pa[i] = (struct stress_arg){&s, i};
		ck_assert_int_eq(pthread_create(&prod[i], NULL, stress_producer, &pa[i]), 0);
	}
	for (unsigned i = 0; i < n_prod; i++)
		pthread_join(prod[i], NULL);
	for (unsigned i = 0; i < n_cons; i++)
		pthread_join(cons[i], NULL);

	unsigned order_errors = atomic_load(&s.order_errors);
	uint64_t consumed = atomic_load(&s.consumed);
	ck_assert_uint_eq(order_errors, 0);
	ck_assert_uint_eq(consumed, total);
	uint64_t bad = 0;
	for (uint64_t i = 0; i < total; i++)
		bad += atomic_load_explicit(&s.seen[i], memory_order_relaxed) != 1;
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(ring_count(s.r), 0);
	free(s.seen);
	ring_destroy(s.r);
}

START_TEST(test_stress_mpmc)
{
	stress_run(0, STRESS_PRODUCERS, STRESS_CONSUMERS, STRESS_PER_PRODUCER, 1000);
}
END_TEST

START_TEST(test_stress_spsc)
{
	stress_run(RING_F_SP_ENQ | RING_F_SC_DEQ, 1, 1, 2 * STRESS_PER_PRODUCER, 1000);
}
END_TEST

// Single producer, several consumers (the worker -> control direction is SP/SC; pools are MP/MC;
// this mixes the two kinds of end).
START_TEST(test_stress_spmc)
{
	stress_run(RING_F_SP_ENQ, 1, STRESS_CONSUMERS, STRESS_PER_PRODUCER, 64);
}
END_TEST

static Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("semantics");

	tcase_add_test(tc, test_create_invalid);
	tcase_add_test(tc, test_capacity_exact);
	tcase_add_test(tc, test_bulk_burst);
	tcase_add_test(tc, test_wraparound);
	suite_add_tcase(s, tc);
	tc = tcase_create("stress");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_stress_mpmc);
	tcase_add_test(tc, test_stress_spsc);
	tcase_add_test(tc, test_stress_spmc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ring_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
