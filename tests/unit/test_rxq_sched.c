// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/rxq_sched.c: round-robin, cycles-based balancing on synthetic loads,
// NUMA preference, pinning/isolation and the incremental (keep) mode.
#include <check.h>
#include <errno.h>
#include <string.h>

#include "dataplane/rxq_sched.h"

static struct rxq_sched_rxq rxqs[64];
static struct rxq_sched_worker ws[8];

// n queues of port 1, no NUMA preference, no pin, no current worker.
static void setup_rxqs(unsigned n, const uint64_t *loads)
{
	memset(rxqs, 0, sizeof(rxqs));
	for (unsigned i = 0; i < n; i++) {
		rxqs[i] = (struct rxq_sched_rxq){
			.port = 1,
			.queue = (uint16_t)i,
			.numa = -1,
			.pinned = -1,
			.load = loads != NULL ? loads[i] : 0,
			.cur = -1,
			.worker = -7,
		};
	}
}

static void setup_workers(unsigned n, const int *numa)
{
	memset(ws, 0, sizeof(ws));
	for (unsigned i = 0; i < n; i++)
		ws[i].numa = numa != NULL ? numa[i] : 0;
}

START_TEST(test_round_robin)
{
	setup_rxqs(5, NULL);
	setup_workers(2, NULL);
	ck_assert_int_eq(rxq_sched_assign(RXQ_SCHED_ROUNDROBIN, false, rxqs, 5, ws, 2), 5);
	for (unsigned i = 0; i < 5; i++)
		ck_assert_int_eq(rxqs[i].worker, (int)(i % 2));
	ck_assert_uint_eq(ws[0].n_rxq, 3);
	ck_assert_uint_eq(ws[1].n_rxq, 2);
}
END_TEST

START_TEST(test_round_robin_ignores_load)
{
	const uint64_t loads[] = {1000, 1000, 1, 1};

	setup_rxqs(4, loads);
	setup_workers(2, NULL);
	ck_assert_int_ge(rxq_sched_assign(RXQ_SCHED_ROUNDROBIN, false, rxqs, 4, ws, 2), 0);
	// Both heavy queues end up on worker 0 and 1 alternately, not balanced by load.
	ck_assert_int_eq(rxqs[0].worker, 0);
	ck_assert_int_eq(rxqs[1].worker, 1);
	ck_assert_int_eq(rxqs[2].worker, 0);
	ck_assert_int_eq(rxqs[3].worker, 1);
}
END_TEST

START_TEST(test_cycles_balances)
{
	// Greedy, heaviest first: 100->w0, 90->w1, 10->w1 (190 vs 100), 10->w0 (tie 100/100:
	// fewer queues), 5->w1.
	const uint64_t loads[] = {10, 100, 5, 90, 10};

	setup_rxqs(5, loads);
	setup_workers(2, NULL);
	ck_assert_int_eq(rxq_sched_assign(RXQ_SCHED_CYCLES, false, rxqs, 5, ws, 2), 5);
	ck_assert_int_eq(rxqs[1].worker, 0);
	ck_assert_int_eq(rxqs[3].worker, 1);
	ck_assert_uint_eq(ws[0].load + ws[1].load, 215);
	ck_assert_uint_eq(ws[0].load, 110);
	ck_assert_uint_eq(ws[1].load, 105);
	ck_assert_uint_eq(rxq_sched_max_load(ws, 2), 110);
}
END_TEST

START_TEST(test_cycles_many_workers)
{
	uint64_t loads[32];

	// 32 queues with loads 1..32 over 4 workers: greedy gets within the largest item.
	for (unsigned i = 0; i < 32; i++)
		loads[i] = i + 1;
	setup_rxqs(32, loads);
	setup_workers(4, NULL);
	ck_assert_int_ge(rxq_sched_assign(RXQ_SCHED_CYCLES, false, rxqs, 32, ws, 4), 0);
	uint64_t total = 0, max = rxq_sched_max_load(ws, 4), min = UINT64_MAX;
	for (unsigned w = 0; w < 4; w++) {
		total += ws[w].load;
		min = ws[w].load < min ? ws[w].load : min;
		ck_assert_uint_eq(ws[w].n_rxq, 8);
	}
	ck_assert_uint_eq(total, 528);
	ck_assert_uint_le(max - min, 4);
}
END_TEST

