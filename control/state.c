// SPDX-License-Identifier: Apache-2.0
// Run-time bridges/ports (state.h): pending objects, the three-way merge with the YAML `bridges:`
// section, its application to the datapath and when to save. state.json itself (format, atomic
// writes, corrupt files moved aside) is state_file.c.
#include "control/state.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/loop.h"
#include "control/state_internal.h"
#include "dataplane/dp.h"
#include "dataplane/flow_parse.h"
#include "dataplane/flow_table.h"
#include "dataplane/log.h"

LOG_MODULE("state");

static struct {
	bool inited;
	bool applying; // state_apply_config() runs: the change hook must not save half-applied
	bool save_disabled; // an unreadable state file could not be moved aside: never overwrite it
	char *dir;
	char *path;
	// Wanted but not in the datapath (see state.h): bridges (their ports ignored), and ports
	// grouped under their bridge (which may or may not exist).
	struct config_bridge *pend_br;
	unsigned n_pend_br;
	struct config_bridge *pend_ports;
	unsigned n_pend_ports;
	struct config_bridge *file_bridges; // YAML bridges: section as last applied
	unsigned n_file_bridges;
	uint64_t last_save_ms; // CLOCK_MONOTONIC of the last save attempt
	void *flow_timer; // pending delayed save (state_flows_changed)
} st;

// ---------------------------------------------------------------------------------------------
// Bridge lists

struct config_bridge *state_br_find(const struct config_bridge *b, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(b[i].name, name) == 0)
			return (struct config_bridge *)&b[i];
	return NULL;
}

// Port names are global: finds the port and the bridge holding it.
const struct config_port *state_port_find(const struct config_bridge *b, unsigned n,
	const char *name, const struct config_bridge **br)
{
	for (unsigned i = 0; i < n; i++) {
		for (unsigned p = 0; p < b[i].n_ports; p++) {
			if (strcmp(b[i].ports[p].name, name) == 0) {
				if (br != NULL)
					*br = &b[i];
				return &b[i].ports[p];
			}
		}
	}
	return NULL;
}

static const char *opts_get(const struct port_kv *kv, unsigned n, const char *key)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

// Order-insensitive (keys are unique on both sides).
static bool opts_equal(const struct port_kv *a, unsigned na, const struct port_kv *b, unsigned nb)
{
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++) {
		const char *v = opts_get(b, nb, a[i].key);

		if (v == NULL || strcmp(v, a[i].value) != 0)
			return false;
	}
	return true;
}

static bool bridge_equal(const struct config_bridge *a, const struct config_bridge *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return opts_equal(a->opts, a->n_opts, b->opts, b->n_opts);
}

static bool port_equal(const struct config_port *a, const struct config_bridge *abr,
	const struct config_port *b, const struct config_bridge *bbr)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(abr->name, bbr->name) == 0 && strcmp(a->type, b->type) == 0 &&
		opts_equal(a->opts, a->n_opts, b->opts, b->n_opts);
}

static int kv_dup(const struct port_kv *kv, unsigned n, struct port_kv **out, unsigned *n_out)
{
	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return 0;
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		(*out)[i].key = strdup(kv[i].key);
		(*out)[i].value = strdup(kv[i].value);
		*n_out = i + 1;
		if ((*out)[i].key == NULL || (*out)[i].value == NULL)
			return -ENOMEM;
	}
	return 0;
}

// Appends a bridge (name and options, no ports) to a list; *b may move.
static int list_add_bridge(struct config_bridge **b, unsigned *n, const char *name,
	const struct port_kv *opts, unsigned n_opts)
{
	struct config_bridge *nb = realloc(*b, (*n + 1) * sizeof(**b));
	struct config_bridge *t;

	if (nb == NULL)
		return -ENOMEM;
	*b = nb;
	t = &nb[*n];
	memset(t, 0, sizeof(*t));
	(*n)++; // counted first so that config_bridges_free sees a half-copied entry
	if ((t->name = strdup(name)) == NULL)
		return -ENOMEM;
	return kv_dup(opts, n_opts, &t->opts, &t->n_opts);
}

static int list_add_port(struct config_bridge *br, const char *name, const char *type,
	const struct port_kv *opts, unsigned n_opts)
{
	struct config_port *np = realloc(br->ports, (br->n_ports + 1) * sizeof(*np));
	struct config_port *t;

	if (np == NULL)
		return -ENOMEM;
	br->ports = np;
	t = &np[br->n_ports];
	memset(t, 0, sizeof(*t));
	br->n_ports++;
	if ((t->name = strdup(name)) == NULL || (t->type = strdup(type)) == NULL)
		return -ENOMEM;
	return kv_dup(opts, n_opts, &t->opts, &t->n_opts);
}

// Appends a copy of a flow rule text to br.
int state_list_add_flow(struct config_bridge *br, const char *text)
{
	char **nf = realloc(br->flows, (br->n_flows + 1) * sizeof(*nf));

	if (nf == NULL)
		return -ENOMEM;
	br->flows = nf;
	if ((nf[br->n_flows] = strdup(text)) == NULL)
		return -ENOMEM;
	br->n_flows++;
	return 0;
}

