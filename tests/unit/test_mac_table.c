// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/mac_table.c: learning, lookup, aging with an injected clock, moves,
// capacity limits, VLAN separation, flush/dump, and concurrent learners against a flusher.
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/mac_table.h"

static void mac_of(unsigned i, uint8_t mac[6])
{
	mac[0] = 0x02; // locally administered unicast
	mac[1] = 0x00;
	mac[2] = (i >> 24) & 0xff;
	mac[3] = (i >> 16) & 0xff;
	mac[4] = (i >> 8) & 0xff;
	mac[5] = i & 0xff;
}

START_TEST(create_args)
{
	struct mac_table *mt;

	errno = 0;
	ck_assert_ptr_null(mac_table_create(MAC_TABLE_SIZE_MIN - 1, 300));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(mac_table_create(MAC_TABLE_SIZE_MAX + 1, 300));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(mac_table_create(1024, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(mac_table_create(1024, MAC_TABLE_AGING_MAX + 1));
	mac_table_destroy(NULL);

	mt = mac_table_create(MAC_TABLE_SIZE_DEFAULT, MAC_TABLE_AGING_DEFAULT);
	ck_assert_ptr_nonnull(mt);
	struct mac_table_stats st;

	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.capacity, MAC_TABLE_SIZE_DEFAULT);
	ck_assert_uint_eq(st.aging_s, MAC_TABLE_AGING_DEFAULT);
	ck_assert_uint_eq(st.entries, 0);
	mac_table_destroy(mt);
}
END_TEST

START_TEST(learn_lookup)
{
	struct mac_table *mt = mac_table_create(1024, 300);
	struct mac_table_stats st;
	uint8_t a[6], b[6];

	mac_of(1, a);
	mac_of(2, b);
	ck_assert_int_eq(mac_table_lookup(mt, 0, a, 10), -ENOENT);
	ck_assert_int_eq(mac_table_learn(mt, 0, a, 3, 10), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_lookup(mt, 0, a, 10), 3);
	ck_assert_int_eq(mac_table_lookup(mt, 0, b, 10), -ENOENT);
	ck_assert_int_eq(mac_table_learn(mt, 0, a, 3, 11), MAC_TABLE_KNOWN);
	ck_assert_int_eq(mac_table_learn(mt, 0, b, 255, 11), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_lookup(mt, 0, b, 11), 255);
	// Port 0 is a valid answer, not "absent".
	mac_of(3, a);
	ck_assert_int_eq(mac_table_learn(mt, 4095, a, 0, 11), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_lookup(mt, 4095, a, 11), 0);
	mac_table_prefetch(mt, 4095, a);

	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.entries, 3);
	ck_assert_uint_eq(st.learned, 3);
	ck_assert_uint_eq(st.moved, 0);
	ck_assert_uint_eq(st.full_drops, 0);
	mac_table_destroy(mt);
}
END_TEST

START_TEST(vlan_separation)
{
	struct mac_table *mt = mac_table_create(1024, 300);
	uint8_t a[6];

	mac_of(7, a);
	ck_assert_int_eq(mac_table_learn(mt, 10, a, 1, 0), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_learn(mt, 20, a, 2, 0), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_lookup(mt, 10, a, 0), 1);
	ck_assert_int_eq(mac_table_lookup(mt, 20, a, 0), 2);
	ck_assert_int_eq(mac_table_lookup(mt, 30, a, 0), -ENOENT);
	ck_assert_int_eq(mac_table_lookup(mt, 0, a, 0), -ENOENT);
	// Learning in VLAN 20 on another port is a move there only.
	ck_assert_int_eq(mac_table_learn(mt, 20, a, 5, 1), MAC_TABLE_MOVED);
	ck_assert_int_eq(mac_table_lookup(mt, 10, a, 1), 1);
	ck_assert_int_eq(mac_table_lookup(mt, 20, a, 1), 5);
	mac_table_destroy(mt);
}
END_TEST

