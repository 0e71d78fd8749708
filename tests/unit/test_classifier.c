// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/classifier.c: a property test against a brute-force reference on
// random rule sets and packets (with inserts, removals and re-ranking in between), the single
// and burst lookups agreeing, duplicates and same-value rules of several priorities, subtable
// limits, and a reader thread looking up under RCU while the control side churns rules.
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/classifier.h"
#include "dataplane/net.h"
#include "dataplane/rcu.h"

struct trule {
	struct cls_rule cr;
	bool in;
};

static _Thread_local uint64_t rnd_state = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
	uint64_t x = rnd_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rnd_state = x;
	return x;
}

// Random mask over a few fields, with prefixes, so that rules overlap a lot.
static void rand_mask(struct flow_key *m)
{
	unsigned f = (unsigned)rnd();

	memset(m, 0, sizeof(*m));
	if (f & 1)
		m->in_port = 0xffff;
	if (f & 2)
		m->eth_type = 0xffff;
	if (f & 4)
		m->nw_proto = 0xff;
	if (f & 8)
		m->nw_src = net_htonl(~0u << (32 - (1 + rnd() % 32)));
	if (f & 16)
		m->nw_dst = net_htonl(~0u << (32 - (1 + rnd() % 32)));
	if (f & 32)
		m->tp_dst = (uint16_t)(0xffff << (rnd() % 4));
	if (f & 64)
		memset(m->eth_dst, 0xff, 6);
	if (f & 128)
		m->ipv6_src[15] = 0xff;
}

// Random key in a small space so that rules and packets meet.
static void rand_key(struct flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->in_port = (uint16_t)(rnd() % 3);
	k->eth_type = rnd() % 2 ? NET_ETH_P_IPV4 : NET_ETH_P_IPV6;
	k->nw_proto = rnd() % 2 ? 6 : 17;
	k->nw_src = net_htonl(0x0a000000 | (uint32_t)(rnd() % 4) << 8 | (uint32_t)(rnd() % 4));
	k->nw_dst = net_htonl((uint32_t)(rnd() % 4) << 24 | (uint32_t)(rnd() % 4));
	k->tp_dst = (uint16_t)(rnd() % 8);
	k->eth_dst[5] = (uint8_t)(rnd() % 3);
	k->ipv6_src[15] = (uint8_t)(rnd() % 3);
}

static void make_rule(struct trule *r, const struct flow_key *mask, uint32_t prio)
{
	struct flow_key k;

	rand_key(&k);
	memset(r, 0, sizeof(*r));
	r->cr.mask = *mask;
	for (unsigned i = 0; i < FLOW_KEY_WORDS; i++)
		r->cr.value.w[i] = k.w[i] & mask->w[i];
	r->cr.priority = prio;
}

// Highest priority among inserted rules matching k, -1 if none.
static int64_t brute(const struct trule *rules, unsigned n, const struct flow_key *k)
{
	int64_t best = -1;

	for (unsigned i = 0; i < n; i++) {
		if (rules[i].in && flow_key_match(k, &rules[i].cr.value, &rules[i].cr.mask) &&
			(int64_t)rules[i].cr.priority > best)
			best = rules[i].cr.priority;
	}
	return best;
}

// A key that agrees with k on the bits of wc, random elsewhere (in the test's small key space
// half of the time, so that it meets the rules).
static void rand_key_like(const struct flow_key *k, const struct flow_key *wc, struct flow_key *o)
{
	if (rnd() % 2)
		rand_key(o);
	else
		for (unsigned w = 0; w < FLOW_KEY_WORDS; w++)
			o->w[w] = rnd();
	for (unsigned w = 0; w < FLOW_KEY_WORDS; w++)
		o->w[w] = (o->w[w] & ~wc->w[w]) | (k->w[w] & wc->w[w]);
}