static int list_add_flows(struct config_bridge *br, char *const *flows, unsigned n)
{
	int ret;

	for (unsigned i = 0; i < n; i++) {
		if ((ret = state_list_add_flow(br, flows[i])) < 0)
			return ret;
	}
	return 0;
}

// ---------------------------------------------------------------------------------------------
// Flow rules by identity: a rule is its priority and match ("priority=10,ip,nw_dst=10.0.0.0/8");
// its value is the canonical text (actions, cookie, timeouts). Lists are indexed sorted by
// identity so that the merge and the apply stay O(n log n) with 100k rules.

struct fidx {
	char *ident;
	char *canon;
	unsigned pos; // in the original list: a later duplicate wins, as a later add-flow would
};

struct flist {
	struct fidx *e;
	unsigned n;
};

static int fidx_cmp(const void *a, const void *b)
{
	const struct fidx *x = a, *y = b;
	int c = strcmp(x->ident, y->ident);

	return c != 0 ? c : (x->pos < y->pos ? -1 : (x->pos > y->pos));
}

static void flows_free(struct flist *l)
{
	for (unsigned i = 0; i < l->n; i++) {
		free(l->e[i].ident);
		free(l->e[i].canon);
	}
	free(l->e);
	l->e = NULL;
	l->n = 0;
}

// Indexes rule texts (those that do not parse are left out: files are checked on load).
static int flows_index(char *const *flows, unsigned n, struct flist *out)
{
	struct flow_spec *spec = malloc(sizeof(*spec));
	char *buf = malloc(FLOW_TEXT_MAX);
	unsigned k = 0;
	int ret = 0;

	out->e = n ? calloc(n, sizeof(*out->e)) : NULL;
	out->n = 0;
	if (spec == NULL || buf == NULL || (n > 0 && out->e == NULL)) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		struct err e = {0};
		struct fidx *x = &out->e[out->n];

		if (flow_parse(flows[i], strlen(flows[i]), FLOW_PARSE_ADD, spec, &e) < 0)
			continue;
		flow_format(spec, FLOW_FMT_PRIORITY | FLOW_FMT_MATCH, buf, FLOW_TEXT_MAX);
		x->ident = strdup(buf);
		flow_format(spec, FLOW_FMT_ALL, buf, FLOW_TEXT_MAX);
		x->canon = strdup(buf);
		x->pos = i;
		out->n++;
		if (x->ident == NULL || x->canon == NULL) {
			ret = -ENOMEM;
			goto out;
		}
	}
	if (out->n > 1) // qsort(NULL, 0, ...) is undefined
		qsort(out->e, out->n, sizeof(*out->e), fidx_cmp);
	// Same identity twice: keep the last one.
	for (unsigned i = 0; i < out->n; i++) {
		if (i + 1 < out->n && strcmp(out->e[i].ident, out->e[i + 1].ident) == 0) {
			free(out->e[i].ident);
			free(out->e[i].canon);
			continue;
		}
		out->e[k++] = out->e[i];
	}
	out->n = k;
out:
	if (ret < 0)
		flows_free(out);
	free(spec);
	free(buf);
	return ret;
}

static int fidx_key_cmp(const void *key, const void *elt)
{
	return strcmp(key, ((const struct fidx *)elt)->ident);
}

static const struct fidx *flows_find(const struct flist *l, const char *ident)
{
	if (l->n == 0)
		return NULL;
	return bsearch(ident, l->e, l->n, sizeof(*l->e), fidx_key_cmp);
}

static bool fidx_same(const struct fidx *a, const struct fidx *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a->canon, b->canon) == 0;
}

static const struct config_bridge *br_find_c(
	const struct config_bridge *b, unsigned n, const char *name)
{
	return b != NULL ? state_br_find(b, n, name) : NULL;
}

// The flows of bridge `out` after the three-way merge, each rule on its own (as ports are).
static int merge_flows(const struct config_bridge *sb, const struct config_bridge *ob,
	const struct config_bridge *nb, struct config_bridge *out)
{
	struct flist S = {0}, O = {0}, N = {0};
	int ret;

	if ((ret = flows_index(sb ? sb->flows : NULL, sb ? sb->n_flows : 0, &S)) < 0 ||
		(ret = flows_index(ob ? ob->flows : NULL, ob ? ob->n_flows : 0, &O)) < 0 ||
		(ret = flows_index(nb ? nb->flows : NULL, nb ? nb->n_flows : 0, &N)) < 0)
		goto out;
	for (unsigned i = 0; i < S.n && ret == 0; i++) {
		const struct fidx *op = flows_find(&O, S.e[i].ident);
		const struct fidx *np = flows_find(&N, S.e[i].ident);

		if (fidx_same(op, np)) // unchanged in the file: run time wins
			ret = state_list_add_flow(out, S.e[i].canon);
		else if (np != NULL)
			ret = state_list_add_flow(out, np->canon); // edited in the file
		// else: removed from the file
	}
	for (unsigned i = 0; i < N.n && ret == 0; i++) {
		if (flows_find(&S, N.e[i].ident) != NULL)
			continue;
		// Unchanged in the file and absent at run time: deleted at run time.
		if (fidx_same(flows_find(&O, N.e[i].ident), &N.e[i]))
			continue;
		ret = state_list_add_flow(out, N.e[i].canon);
	}
out:
	flows_free(&S);
	flows_free(&O);
	flows_free(&N);
	return ret;
}

