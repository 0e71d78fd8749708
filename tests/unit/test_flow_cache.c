// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/flow_cache.c: hits and misses, cached table misses, invalidation by
// generation, the two candidate slots, and the probabilistic insertion that keeps a stable hit
// rate when there are far more flows than entries (no thrashing).
#include <check.h>
#include <errno.h>
#include <string.h>

#include "dataplane/flow_cache.h"

static void key_of(unsigned i, struct flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->in_port = 1;
	k->eth_type = 0x0800;
	k->nw_src = i;
	k->nw_dst = i * 2654435761u;
	k->tp_dst = (uint16_t)i;
}

START_TEST(create_args)
{
	struct flow_cache *fc;

	errno = 0;
	ck_assert_ptr_null(flow_cache_create(3));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(flow_cache_create(1));
	fc = flow_cache_create(0);
	ck_assert_ptr_nonnull(fc);
	ck_assert_uint_eq(fc->mask + 1, FLOW_CACHE_ENTRIES);
	ck_assert_uint_eq((uintptr_t)&fc->e[0] % 128, 0);
	flow_cache_destroy(fc);
	flow_cache_destroy(NULL);
}
END_TEST

START_TEST(hit_miss_generation)
{
	struct flow_cache *fc = flow_cache_create(64);
	struct flow_key a, b;
	const void *r = (const void *)0x1;
	int rule1, rule2;
	uint32_t ha, hb;

	key_of(1, &a);
	key_of(2, &b);
	ha = flow_key_hash(&a);
	hb = flow_key_hash(&b);
	ck_assert(!flow_cache_lookup(fc, &a, ha, 5, &r));
	flow_cache_insert(fc, &a, ha, 5, &rule1);
	ck_assert(flow_cache_lookup(fc, &a, ha, 5, &r));
	ck_assert_ptr_eq(r, &rule1);
	// Another generation (a rule changed, or another bridge's table): a miss.
	ck_assert(!flow_cache_lookup(fc, &a, ha, 6, &r));
	ck_assert(!flow_cache_lookup(fc, &b, hb, 5, &r));
	// A key differing in one bit with the same hash value given: still a miss.
	b = a;
	b.tcp_flags = 1;
	ck_assert(!flow_cache_lookup(fc, &b, ha, 5, &r));
	// Cached table miss: a hit with no rule.
	flow_cache_insert(fc, &b, hb, 5, NULL);
	r = &rule2;
	ck_assert(flow_cache_lookup(fc, &b, hb, 5, &r));
	ck_assert_ptr_null(r);
	// Empty (zeroed) entries never match a real generation, even for an all-zero key.
	memset(&a, 0, sizeof(a));
	ck_assert(!flow_cache_lookup(fc, &a, 0, 1, &r));
	flow_cache_destroy(fc);
}
END_TEST

START_TEST(two_slots)
{
	struct flow_cache *fc = flow_cache_create(1024);
	struct flow_key k[3];
	const void *r;
	int rules[3];

	// Three keys forced onto the same primary slot: two fit (primary and alternate).
	for (unsigned i = 0; i < 3; i++)
		key_of(100 + i, &k[i]);
	flow_cache_insert(fc, &k[0], 0x00010005, 9, &rules[0]);
	flow_cache_insert(fc, &k[1], 0x00020005, 9, &rules[1]);
	ck_assert(flow_cache_lookup(fc, &k[0], 0x00010005, 9, &r));
	ck_assert_ptr_eq(r, &rules[0]);
	ck_assert(flow_cache_lookup(fc, &k[1], 0x00020005, 9, &r));
	ck_assert_ptr_eq(r, &rules[1]);
	ck_assert_uint_eq(fc->inserts, 2);
	ck_assert_uint_eq(fc->evictions, 0);
	// Stale entries (older generation) are replaced without the coin toss.
	flow_cache_insert(fc, &k[2], 0x00030005, 10, &rules[2]);
	ck_assert(flow_cache_lookup(fc, &k[2], 0x00030005, 10, &r));
	ck_assert_ptr_eq(r, &rules[2]);
	ck_assert_uint_eq(fc->evictions, 0);
	flow_cache_destroy(fc);
}
END_TEST

// Replays `flows` distinct flows round robin (the worst case for an LRU-like cache) and returns
// the hit rate after warm-up, in percent.
static double replay(struct flow_cache *fc, unsigned flows, unsigned packets)
{
	static int rule;
	unsigned hits = 0, counted = 0;
	struct flow_key k;

	for (unsigned p = 0; p < packets; p++) {
		const void *r;
		uint32_t h;

		key_of(p % flows, &k);
		h = flow_key_hash(&k);
		if (flow_cache_lookup(fc, &k, h, 1, &r)) {
			hits += p >= packets / 2;
		} else {
			flow_cache_insert(fc, &k, h, 1, &rule);
		}
		counted += p >= packets / 2;
	}
	return 100.0 * hits / counted;
}