static void check_lookups(struct cls *c, const struct trule *rules, unsigned n, unsigned n_pkts)
{
	struct flow_key keys[CLS_BURST], wc[CLS_BURST];
	const struct flow_key *kp[CLS_BURST];
	const struct cls_rule *out[CLS_BURST];

	for (unsigned p = 0; p < n_pkts; p += CLS_BURST) {
		unsigned nb = 1 + (unsigned)(rnd() % CLS_BURST);

		for (unsigned i = 0; i < nb; i++) {
			rand_key(&keys[i]);
			kp[i] = &keys[i];
		}
		cls_lookup_burst(c, kp, nb, out, 0, wc);
		for (unsigned i = 0; i < nb; i++) {
			int64_t want = brute(rules, n, &keys[i]);

			// Wildcards: every key agreeing on them gets the same answer (megaflows).
			for (int t = 0; t < 4; t++) {
				struct flow_key o;

				rand_key_like(&keys[i], &wc[i], &o);
				ck_assert_msg(brute(rules, n, &o) == want,
					"a key within the wildcards gets priority %lld, not %lld",
					(long long)brute(rules, n, &o), (long long)want);
			}
			unsigned searched;
			const struct cls_rule *one = cls_lookup(c, &keys[i], 0, &searched);

			if (want < 0) {
				ck_assert_ptr_null(one);
				ck_assert_ptr_null(out[i]);
				continue;
			}
			ck_assert_msg(one != NULL, "lookup missed a rule of priority %lld",
				(long long)want);
			ck_assert_int_eq(one->priority, want);
			ck_assert(flow_key_match(&keys[i], &one->value, &one->mask));
			ck_assert_ptr_nonnull(out[i]);
			ck_assert_int_eq(out[i]->priority, want);
			ck_assert(flow_key_match(&keys[i], &out[i]->value, &out[i]->mask));
			ck_assert_uint_le(searched, cls_n_subtables(c));
		}
	}
}

START_TEST(property_vs_brute_force)
{
	enum { N_RULES = 600, N_MASKS = 24 };
	static struct trule rules[N_RULES];
	struct flow_key masks[N_MASKS];

	for (unsigned round = 0; round < 6; round++) {
		struct cls *c = cls_create(2);
		unsigned n_masks = 1 + (unsigned)(rnd() % N_MASKS), n_in = 0;

		ck_assert_ptr_nonnull(c);
		for (unsigned i = 0; i < n_masks; i++)
			rand_mask(&masks[i]);
		for (unsigned i = 0; i < N_RULES; i++) {
			int ret;

			// Few priorities: many ties between subtables, same-value rules.
			make_rule(&rules[i], &masks[rnd() % n_masks], (uint32_t)(rnd() % 40));
			ret = cls_insert(c, &rules[i].cr);
			ck_assert(ret == 0 || ret == -EEXIST);
			rules[i].in = ret == 0;
			n_in += ret == 0;
		}
		ck_assert_uint_eq(cls_n_rules(c), n_in);
		check_lookups(c, rules, N_RULES, 2000);
		// Churn: remove and re-insert at random, re-rank, check again.
		for (unsigned step = 0; step < 4; step++) {
			for (unsigned i = 0; i < N_RULES; i++) {
				if (rnd() % 3 != 0)
					continue;
				if (rules[i].in) {
					cls_remove(c, &rules[i].cr);
					rules[i].in = false;
					n_in--;
				} else if (cls_insert(c, &rules[i].cr) == 0) {
					rules[i].in = true;
					n_in++;
				}
			}
			ck_assert_uint_eq(cls_n_rules(c), n_in);
			cls_rerank(c);
			check_lookups(c, rules, N_RULES, 1000);
			rcu_poll();
		}
		for (unsigned i = 0; i < N_RULES; i++) {
			if (rules[i].in)
				cls_remove(c, &rules[i].cr);
		}
		ck_assert_uint_eq(cls_n_rules(c), 0);
		ck_assert_uint_eq(cls_n_subtables(c), 0);
		rcu_barrier();
		cls_destroy(c);
	}
}
END_TEST

