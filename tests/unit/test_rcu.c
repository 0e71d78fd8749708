// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/rcu.c: deferred callbacks run only after every online reader passed a
// quiescent point, offline readers never block, order, bounded synchronize, barrier, and a
// reader/writer stress test that would catch a premature free.
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/rcu.h"

static int order[16];
static unsigned n_order;

static void record(void *arg)
{
	order[n_order++] = (int)(intptr_t)arg;
}

START_TEST(test_defer_waits_for_quiescent)
{
	ck_assert_int_eq(rcu_register(0), 0);
	ck_assert_int_eq(rcu_defer(record, (void *)1), 0);
	ck_assert_uint_eq(rcu_pending(), 1);
	// Reader 0 is online and has not quiesced: nothing may run, however often we poll.
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(rcu_poll(), 0);
	ck_assert_uint_eq(n_order, 0);
	rcu_quiescent(0);
	ck_assert_uint_eq(rcu_poll(), 1);
	ck_assert_uint_eq(n_order, 1);
	ck_assert_int_eq(order[0], 1);
	ck_assert_uint_eq(rcu_pending(), 0);
	rcu_unregister(0);
}
END_TEST

START_TEST(test_every_reader_must_quiesce)
{
	ck_assert_int_eq(rcu_register(3), 0);
	ck_assert_int_eq(rcu_register(7), 0);
	ck_assert_int_eq(rcu_defer(record, (void *)1), 0);
	rcu_quiescent(3);
	ck_assert_uint_eq(rcu_poll(), 0);
	rcu_quiescent(3);
	ck_assert_uint_eq(rcu_poll(), 0);
	rcu_quiescent(7);
	ck_assert_uint_eq(rcu_poll(), 1);
	rcu_unregister(3);
	rcu_unregister(7);
}
END_TEST

START_TEST(test_offline_reader_does_not_block)
{
	ck_assert_int_eq(rcu_register(1), 0);
	ck_assert_int_eq(rcu_register(2), 0);
	rcu_offline(2);
	ck_assert_int_eq(rcu_defer(record, (void *)1), 0);
	ck_assert_uint_eq(rcu_poll(), 0); // reader 1 still online
	rcu_offline(1); // going offline is a quiescent state
	ck_assert_uint_eq(rcu_poll(), 1);
	// Back online: a new defer waits for it again.
	rcu_online(1);
	ck_assert_int_eq(rcu_defer(record, (void *)2), 0);
	ck_assert_uint_eq(rcu_poll(), 0);
	rcu_quiescent(1);
	ck_assert_uint_eq(rcu_poll(), 1);
	ck_assert_int_eq(order[1], 2);
	rcu_unregister(1);
	rcu_unregister(2);
}
END_TEST

START_TEST(test_fifo_order)
{
	ck_assert_int_eq(rcu_register(0), 0);
	ck_assert_int_eq(rcu_defer(record, (void *)1), 0);
	rcu_quiescent(0);
	ck_assert_int_eq(rcu_defer(record, (void *)2), 0);
	ck_assert_int_eq(rcu_defer(record, (void *)3), 0);
	// Only the first one's grace period ended.
	ck_assert_uint_eq(rcu_poll(), 1);
	rcu_quiescent(0);
	ck_assert_uint_eq(rcu_poll(), 2);
	ck_assert_uint_eq(n_order, 3);
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 3);
	rcu_unregister(0);
}
END_TEST

START_TEST(test_no_readers)
{
	ck_assert_int_eq(rcu_defer(record, (void *)5), 0);
	ck_assert_uint_eq(rcu_poll(), 1);
	ck_assert_int_eq(rcu_synchronize(0), 0);
}
END_TEST

START_TEST(test_register_errors)
{
	ck_assert_int_eq(rcu_register(RCU_MAX_READERS), -EINVAL);
	ck_assert_int_eq(rcu_register(5), 0);
	ck_assert_int_eq(rcu_register(5), -EBUSY);
	rcu_unregister(5);
	// A released slot can be taken again, and never shows an old counter value.
	ck_assert_int_eq(rcu_register(5), 0);
	rcu_unregister(5);
}
END_TEST

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