START_TEST(aging)
{
	struct mac_table *mt = mac_table_create(1024, 10);
	struct mac_table_stats st;
	uint8_t a[6], b[6];

	mac_of(1, a);
	mac_of(2, b);
	ck_assert_int_eq(mac_table_learn(mt, 1, a, 1, 100), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_learn(mt, 1, b, 2, 100), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_lookup(mt, 1, a, 109), 1);
	ck_assert_int_eq(mac_table_lookup(mt, 1, a, 110), -ENOENT);
	// A worker whose clock is a bit behind sees a fresh entry, not an ancient one.
	ck_assert_int_eq(mac_table_lookup(mt, 1, a, 99), 1);

	// Seeing the MAC again refreshes it.
	ck_assert_int_eq(mac_table_learn(mt, 1, a, 1, 105), MAC_TABLE_KNOWN);
	ck_assert_int_eq(mac_table_lookup(mt, 1, a, 114), 1);
	ck_assert_int_eq(mac_table_lookup(mt, 1, b, 114), -ENOENT);

	// An aged entry seen again is a new learn that reuses its slot.
	ck_assert_int_eq(mac_table_learn(mt, 1, b, 3, 114), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_lookup(mt, 1, b, 114), 3);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_uint_eq(st.aged, 1);
	ck_assert_uint_eq(st.moved, 0);

	// The sweep removes what aged; nothing else.
	ck_assert_uint_eq(mac_table_age(mt, 120), 1); // a (seen 105) is 15 s old, b (114) is 6
	ck_assert_int_eq(mac_table_lookup(mt, 1, b, 120), 3);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.entries, 1);
	ck_assert_uint_eq(st.aged, 2);
	ck_assert_uint_eq(mac_table_age(mt, 120), 0);

	// Shorter aging applies to existing entries at once; out-of-range values are clamped.
	mac_table_set_aging(mt, 5);
	ck_assert_int_eq(mac_table_lookup(mt, 1, b, 120), -ENOENT);
	mac_table_set_aging(mt, 0);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.aging_s, MAC_TABLE_AGING_MIN);
	mac_table_set_aging(mt, MAC_TABLE_AGING_MAX + 5);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.aging_s, MAC_TABLE_AGING_MAX);
	mac_table_destroy(mt);
}
END_TEST

START_TEST(move)
{
	struct mac_table *mt = mac_table_create(1024, 300);
	struct mac_table_stats st;
	uint8_t a[6];

	mac_of(9, a);
	ck_assert_int_eq(mac_table_learn(mt, 0, a, 1, 0), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_learn(mt, 0, a, 2, 0), MAC_TABLE_MOVED);
	ck_assert_int_eq(mac_table_lookup(mt, 0, a, 0), 2);
	ck_assert_int_eq(mac_table_learn(mt, 0, a, 2, 0), MAC_TABLE_KNOWN);
	ck_assert_int_eq(mac_table_learn(mt, 0, a, 1, 1), MAC_TABLE_MOVED);
	ck_assert_int_eq(mac_table_lookup(mt, 0, a, 1), 1);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.entries, 1);
	ck_assert_uint_eq(st.learned, 1);
	ck_assert_uint_eq(st.moved, 2);
	mac_table_destroy(mt);
}
END_TEST

START_TEST(table_full)
{
	const unsigned size = 1024;
	struct mac_table *mt = mac_table_create(size, 10);
	struct mac_table_stats st;
	unsigned ok = 0, full = 0;
	uint8_t a[6];

	for (unsigned i = 0; i < size; i++) {
		mac_of(i, a);
		ck_assert_int_eq(mac_table_learn(mt, 1, a, 1, 0), MAC_TABLE_LEARNED);
	}
	mac_of(size, a);
	ck_assert_int_eq(mac_table_learn(mt, 1, a, 1, 0), -ENOSPC);
	ck_assert_int_eq(mac_table_learn(mt, 2, a, 1, 0), -ENOSPC);
	ck_assert_int_eq(mac_table_lookup(mt, 1, a, 0), -ENOENT);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.entries, size);
	ck_assert_uint_eq(st.full_drops, 2);
	// Known entries still refresh and move when the table is full.
	mac_of(5, a);
	ck_assert_int_eq(mac_table_learn(mt, 1, a, 1, 1), MAC_TABLE_KNOWN);
	ck_assert_int_eq(mac_table_learn(mt, 1, a, 2, 1), MAC_TABLE_MOVED);

	// Once everything aged, new MACs take the stale slots of their buckets without a sweep;
	// those whose two buckets hold no stale entry are refused and counted, never more.
	for (unsigned i = 0; i < size; i++) {
		int r;

		mac_of(size + 1 + i, a);
		r = mac_table_learn(mt, 1, a, 3, 20);
		if (r == MAC_TABLE_LEARNED) {
			ok++;
			ck_assert_int_eq(mac_table_lookup(mt, 1, a, 20), 3);
		} else {
			ck_assert_int_eq(r, -ENOSPC);
			full++;
		}
	}
	ck_assert_uint_gt(ok, size / 2);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.entries, size);
	ck_assert_uint_eq(st.full_drops, 2 + full);
	ck_assert_uint_eq(st.aged, ok);

	// The sweep frees the rest, after which learning succeeds again.
	ck_assert_uint_eq(mac_table_age(mt, 20), size - ok);
	mac_of(3 * size, a);
	ck_assert_int_eq(mac_table_learn(mt, 1, a, 4, 20), MAC_TABLE_LEARNED);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.entries, ok + 1);
	mac_table_destroy(mt);
}
END_TEST