START_TEST(test_numa_preference)
{
	const int numa[] = {0, 1};
	const uint64_t loads[] = {100, 100, 100, 1};

	setup_rxqs(4, loads);
	setup_workers(2, numa);
	// Queues 0-2 on node 1: all go to worker 1 even though worker 0 is idle.
	for (unsigned i = 0; i < 3; i++)
		rxqs[i].numa = 1;
	rxqs[3].numa = 3; // no worker on node 3: any worker, least loaded
	ck_assert_int_ge(rxq_sched_assign(RXQ_SCHED_CYCLES, false, rxqs, 4, ws, 2), 0);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(rxqs[i].worker, 1);
	ck_assert_int_eq(rxqs[3].worker, 0);

	// Same with round-robin.
	ck_assert_int_ge(rxq_sched_assign(RXQ_SCHED_ROUNDROBIN, false, rxqs, 4, ws, 2), 0);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(rxqs[i].worker, 1);
}
END_TEST

START_TEST(test_pinning_isolates)
{
	const uint64_t loads[] = {5, 5, 5, 5};

	setup_rxqs(4, loads);
	setup_workers(3, NULL);
	rxqs[2].pinned = 1;
	ck_assert_int_ge(rxq_sched_assign(RXQ_SCHED_CYCLES, false, rxqs, 4, ws, 3), 0);
	ck_assert_int_eq(rxqs[2].worker, 1);
	ck_assert(ws[1].isolated);
	ck_assert_uint_eq(ws[1].n_rxq, 1);
	for (unsigned i = 0; i < 4; i++) {
		if (i != 2)
			ck_assert_int_ne(rxqs[i].worker, 1);
	}
	ck_assert_uint_eq(ws[0].n_rxq + ws[2].n_rxq, 3);
}
END_TEST

START_TEST(test_all_isolated_spreads)
{
	setup_rxqs(4, NULL);
	setup_workers(2, NULL);
	rxqs[0].pinned = 0;
	rxqs[1].pinned = 1;
	ck_assert_int_ge(rxq_sched_assign(RXQ_SCHED_ROUNDROBIN, false, rxqs, 4, ws, 2), 0);
	ck_assert_int_eq(rxqs[0].worker, 0);
	ck_assert_int_eq(rxqs[1].worker, 1);
	// Unpinned queues are still polled by someone.
	ck_assert_int_ge(rxqs[2].worker, 0);
	ck_assert_int_ge(rxqs[3].worker, 0);
	ck_assert_int_ne(rxqs[2].worker, rxqs[3].worker);
}
END_TEST

START_TEST(test_pin_out_of_range_ignored)
{
	setup_rxqs(2, NULL);
	setup_workers(2, NULL);
	rxqs[0].pinned = 5;
	ck_assert_int_ge(rxq_sched_assign(RXQ_SCHED_ROUNDROBIN, false, rxqs, 2, ws, 2), 0);
	ck_assert_int_ge(rxqs[0].worker, 0);
	ck_assert_int_lt(rxqs[0].worker, 2);
	ck_assert(!ws[0].isolated && !ws[1].isolated);
}
END_TEST