START_TEST(test_synchronize_times_out)
{
	uint64_t t0;

	ck_assert_int_eq(rcu_register(0), 0);
	t0 = now_us();
	ck_assert_int_eq(rcu_synchronize(3000), -ETIMEDOUT);
	ck_assert_uint_ge(now_us() - t0, 3000);
	rcu_offline(0);
	ck_assert_int_eq(rcu_synchronize(3000), 0);
	rcu_unregister(0);
}
END_TEST

static void nested(void *arg)
{
	// Callbacks never nest: this poll must not run the next callback under us.
	ck_assert_uint_eq(rcu_poll(), 0);
	record(arg);
	if ((intptr_t)arg == 1)
		ck_assert_int_eq(rcu_defer(record, (void *)9), 0);
}

START_TEST(test_callback_defers_and_polls)
{
	ck_assert_int_eq(rcu_defer(nested, (void *)1), 0);
	ck_assert_int_eq(rcu_defer(nested, (void *)2), 0);
	rcu_barrier();
	ck_assert_uint_eq(n_order, 3);
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 9);
	ck_assert_uint_eq(rcu_pending(), 0);
}
END_TEST

// ---- reader/writer stress: readers must never see a freed object ----

#define LIVE 0x111e
#define DEAD 0xdead

struct obj {
	_Atomic unsigned magic;
	unsigned value;
};

static _Atomic(struct obj *) shared;
static _Atomic bool stop;
static _Atomic unsigned bad_reads;
static _Atomic unsigned freed;

static void obj_free(void *arg)
{
	struct obj *o = arg;

	// Poison first: a reader that still holds o would see it.
	atomic_store(&o->magic, DEAD);
	atomic_fetch_add(&freed, 1);
	// Kept allocated so that a late reader reads poison rather than crashing the test.
}

struct reader_arg {
	unsigned id;
	bool naps; // goes offline now and then (idle back-off)
};

static void *reader(void *p)
{
	struct reader_arg *a = p;
	unsigned long it = 0;

	ck_assert_int_eq(rcu_register(a->id), 0);
	while (!atomic_load(&stop)) {
		for (int i = 0; i < 16; i++) {
			struct obj *o = rcu_dereference(shared);

			// Hold the reference for a while, re-checking it.
			for (int k = 0; k < 8; k++) {
				if (atomic_load(&o->magic) != LIVE)
					atomic_fetch_add(&bad_reads, 1);
			}
		}
		rcu_quiescent(a->id);
		if (a->naps && ++it % 64 == 0) {
			rcu_offline(a->id);
			usleep(20);
			rcu_online(a->id);
		}
	}
	rcu_unregister(a->id);
	return NULL;
}

START_TEST(test_stress_no_premature_free)
{
	enum { N_OBJ = 20000 };
	struct obj *objs = calloc(N_OBJ + 1, sizeof(*objs));
	struct reader_arg args[2] = {{.id = 0, .naps = false}, {.id = 1, .naps = true}};
	pthread_t th[2];

	ck_assert_ptr_nonnull(objs);
	atomic_store(&objs[0].magic, LIVE);
	atomic_store(&shared, &objs[0]);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, reader, &args[i]), 0);
	for (unsigned i = 1; i <= N_OBJ; i++) {
		struct obj *old;

		atomic_store(&objs[i].magic, LIVE);
		objs[i].value = i;
		old = atomic_exchange(&shared, &objs[i]);
		ck_assert_int_eq(rcu_defer(obj_free, old), 0);
		rcu_poll();
		if (i % 1000 == 0)
			ck_assert_int_eq(rcu_synchronize(1000000), 0);
	}
	unsigned n_freed, n_bad;

	rcu_barrier();
	n_freed = atomic_load(&freed);
	ck_assert_uint_eq(n_freed, N_OBJ);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	n_bad = atomic_load(&bad_reads);
	ck_assert_uint_eq(n_bad, 0);
	free(objs);
}
END_TEST

static Suite *rcu_suite(void)
{
	Suite *s = suite_create("rcu");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_defer_waits_for_quiescent);
	tcase_add_test(tc, test_every_reader_must_quiesce);
	tcase_add_test(tc, test_offline_reader_does_not_block);
	tcase_add_test(tc, test_fifo_order);
	tcase_add_test(tc, test_no_readers);
	tcase_add_test(tc, test_register_errors);
	tcase_add_test(tc, test_synchronize_times_out);
	tcase_add_test(tc, test_callback_defers_and_polls);
	tcase_add_test(tc, test_stress_no_premature_free);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rcu_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