struct dump_entry {
	uint16_t vlan;
	uint8_t mac[6];
	uint16_t port;
	uint32_t age;
};

struct dump_buf {
	unsigned n;
	struct dump_entry e[4096];
};

static void dump_cb(void *arg, uint16_t vlan, const uint8_t mac[6], uint16_t port, uint32_t age)
{
	struct dump_buf *d = arg;

	ck_assert_uint_lt(d->n, 4096);
	d->e[d->n].vlan = vlan;
	memcpy(d->e[d->n].mac, mac, 6);
	d->e[d->n].port = port;
	d->e[d->n].age = age;
	d->n++;
}

static const struct dump_entry *dump_find(const struct dump_buf *d, uint16_t vlan,
	const uint8_t mac[6])
{
	for (unsigned i = 0; i < d->n; i++)
		if (d->e[i].vlan == vlan && memcmp(d->e[i].mac, mac, 6) == 0)
			return &d->e[i];
	return NULL;
}

START_TEST(flush_and_dump)
{
	struct mac_table *mt = mac_table_create(1024, 100);
	static struct dump_buf d;
	struct mac_table_stats st;
	const struct dump_entry *e;
	uint8_t a[6];

	// 10 MACs in VLANs 10 and 20 on ports 1 and 2: i % 2 picks the VLAN, i % 5 < 2 the port.
	for (unsigned i = 0; i < 10; i++) {
		mac_of(i, a);
		ck_assert_int_ge(mac_table_learn(mt, i % 2 ? 20 : 10, a, i % 5 < 2 ? 1 : 2, i), 0);
	}
	memset(&d, 0, sizeof(d));
	ck_assert_uint_eq(mac_table_dump(mt, 10, dump_cb, &d), 10);
	ck_assert_uint_eq(d.n, 10);
	mac_of(3, a);
	e = dump_find(&d, 20, a);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->port, 2);
	ck_assert_uint_eq(e->age, 7);
	mac_of(5, a);
	e = dump_find(&d, 20, a);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->port, 1);
	ck_assert_uint_eq(e->age, 5);
	ck_assert_ptr_null(dump_find(&d, 10, a));

	// Aged entries are not dumped (MAC 0 was seen at 0, MAC 1 at 1).
	memset(&d, 0, sizeof(d));
	ck_assert_uint_eq(mac_table_dump(mt, 101, dump_cb, &d), 8);

	// Port 1 holds MACs 0, 1, 5, 6.
	ck_assert_uint_eq(mac_table_flush(mt, 1, -1), 4);
	mac_of(6, a);
	ck_assert_int_eq(mac_table_lookup(mt, 10, a, 10), -ENOENT);
	mac_of(2, a);
	ck_assert_int_eq(mac_table_lookup(mt, 10, a, 10), 2);
	// VLAN 20 on port 2 now: 3, 7, 9.
	ck_assert_uint_eq(mac_table_flush(mt, -1, 20), 3);
	ck_assert_uint_eq(mac_table_flush(mt, 2, 20), 0);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.entries, 3);
	ck_assert_uint_eq(mac_table_flush(mt, 2, 10), 3);
	ck_assert_uint_eq(mac_table_flush(mt, -1, -1), 0);

	for (unsigned i = 0; i < 10; i++) {
		mac_of(i, a);
		ck_assert_int_eq(mac_table_learn(mt, 1, a, 1, 50), MAC_TABLE_LEARNED);
	}
	ck_assert_uint_eq(mac_table_flush(mt, -1, -1), 10);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.entries, 0);
	memset(&d, 0, sizeof(d));
	ck_assert_uint_eq(mac_table_dump(mt, 50, dump_cb, &d), 0);
	mac_table_destroy(mt);
}
END_TEST

// Concurrency: two learners share half of their MACs (so entries move back and forth) and look
// them up, while the control thread flushes and dumps. The invariants checked at the end hold
// only if bucket ownership is exclusive and insertion locks both candidate buckets.
#define MT_N_MACS 600

struct mt_thread_arg {
	struct mac_table *mt;
	uint16_t port;
	unsigned first;
	unsigned n_macs;
	atomic_bool *stop;
	_Atomic unsigned long ops;
};