// ---------------------------------------------------------------------------------------------
// Three-way merge

// Places port `p` (declared in bridge `pbr`) in the output. A port the file changed needs its
// bridge: brought back from new_file if absent; a run-time port without its bridge is dropped.
static int merge_place(struct config_bridge **out, unsigned *n_out, const struct config_port *p,
	const struct config_bridge *pbr, bool from_file)
{
	struct config_bridge *tb = state_br_find(*out, *n_out, pbr->name);
	int ret;

	if (tb == NULL) {
		if (!from_file)
			return 0;
		if ((ret = list_add_bridge(out, n_out, pbr->name, pbr->opts, pbr->n_opts)) < 0)
			return ret;
		tb = &(*out)[*n_out - 1];
	}
	return list_add_port(tb, p->name, p->type, p->opts, p->n_opts);
}

int state_merge(const struct config_bridge *state, unsigned n_state,
	const struct config_bridge *old_file, unsigned n_old, const struct config_bridge *new_file,
	unsigned n_new, struct config_bridge **out, unsigned *n_out)
{
	struct config_bridge *res = NULL;
	unsigned n_res = 0;
	int ret = 0;

	// Bridges (their options only; ports are objects of their own below).
	for (unsigned i = 0; i < n_state; i++) {
		const struct config_bridge *s = &state[i],
					   *nb = state_br_find(new_file, n_new, s->name);
		const struct config_bridge *pick;

		pick = bridge_equal(state_br_find(old_file, n_old, s->name), nb) ? s : nb;
		if (pick &&
			(ret = list_add_bridge(
				 &res, &n_res, pick->name, pick->opts, pick->n_opts)) < 0)
			goto err;
	}
	for (unsigned i = 0; i < n_new; i++) {
		const struct config_bridge *nb = &new_file[i];

		if (state_br_find(state, n_state, nb->name) != NULL)
			continue;
		// Unchanged in the file and absent at run time: deleted at run time.
		if (bridge_equal(state_br_find(old_file, n_old, nb->name), nb))
			continue;
		if ((ret = list_add_bridge(&res, &n_res, nb->name, nb->opts, nb->n_opts)) < 0)
			goto err;
	}
	// Ports.
	for (unsigned i = 0; i < n_state; i++) {
		for (unsigned p = 0; p < state[i].n_ports; p++) {
			const struct config_port *sp = &state[i].ports[p], *op, *np;
			const struct config_bridge *obr = NULL, *nbr = NULL;

			op = state_port_find(old_file, n_old, sp->name, &obr);
			np = state_port_find(new_file, n_new, sp->name, &nbr);
			if (port_equal(op, obr, np, nbr))
				ret = merge_place(&res, &n_res, sp, &state[i], false);
			else if (np != NULL)
				ret = merge_place(&res, &n_res, np, nbr, true);
			if (ret < 0)
				goto err;
		}
	}
	for (unsigned i = 0; i < n_new; i++) {
		for (unsigned p = 0; p < new_file[i].n_ports; p++) {
			const struct config_port *np = &new_file[i].ports[p], *op;
			const struct config_bridge *obr = NULL;

			if (state_port_find(state, n_state, np->name, NULL) != NULL)
				continue;
			op = state_port_find(old_file, n_old, np->name, &obr);
			if (port_equal(op, obr, np, &new_file[i]))
				continue;
			if ((ret = merge_place(&res, &n_res, np, &new_file[i], true)) < 0)
				goto err;
		}
	}
	// Flows, per bridge of the result.
	for (unsigned i = 0; i < n_res; i++) {
		if ((ret = merge_flows(br_find_c(state, n_state, res[i].name),
			     br_find_c(old_file, n_old, res[i].name),
			     br_find_c(new_file, n_new, res[i].name), &res[i])) < 0)
			goto err;
	}
	*out = res;
	*n_out = n_res;
	return 0;
err:
	config_bridges_free(res, n_res);
	*out = NULL;
	*n_out = 0;
	return ret;
}

// ---------------------------------------------------------------------------------------------
// Datapath side

struct snap_ctx {
	struct config_bridge *b;
	unsigned n;
	int ret;
};

static void snap_flow(void *arg, const struct flow_rule_info *ri)
{
	struct snap_ctx *s = arg;

	if (s->ret == 0)
		s->ret = state_list_add_flow(&s->b[s->n - 1], ri->text);
}

static void snap_bridge(const struct dp_bridge_conf *br, void *arg)
{
	struct snap_ctx *s = arg;
	struct flow_table *ft;

	if (s->ret == 0)
		s->ret = list_add_bridge(&s->b, &s->n, br->name, br->opts, br->n_opts);
	if (s->ret == 0 && (ft = dp_bridge_flow_table(br->name)) != NULL)
		flow_table_dump(ft, NULL, false, 0, snap_flow, s);
}

