// SPDX-License-Identifier: Apache-2.0
// The flow table: rule management on the control thread (add/replace, delete, modify, port
// re-resolution, timeouts, dumps, counters) and the worker stage (cache, classifier, actions
// with checksum updates). See flow_table.h for how it works.
#include "dataplane/flow_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/flow_cache.h"
#include "dataplane/flow_key.h"
#include "dataplane/flow_table_priv.h"
#include "dataplane/flow_trace.h"
#include "dataplane/log.h"
#include "dataplane/mac_table.h"
#include "dataplane/net.h"
#include "dataplane/rcu.h"
#include "dataplane/worker.h"

LOG_MODULE("flow");

STATIC_ASSERT(FLOW_MAX_WORKERS == WORKER_MAX, "one flow cache per worker");
STATIC_ASSERT(PKT_BURST <= CLS_BURST, "a burst fits a classifier batch");
STATIC_ASSERT(FLOW_MCACHE_SETS == PL_MAX_BRIDGES, "one megaflow mask set per bridge");

#define FLOW_RERANK_S 1

// Per-worker caches, shared by every table: allocated with the first table, freed with the last
// (no worker can be in flow_table_process() then). worker: rw own slot, control: creates/frees.
static struct flow_cache *flow_caches[FLOW_MAX_WORKERS];
static struct flow_mcache *flow_mcaches[FLOW_MAX_WORKERS];
static unsigned flow_n_caches;
static unsigned flow_n_tables;
// Control thread only.
static uint64_t flow_gen_last; // table generations are unique across tables
static uint64_t flow_rule_ids;

static uint32_t (*flow_clock)(void) = mac_table_now;

void flow_table_set_clock(uint32_t (*now)(void))
{
	flow_clock = now != NULL ? now : mac_table_now;
}

static uint32_t flow_table_clock(void)
{
	return flow_clock();
}

static void flow_defer_free(void *p)
{
	if (p == NULL)
		return;
	if (rcu_defer(free, p) == 0)
		return;
	while (rcu_synchronize(1000000) < 0)
		LOG_RL(ERR, "",
			"a worker does not quiesce: still waiting to free flow table state");
	free(p);
}

// Publishes that the table changed: caches filled before stop matching. After the change.
static void flow_table_bump(struct flow_table *ft)
{
	// Pairs with the load-acquire in flow_table_process(): a worker that sees the new
	// generation also sees the classifier and action changes made before.
	atomic_store_explicit(&ft->gen, ++flow_gen_last, memory_order_release);
}

// ---- create / destroy ----

static int flow_caches_reserve(unsigned n)
{
	for (unsigned w = flow_n_caches; w < n && w < FLOW_MAX_WORKERS; w++) {
		if ((flow_caches[w] = flow_cache_create(0)) == NULL)
			return -ENOMEM;
		if ((flow_mcaches[w] = flow_mcache_create(0)) == NULL) {
			flow_cache_destroy(flow_caches[w]);
			flow_caches[w] = NULL;
			return -ENOMEM;
		}
		flow_n_caches = w + 1;
	}
	return 0;
}

static void flow_caches_release(void)
{
	for (unsigned w = 0; w < flow_n_caches; w++) {
		flow_cache_destroy(flow_caches[w]);
		flow_caches[w] = NULL;
		flow_mcache_destroy(flow_mcaches[w]);
		flow_mcaches[w] = NULL;
	}
	flow_n_caches = 0;
}

struct flow_table *flow_table_create(const char *bridge, unsigned n_workers, enum flow_miss miss,
	const struct flow_table_port_ops *ops)
{
	struct flow_table *ft;

	if (n_workers == 0 || n_workers > FLOW_MAX_WORKERS) {
		errno = EINVAL;
		return NULL;
	}
	ft = aligned_alloc(CACHE_LINE_SIZE, ALIGN_UP(sizeof(*ft), CACHE_LINE_SIZE));
	if (ft == NULL)
		return NULL;
	memset(ft, 0, sizeof(*ft));
	ft->n_workers = n_workers;
	ft->wst = aligned_alloc(CACHE_LINE_SIZE, n_workers * sizeof(*ft->wst));
	ft->cls = cls_create(n_workers);
	ft->hash_mask = 255;
	ft->hash = calloc(ft->hash_mask + 1, sizeof(*ft->hash));
	if (ft->wst == NULL || ft->cls == NULL || ft->hash == NULL ||
		flow_caches_reserve(n_workers) < 0)
		goto err;
	memset(ft->wst, 0, n_workers * sizeof(*ft->wst));
	snprintf(ft->bridge, sizeof(ft->bridge), "%s", bridge);
	if (ops != NULL)
		ft->ops = *ops;
	atomic_init(&ft->miss, (uint8_t)miss);
	atomic_init(&ft->gen, ++flow_gen_last);
	flow_n_tables++;
	return ft;
err:
	if (flow_n_tables == 0)
		flow_caches_release();
	cls_destroy(ft->cls);
	free(ft->hash);
	free(ft->wst);
	free(ft);
	errno = ENOMEM;
	return NULL;
}

static void flow_rule_free(struct flow_rule *r)
{
	if (r == NULL)
		return;
	free((void *)atomic_load_explicit(&r->xacts, memory_order_relaxed));
	free(r->stats);
	free(r->in_port);
	free(r->actions);
	free(r);
}

static void flow_rule_free_cb(void *arg)
{
	flow_rule_free(arg);
}

void flow_table_destroy(struct flow_table *ft)
{
	if (ft == NULL)
		return;
	for (struct flow_rule *r = ft->head, *next; r != NULL; r = next) {
		next = r->next;
		flow_rule_free(r);
	}
	cls_destroy(ft->cls);
	free(ft->hash);
	free(ft->wst);
	free(ft);
	if (--flow_n_tables == 0)
		flow_caches_release();
}

// ---- identity hash (control) ----

static uint32_t flow_rule_hkey(const struct flow_key *value, const struct flow_key *mask,
	uint16_t priority, const char *in_port)
{
	uint32_t h = priority;

	for (unsigned i = 0; i < FLOW_KEY_WORDS; i++) {
		h = flow_key_hash_word(h, value->w[i]);
		h = flow_key_hash_word(h, mask->w[i]);
	}
	for (const char *c = in_port ? in_port : ""; *c; c++)
		h = flow_key_hash_word(h, (uint8_t)*c);
	return flow_key_hash_fini(h);
}

static bool flow_rule_same(const struct flow_rule *r, const struct flow_spec *s)
{
	const char *a = r->in_port ? r->in_port : "";

	return r->priority == s->priority && strcmp(a, s->in_port) == 0 &&
		flow_key_equal(&r->value, &s->value) && flow_key_equal(&r->mask, &s->mask);
}

static struct flow_rule *flow_rule_find(const struct flow_table *ft, const struct flow_spec *s)
{
	uint32_t h = flow_rule_hkey(&s->value, &s->mask, s->priority, s->in_port);