static void *learner(void *arg)
{
	struct mt_thread_arg *t = arg;
	uint8_t a[6];
	uint32_t now = 0;

	while (!atomic_load(t->stop)) {
		for (unsigned i = 0; i < t->n_macs; i++) {
			unsigned m = t->first + i;
			int r, p;

			mac_of(m, a);
			r = mac_table_learn(t->mt, m % 3, a, t->port, now);
			ck_assert(r >= 0 || r == -EBUSY || r == -ENOSPC);
			p = mac_table_lookup(t->mt, m % 3, a, now);
			ck_assert(p == -ENOENT || p == 1 || p == 2);
			atomic_fetch_add(&t->ops, 1);
		}
		now++;
	}
	return NULL;
}

// Runs two learners (MACs first..first+n_macs-1 each) against a control thread that flushes
// and dumps for at least 300 ms, then checks that the quiescent table is consistent.
static void run_concurrent(unsigned size, unsigned n_macs, unsigned first1, bool flush_all)
{
	struct mac_table *mt = mac_table_create(size, MAC_TABLE_AGING_MAX);
	static struct dump_buf d;
	atomic_bool stop = false;
	struct mt_thread_arg t[2] = {
		{ .mt = mt, .port = 1, .first = 0, .n_macs = n_macs, .stop = &stop },
		{ .mt = mt, .port = 2, .first = first1, .n_macs = n_macs, .stop = &stop },
	};
	pthread_t th[2];
	struct mac_table_stats st;
	struct timespec t0, t1;

	ck_assert_ptr_nonnull(mt);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, learner, &t[i]), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned round = 0;; round++) {
		if (flush_all || round % 4 == 0)
			mac_table_flush(mt, !flush_all && round % 8 ? 1 : -1, -1);
		else if (round % 4 == 1)
			mac_table_flush(mt, -1, round % 3);
		memset(&d, 0, sizeof(d));
		mac_table_dump(mt, 0, dump_cb, &d);
		// Never two entries for one key, not even for a moment.
		for (unsigned i = 0; i < d.n; i++)
			for (unsigned j = i + 1; j < d.n; j++)
				ck_assert(d.e[i].vlan != d.e[j].vlan ||
					memcmp(d.e[i].mac, d.e[j].mac, 6) != 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > 300 &&
			atomic_load(&t[0].ops) > 4 * n_macs && atomic_load(&t[1].ops) > 4 * n_macs)
			break;
		if (!flush_all)
			usleep(100);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);

	// Quiescent now: the dump, the counters and lookups must agree, with no duplicate keys.
	memset(&d, 0, sizeof(d));
	mac_table_dump(mt, 0, dump_cb, &d);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.entries, d.n);
	ck_assert_uint_le(d.n, size);
	for (unsigned i = 0; i < d.n; i++) {
		ck_assert(d.e[i].port == 1 || d.e[i].port == 2);
		ck_assert_int_eq(mac_table_lookup(mt, d.e[i].vlan, d.e[i].mac, 0), d.e[i].port);
		for (unsigned j = i + 1; j < d.n; j++)
			ck_assert(d.e[i].vlan != d.e[j].vlan ||
				memcmp(d.e[i].mac, d.e[j].mac, 6) != 0);
	}
	ck_assert_uint_gt(st.moved, 0);
	ck_assert_uint_eq(mac_table_flush(mt, -1, -1), d.n);
	mac_table_stats_get(mt, &st);
	ck_assert_uint_eq(st.entries, 0);
	mac_table_destroy(mt);
}

// Half of the MACs shared (entries move back and forth), mixed flushes.
START_TEST(concurrent)
{
	run_concurrent(1024, MT_N_MACS, MT_N_MACS / 2, false);
}
END_TEST

// A tiny table where both learners insert the same keys into crowded buckets right after
// every flush: two threads must never fill the same slot or insert one key twice.
START_TEST(concurrent_crowded)
{
	run_concurrent(MAC_TABLE_SIZE_MIN, 24, 0, true);
}
END_TEST

static Suite *mac_table_suite(void)
{
	Suite *s = suite_create("mac_table");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, create_args);
	tcase_add_test(tc, learn_lookup);
	tcase_add_test(tc, vlan_separation);
	tcase_add_test(tc, aging);
	tcase_add_test(tc, move);
	tcase_add_test(tc, table_full);
	tcase_add_test(tc, flush_and_dump);
	tcase_add_test(tc, concurrent);
	tcase_add_test(tc, concurrent_crowded);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mac_table_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