static void snap_port(const struct dp_port_conf *p, void *arg)
{
	struct snap_ctx *s = arg;
	struct config_bridge *br;

	if (s->ret != 0 || (br = state_br_find(s->b, s->n, p->bridge)) == NULL)
		return;
	s->ret = list_add_port(br, p->name, p->type, p->opts, p->n_opts);
}

// What the datapath has now, as a bridge list.
static int dp_snapshot(struct config_bridge **out, unsigned *n)
{
	struct snap_ctx s = {.b = NULL, .n = 0, .ret = 0};

	dp_bridge_foreach(snap_bridge, &s);
	dp_port_foreach(snap_port, &s);
	if (s.ret < 0) {
		config_bridges_free(s.b, s.n);
		return s.ret;
	}
	*out = s.b;
	*n = s.n;
	return 0;
}

// Run-time state = datapath + pending objects it does not have (a pending port whose bridge is
// neither in the datapath nor pending is dropped).
static int state_current(const struct config_bridge *snap, unsigned n_snap,
	struct config_bridge **out, unsigned *n_out)
{
	struct config_bridge *res;
	unsigned n_res;
	int ret;

	if ((ret = config_bridges_dup(snap, n_snap, &res)) < 0)
		return ret;
	n_res = n_snap;
	for (unsigned i = 0; i < st.n_pend_br; i++) {
		const struct config_bridge *pb = &st.pend_br[i];

		if (state_br_find(res, n_res, pb->name) == NULL &&
			((ret = list_add_bridge(&res, &n_res, pb->name, pb->opts, pb->n_opts)) <
					0 ||
				(ret = list_add_flows(&res[n_res - 1], pb->flows, pb->n_flows)) <
					0))
			goto err;
	}
	for (unsigned i = 0; i < st.n_pend_ports; i++) {
		const struct config_bridge *pb = &st.pend_ports[i];
		struct config_bridge *tb = state_br_find(res, n_res, pb->name);

		for (unsigned p = 0; tb != NULL && p < pb->n_ports; p++) {
			const struct config_port *pp = &pb->ports[p];

			if (state_port_find(res, n_res, pp->name, NULL) != NULL)
				continue;
			if ((ret = list_add_port(tb, pp->name, pp->type, pp->opts, pp->n_opts)) < 0)
				goto err;
		}
	}
	*out = res;
	*n_out = n_res;
	return 0;
err:
	config_bridges_free(res, n_res);
	return ret;
}

// pending = wanted objects the datapath does not have.
static int pending_set(const struct config_bridge *want, unsigned n_want,
	const struct config_bridge *snap, unsigned n_snap)
{
	struct config_bridge *br = NULL, *ports = NULL;
	unsigned n_br = 0, n_ports = 0;
	int ret;

	for (unsigned i = 0; i < n_want; i++) {
		const struct config_bridge *wb = &want[i];
		struct config_bridge *tb = NULL;

		if (state_br_find(snap, n_snap, wb->name) == NULL &&
			((ret = list_add_bridge(&br, &n_br, wb->name, wb->opts, wb->n_opts)) < 0 ||
				(ret = list_add_flows(&br[n_br - 1], wb->flows, wb->n_flows)) < 0))
			goto err;
		for (unsigned p = 0; p < wb->n_ports; p++) {
			const struct config_port *wp = &wb->ports[p];

			if (state_port_find(snap, n_snap, wp->name, NULL) != NULL)
				continue;
			if (tb == NULL) {
				ret = list_add_bridge(&ports, &n_ports, wb->name, NULL, 0);
				if (ret < 0)
					goto err;
				tb = &ports[n_ports - 1];
			}
			if ((ret = list_add_port(tb, wp->name, wp->type, wp->opts, wp->n_opts)) < 0)
				goto err;
		}
	}
	config_bridges_free(st.pend_br, st.n_pend_br);
	config_bridges_free(st.pend_ports, st.n_pend_ports);
	st.pend_br = br;
	st.n_pend_br = n_br;
	st.pend_ports = ports;
	st.n_pend_ports = n_ports;
	return 0;
err:
	config_bridges_free(br, n_br);
	config_bridges_free(ports, n_ports);
	return ret;
}

// Copies a list leaving out the bridge (with its ports) or the port called `name`.
static int list_without(const struct config_bridge *b, unsigned n, const char *name,
	struct config_bridge **out, unsigned *n_out, bool *found)
{
	struct config_bridge *res = NULL;
	unsigned n_res = 0;
	int ret;