START_TEST(same_value_priorities)
{
	struct cls *c = cls_create(1);
	struct trule a, b, d;
	struct flow_key k;

	memset(&a, 0, sizeof(a));
	a.cr.mask.eth_type = 0xffff;
	a.cr.value.eth_type = NET_ETH_P_IPV4;
	a.cr.priority = 10;
	b = a;
	b.cr.priority = 20;
	d = a;
	ck_assert_int_eq(cls_insert(c, &a.cr), 0);
	ck_assert_int_eq(cls_insert(c, &b.cr), 0);
	ck_assert_int_eq(cls_insert(c, &d.cr), -EEXIST);
	ck_assert_uint_eq(cls_n_subtables(c), 1);
	memset(&k, 0, sizeof(k));
	k.eth_type = NET_ETH_P_IPV4;
	k.nw_src = 12345; // not in the mask
	ck_assert_ptr_eq(cls_lookup(c, &k, 0, NULL), &b.cr);
	cls_remove(c, &b.cr);
	ck_assert_ptr_eq(cls_lookup(c, &k, 0, NULL), &a.cr);
	ck_assert_int_eq(cls_insert(c, &b.cr), 0);
	ck_assert_ptr_eq(cls_lookup(c, &k, 0, NULL), &b.cr);
	cls_remove(c, &a.cr);
	ck_assert_ptr_eq(cls_lookup(c, &k, 0, NULL), &b.cr);
	cls_remove(c, &b.cr);
	ck_assert_ptr_null(cls_lookup(c, &k, 0, NULL));
	ck_assert_uint_eq(cls_n_subtables(c), 0);
	// A value with bits outside the mask is masked on insert.
	a.cr.value.nw_src = 0xdead;
	ck_assert_int_eq(cls_insert(c, &a.cr), 0);
	ck_assert_uint_eq(a.cr.value.nw_src, 0);
	ck_assert_ptr_eq(cls_lookup(c, &k, 0, NULL), &a.cr);
	cls_remove(c, &a.cr);
	rcu_barrier();
	cls_destroy(c);
}
END_TEST

START_TEST(early_exit_and_explain)
{
	struct cls *c = cls_create(1);
	struct trule hi, lo, other;
	struct cls_explain_step steps[8];
	const struct cls_rule *best;
	struct flow_key k;
	unsigned searched, n;

	memset(&hi, 0, sizeof(hi));
	hi.cr.mask.tp_dst = 0xffff;
	hi.cr.value.tp_dst = 80;
	hi.cr.priority = 100;
	memset(&lo, 0, sizeof(lo));
	lo.cr.priority = 1; // catch-all
	memset(&other, 0, sizeof(other));
	other.cr.mask.nw_proto = 0xff;
	other.cr.value.nw_proto = 6;
	other.cr.priority = 50;
	ck_assert_int_eq(cls_insert(c, &lo.cr), 0);
	ck_assert_int_eq(cls_insert(c, &other.cr), 0);
	ck_assert_int_eq(cls_insert(c, &hi.cr), 0);
	memset(&k, 0, sizeof(k));
	k.tp_dst = 80;
	k.nw_proto = 6;
	// The priority-100 subtable comes first and matches: nothing else can beat it.
	ck_assert_ptr_eq(cls_lookup(c, &k, 0, &searched), &hi.cr);
	ck_assert_uint_eq(searched, 1);
	k.tp_dst = 81;
	ck_assert_ptr_eq(cls_lookup(c, &k, 0, &searched), &other.cr);
	ck_assert_uint_eq(searched, 2);
	k.nw_proto = 17;
	ck_assert_ptr_eq(cls_lookup(c, &k, 0, &searched), &lo.cr);
	ck_assert_uint_eq(searched, 3);
	k.tp_dst = 80;
	n = cls_explain(c, &k, steps, 8, &best);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_eq(best, &hi.cr);
	ck_assert_ptr_eq(steps[0].found, &hi.cr);
	ck_assert(steps[1].skipped);
	ck_assert(steps[2].skipped);
	ck_assert_uint_eq(steps[0].max_priority, 100);
	cls_remove(c, &hi.cr);
	cls_remove(c, &other.cr);
	cls_remove(c, &lo.cr);
	rcu_barrier();
	cls_destroy(c);
}
END_TEST