START_TEST(no_thrashing)
{
	struct flow_cache *fc = flow_cache_create(0);
	double small, big;

	// A working set that fits: nearly everything hits.
	small = replay(fc, 1000, 200000);
	ck_assert_msg(small > 99.0, "hit rate %.1f%% for 1000 flows", small);
	flow_cache_destroy(fc);
	// 100k flows round robin through 8192 entries: always-insert would hit 0%; keeping a stable
	// subset hits about entries/flows.
	fc = flow_cache_create(0);
	big = replay(fc, 100000, 2000000);
	ck_assert_msg(big > 4.0, "hit rate %.1f%% for 100000 flows", big);
	ck_assert_uint_gt(fc->skipped, fc->inserts);
	flow_cache_destroy(fc);
}
END_TEST

START_TEST(megaflow_cache)
{
	struct flow_mcache *mc = flow_mcache_create(0);
	struct flow_key k, wc, o;
	const void *r;
	int rule1, rule2;

	ck_assert_ptr_nonnull(mc);
	key_of(7, &k);
	memset(&wc, 0, sizeof(wc));
	wc.eth_type = 0xffff;
	wc.nw_src = 0xff; // the first byte of the address (network order)
	ck_assert(!flow_mcache_lookup(mc, 3, 5, &k, &r));
	flow_mcache_insert(mc, 3, 5, &k, &wc, &rule1);
	ck_assert(flow_mcache_lookup(mc, 3, 5, &k, &r));
	ck_assert_ptr_eq(r, &rule1);
	// Any key agreeing on the wildcarded bits hits, whatever the rest.
	o = k;
	o.nw_src ^= 0xffffff00;
	o.nw_dst = 12345;
	o.tp_dst = 999;
	ck_assert(flow_mcache_lookup(mc, 3, 5, &o, &r));
	ck_assert_ptr_eq(r, &rule1);
	// One bit of the mask differs: miss. Another generation or bridge: miss.
	o.nw_src ^= 0x1;
	ck_assert(!flow_mcache_lookup(mc, 3, 5, &o, &r));
	ck_assert(!flow_mcache_lookup(mc, 3, 6, &k, &r));
	ck_assert(!flow_mcache_lookup(mc, 4, 5, &k, &r));
	// Cached "no rule" and a second mask of the same bridge.
	o = k;
	o.eth_type = 0x86dd;
	flow_mcache_insert(mc, 3, 5, &o, &wc, NULL);
	r = &rule2;
	ck_assert(flow_mcache_lookup(mc, 3, 5, &o, &r));
	ck_assert_ptr_null(r);
	wc.tp_dst = 0xffff;
	flow_mcache_insert(mc, 3, 5, &k, &wc, &rule2);
	ck_assert_uint_eq(mc->sets[3].n, 2);
	// At most FLOW_MCACHE_MASKS masks per bridge.
	for (unsigned i = 0; i < FLOW_MCACHE_MASKS + 2; i++) {
		wc.tp_src = (uint16_t)(1u << i);
		flow_mcache_insert(mc, 3, 5, &k, &wc, &rule2);
	}
	ck_assert_uint_eq(mc->sets[3].n, FLOW_MCACHE_MASKS);
	ck_assert_uint_gt(mc->full_masks, 0);
	// A new generation starts the bridge's masks over.
	flow_mcache_insert(mc, 3, 9, &k, &wc, &rule1);
	ck_assert_uint_eq(mc->sets[3].n, 1);
	ck_assert(!flow_mcache_lookup(mc, 3, 5, &k, &r));
	ck_assert(flow_mcache_lookup(mc, 3, 9, &k, &r));
	errno = 0;
	ck_assert_ptr_null(flow_mcache_create(5));
	ck_assert_int_eq(errno, EINVAL);
	flow_mcache_destroy(mc);
}
END_TEST

START_TEST(bypass)
{
	struct flow_cache *fc = flow_cache_create(0);
	unsigned used = 0;

	ck_assert(flow_cache_use(fc));
	// A window with almost no hits: bypass, sampling 1 burst in FLOW_CACHE_SAMPLE.
	flow_cache_account(fc, FLOW_CACHE_WINDOW, FLOW_CACHE_WINDOW / 100);
	ck_assert(fc->bypass);
	for (unsigned i = 0; i < 8 * FLOW_CACHE_SAMPLE; i++)
		used += flow_cache_use(fc);
	ck_assert_uint_eq(used, 8);
	// Hits come back in the sampled bursts: the cache is used again.
	flow_cache_account(fc, FLOW_CACHE_WINDOW, FLOW_CACHE_WINDOW / 2);
	ck_assert(!fc->bypass);
	ck_assert(flow_cache_use(fc));
	flow_cache_destroy(fc);
}
END_TEST

static Suite *flow_cache_suite(void)
{
	Suite *s = suite_create("flow_cache");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, create_args);
	tcase_add_test(tc, hit_miss_generation);
	tcase_add_test(tc, two_slots);
	tcase_add_test(tc, no_thrashing);
	tcase_add_test(tc, megaflow_cache);
	tcase_add_test(tc, bypass);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(flow_cache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