	for (unsigned i = 0; i < n; i++) {
		struct config_bridge *tb;

		if (strcmp(b[i].name, name) == 0) {
			*found = true;
			continue;
		}
		if ((ret = list_add_bridge(&res, &n_res, b[i].name, b[i].opts, b[i].n_opts)) < 0)
			goto err;
		tb = &res[n_res - 1];
		if ((ret = list_add_flows(tb, b[i].flows, b[i].n_flows)) < 0)
			goto err;
		for (unsigned p = 0; p < b[i].n_ports; p++) {
			const struct config_port *pp = &b[i].ports[p];

			if (strcmp(pp->name, name) == 0) {
				*found = true;
				continue;
			}
			if ((ret = list_add_port(tb, pp->name, pp->type, pp->opts, pp->n_opts)) < 0)
				goto err;
		}
	}
	*out = res;
	*n_out = n_res;
	return 0;
err:
	config_bridges_free(res, n_res);
	return ret;
}

static uint64_t state_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

// Snapshot, current state, prune pending, write. Used by state_save and at the end of an apply.
static int state_save__(struct err *err)
{
	struct config_bridge *snap = NULL, *cur = NULL;
	unsigned n_snap = 0, n_cur = 0;
	struct state_data d;
	int ret;

	if (!st.inited)
		return err_set(err, -ENODEV, "", "state: not initialised");
	if (st.save_disabled)
		return err_set(err, -EIO, "",
			"%s: not saved: the unreadable state file could not "
			"be moved aside (see the earlier error); move it away and restart",
			st.path);
	st.last_save_ms = state_now_ms();
	if ((ret = dp_snapshot(&snap, &n_snap)) < 0 ||
		(ret = state_current(snap, n_snap, &cur, &n_cur)) < 0 ||
		(ret = pending_set(cur, n_cur, snap, n_snap)) < 0) {
		err_set(err, ret, "", "%s: out of memory", st.path);
		goto out;
	}
	d = (struct state_data){
		.bridges = cur,
		.n_bridges = n_cur,
		.file_bridges = st.file_bridges,
		.n_file_bridges = st.n_file_bridges,
	};
	ret = state_file_write(st.dir, &d, err);
out:
	config_bridges_free(snap, n_snap);
	config_bridges_free(cur, n_cur);
	return ret;
}

int state_save(struct err *err)
{
	return state_save__(err);
}

static void state_flow_timer_cb(void *arg)
{
	struct err err = {0};

	st.flow_timer = NULL;
	if (!st.inited || st.applying)
		return;
	if (state_save__(&err) < 0)
		LOG_RL(ERR, "", "could not save the run-time state: %s", err.msg);
}

void state_flows_changed(void)
{
	uint64_t now = state_now_ms(), since;
	struct err err = {0};

	if (!st.inited || st.applying || st.flow_timer != NULL)
		return;
	since = now - st.last_save_ms;
	if (since < STATE_FLOW_SAVE_MS &&
		(st.flow_timer = loop_timer_once((unsigned)(STATE_FLOW_SAVE_MS - since),
			 state_flow_timer_cb, NULL)) != NULL)
		return;
	if (state_save__(&err) < 0)
		LOG_RL(ERR, "", "could not save the run-time state: %s", err.msg);
}

void state_change_hook(void *arg)
{
	struct err err = {0};

	if (!st.inited || st.applying)
		return;
	if (state_save__(&err) < 0)
		LOG_RL(ERR, "", "could not save the run-time state: %s", err.msg);
}

int state_forget(const char *name, struct err *err)
{
	struct config_bridge *br = NULL, *ports = NULL;
	unsigned n_br = 0, n_ports = 0;
	bool found = false;

	if (!st.inited)
		return err_set(err, -ENODEV, "", "state: not initialised");
	if (list_without(st.pend_br, st.n_pend_br, name, &br, &n_br, &found) < 0 ||
		list_without(st.pend_ports, st.n_pend_ports, name, &ports, &n_ports, &found) < 0) {
		config_bridges_free(br, n_br);
		return err_set(err, -ENOMEM, "", "state: out of memory");
	}
	if (!found) {
		config_bridges_free(br, n_br);
		config_bridges_free(ports, n_ports);
		return err_set(
			err, -ENOENT, "name", "%s: no pending bridge or port has this name", name);
	}
	config_bridges_free(st.pend_br, st.n_pend_br);
	config_bridges_free(st.pend_ports, st.n_pend_ports);
	st.pend_br = br;
	st.n_pend_br = n_br;
	st.pend_ports = ports;
	st.n_pend_ports = n_ports;
	LOG(NOTICE, "forgot pending %s", name);
	return state_save__(err);
}

// ---------------------------------------------------------------------------------------------
// Apply

struct changes {
	char **lines;
	unsigned n, cap;
	bool oom;
};

static void __printf(2, 3) change(struct changes *c, const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (line == NULL) {
		c->oom = true;
		return;
	}
	LOG(INFO, "%s", line);
	if (c->n == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 16;
		char **l = realloc(c->lines, cap * sizeof(*l));

		if (l == NULL) {
			free(line);
			c->oom = true;
			return;
		}
		c->lines = l;
		c->cap = cap;
	}
	c->lines[c->n++] = line;
}

void state_changes_free(char **changes, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(changes[i]);
	free(changes);
}