START_TEST(many_nodes_rebuild)
{
	enum { N = 20000 };
	struct trule *r = calloc(N, sizeof(*r));
	struct cls *c = cls_create(1);
	struct flow_key k;

	for (unsigned i = 0; i < N; i++) {
		r[i].cr.mask.nw_dst = 0xffffffff;
		r[i].cr.value.nw_dst = i;
		r[i].cr.priority = 5;
		ck_assert_int_eq(cls_insert(c, &r[i].cr), 0);
	}
	ck_assert_uint_eq(cls_n_subtables(c), 1);
	memset(&k, 0, sizeof(k));
	for (unsigned i = 0; i < N; i++) {
		k.nw_dst = i;
		ck_assert_ptr_eq(cls_lookup(c, &k, 0, NULL), &r[i].cr);
	}
	// Remove most: tombstones get compacted, the rest still found.
	for (unsigned i = 0; i < N; i++) {
		if (i % 10 != 0)
			cls_remove(c, &r[i].cr);
		rcu_poll();
	}
	for (unsigned i = 0; i < N; i++) {
		k.nw_dst = i;
		ck_assert_ptr_eq(cls_lookup(c, &k, 0, NULL), i % 10 == 0 ? &r[i].cr : NULL);
	}
	k.nw_dst = N + 5;
	ck_assert_ptr_null(cls_lookup(c, &k, 0, NULL));
	for (unsigned i = 0; i < N; i += 10)
		cls_remove(c, &r[i].cr);
	rcu_barrier();
	cls_destroy(c);
	free(r);
}
END_TEST

START_TEST(subtable_limit)
{
	struct trule *r = calloc(CLS_MAX_SUBTABLES + 1, sizeof(*r));
	struct cls *c = cls_create(1);

	for (unsigned i = 0; i <= CLS_MAX_SUBTABLES; i++) {
		// A distinct mask per rule: 32 bits of nw_dst x 16 bits of tp_dst x 8 of nw_proto.
		r[i].cr.mask.nw_dst = i & 0xffff;
		r[i].cr.mask.tp_src = (uint16_t)(i >> 16 | 0x8000);
		r[i].cr.priority = i;
		ck_assert_int_eq(cls_insert(c, &r[i].cr), i < CLS_MAX_SUBTABLES ? 0 : -ENOSPC);
	}
	ck_assert_uint_eq(cls_n_subtables(c), CLS_MAX_SUBTABLES);
	for (unsigned i = 0; i < CLS_MAX_SUBTABLES; i++)
		cls_remove(c, &r[i].cr);
	rcu_barrier();
	cls_destroy(c);
	free(r);
}
END_TEST

START_TEST(rerank_by_hits)
{
	struct cls *c = cls_create(1);
	struct trule a, b;
	struct cls_explain_step steps[2];
	const struct cls_rule *best;
	struct flow_key k;

	memset(&a, 0, sizeof(a));
	a.cr.mask.tp_dst = 0xffff;
	a.cr.value.tp_dst = 1;
	a.cr.priority = 7;
	memset(&b, 0, sizeof(b));
	b.cr.mask.tp_src = 0xffff;
	b.cr.value.tp_src = 2;
	b.cr.priority = 7;
	ck_assert_int_eq(cls_insert(c, &a.cr), 0);
	ck_assert_int_eq(cls_insert(c, &b.cr), 0);
	memset(&k, 0, sizeof(k));
	k.tp_src = 2;
	for (int i = 0; i < 100; i++)
		ck_assert_ptr_eq(cls_lookup(c, &k, 0, NULL), &b.cr);
	cls_rerank(c);
	memset(&k, 0, sizeof(k));
	cls_explain(c, &k, steps, 2, &best);
	// Same priority: the subtable with recent hits goes first.
	ck_assert_uint_eq(steps[0].mask->tp_src, 0xffff);
	cls_remove(c, &a.cr);
	cls_remove(c, &b.cr);
	rcu_barrier();
	cls_destroy(c);
}
END_TEST