	for (struct flow_rule *r = ft->hash[h & ft->hash_mask]; r != NULL; r = r->hnext) {
		if (r->hkey == h && flow_rule_same(r, s))
			return r;
	}
	return NULL;
}

static void flow_hash_grow(struct flow_table *ft)
{
	unsigned mask = ft->hash_mask * 2 + 1;
	struct flow_rule **h = calloc(mask + 1, sizeof(*h));

	if (h == NULL)
		return; // longer chains, still correct
	for (struct flow_rule *r = ft->head; r != NULL; r = r->next) {
		r->hnext = h[r->hkey & mask];
		h[r->hkey & mask] = r;
	}
	free(ft->hash);
	ft->hash = h;
	ft->hash_mask = mask;
}

static void flow_hash_del(struct flow_table *ft, struct flow_rule *r)
{
	struct flow_rule **pp = &ft->hash[r->hkey & ft->hash_mask];

	while (*pp != NULL && *pp != r)
		pp = &(*pp)->hnext;
	if (*pp == r)
		*pp = r->hnext;
}

// ---- port resolution and action compilation ----

static int flow_port_resolve(struct flow_table *ft, const char *name)
{
	if (ft->ops.lookup == NULL)
		return -ENOENT;
	return ft->ops.lookup(ft->ops.arg, name);
}

static int flow_port_err(struct flow_table *ft, int ret, const char *field, const char *what,
	const char *name, struct err *err)
{
	if (ret == -EXDEV)
		return err_set(err, -EXDEV, field,
			"%s%s: port %s belongs to another bridge, not %s", what, name, name,
			ft->bridge);
	return err_set(err, -ENOENT, field, "%s%s: bridge %s has no port %s", what, name,
		ft->bridge, name);
}

bool flow_xact_is_output(uint8_t type)
{
	return type == FLOW_ACT_OUTPUT || type == FLOW_ACT_IN_PORT || type == FLOW_ACT_FLOOD ||
		type == FLOW_ACT_NORMAL;
}

// Compiles actions; *missing gets the outputs to unknown ports (error unless allow_missing).
static struct flow_xacts *flow_compile(struct flow_table *ft, const struct flow_action *acts,
	unsigned n, bool allow_missing, unsigned *missing, struct err *err)
{
	struct flow_xacts *xa = calloc(1, sizeof(*xa) + n * sizeof(xa->a[0]));

	*missing = 0;
	if (xa == NULL) {
		err_set(err, -ENOMEM, "", "bridge %s: out of memory", ft->bridge);
		return NULL;
	}
	xa->n = (uint8_t)n;
	xa->last_out = -1;
	for (unsigned i = 0; i < n; i++) {
		const struct flow_action *a = &acts[i];
		struct flow_xact *x = &xa->a[i];

		x->type = a->type;
		x->flags = a->flags;
		x->u16 = a->u16;
		x->ip4 = a->ip4;
		memcpy(x->mac, a->mac, sizeof(x->mac));
		memcpy(x->ip6, a->ip6, sizeof(x->ip6));
		x->port = FLOW_PORT_NONE;
		if (a->type == FLOW_ACT_OUTPUT || a->type == FLOW_ACT_MIRROR) {
			int id = flow_port_resolve(ft, a->port);

			if (id < 0) {
				if (!allow_missing) {
					flow_port_err(ft, id, "actions",
						a->type == FLOW_ACT_OUTPUT ? "output:" : "mirror:",
						a->port, err);
					free(xa);
					return NULL;
				}
				(*missing)++;
			} else {
				x->port = (uint16_t)id;
			}
		}
		if (a->type == FLOW_ACT_MIRROR)
			xa->n_mirrors++;
		if (flow_xact_is_output(a->type))
			xa->last_out = (int8_t)i;
	}
	return xa;
}

static bool flow_xacts_equal(const struct flow_xacts *a, const struct flow_xacts *b)
{
	return a->n == b->n && memcmp(a->a, b->a, a->n * sizeof(a->a[0])) == 0;
}

// ---- rules ----

static void flow_list_add(struct flow_table *ft, struct flow_rule *r)
{
	r->prev = ft->tail;
	r->next = NULL;
	if (ft->tail != NULL)
		ft->tail->next = r;
	else
		ft->head = r;
	ft->tail = r;
	ft->n_rules++;
	r->hnext = ft->hash[r->hkey & ft->hash_mask];
	ft->hash[r->hkey & ft->hash_mask] = r;
	if (ft->n_rules > 2 * (ft->hash_mask + 1))
		flow_hash_grow(ft);
}

static void flow_list_del(struct flow_table *ft, struct flow_rule *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		ft->head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		ft->tail = r->prev;
	ft->n_rules--;
	flow_hash_del(ft, r);
}

// Takes r out of the classifier and the lists; freed after a grace period.
static void flow_rule_remove(struct flow_table *ft, struct flow_rule *r)
{
	if (r->inserted)
		cls_remove(ft->cls, &r->cr);
	r->inserted = false;
	flow_list_del(ft, r);
	if (rcu_defer(flow_rule_free_cb, r) < 0) {
		while (rcu_synchronize(1000000) < 0)
			LOG_RL(ERR, "", "a worker does not quiesce: still waiting to free a flow");
		flow_rule_free(r);
	}
}

static struct flow_rule *flow_rule_new(
	struct flow_table *ft, const struct flow_spec *spec, unsigned flags, struct err *err)
{
	bool allow = flags & FLOW_TABLE_ALLOW_MISSING_PORTS;
	struct flow_rule *r = calloc(1, sizeof(*r));
	const struct flow_xacts *xa;
	int id = -1;

	if (r == NULL)
		goto err_nomem;
	r->stats = aligned_alloc(32, ft->n_workers * sizeof(*r->stats));
	if (r->stats == NULL)
		goto err_nomem;
	memset(r->stats, 0, ft->n_workers * sizeof(*r->stats));
	if (spec->n_actions > 0) {
		r->actions = malloc(spec->n_actions * sizeof(*r->actions));
		if (r->actions == NULL)
			goto err_nomem;
		memcpy(r->actions, spec->actions, spec->n_actions * sizeof(*r->actions));
	}
	r->n_actions = (uint8_t)spec->n_actions;
	if (spec->in_port[0] != '\0') {
		if ((r->in_port = strdup(spec->in_port)) == NULL)
			goto err_nomem;
		id = flow_port_resolve(ft, spec->in_port);
		if (id < 0 && !allow) {
			flow_port_err(ft, id, "in_port", "in_port=", spec->in_port, err);
			goto err;
		}
	}
	xa = flow_compile(ft, spec->actions, spec->n_actions, allow, &r->missing_outputs, err);
	if (xa == NULL)
		goto err;
	atomic_init(&r->xacts, xa);
	r->value = spec->value;
	r->mask = spec->mask;
	r->value.in_port = 0;
	r->priority = spec->priority;
	r->cookie = spec->cookie;
	r->idle_timeout = spec->idle_timeout;
	r->hard_timeout = spec->hard_timeout;
	r->cr.value = r->value;
	r->cr.mask = r->mask;
	r->cr.priority = spec->priority;
	r->cr.value.in_port = id >= 0 ? (uint16_t)id : 0;
	r->hkey = flow_rule_hkey(&spec->value, &spec->mask, spec->priority, spec->in_port);
	r->id = ++flow_rule_ids;
	r->seq = ++ft->seq;
	r->inserted = spec->in_port[0] == '\0' || id >= 0;
	return r;

err_nomem:
	err_set(err, -ENOMEM, "", "bridge %s: out of memory", ft->bridge);
err:
	flow_rule_free(r);
	return NULL;
}