// "k=v, k2=v2" of a list of options, for change lines.
static void opts_describe(const struct port_kv *kv, unsigned n, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < n && o < size; i++) {
		if (kv[i].value[0] == '\0')
			o += (size_t)snprintf(
				out + o, size - o, "%s%s removed", i ? ", " : "", kv[i].key);
		else
			o += (size_t)snprintf(out + o, size - o, "%s%s=%s", i ? ", " : "",
				kv[i].key, kv[i].value);
	}
}

// Options to pass to dp_port_set to go from `cur` to `want`: changed and new keys with their
// value, removed keys with an empty value.
static int opts_diff(const struct config_port *cur, const struct config_port *want,
	struct port_kv **out, unsigned *n_out)
{
	struct port_kv *kv = calloc(cur->n_opts + want->n_opts + 1, sizeof(*kv));
	unsigned n = 0;

	if (kv == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < want->n_opts; i++) {
		const char *v = opts_get(cur->opts, cur->n_opts, want->opts[i].key);

		if (v == NULL || strcmp(v, want->opts[i].value) != 0)
			kv[n++] = want->opts[i];
	}
	for (unsigned i = 0; i < cur->n_opts; i++) {
		if (opts_get(want->opts, want->n_opts, cur->opts[i].key) == NULL)
			kv[n++] = (struct port_kv){.key = cur->opts[i].key, .value = ""};
	}
	*out = kv;
	*n_out = n;
	return 0;
}

// Deletions: ports that go away or change bridge/type, then bridges that go away or whose
// options changed (re-created below with their ports).
static void apply_deletions(const struct config_bridge *want, unsigned n_want,
	const struct config_bridge *snap, unsigned n_snap, struct changes *c)
{
	struct err err;

	for (unsigned i = 0; i < n_snap; i++) {
		for (unsigned p = 0; p < snap[i].n_ports; p++) {
			const struct config_port *sp = &snap[i].ports[p], *wp;
			const struct config_bridge *wbr = NULL;

			wp = state_port_find(want, n_want, sp->name, &wbr);
			if (wp != NULL && strcmp(wbr->name, snap[i].name) == 0 &&
				strcmp(wp->type, sp->type) == 0)
				continue;
			err_clear(&err);
			if (dp_port_del(sp->name, &err) < 0)
				change(c, "could not delete port %s: %s", sp->name, err.msg);
			else if (wp == NULL)
				change(c, "deleted port %s from %s", sp->name, snap[i].name);
			else
				change(c, "deleted port %s from %s to re-create it (%s changed)",
					sp->name, snap[i].name,
					strcmp(wbr->name, snap[i].name) ? "bridge" : "type");
		}
	}
	for (unsigned i = 0; i < n_snap; i++) {
		const struct config_bridge *wb = state_br_find(want, n_want, snap[i].name);

		if (wb != NULL && bridge_equal(wb, &snap[i]))
			continue;
		err_clear(&err);
		if (dp_bridge_del(snap[i].name, &err) < 0)
			change(c, "could not delete bridge %s: %s", snap[i].name, err.msg);
		else if (wb == NULL)
			change(c, "deleted bridge %s", snap[i].name);
		else
			change(c, "deleted bridge %s to re-create it (options changed)",
				snap[i].name);
	}
}

static void apply_port_set(const struct config_port *cur, const struct config_port *wp,
	const char *bridge, struct changes *c)
{
	struct port_kv *kv;
	unsigned n_kv;
	char desc[256];
	struct err err = {0};
	int ret;

	if (opts_diff(cur, wp, &kv, &n_kv) < 0) {
		c->oom = true;
		return;
	}
	opts_describe(kv, n_kv, desc, sizeof(desc));
	ret = dp_port_set(wp->name, kv, n_kv, &err);
	free(kv);
	if (ret == 0) {
		change(c, "changed port %s options: %s", wp->name, desc);
		return;
	}
	if (ret != -EOPNOTSUPP) {
		change(c, "could not change options of port %s (%s): %s", wp->name, desc, err.msg);
		return;
	}
	// The driver cannot change these options live: re-create the port.
	err_clear(&err);
	if (dp_port_del(wp->name, &err) < 0) {
		change(c, "could not delete port %s to change its options: %s", wp->name, err.msg);
		return;
	}
	err_clear(&err);
	if (dp_port_add(bridge, wp->name, wp->type, wp->opts, wp->n_opts, &err) < 0)
		change(c,
			"could not re-create port %s with new options (%s): %s; will retry at "
			"the next reload",
			wp->name, desc, err.msg);
	else
		change(c, "re-created port %s to change options: %s", wp->name, desc);
}

static void apply_bridge_adds(const struct config_bridge *want, unsigned n_want,
	const struct config_bridge *snap, unsigned n_snap, struct changes *c)
{
	char desc[256];
	struct err err;

	for (unsigned i = 0; i < n_want; i++) {
		const struct config_bridge *wb = &want[i];

		if (state_br_find(snap, n_snap, wb->name) != NULL)
			continue;
		err_clear(&err);
		opts_describe(wb->opts, wb->n_opts, desc, sizeof(desc));
		if (dp_bridge_add(wb->name, wb->opts, wb->n_opts, &err) < 0)
			change(c,
				"could not add bridge %s: %s; it and its %u port(s) will be "
				"retried at the next reload",
				wb->name, err.msg, wb->n_ports);
		else
			change(c, "added bridge %s%s%s", wb->name, desc[0] ? " with " : "", desc);
	}
}