START_TEST(test_keep)
{
	const uint64_t loads[] = {50, 50, 10, 0};

	setup_rxqs(4, loads);
	setup_workers(2, NULL);
	// Unbalanced on purpose: keep must not move queues 0 and 1.
	rxqs[0].cur = 0;
	rxqs[1].cur = 0;
	rxqs[2].cur = 1;
	ck_assert_int_eq(rxq_sched_assign(RXQ_SCHED_CYCLES, true, rxqs, 4, ws, 2), 1);
	ck_assert_int_eq(rxqs[0].worker, 0);
	ck_assert_int_eq(rxqs[1].worker, 0);
	ck_assert_int_eq(rxqs[2].worker, 1);
	ck_assert_int_eq(rxqs[3].worker, 1); // the new one goes to the less loaded worker

	// Without keep the heavy queues are split: 2 moves of the 3 that had a worker + the new.
	for (unsigned i = 0; i < 4; i++)
		rxqs[i].cur = rxqs[i].worker;
	int moved = rxq_sched_assign(RXQ_SCHED_CYCLES, false, rxqs, 4, ws, 2);
	ck_assert_int_ne(rxqs[0].worker, rxqs[1].worker);
	ck_assert_int_ge(moved, 1);
	ck_assert_uint_eq(rxq_sched_max_load(ws, 2), 60);
}
END_TEST

START_TEST(test_keep_leaves_isolated_worker)
{
	setup_rxqs(3, NULL);
	setup_workers(2, NULL);
	rxqs[0].cur = 1;
	rxqs[1].cur = 1;
	rxqs[1].pinned = 1; // worker 1 becomes isolated: queue 0 must leave it
	ck_assert_int_ge(rxq_sched_assign(RXQ_SCHED_CYCLES, true, rxqs, 3, ws, 2), 0);
	ck_assert_int_eq(rxqs[0].worker, 0);
	ck_assert_int_eq(rxqs[1].worker, 1);
	ck_assert_int_eq(rxqs[2].worker, 0);
}
END_TEST

START_TEST(test_errors_and_empty)
{
	setup_rxqs(1, NULL);
	ck_assert_int_eq(rxq_sched_assign(RXQ_SCHED_CYCLES, false, rxqs, 1, ws, 0), -EINVAL);
	setup_workers(2, NULL);
	ck_assert_int_eq(rxq_sched_assign(RXQ_SCHED_CYCLES, false, rxqs, 0, ws, 2), 0);
	ck_assert_uint_eq(ws[0].n_rxq + ws[1].n_rxq, 0);
}
END_TEST

START_TEST(test_deterministic)
{
	const uint64_t loads[] = {7, 7, 7, 7, 7, 7};
	int first[6];

	setup_rxqs(6, loads);
	setup_workers(3, NULL);
	ck_assert_int_ge(rxq_sched_assign(RXQ_SCHED_CYCLES, false, rxqs, 6, ws, 3), 0);
	for (unsigned i = 0; i < 6; i++)
		first[i] = rxqs[i].worker;
	for (unsigned i = 0; i < 6; i++)
		rxqs[i].cur = rxqs[i].worker;
	// Same input, same output: a rebalance of an unchanged load moves nothing.
	ck_assert_int_eq(rxq_sched_assign(RXQ_SCHED_CYCLES, false, rxqs, 6, ws, 3), 0);
	for (unsigned i = 0; i < 6; i++)
		ck_assert_int_eq(rxqs[i].worker, first[i]);
}
END_TEST

static Suite *rxq_sched_suite(void)
{
	Suite *s = suite_create("rxq_sched");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_round_robin);
	tcase_add_test(tc, test_round_robin_ignores_load);
	tcase_add_test(tc, test_cycles_balances);
	tcase_add_test(tc, test_cycles_many_workers);
	tcase_add_test(tc, test_numa_preference);
	tcase_add_test(tc, test_pinning_isolates);
	tcase_add_test(tc, test_all_isolated_spreads);
	tcase_add_test(tc, test_pin_out_of_range_ignored);
	tcase_add_test(tc, test_keep);
	tcase_add_test(tc, test_keep_leaves_isolated_worker);
	tcase_add_test(tc, test_errors_and_empty);
	tcase_add_test(tc, test_deterministic);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rxq_sched_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