int flow_table_add(
	struct flow_table *ft, const struct flow_spec *spec, unsigned flags, struct err *err)
{
	struct flow_rule *old = flow_rule_find(ft, spec), *r;
	int ret;

	if (!(spec->has & FLOW_HAS_ACTIONS))
		return err_set(err, -EINVAL, "actions",
			"bridge %s: a flow to add needs actions=", ft->bridge);
	if (old == NULL && ft->n_rules >= FLOW_TABLE_MAX_RULES)
		return err_set(err, -ENOSPC, "flow", "bridge %s: too many flows (max %u)",
			ft->bridge, FLOW_TABLE_MAX_RULES);
	if ((r = flow_rule_new(ft, spec, flags, err)) == NULL)
		return err->code != 0 ? err->code : -ENOMEM;
	r->created = flow_table_clock();
	// Replace: the old rule leaves first so that the new one may take its place.
	if (old != NULL)
		flow_rule_remove(ft, old);
	if (r->inserted && (ret = cls_insert(ft->cls, &r->cr)) < 0) {
		flow_rule_free(r);
		flow_table_bump(ft);
		if (ret == -ENOSPC)
			return err_set(err, ret, "flow",
				"bridge %s: too many distinct match masks (max %d)", ft->bridge,
				CLS_MAX_SUBTABLES);
		return err_set(err, ret, "", "bridge %s: out of memory adding a flow", ft->bridge);
	}
	flow_list_add(ft, r);
	flow_table_bump(ft);
	return 0;
}

int flow_table_check(
	struct flow_table *ft, const struct flow_spec *spec, unsigned flags, struct err *err)
{
	bool allow = flags & FLOW_TABLE_ALLOW_MISSING_PORTS;
	int id;

	if (!(spec->has & FLOW_HAS_ACTIONS))
		return err_set(err, -EINVAL, "actions",
			"bridge %s: a flow to add needs actions=", ft->bridge);
	if (spec->in_port[0] != '\0' && (id = flow_port_resolve(ft, spec->in_port)) < 0 && !allow)
		return flow_port_err(ft, id, "in_port", "in_port=", spec->in_port, err);
	for (unsigned i = 0; i < spec->n_actions && !allow; i++) {
		const struct flow_action *a = &spec->actions[i];

		if ((a->type == FLOW_ACT_OUTPUT || a->type == FLOW_ACT_MIRROR) &&
			(id = flow_port_resolve(ft, a->port)) < 0)
			return flow_port_err(ft, id, "actions",
				a->type == FLOW_ACT_OUTPUT ? "output:" : "mirror:", a->port, err);
	}
	return 0;
}

static bool flow_rule_selected(const struct flow_rule *r, const struct flow_spec *f, bool strict)
{
	struct flow_spec rs;

	if ((f->has & FLOW_HAS_COOKIE) && (r->cookie & f->cookie_mask) != f->cookie)
		return false;
	if (strict)
		return flow_rule_same(r, f);
	// flow_spec_covers() reads only the match part.
	rs.value = r->value;
	rs.mask = r->mask;
	snprintf(rs.in_port, sizeof(rs.in_port), "%s", r->in_port ? r->in_port : "");
	return flow_spec_covers(f, &rs);
}

int flow_table_del(
	struct flow_table *ft, const struct flow_spec *filter, bool strict, unsigned *n_deleted)
{
	unsigned n = 0;

	if (strict && !(filter->has & FLOW_HAS_COOKIE)) {
		struct flow_rule *r = flow_rule_find(ft, filter);

		if (r != NULL) {
			flow_rule_remove(ft, r);
			n = 1;
		}
	} else {
		for (struct flow_rule *r = ft->head, *next; r != NULL; r = next) {
			next = r->next;
			if (flow_rule_selected(r, filter, strict)) {
				flow_rule_remove(ft, r);
				n++;
			}
		}
	}
	if (n > 0)
		flow_table_bump(ft);
	if (n_deleted != NULL)
		*n_deleted = n;
	return 0;
}

// Replaces r's actions (control-side copy and compiled block).
static int flow_rule_set_actions(struct flow_table *ft, struct flow_rule *r,
	const struct flow_action *acts, unsigned n, unsigned flags, struct err *err)
{
	struct flow_action *copy = NULL;
	const struct flow_xacts *old;
	struct flow_xacts *xa;
	unsigned missing;

	xa = flow_compile(ft, acts, n, flags & FLOW_TABLE_ALLOW_MISSING_PORTS, &missing, err);
	if (xa == NULL)
		return err->code != 0 ? err->code : -ENOMEM;
	if (n > 0 && (copy = malloc(n * sizeof(*copy))) == NULL) {
		free(xa);
		return err_set(err, -ENOMEM, "", "bridge %s: out of memory", ft->bridge);
	}
	if (n > 0)
		memcpy(copy, acts, n * sizeof(*copy));
	free(r->actions);
	r->actions = copy;
	r->n_actions = (uint8_t)n;
	r->missing_outputs = missing;
	old = atomic_load_explicit(&r->xacts, memory_order_relaxed);
	// Pairs with the load-acquire in flow_exec(): the block is initialised.
	atomic_store_explicit(&r->xacts, xa, memory_order_release);
	flow_defer_free((void *)old);
	return 0;
}

int flow_table_mod(struct flow_table *ft, const struct flow_spec *spec, bool strict, unsigned flags,
	unsigned *n_modified, struct err *err)
{
	unsigned n = 0, missing;
	struct flow_xacts *check;
	int ret = 0;

	if (n_modified != NULL)
		*n_modified = 0;
	if (!(spec->has & FLOW_HAS_ACTIONS))
		return err_set(
			err, -EINVAL, "actions", "bridge %s: mod-flows needs actions=", ft->bridge);
	// Check the ports once, before changing anything.
	check = flow_compile(ft, spec->actions, spec->n_actions,
		flags & FLOW_TABLE_ALLOW_MISSING_PORTS, &missing, err);
	if (check == NULL)
		return err->code != 0 ? err->code : -ENOMEM;
	free(check);
	for (struct flow_rule *r = ft->head; r != NULL; r = r->next) {
		if (!flow_rule_selected(r, spec, strict))
			continue;
		if ((ret = flow_rule_set_actions(ft, r, spec->actions, spec->n_actions,
			     FLOW_TABLE_ALLOW_MISSING_PORTS, err)) < 0)
			break;
		n++;
	}
	if (n_modified != NULL)
		*n_modified = n;
	return ret;
}