// Ports of the bridges the datapath has (snap is taken after bridge additions): added, or their
// options changed.
static void apply_ports(const struct config_bridge *want, unsigned n_want,
	const struct config_bridge *snap, unsigned n_snap, struct changes *c)
{
	struct err err;

	for (unsigned i = 0; i < n_want; i++) {
		const struct config_bridge *wb = &want[i];

		if (state_br_find(snap, n_snap, wb->name) == NULL)
			continue; // could not be added: listed already, retried with its ports
		for (unsigned p = 0; p < wb->n_ports; p++) {
			const struct config_port *wp = &wb->ports[p], *sp;
			const struct config_bridge *sbr = NULL;

			sp = state_port_find(snap, n_snap, wp->name, &sbr);
			if (sp != NULL) {
				// Same bridge and type (else deleted above, or deletion failed).
				if (strcmp(sbr->name, wb->name) != 0 ||
					strcmp(sp->type, wp->type) != 0)
					continue;
				if (!opts_equal(sp->opts, sp->n_opts, wp->opts, wp->n_opts))
					apply_port_set(sp, wp, wb->name, c);
				continue;
			}
			err_clear(&err);
			if (dp_port_add(wb->name, wp->name, wp->type, wp->opts, wp->n_opts, &err) <
				0)
				change(c,
					"could not add port %s to %s: %s; will retry at the next "
					"reload",
					wp->name, wb->name, err.msg);
			else
				change(c, "added port %s to %s (type %s)", wp->name, wb->name,
					wp->type);
		}
	}
}

static void apply_flows_dump(void *arg, const struct flow_rule_info *ri)
{
	struct config_bridge *b = arg;

	if (state_list_add_flow(b, ri->text) < 0)
		b->line = 1; // marks the allocation failure for the caller
}

// Flows of one bridge the datapath has: rules not wanted are deleted, rules new or whose actions,
// cookie or timeouts differ are added (replacing), equal rules are left alone (their counters
// keep running). A rule that cannot be added is reported and dropped.
static void apply_bridge_flows(
	const struct config_bridge *wb, struct flow_table *ft, struct changes *c)
{
	struct config_bridge cur = {0};
	struct flist W = {0}, C = {0};
	struct flow_spec *spec = malloc(sizeof(*spec));
	unsigned added = 0, replaced = 0, deleted = 0;

	flow_table_dump(ft, NULL, false, 0, apply_flows_dump, &cur);
	if (spec == NULL || cur.line != 0 || flows_index(wb->flows, wb->n_flows, &W) < 0 ||
		flows_index(cur.flows, cur.n_flows, &C) < 0) {
		c->oom = true;
		goto out;
	}
	for (unsigned i = 0; i < C.n; i++) {
		struct err e = {0};
		unsigned n = 0;

		if (flows_find(&W, C.e[i].ident) != NULL)
			continue;
		if (flow_parse(C.e[i].canon, strlen(C.e[i].canon), FLOW_PARSE_ADD, spec, &e) == 0 &&
			flow_table_del(ft, spec, true, &n) == 0)
			deleted += n;
	}
	for (unsigned i = 0; i < W.n; i++) {
		const struct fidx *ce = flows_find(&C, W.e[i].ident);
		struct err e = {0};

		if (fidx_same(ce, &W.e[i]))
			continue;
		if (flow_parse(W.e[i].canon, strlen(W.e[i].canon), FLOW_PARSE_ADD, spec, &e) < 0 ||
			flow_table_add(ft, spec, FLOW_TABLE_ALLOW_MISSING_PORTS, &e) < 0) {
			change(c, "could not add flow \"%s\" to %s: %s", W.e[i].canon, wb->name,
				e.msg);
			continue;
		}
		if (ce != NULL)
			replaced++;
		else
			added++;
	}
	if (added + replaced + deleted > 0) {
		dp_bridge_flows_changed(wb->name);
		change(c, "flows of %s: %u added, %u replaced, %u deleted", wb->name, added,
			replaced, deleted);
	}
out:
	free(spec);
	flows_free(&W);
	flows_free(&C);
	for (unsigned f = 0; f < cur.n_flows; f++)
		free(cur.flows[f]);
	free(cur.flows);
}

static void apply_flows(const struct config_bridge *want, unsigned n_want, struct changes *c)
{
	for (unsigned i = 0; i < n_want; i++) {
		struct flow_table *ft = dp_bridge_flow_table(want[i].name);

		if (ft != NULL)
			apply_bridge_flows(&want[i], ft, c);
	}
}