// ---- concurrent reader under RCU ----

static struct cls *cc;
static _Atomic bool stop;
static _Atomic unsigned long reads, bad;
static struct trule stable_lo, stable_hi;

static void *reader(void *arg)
{
	struct flow_key k;

	ck_assert_int_eq(rcu_register(0), 0);
	while (!atomic_load(&stop)) {
		for (int i = 0; i < 64; i++) {
			const struct cls_rule *r;

			rand_key(&k);
			k.tp_src = 7;
			r = cls_lookup(cc, &k, 0, NULL);
			// The catch-all is always there, the tp_src=7 rule at priority 1000 too:
			// every lookup must return it whatever the churn.
			if (r != &stable_hi.cr)
				atomic_fetch_add(&bad, 1);
			k.tp_src = 8;
			r = cls_lookup(cc, &k, 0, NULL);
			if (r == NULL)
				atomic_fetch_add(&bad, 1);
			atomic_fetch_add(&reads, 2);
		}
		rcu_quiescent(0);
	}
	rcu_unregister(0);
	return NULL;
}

START_TEST(concurrent_churn)
{
	enum { N = 2000 };
	struct trule *r = calloc(N, sizeof(*r));
	struct flow_key masks[16];
	pthread_t th;

	cc = cls_create(1);
	memset(&stable_lo, 0, sizeof(stable_lo));
	memset(&stable_hi, 0, sizeof(stable_hi));
	stable_hi.cr.mask.tp_src = 0xffff;
	stable_hi.cr.value.tp_src = 7;
	stable_hi.cr.priority = 1000;
	ck_assert_int_eq(cls_insert(cc, &stable_lo.cr), 0);
	ck_assert_int_eq(cls_insert(cc, &stable_hi.cr), 0);
	for (unsigned i = 0; i < 16; i++)
		rand_mask(&masks[i]);
	ck_assert_int_eq(pthread_create(&th, NULL, reader, NULL), 0);
	for (unsigned round = 0; round < 30; round++) {
		for (unsigned i = 0; i < N; i++) {
			if (r[i].in) {
				cls_remove(cc, &r[i].cr);
				r[i].in = false;
			} else {
				make_rule(&r[i], &masks[rnd() % 16], (uint32_t)(rnd() % 900));
				r[i].in = cls_insert(cc, &r[i].cr) == 0;
			}
		}
		cls_rerank(cc);
		// Rules are reused at once by this test: wait for readers before the next round.
		ck_assert_int_eq(rcu_synchronize(1000000), 0);
		rcu_poll();
	}
	atomic_store(&stop, true);
	pthread_join(th, NULL);
	ck_assert_uint_gt(atomic_load(&reads), 1000);
	ck_assert_uint_eq(atomic_load(&bad), 0);
	for (unsigned i = 0; i < N; i++) {
		if (r[i].in)
			cls_remove(cc, &r[i].cr);
	}
	cls_remove(cc, &stable_lo.cr);
	cls_remove(cc, &stable_hi.cr);
	rcu_barrier();
	cls_destroy(cc);
	free(r);
}
END_TEST

static Suite *classifier_suite(void)
{
	Suite *s = suite_create("classifier");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, property_vs_brute_force);
	tcase_add_test(tc, same_value_priorities);
	tcase_add_test(tc, early_exit_and_explain);
	tcase_add_test(tc, many_nodes_rebuild);
	tcase_add_test(tc, subtable_limit);
	tcase_add_test(tc, rerank_by_hits);
	tcase_add_test(tc, concurrent_churn);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(classifier_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