void flow_table_ports_changed(struct flow_table *ft)
{
	bool changed = false;

	for (struct flow_rule *r = ft->head; r != NULL; r = r->next) {
		bool has_out = r->n_actions > 0 &&
			atomic_load_explicit(&r->xacts, memory_order_relaxed)->n > 0;

		if (r->in_port != NULL) {
			int id = flow_port_resolve(ft, r->in_port);
			bool want = id >= 0;

			if (want != r->inserted || (want && r->cr.value.in_port != id)) {
				if (r->inserted)
					cls_remove(ft->cls, &r->cr);
				r->inserted = false;
				r->cr.value.in_port = want ? (uint16_t)id : 0;
				if (want) {
					int ret = cls_insert(ft->cls, &r->cr);

					if (ret < 0)
						LOG_OBJ(WARN, ft->bridge,
							"flow %llu: cannot re-insert after a port "
							"change: %s, "
							"ignoring",
							(unsigned long long)r->id, strerror(-ret));
					r->inserted = ret == 0;
				}
				changed = true;
			}
		}
		if (has_out) {
			const struct flow_xacts *cur =
				atomic_load_explicit(&r->xacts, memory_order_relaxed);
			struct flow_xacts *xa;
			unsigned missing;

			xa = flow_compile(ft, r->actions, r->n_actions, true, &missing, NULL);
			if (xa == NULL) {
				LOG_OBJ(WARN, ft->bridge,
					"flow %llu: out of memory re-resolving output ports, "
					"ignoring",
					(unsigned long long)r->id);
				continue;
			}
			r->missing_outputs = missing;
			if (flow_xacts_equal(cur, xa)) {
				free(xa);
				continue;
			}
			// Pairs with the load-acquire in flow_exec().
			atomic_store_explicit(&r->xacts, xa, memory_order_release);
			flow_defer_free((void *)cur);
			changed = true;
		}
	}
	if (changed)
		flow_table_bump(ft);
}

void flow_table_set_miss(struct flow_table *ft, enum flow_miss miss)
{
	atomic_store_explicit(&ft->miss, (uint8_t)miss, memory_order_relaxed);
	flow_table_bump(ft);
}

enum flow_miss flow_table_get_miss(const struct flow_table *ft)
{
	return (enum flow_miss)atomic_load_explicit(&ft->miss, memory_order_relaxed);
}

bool flow_table_active(const struct flow_table *ft)
{
	return ft != NULL &&
		(ft->n_rules > 0 || flow_table_get_miss(ft) != FLOW_MISS_NORMAL || ft->traced);
}

void flow_table_set_traced(struct flow_table *ft, bool traced)
{
	ft->traced = traced;
}

unsigned flow_table_n_rules(const struct flow_table *ft)
{
	return ft->n_rules;
}

// Last use of r over all workers (0: never).
static uint32_t flow_rule_used(const struct flow_table *ft, const struct flow_rule *r)
{
	uint32_t used = 0;

	for (unsigned w = 0; w < ft->n_workers; w++)
		used = MAX(used, atomic_load_explicit(&r->stats[w].used, memory_order_relaxed));
	return used;
}

unsigned flow_table_run(struct flow_table *ft, uint32_t now_sec)
{
	unsigned n = 0;

	for (struct flow_rule *r = ft->head, *next; r != NULL; r = next) {
		uint32_t last;

		next = r->next;
		if (r->idle_timeout == 0 && r->hard_timeout == 0)
			continue;
		last = MAX(flow_rule_used(ft, r), r->created);
		if ((r->hard_timeout && now_sec - r->created >= r->hard_timeout) ||
			(r->idle_timeout && now_sec - last >= r->idle_timeout)) {
			LOG_OBJ(DEBUG, ft->bridge, "flow %llu expired", (unsigned long long)r->id);
			flow_rule_remove(ft, r);
			n++;
		}
	}
	if (n > 0)
		flow_table_bump(ft);
	if (now_sec - ft->last_rerank >= FLOW_RERANK_S) {
		ft->last_rerank = now_sec;
		cls_rerank(ft->cls);
	}
	return n;
}

// ---- dump and stats ----