int state_apply_config(
	const struct config *cfg, char ***changes, unsigned *n_changes, struct err *err)
{
	struct config_bridge *snap = NULL, *cur = NULL, *want = NULL, *file = NULL;
	unsigned n_snap = 0, n_cur = 0, n_want = 0;
	struct changes c = {0};
	struct err serr = {0};
	int ret;

	*changes = NULL;
	*n_changes = 0;
	if (!st.inited)
		return err_set(err, -ENODEV, "", "state: not initialised");
	if ((ret = dp_snapshot(&snap, &n_snap)) < 0 ||
		(ret = state_current(snap, n_snap, &cur, &n_cur)) < 0 ||
		(ret = state_merge(cur, n_cur, st.file_bridges, st.n_file_bridges, cfg->bridges,
			 cfg->n_bridges, &want, &n_want)) < 0 ||
		(ret = config_bridges_dup(cfg->bridges, cfg->n_bridges, &file)) < 0)
		goto err_nomem;

	st.applying = true;
	apply_deletions(want, n_want, snap, n_snap, &c);
	config_bridges_free(snap, n_snap);
	snap = NULL;
	n_snap = 0;
	if ((ret = dp_snapshot(&snap, &n_snap)) < 0)
		goto err_applying;
	apply_bridge_adds(want, n_want, snap, n_snap, &c);
	config_bridges_free(snap, n_snap);
	snap = NULL;
	n_snap = 0;
	if ((ret = dp_snapshot(&snap, &n_snap)) < 0)
		goto err_applying;
	apply_ports(want, n_want, snap, n_snap, &c);
	apply_flows(want, n_want, &c);
	config_bridges_free(snap, n_snap);
	snap = NULL;
	n_snap = 0;
	st.applying = false;

	// What could not be created stays pending; the file section is now the one applied.
	if ((ret = dp_snapshot(&snap, &n_snap)) < 0 ||
		(ret = pending_set(want, n_want, snap, n_snap)) < 0)
		goto err_nomem;
	config_bridges_free(st.file_bridges, st.n_file_bridges);
	st.file_bridges = file;
	st.n_file_bridges = cfg->n_bridges;
	file = NULL;
	if (state_save__(&serr) < 0) {
		LOG(ERR, "could not save the run-time state: %s", serr.msg);
		change(&c, "state not saved: %s", serr.msg);
	}
	if (c.oom) {
		ret = -ENOMEM;
		goto err_nomem;
	}
	ret = 0;
	*changes = c.lines;
	*n_changes = c.n;
	c.lines = NULL;
	c.n = 0;
	goto out;
err_applying:
	st.applying = false;
err_nomem:
	err_set(err, ret, "", "state: out of memory while applying the configuration");
out:
	state_changes_free(c.lines, c.n);
	config_bridges_free(snap, n_snap);
	config_bridges_free(cur, n_cur);
	config_bridges_free(want, n_want);
	config_bridges_free(file, cfg->n_bridges);
	return ret;
}

int state_init(const char *state_dir, struct err *err)
{
	struct state_data d;
	struct err rerr = {0};
	char aside[PATH_MAX];
	int ret;

	state_fini();
	if ((ret = state_file_mkdir(state_dir, err)) < 0)
		return ret;
	st.dir = strdup(state_dir);
	if (st.dir == NULL || asprintf(&st.path, "%s/%s", state_dir, STATE_FILE_NAME) < 0) {
		st.path = NULL;
		state_fini();
		return err_set(err, -ENOMEM, "", "state: out of memory");
	}
	state_file_remove_stale_tmp(state_dir);
	ret = state_file_read(st.path, &d, &rerr);
	if (ret == -ENOMEM) {
		state_fini();
		return err_set(err, ret, "", "%s", rerr.msg);
	}
	if (ret == 0) {
		// Nothing is in the datapath yet: the whole run-time state is pending.
		if (pending_set(d.bridges, d.n_bridges, NULL, 0) < 0) {
			state_data_free(&d);
			state_fini();
			return err_set(err, -ENOMEM, "", "state: out of memory");
		}
		LOG(INFO, "loaded %s: %u bridge(s)", st.path, d.n_bridges);
		config_bridges_free(d.bridges, d.n_bridges);
		st.file_bridges = d.file_bridges;
		st.n_file_bridges = d.n_file_bridges;
	} else if (ret == -ENOENT) {
		LOG(INFO, "no %s yet: starting from the configuration file only", st.path);
	} else {
		// Never refuse to start and never lose the file: move it aside for a human.
		if ((ret = state_file_move_aside(st.path, aside, sizeof(aside))) == 0) {
			LOG(ERR,
				"%s; moved it to %s and continuing from the configuration "
				"file only",
				rerr.msg, aside);
		} else {
			st.save_disabled = true;
			LOG(ERR,
				"%s; could not move it aside (%s): continuing from the "
				"configuration file only, and NOT saving run-time changes so "
				"that it is kept",
				rerr.msg, strerror(-ret));
		}
	}
	st.inited = true;
	return 0;
}

void state_fini(void)
{
	loop_cancel(st.flow_timer);
	config_bridges_free(st.pend_br, st.n_pend_br);
	config_bridges_free(st.pend_ports, st.n_pend_ports);
	config_bridges_free(st.file_bridges, st.n_file_bridges);
	free(st.dir);
	free(st.path);
	memset(&st, 0, sizeof(st));
}