static int flow_dump_cmp(const void *a, const void *b)
{
	const struct flow_rule *x = *(const struct flow_rule *const *)a;
	const struct flow_rule *y = *(const struct flow_rule *const *)b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

size_t flow_rule_format(const struct flow_rule *r, char *buf, size_t size)
{
	struct flow_spec *s = malloc(sizeof(*s));
	size_t n;

	if (s == NULL) {
		snprintf(buf, size, "(out of memory)");
		return 0;
	}
	memset(s, 0, sizeof(*s));
	s->value = r->value;
	s->mask = r->mask;
	snprintf(s->in_port, sizeof(s->in_port), "%s", r->in_port ? r->in_port : "");
	s->priority = r->priority;
	s->cookie = r->cookie;
	s->has = FLOW_HAS_COOKIE | FLOW_HAS_ACTIONS;
	s->idle_timeout = r->idle_timeout;
	s->hard_timeout = r->hard_timeout;
	s->n_actions = r->n_actions;
	if (r->n_actions > 0)
		memcpy(s->actions, r->actions, r->n_actions * sizeof(s->actions[0]));
	n = flow_format(s, FLOW_FMT_ALL, buf, size);
	free(s);
	return n;
}

unsigned flow_table_dump(const struct flow_table *ft, const struct flow_spec *filter, bool strict,
	uint32_t now_sec, flow_table_dump_fn cb, void *arg)
{
	struct flow_rule **list;
	unsigned n = 0;
	char *text;

	if (ft->n_rules == 0)
		return 0;
	list = malloc(ft->n_rules * sizeof(*list));
	text = malloc(FLOW_TEXT_MAX);
	if (list == NULL || text == NULL) {
		free(list);
		free(text);
		LOG_OBJ(ERR, ft->bridge, "out of memory listing flows");
		return 0;
	}
	for (struct flow_rule *r = ft->head; r != NULL; r = r->next) {
		if (filter == NULL || flow_rule_selected(r, filter, strict))
			list[n++] = r;
	}
	qsort(list, n, sizeof(*list), flow_dump_cmp);
	for (unsigned i = 0; i < n; i++) {
		const struct flow_rule *r = list[i];
		struct flow_rule_info ri = {
			.text = text,
			.priority = r->priority,
			.cookie = r->cookie,
			.idle_timeout = r->idle_timeout,
			.hard_timeout = r->hard_timeout,
			.duration = now_sec - r->created,
			.in_port_missing = r->in_port != NULL && !r->inserted,
			.missing_outputs = r->missing_outputs,
		};
		uint32_t used = flow_rule_used(ft, r);

		for (unsigned w = 0; w < ft->n_workers; w++) {
			ri.packets +=
				atomic_load_explicit(&r->stats[w].packets, memory_order_relaxed);
			ri.bytes += atomic_load_explicit(&r->stats[w].bytes, memory_order_relaxed);
		}
		ri.idle_age = used != 0 ? (int64_t)(now_sec - MIN(used, now_sec)) : -1;
		flow_rule_format(r, text, FLOW_TEXT_MAX);
		cb(arg, &ri);
	}
	free(list);
	free(text);
	return n;
}

void flow_table_stats_get(const struct flow_table *ft, struct flow_table_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->rules = ft->n_rules;
	st->subtables = cls_n_subtables(ft->cls);
	st->generation = atomic_load_explicit(&ft->gen, memory_order_relaxed);
	st->miss = flow_table_get_miss(ft);
	for (unsigned w = 0; w < ft->n_workers; w++) {
		const struct flow_wstats *s = &ft->wst[w];

#define FT_SUM(f) st->f += atomic_load_explicit(&s->f, memory_order_relaxed)
		FT_SUM(packets);
		FT_SUM(cache_hits);
		FT_SUM(megaflow_hits);
		FT_SUM(cls_hits);
		FT_SUM(misses);
		FT_SUM(cls_lookups);
		FT_SUM(subtables_searched);
		FT_SUM(dropped);
		FT_SUM(output_missing);
		FT_SUM(nobuf);
#undef FT_SUM
	}
}

// ---- packet modifications (workers, trace) ----

static void flow_shift_offsets(struct pkt *p, int delta)
{
	p->l3_off = (uint16_t)(p->l3_off + delta);
	if (p->l4_off != 0)
		p->l4_off = (uint16_t)(p->l4_off + delta);
	if (p->flags & PKT_F_L4_CSUM_PARTIAL)
		p->csum_start = (uint16_t)(p->csum_start + delta);
}

static int flow_push_vlan(struct pkt *p, uint16_t tpid, uint16_t tci)
{
	uint8_t *d = pkt_prepend(p, NET_VLAN_HLEN);

	if (d == NULL)
		return -ENOBUFS;
	memmove(d, d + NET_VLAN_HLEN, 2 * NET_ETH_ALEN);
	net_put_be16(d + 12, tpid);
	net_put_be16(d + 14, tci);
	flow_shift_offsets(p, NET_VLAN_HLEN);
	p->vlan_tci = tci;
	p->flags |= PKT_F_VLAN;
	return 0;
}

static void flow_pop_vlan(struct pkt *p)
{
	uint8_t *d;

	if (!(p->flags & PKT_F_VLAN) || p->len < NET_ETH_HLEN + NET_VLAN_HLEN)
		return;
	d = pkt_data(p);
	memmove(d + NET_VLAN_HLEN, d, 2 * NET_ETH_ALEN);
	d = pkt_adj(p, NET_VLAN_HLEN);
	flow_shift_offsets(p, -NET_VLAN_HLEN);
	if (p->l3_off >= NET_ETH_HLEN + NET_VLAN_HLEN && net_is_vlan_type(net_get_be16(d + 12))) {
		p->vlan_tci = net_get_be16(d + 14);
	} else {
		p->vlan_tci = 0;
		p->flags &= ~PKT_F_VLAN;
	}
}

static int flow_set_tci(struct pkt *p, uint16_t keep, uint16_t set, bool push)
{
	if (p->flags & PKT_F_VLAN) {
		p->vlan_tci = (uint16_t)((p->vlan_tci & keep) | set);
		net_put_be16(pkt_data(p) + 14, p->vlan_tci);
		return 0;
	}
	return push ? flow_push_vlan(p, NET_ETH_P_VLAN, set) : 0;
}

// Checksum field update for a 16-bit word change. A partial checksum (left for tx) holds the
// pseudo-header sum uncomplemented: it takes the change with the opposite sign convention.
static void flow_csum16(uint8_t *field, uint16_t old, uint16_t new_, bool partial, bool udp)
{
	uint16_t c;

	memcpy(&c, field, 2);
	if (partial) {
		c = (uint16_t)~net_csum_update16((uint16_t)~c, old, new_);
	} else {
		if (udp && c == 0)
			return; // UDP over IPv4 without checksum
		c = net_csum_update16(c, old, new_);
		if (udp && c == 0)
			c = 0xffff;
	}
	memcpy(field, &c, 2);
}

// The L4 checksum field covering the pseudo-header (TCP, UDP, ICMPv6), or NULL.
static uint8_t *flow_l4_csum(struct pkt *p, uint8_t proto, bool *udp)
{
	uint8_t *l4 = pkt_data(p) + p->l4_off;

	*udp = false;
	if (p->l4_off == 0)
		return NULL;
	switch (proto) {
	case NET_IPPROTO_TCP:
		return l4 + 16;
	case NET_IPPROTO_UDP:
		*udp = p->eth_type == NET_ETH_P_IPV4;
		return l4 + 6;
	case NET_IPPROTO_ICMPV6:
		return l4 + 2;
	default:
		return NULL;
	}
}

// An address change (n 16-bit words) seen by the L4 checksum through the pseudo-header.
static void flow_l4_addr_change(
	struct pkt *p, const uint8_t *old, const uint8_t *new_, unsigned bytes)
{
	uint8_t proto = flow_key_l4_proto(p);
	bool udp, partial = p->flags & PKT_F_L4_CSUM_PARTIAL;
	uint8_t *f = flow_l4_csum(p, proto, &udp);

	if (f == NULL)
		return;
	for (unsigned i = 0; i < bytes; i += 2) {
		uint16_t o, n;

		memcpy(&o, old + i, 2);
		memcpy(&n, new_ + i, 2);
		flow_csum16(f, o, n, partial, udp);
	}
}

static uint32_t flow_crc32c(uint32_t crc, const uint8_t *d, size_t n)
{
#if defined(__SSE4_2__) && defined(__x86_64__)
	while (n >= 8) {
		uint64_t w;

		memcpy(&w, d, 8);
		crc = (uint32_t)__builtin_ia32_crc32di(crc, w);
		d += 8;
		n -= 8;
	}
	while (n-- > 0)
		crc = __builtin_ia32_crc32qi(crc, *d++);
#else
	while (n-- > 0) {
		crc ^= *d++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
	}
#endif
	return crc;
}

// End of the L3 payload (the IP length), bounded by the frame.
static uint32_t flow_l3_end(const struct pkt *p)
{
	const uint8_t *d = pkt_data(p);
	uint32_t end = p->len;

	if (p->eth_type == NET_ETH_P_IPV4)
		end = p->l3_off + net_get_be16(d + p->l3_off + 2);
	else if (p->eth_type == NET_ETH_P_IPV6)
		end = p->l3_off + 40u + net_get_be16(d + p->l3_off + 4);
	return MIN(end, p->len);
}

static void flow_sctp_csum(struct pkt *p)
{
	uint8_t *l4 = pkt_data(p) + p->l4_off;
	uint32_t end = flow_l3_end(p), crc;

	if (end < p->l4_off + sizeof(struct net_sctp_hdr))
		return;
	memset(l4 + 8, 0, 4);
	crc = ~flow_crc32c(0xffffffff, l4, end - p->l4_off);
	// Stored least significant byte first (RFC 9260 appendix A as implemented everywhere).
	l4[8] = (uint8_t)crc;
	l4[9] = (uint8_t)(crc >> 8);
	l4[10] = (uint8_t)(crc >> 16);
	l4[11] = (uint8_t)(crc >> 24);
}

static struct net_ipv4_hdr *flow_ipv4(struct pkt *p)
{
	uint8_t *d = pkt_data(p);

	if (p->eth_type != NET_ETH_P_IPV4 || p->l3_off + sizeof(struct net_ipv4_hdr) > p->len ||
		(d[p->l3_off] >> 4) != 4)
		return NULL;
	return (struct net_ipv4_hdr *)(d + p->l3_off);
}

static uint8_t *flow_ipv6(struct pkt *p)
{
	uint8_t *d = pkt_data(p);

	if (p->eth_type != NET_ETH_P_IPV6 || p->l3_off + sizeof(struct net_ipv6_hdr) > p->len ||
		(d[p->l3_off] >> 4) != 6)
		return NULL;
	return d + p->l3_off;
}

static void flow_set_ipv4_addr(struct pkt *p, bool src, uint32_t addr)
{
	struct net_ipv4_hdr *ip = flow_ipv4(p);
	uint8_t *field;
	uint32_t old;

	if (ip == NULL)
		return;
	field = src ? (uint8_t *)&ip->src : (uint8_t *)&ip->dst;
	memcpy(&old, field, 4);
	if (old == addr)
		return;
	ip->csum = net_csum_update32(ip->csum, old, addr);
	memcpy(field, &addr, 4);
	flow_l4_addr_change(p, (const uint8_t *)&old, (const uint8_t *)&addr, 4);
}

static void flow_set_ipv6_addr(struct pkt *p, bool src, const uint8_t *addr)
{
	uint8_t *ip6 = flow_ipv6(p), old[16];

	if (ip6 == NULL)
		return;
	ip6 += src ? 8 : 24;
	if (memcmp(ip6, addr, 16) == 0)
		return;
	memcpy(old, ip6, 16);
	memcpy(ip6, addr, 16);
	flow_l4_addr_change(p, old, addr, 16);
}

static void flow_set_tp(struct pkt *p, bool src, uint16_t port)
{
	uint8_t proto = flow_key_l4_proto(p), *l4, *f;
	bool udp;
	uint16_t old, new_ = net_htons(port);

	if (proto != NET_IPPROTO_TCP && proto != NET_IPPROTO_UDP && proto != NET_IPPROTO_SCTP)
		return;
	l4 = pkt_data(p) + p->l4_off + (src ? 0 : 2);
	memcpy(&old, l4, 2);
	if (old == new_)
		return;
	memcpy(l4, &new_, 2);
	if (proto == NET_IPPROTO_SCTP) {
		flow_sctp_csum(p);
		return;
	}
	// A partial checksum is finished by the device over the header: ports need nothing.
	if (p->flags & PKT_F_L4_CSUM_PARTIAL)
		return;
	if ((f = flow_l4_csum(p, proto, &udp)) != NULL)
		flow_csum16(f, old, new_, false, udp);
}

// Sets the TOS / traffic class byte to (tos & ~mask) | val.
static void flow_set_tos(struct pkt *p, uint8_t mask, uint8_t val)
{
	struct net_ipv4_hdr *ip = flow_ipv4(p);
	uint8_t *ip6;

	if (ip != NULL) {
		uint16_t o, n;

		memcpy(&o, &ip->ver_ihl, 2);
		ip->tos = (uint8_t)((ip->tos & ~mask) | val);
		memcpy(&n, &ip->ver_ihl, 2);
		ip->csum = net_csum_update16(ip->csum, o, n);
		return;
	}
	if ((ip6 = flow_ipv6(p)) != NULL) {
		uint8_t tc = (uint8_t)((ip6[0] & 0x0f) << 4 | ip6[1] >> 4);

		tc = (uint8_t)((tc & ~mask) | val);
		ip6[0] = (uint8_t)((ip6[0] & 0xf0) | tc >> 4);
		ip6[1] = (uint8_t)((ip6[1] & 0x0f) | (tc & 0x0f) << 4);
	}
}

static int flow_dec_ttl(struct pkt *p)
{
	struct net_ipv4_hdr *ip = flow_ipv4(p);
	uint8_t *ip6;

	if (ip != NULL) {
		uint16_t o, n;

		if (ip->ttl <= 1)
			return -EPERM;
		memcpy(&o, &ip->ttl, 2);
		ip->ttl--;
		memcpy(&n, &ip->ttl, 2);
		ip->csum = net_csum_update16(ip->csum, o, n);
		return 0;
	}
	if ((ip6 = flow_ipv6(p)) != NULL) {
		if (ip6[7] <= 1)
			return -EPERM;
		ip6[7]--;
	}
	return 0;
}

int flow_xact_modify(struct pkt *p, const struct flow_xact *a)
{
	bool push = a->flags & FLOW_ACTF_PUSH;

	switch (a->type) {
	case FLOW_ACT_PUSH_VLAN:
		return flow_push_vlan(p, a->u16, (p->flags & PKT_F_VLAN) ? p->vlan_tci : 0);
	case FLOW_ACT_POP_VLAN:
		flow_pop_vlan(p);
		return 0;
	case FLOW_ACT_SET_VLAN_VID:
		return flow_set_tci(p, (uint16_t)~FLOW_VLAN_VID_MASK, a->u16, push);
	case FLOW_ACT_SET_VLAN_PCP:
		return flow_set_tci(p, (uint16_t)~FLOW_VLAN_PCP_MASK,
			(uint16_t)(a->u16 << FLOW_VLAN_PCP_SHIFT), push);
	case FLOW_ACT_SET_ETH_SRC:
		memcpy(pkt_data(p) + 6, a->mac, 6);
		return 0;
	case FLOW_ACT_SET_ETH_DST:
		memcpy(pkt_data(p), a->mac, 6);
		return 0;
	case FLOW_ACT_SET_IPV4_SRC:
	case FLOW_ACT_SET_IPV4_DST:
		flow_set_ipv4_addr(p, a->type == FLOW_ACT_SET_IPV4_SRC, a->ip4);
		return 0;
	case FLOW_ACT_SET_IPV6_SRC:
	case FLOW_ACT_SET_IPV6_DST:
		flow_set_ipv6_addr(p, a->type == FLOW_ACT_SET_IPV6_SRC, a->ip6);
		return 0;
	case FLOW_ACT_SET_TP_SRC:
	case FLOW_ACT_SET_TP_DST:
		flow_set_tp(p, a->type == FLOW_ACT_SET_TP_SRC, a->u16);
		return 0;
	case FLOW_ACT_SET_DSCP:
		flow_set_tos(p, 0xfc, (uint8_t)(a->u16 << 2));
		return 0;
	case FLOW_ACT_SET_ECN:
		flow_set_tos(p, 0x03, (uint8_t)a->u16);
		return 0;
	case FLOW_ACT_DEC_TTL:
		return flow_dec_ttl(p);
	default:
		return 0;
	}
}

// ---- worker stage ----

static __always_inline void flow_ctr_add(_Atomic uint64_t *c, uint64_t n)
{
	// Single writer: a relaxed load and store, no locked instruction.
	atomic_store_explicit(
		c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

static inline void flow_trace_out(struct flow_trace_rec *tr, uint8_t kind, uint16_t port)
{
	if (tr != NULL && tr->n_out < FLOW_TRACE_MAX_OUT) {
		tr->out_kind[tr->n_out] = kind;
		tr->out[tr->n_out++] = port;
	}
}

// Sends p out of port (of bridge br). Takes ownership of p.
static void flow_output(struct pl_ctx *ctx, struct flow_wstats *ws, const struct pl_bridge *br,
	uint16_t port, struct pkt *p, struct flow_trace_rec *tr, uint8_t kind)
{
	const struct pl_port *op = port < PORT_MAX ? ctx->snap->ports[port] : NULL;
	unsigned tags;

	flow_trace_out(tr, kind, port);
	if (unlikely(op == NULL || op->bridge != br->index)) {
		flow_ctr_add(&ws->output_missing, 1);
		pkt_free(p);
		return;
	}
	if (unlikely(!op->enabled)) {
		ctx->ctr[port].tx_drop_disabled++;
		pkt_free(p);
		return;
	}
	tags = p->l3_off > NET_ETH_HLEN ? (p->l3_off - NET_ETH_HLEN) / NET_VLAN_HLEN : 0;
	if (unlikely(p->len > op->mtu + NET_ETH_HLEN + NET_VLAN_HLEN * tags)) {
		ctx->ctr[port].tx_drop_mtu++;
		pkt_free(p);
		return;
	}
	// Drivers read PKT_F_VLAN as "insert vlan_tci on tx": our tags are in the data.
	p->flags &= ~PKT_F_VLAN;
	pl_output(ctx, port, p);
}

// p itself for the last use, else a copy (NULL: no buffer, counted).
static inline struct pkt *flow_take(
	struct pl_ctx *ctx, struct flow_wstats *ws, struct pkt *p, bool last)
{
	struct pkt *c;

	if (last)
		return p;
	if (unlikely((c = pkt_copy(ctx->snap->pool, p)) == NULL))
		flow_ctr_add(&ws->nobuf, 1);
	return c;
}

static void flow_flood(struct pl_ctx *ctx, struct flow_wstats *ws, const struct pl_bridge *br,
	uint16_t in_port, struct pkt *p, bool last, struct flow_trace_rec *tr)
{
	const struct pl_snapshot *snap = ctx->snap;
	uint16_t outs[PORT_MAX];
	unsigned n = 0;

	for (unsigned i = 0; i < br->n_ports; i++) {
		uint16_t id = br->ports[i];
		const struct pl_port *op = id < PORT_MAX ? snap->ports[id] : NULL;

		if (id != in_port && op != NULL && op->enabled && op->bridge == br->index)
			outs[n++] = id;
	}
	ctx->ctr[in_port].flooded++;
	for (unsigned i = 0; i < n; i++) {
		struct pkt *q = flow_take(ctx, ws, p, last && i + 1 == n);

		if (q != NULL)
			flow_output(ctx, ws, br, outs[i], q, tr, FLOW_TRACE_OUT_FLOOD);
	}
	if (last && n == 0)
		pkt_free(p);
}

// Runs the actions of xa on p (received on in_port). Takes ownership of p.
static void flow_exec(struct pl_ctx *ctx, struct flow_wstats *ws, const struct pl_bridge *br,
	uint16_t in_port, const struct flow_xacts *xa, struct pkt *p, struct flow_trace_rec *tr)
{
	bool consumed = false, sent = false;

	if (unlikely(xa->n_mirrors != 0)) {
		// A mirror sees the packet as received, wherever it is listed.
		for (unsigned i = 0; i < xa->n; i++) {
			const struct flow_xact *a = &xa->a[i];
			struct pkt *c;

			if (a->type != FLOW_ACT_MIRROR)
				continue;
			if (a->port == FLOW_PORT_NONE) {
				flow_ctr_add(&ws->output_missing, 1);
				continue;
			}
			if ((c = flow_take(ctx, ws, p, false)) != NULL)
				flow_output(ctx, ws, br, a->port, c, tr, FLOW_TRACE_OUT_MIRROR);
			sent = true;
		}
	}
	for (int i = 0; i <= xa->last_out; i++) {
		const struct flow_xact *a = &xa->a[i];
		bool last = i == xa->last_out;
		struct pkt *q;

		switch (a->type) {
		case FLOW_ACT_OUTPUT:
			if (unlikely(a->port == FLOW_PORT_NONE)) {
				flow_ctr_add(&ws->output_missing, 1);
				break;
			}
			// As in OpenFlow, output to the ingress port needs the in_port action.
			if (a->port == in_port)
				break;
			if ((q = flow_take(ctx, ws, p, last)) != NULL)
				flow_output(ctx, ws, br, a->port, q, tr, FLOW_TRACE_OUT_PORT);
			consumed |= last;
			sent = true;
			break;
		case FLOW_ACT_IN_PORT:
			if ((q = flow_take(ctx, ws, p, last)) != NULL)
				flow_output(ctx, ws, br, in_port, q, tr, FLOW_TRACE_OUT_PORT);
			consumed |= last;
			sent = true;
			break;
		case FLOW_ACT_FLOOD:
			flow_flood(ctx, ws, br, in_port, p, last, tr);
			consumed |= last;
			sent = true;
			break;
		case FLOW_ACT_NORMAL:
			flow_trace_out(tr, FLOW_TRACE_OUT_NORMAL, 0);
			if ((q = flow_take(ctx, ws, p, last)) != NULL)
				pl_l2_forward(ctx, br, in_port, q);
			consumed |= last;
			sent = true;
			break;
		case FLOW_ACT_MIRROR:
			break;
		default:
			if (unlikely(flow_xact_modify(p, a) < 0)) {
				flow_ctr_add(&ws->dropped, 1);
				pkt_free(p);
				return;
			}
			break;
		}
	}
	if (!consumed) {
		if (!sent)
			flow_ctr_add(&ws->dropped, 1);
		pkt_free(p);
	}
}

static void flow_miss(struct pl_ctx *ctx, const struct flow_table *ft, struct flow_wstats *ws,
	const struct pl_bridge *br, uint16_t in_port, struct pkt *p, struct flow_trace_rec *tr)
{
	flow_ctr_add(&ws->misses, 1);
	if (atomic_load_explicit(&ft->miss, memory_order_relaxed) == FLOW_MISS_NORMAL) {
		flow_trace_out(tr, FLOW_TRACE_OUT_NORMAL, 0);
		pl_l2_forward(ctx, br, in_port, p);
		return;
	}
	flow_ctr_add(&ws->dropped, 1);
	pkt_free(p);
}

void flow_table_process(struct pl_ctx *ctx, const struct pl_bridge *br, uint16_t in_port,
	struct pkt **pkts, uint16_t n)
{
	const struct flow_table *ft = br->flows;
	unsigned w = ctx->worker;
	struct flow_wstats dummy, *ws;
	struct flow_cache *fc = w < FLOW_MAX_WORKERS ? flow_caches[w] : NULL;
	struct flow_mcache *mc = w < FLOW_MAX_WORKERS ? flow_mcaches[w] : NULL;
	struct flow_key keys[PKT_BURST], wc[PKT_BURST];
	uint32_t hash[PKT_BURST];
	const struct cls_rule *res[PKT_BURST];
	const struct flow_key *mkeys[PKT_BURST];
	uint8_t midx[PKT_BURST], from[PKT_BURST];
	struct pkt *ok[PKT_BURST];
	unsigned n_ok = 0, nm = 0, mhits = 0;
	uint64_t gen;
	bool trace = atomic_load_explicit(&flow_trace_armed, memory_order_relaxed) != 0;

	if (likely(w < ft->n_workers)) {
		ws = &ft->wst[w];
	} else {
		memset(&dummy, 0, sizeof(dummy));
		ws = &dummy;
	}
	// Pairs with the store-release in flow_table_bump().
	gen = atomic_load_explicit(&ft->gen, memory_order_acquire);
	if (fc != NULL && !flow_cache_use(fc))
		fc = NULL; // bypassed this burst: far more flows than entries
	for (unsigned i = 0; i < n && i < PKT_BURST; i++) {
		struct pkt *p = pkts[i];

		p->in_port = in_port;
		if (unlikely(!(p->flags & PKT_F_PARSED))) {
			if (p->len < NET_ETH_HLEN)
				ctx->ctr[in_port].rx_drop_runt++;
			else
				ctx->ctr[in_port].rx_drop_vlan++; // stripped tag without headroom
			pkt_free(p);
			continue;
		}
		flow_key_extract(p, in_port, &keys[n_ok]);
		if (fc != NULL) {
			hash[n_ok] = flow_key_hash(&keys[n_ok]);
			flow_cache_prefetch(fc, hash[n_ok]);
		}
		ok[n_ok++] = p;
	}
	flow_ctr_add(&ws->packets, n_ok);
	for (unsigned i = 0; i < n_ok; i++) {
		const void *r;

		from[i] = FLOW_TRACE_CACHE;
		if (fc != NULL && flow_cache_lookup(fc, &keys[i], hash[i], gen, &r)) {
			res[i] = r;
			continue;
		}
		mkeys[nm] = &keys[i];
		midx[nm++] = (uint8_t)i;
	}
	flow_ctr_add(&ws->cache_hits, n_ok - nm);
	if (fc != NULL)
		flow_cache_account(fc, n_ok, n_ok - nm);
	// Second level: the megaflow cache, then what is left goes to the classifier together.
	if (nm > 0 && mc != NULL) {
		unsigned left = 0;

		for (unsigned j = 0; j < nm; j++) {
			unsigned i = midx[j];
			const void *r;

			if (flow_mcache_lookup(mc, br->index, gen, &keys[i], &r)) {
				res[i] = r;
				from[i] = FLOW_TRACE_MEGAFLOW;
				mhits++;
				if (fc != NULL)
					flow_cache_insert(fc, &keys[i], hash[i], gen, r);
				continue;
			}
			mkeys[left] = &keys[i];
			midx[left++] = (uint8_t)i;
		}
		nm = left;
		flow_ctr_add(&ws->megaflow_hits, mhits);
	}
	if (nm > 0) {
		const struct cls_rule *mres[PKT_BURST];
		unsigned searched =
			cls_lookup_burst(ft->cls, mkeys, nm, mres, w, mc != NULL ? wc : NULL);
		unsigned hits = 0;

		for (unsigned j = 0; j < nm; j++) {
			unsigned i = midx[j];

			res[i] = mres[j];
			from[i] = FLOW_TRACE_CLASSIFIER;
			hits += mres[j] != NULL;
			if (mc != NULL)
				flow_mcache_insert(mc, br->index, gen, &keys[i], &wc[j], mres[j]);
			if (fc != NULL)
				flow_cache_insert(fc, &keys[i], hash[i], gen, mres[j]);
		}
		flow_ctr_add(&ws->cls_lookups, nm);
		flow_ctr_add(&ws->subtables_searched, searched);
		flow_ctr_add(&ws->cls_hits, hits);
	}
	for (unsigned i = 0; i < n_ok; i++) {
		const struct flow_rule *r = res[i] != NULL ? flow_rule_of(res[i]) : NULL;
		struct flow_trace_rec *tr = NULL;
		struct pkt *p = ok[i];

		if (unlikely(trace) && (tr = flow_trace_claim(w, in_port)) != NULL) {
			tr->key = keys[i];
			tr->len = p->len;
			tr->bridge = br->index;
			tr->decision = from[i];
			tr->miss = r == NULL;
			if (r != NULL) {
				tr->rule_id = r->id;
				tr->priority = (uint16_t)r->cr.priority;
				tr->cookie = r->cookie;
			}
		}
		if (r == NULL) {
			flow_miss(ctx, ft, ws, br, in_port, p, tr);
		} else {
			if (likely(w < ft->n_workers)) {
				struct flow_rstats *rs = &r->stats[w];

				flow_ctr_add(&rs->packets, 1);
				flow_ctr_add(&rs->bytes, p->len);
				if (atomic_load_explicit(&rs->used, memory_order_relaxed) !=
					ctx->now_sec)
					atomic_store_explicit(
						&rs->used, ctx->now_sec, memory_order_relaxed);
			}
			// Pairs with the store-release in flow_rule_set_actions().
			flow_exec(ctx, ws, br, in_port,
				atomic_load_explicit(&r->xacts, memory_order_acquire), p, tr);
		}
		if (tr != NULL)
			flow_trace_commit(w);
	}
}
