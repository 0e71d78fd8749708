// SPDX-License-Identifier: Apache-2.0
// Persistence of run-time bridges/ports (state.json, atomic writes, corrupt files moved aside) and
// the three-way merge with the YAML `bridges:` section, applied to the datapath. See state.h.
#include "control/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control/loop.h"
#include "dataplane/dp.h"
#include "dataplane/flow_parse.h"
#include "dataplane/flow_table.h"
#include "dataplane/log.h"

LOG_MODULE("state");

#define STATE_TMP_PREFIX STATE_FILE_NAME ".tmp-"
#define STATE_MAX_FILE_SIZE (64u << 20)
#define STATE_MAX_OPT_VALUE 4096

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

static void (*pre_rename_hook)(const char *tmp_path);

void state_set_pre_rename_hook(void (*fn)(const char *tmp_path))
{
	pre_rename_hook = fn;
}

// ---------------------------------------------------------------------------------------------
// Bridge lists

static struct config_bridge *br_find(const struct config_bridge *b, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(b[i].name, name) == 0)
			return (struct config_bridge *)&b[i];
	return NULL;
}

// Port names are global: finds the port and the bridge holding it.
static const struct config_port *port_find(const struct config_bridge *b, unsigned n,
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
static int list_add_flow(struct config_bridge *br, const char *text)
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
		if ((ret = list_add_flow(br, flows[i])) < 0)
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
	return b != NULL ? br_find(b, n, name) : NULL;
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
			ret = list_add_flow(out, S.e[i].canon);
		else if (np != NULL)
			ret = list_add_flow(out, np->canon); // edited in the file
		// else: removed from the file
	}
	for (unsigned i = 0; i < N.n && ret == 0; i++) {
		if (flows_find(&S, N.e[i].ident) != NULL)
			continue;
		// Unchanged in the file and absent at run time: deleted at run time.
		if (fidx_same(flows_find(&O, N.e[i].ident), &N.e[i]))
			continue;
		ret = list_add_flow(out, N.e[i].canon);
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
	struct config_bridge *tb = br_find(*out, *n_out, pbr->name);
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
		const struct config_bridge *s = &state[i], *nb = br_find(new_file, n_new, s->name);
		const struct config_bridge *pick;

		pick = bridge_equal(br_find(old_file, n_old, s->name), nb) ? s : nb;
		if (pick &&
			(ret = list_add_bridge(
				 &res, &n_res, pick->name, pick->opts, pick->n_opts)) < 0)
			goto err;
	}
	for (unsigned i = 0; i < n_new; i++) {
		const struct config_bridge *nb = &new_file[i];

		if (br_find(state, n_state, nb->name) != NULL)
			continue;
		// Unchanged in the file and absent at run time: deleted at run time.
		if (bridge_equal(br_find(old_file, n_old, nb->name), nb))
			continue;
		if ((ret = list_add_bridge(&res, &n_res, nb->name, nb->opts, nb->n_opts)) < 0)
			goto err;
	}
	// Ports.
	for (unsigned i = 0; i < n_state; i++) {
		for (unsigned p = 0; p < state[i].n_ports; p++) {
			const struct config_port *sp = &state[i].ports[p], *op, *np;
			const struct config_bridge *obr = NULL, *nbr = NULL;

			op = port_find(old_file, n_old, sp->name, &obr);
			np = port_find(new_file, n_new, sp->name, &nbr);
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

			if (port_find(state, n_state, np->name, NULL) != NULL)
				continue;
			op = port_find(old_file, n_old, np->name, &obr);
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
// state.json

void state_data_free(struct state_data *d)
{
	config_bridges_free(d->bridges, d->n_bridges);
	config_bridges_free(d->file_bridges, d->n_file_bridges);
	memset(d, 0, sizeof(*d));
}

static json_t *opts_to_json(const struct port_kv *kv, unsigned n)
{
	json_t *o = json_object();

	for (unsigned i = 0; o != NULL && i < n; i++) {
		if (json_object_set_new(o, kv[i].key, json_string(kv[i].value)) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

// NULL on allocation failure. json_pack steals "o" references even when it fails.
static json_t *bridges_to_json(const struct config_bridge *b, unsigned n)
{
	json_t *arr = json_array();

	for (unsigned i = 0; arr != NULL && i < n; i++) {
		json_t *ports = json_array(), *br;

		for (unsigned p = 0; ports != NULL && p < b[i].n_ports; p++) {
			const struct config_port *port = &b[i].ports[p];
			json_t *jp = json_pack("{s:s, s:s, s:o}", "name", port->name, "type",
				port->type, "options", opts_to_json(port->opts, port->n_opts));

			if (json_array_append_new(ports, jp) < 0) {
				json_decref(ports);
				ports = NULL;
			}
		}
		br = json_pack("{s:s, s:o, s:o}", "name", b[i].name, "options",
			opts_to_json(b[i].opts, b[i].n_opts), "ports", ports);
		if (br != NULL && b[i].n_flows > 0) {
			json_t *flows = json_array();

			for (unsigned f = 0; flows != NULL && f < b[i].n_flows; f++) {
				if (json_array_append_new(flows, json_string(b[i].flows[f])) < 0) {
					json_decref(flows);
					flows = NULL;
				}
			}
			if (json_object_set_new(br, "flows", flows) < 0) {
				json_decref(br);
				br = NULL;
			}
		}
		if (json_array_append_new(arr, br) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

// Shape errors in a state file: "FILE: bridges[0].ports[1].type: expected a string".
static int __printf(4, 5)
	sf_err(struct err *err, const char *path, const char *where, const char *fmt, ...)
{
	char what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(err, -EINVAL, where, "%s: %s: %s", path, where, what);
}

static int opts_from_json(json_t *o, const char *path, const char *where, struct port_kv **out,
	unsigned *n_out, struct err *err)
{
	const char *key;
	json_t *v;
	unsigned i = 0;

	*out = NULL;
	*n_out = 0;
	if (o == NULL)
		return 0;
	if (!json_is_object(o))
		return sf_err(err, path, where, "expected an object of option strings");
	if (json_object_size(o) > PORT_ARGS_MAX)
		return sf_err(err, path, where, "too many options (max %u)", PORT_ARGS_MAX);
	if (json_object_size(o) == 0)
		return 0;
	if ((*out = calloc(json_object_size(o), sizeof(**out))) == NULL)
		return err_set(err, -ENOMEM, "", "%s: out of memory", path);
	json_object_foreach(o, key, v) {
		if (*key == '\0' || !json_is_string(v) || json_string_length(v) == 0 ||
			json_string_length(v) > STATE_MAX_OPT_VALUE)
			return sf_err(err, path, where,
				"option \"%.64s\": expected a non-empty string value", key);
		(*out)[i].key = strdup(key);
		(*out)[i].value = strdup(json_string_value(v));
		*n_out = ++i;
		if ((*out)[i - 1].key == NULL || (*out)[i - 1].value == NULL)
			return err_set(err, -ENOMEM, "", "%s: out of memory", path);
	}
	return 0;
}

static int name_from_json(
	json_t *v, size_t max, const char *path, const char *where, struct err *err)
{
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= max)
		return sf_err(err, path, where,
			"expected a non-empty string of less than %zu bytes", max);
	return 0;
}

// "flows": [rule text, ...], each checked by the flow parser.
static int flows_from_json(
	json_t *arr, const char *path, const char *where, struct config_bridge *br, struct err *err)
{
	struct flow_spec *spec;
	char fwhere[128];
	json_t *v;
	size_t i;
	int ret = 0;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > FLOW_TABLE_MAX_RULES)
		return sf_err(err, path, where,
			"flows: expected an array of at most %u rule strings",
			FLOW_TABLE_MAX_RULES);
	if ((spec = malloc(sizeof(*spec))) == NULL)
		return err_set(err, -ENOMEM, "", "%s: out of memory", path);
	json_array_foreach(arr, i, v) {
		struct err perr = {0};

		snprintf(fwhere, sizeof(fwhere), "%s.flows[%zu]", where, i);
		if (!json_is_string(v)) {
			ret = sf_err(err, path, fwhere, "expected a rule string");
			break;
		}
		if (flow_parse(json_string_value(v), json_string_length(v), FLOW_PARSE_ADD, spec,
			    &perr) < 0) {
			ret = sf_err(err, path, fwhere, "invalid flow: %s", perr.msg);
			break;
		}
		if ((ret = list_add_flow(br, json_string_value(v))) < 0) {
			ret = err_set(err, -ENOMEM, "", "%s: out of memory", path);
			break;
		}
	}
	free(spec);
	return ret;
}

static int bridges_from_json(json_t *arr, const char *path, const char *key,
	struct config_bridge **out, unsigned *n_out, struct err *err)
{
	char where[96];
	size_t i;
	json_t *jb;
	int ret;

	*out = NULL;
	*n_out = 0;
	if (!json_is_array(arr))
		return sf_err(err, path, key, "expected an array of bridges");
	if (json_array_size(arr) == 0)
		return 0;
	if ((*out = calloc(json_array_size(arr), sizeof(**out))) == NULL)
		return err_set(err, -ENOMEM, "", "%s: out of memory", path);
	json_array_foreach(arr, i, jb) {
		struct config_bridge *br = &(*out)[i];
		json_t *name = NULL, *opts = NULL, *ports = NULL, *flows = NULL, *jp;
		size_t p;

		*n_out = (unsigned)i + 1;
		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if (json_unpack(jb, "{s:o, s?o, s?o, s?o !}", "name", &name, "options", &opts,
			    "ports", &ports, "flows", &flows) < 0)
			return sf_err(err, path, where,
				"expected an object with name, options, ports and flows only");
		if ((ret = name_from_json(name, DP_BRIDGE_NAME_MAX, path, where, err)) < 0)
			return ret;
		if (br_find(*out, (unsigned)i, json_string_value(name)) != NULL)
			return sf_err(err, path, where, "duplicate bridge name \"%s\"",
				json_string_value(name));
		if ((br->name = strdup(json_string_value(name))) == NULL)
			return err_set(err, -ENOMEM, "", "%s: out of memory", path);
		if ((ret = opts_from_json(opts, path, where, &br->opts, &br->n_opts, err)) < 0)
			return ret;
		if ((ret = flows_from_json(flows, path, where, br, err)) < 0)
			return ret;
		if (ports == NULL)
			continue;
		if (!json_is_array(ports) || json_array_size(ports) > PORT_MAX)
			return sf_err(err, path, where,
				"ports: expected an array of at most %u ports", PORT_MAX);
		if (json_array_size(ports) == 0)
			continue;
		if ((br->ports = calloc(json_array_size(ports), sizeof(*br->ports))) == NULL)
			return err_set(err, -ENOMEM, "", "%s: out of memory", path);
		json_array_foreach(ports, p, jp) {
			struct config_port *port = &br->ports[p];
			json_t *pname = NULL, *type = NULL, *popts = NULL;

			snprintf(where, sizeof(where), "%s[%zu].ports[%zu]", key, i, p);
			if (json_unpack(jp, "{s:o, s:o, s?o !}", "name", &pname, "type", &type,
				    "options", &popts) < 0)
				return sf_err(err, path, where,
					"expected an object with name, type and options only");
			if ((ret = name_from_json(pname, PORT_NAME_MAX, path, where, err)) < 0 ||
				(ret = name_from_json(type, 64, path, where, err)) < 0)
				return ret;
			if (port_find(*out, (unsigned)i + 1, json_string_value(pname), NULL) !=
				NULL)
				return sf_err(err, path, where, "duplicate port name \"%s\"",
					json_string_value(pname));
			br->n_ports = (unsigned)p + 1; // counted once checked, for the free
			port->name = strdup(json_string_value(pname));
			port->type = strdup(json_string_value(type));
			if (port->name == NULL || port->type == NULL)
				return err_set(err, -ENOMEM, "", "%s: out of memory", path);
			if ((ret = opts_from_json(
				     popts, path, where, &port->opts, &port->n_opts, err)) < 0)
				return ret;
		}
	}
	return 0;
}

int state_file_read(const char *path, struct state_data *d, struct err *err)
{
	json_t *root = NULL, *bridges = NULL, *file_bridges = NULL;
	json_error_t jerr;
	struct stat sb;
	int version = 0, fd, ret;

	memset(d, 0, sizeof(*d));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return ret;
		return err_set(err, ret, "", "%s: cannot open: %s", path, strerror(-ret));
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > STATE_MAX_FILE_SIZE) {
		ret = err_set(err, -EINVAL, "", "%s: not a regular file of at most %u bytes", path,
			STATE_MAX_FILE_SIZE);
		goto out;
	}
	if ((root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		ret = err_set(err, -EINVAL, "", "%s: line %d, column %d: invalid JSON: %s", path,
			jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (json_unpack(root, "{s:i, s:o, s:o !}", "version", &version, "bridges", &bridges,
		    "file_bridges", &file_bridges) < 0) {
		ret = err_set(err, -EINVAL, "",
			"%s: expected an object with version, bridges and "
			"file_bridges only",
			path);
		goto out;
	}
	if (version != STATE_VERSION) {
		ret = err_set(err, -EINVAL, "version",
			"%s: version %d is not supported (this "
			"vswitchd reads version %d)",
			path, version, STATE_VERSION);
		goto out;
	}
	if ((ret = bridges_from_json(bridges, path, "bridges", &d->bridges, &d->n_bridges, err)) <
		0)
		goto out;
	ret = bridges_from_json(
		file_bridges, path, "file_bridges", &d->file_bridges, &d->n_file_bridges, err);
out:
	json_decref(root);
	close(fd);
	if (ret < 0)
		state_data_free(d);
	return ret;
}

// mkdir -p; the last component gets 0750 (it holds the run-time configuration).
static int mkdir_p(const char *dir, struct err *err)
{
	char buf[PATH_MAX];
	struct stat sb;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return err_set(err, -ENAMETOOLONG, "state-dir", "state-dir %s: path too long", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return err_set(err, -errno, "state-dir",
				"state-dir %s: cannot create %s: %s", dir, buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return err_set(err, -errno, "state-dir", "state-dir %s: cannot create: %s", dir,
			strerror(errno));
	if (stat(dir, &sb) < 0)
		return err_set(err, -errno, "state-dir", "state-dir %s: %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return err_set(err, -ENOTDIR, "state-dir", "state-dir %s: not a directory", dir);
	if (access(dir, W_OK | X_OK) < 0)
		return err_set(err, -errno, "state-dir", "state-dir %s: not writable: %s", dir,
			strerror(errno));
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int state_file_write(const char *dir, const struct state_data *d, struct err *err)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	json_t *root;
	char *text = NULL;
	int fd = -1, dfd, ret;

	if ((ret = mkdir_p(dir, err)) < 0)
		return ret;
	if (snprintf(final, sizeof(final), "%s/%s", dir, STATE_FILE_NAME) >= (int)sizeof(final) ||
		snprintf(tmp, sizeof(tmp), "%s/%sXXXXXX", dir, STATE_TMP_PREFIX) >=
			(int)sizeof(tmp))
		return err_set(err, -ENAMETOOLONG, "state-dir", "state-dir %s: path too long", dir);
	root = json_pack("{s:i, s:o, s:o}", "version", STATE_VERSION, "bridges",
		bridges_to_json(d->bridges, d->n_bridges), "file_bridges",
		bridges_to_json(d->file_bridges, d->n_file_bridges));
	if (root == NULL || (text = json_dumps(root, JSON_INDENT(2))) == NULL) {
		json_decref(root);
		return err_set(err, -ENOMEM, "", "%s: out of memory", final);
	}
	json_decref(root);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		ret = err_set(err, -errno, "", "%s: cannot create a temporary file: %s", dir,
			strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0640) < 0 || (ret = write_all(fd, text, strlen(text))) < 0 ||
		(ret = write_all(fd, "\n", 1)) < 0 || fsync(fd) < 0) {
		ret = ret < 0 ? ret : -errno;
		err_set(err, ret, "", "%s: cannot write: %s", tmp, strerror(-ret));
		goto err_tmp;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = err_set(err, -errno, "", "%s: cannot write: %s", tmp, strerror(errno));
		goto err_tmp;
	}
	fd = -1;
	if (pre_rename_hook != NULL)
		pre_rename_hook(tmp);
	if (rename(tmp, final) < 0) {
		ret = err_set(err, -errno, "", "%s: cannot rename to %s: %s", tmp, final,
			strerror(errno));
		goto err_tmp;
	}
	// The rename is durable only once the directory entry is on disk.
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) < 0) {
		ret = err_set(
			err, -errno, "", "%s: cannot sync the directory: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	close(dfd);
	ret = 0;
	goto out;
err_tmp:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(text);
	return ret;
}

// Renames an unreadable state file to state.json.corrupt-<UTC time>[-N], never replacing one.
static int move_aside(const char *path, char *aside, size_t size)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (unsigned n = 0; n < 100; n++) {
		int r;

		if (n == 0)
			r = snprintf(aside, size, "%s.corrupt-%s", path, stamp);
		else
			r = snprintf(aside, size, "%s.corrupt-%s-%u", path, stamp, n);
		if (r >= (int)size)
			return -ENAMETOOLONG;
		if (renameat2(AT_FDCWD, path, AT_FDCWD, aside, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EEXIST)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			return -errno;
		// File system without RENAME_NOREPLACE: check, then rename (single writer: us).
		if (access(aside, F_OK) == 0)
			continue;
		return rename(path, aside) < 0 ? -errno : 0;
	}
	return -EEXIST;
}

// Removes temporary files left by a save that was interrupted before its rename.
static void remove_stale_tmp(const char *dir)
{
	struct dirent *de;
	DIR *dh = opendir(dir);

	if (dh == NULL)
		return;
	while ((de = readdir(dh)) != NULL) {
		if (strncmp(de->d_name, STATE_TMP_PREFIX, strlen(STATE_TMP_PREFIX)) != 0)
			continue;
		if (unlinkat(dirfd(dh), de->d_name, 0) == 0)
			LOG(NOTICE, "removed %s/%s left by an interrupted save", dir, de->d_name);
	}
	closedir(dh);
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
		s->ret = list_add_flow(&s->b[s->n - 1], ri->text);
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

	if (s->ret != 0 || (br = br_find(s->b, s->n, p->bridge)) == NULL)
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

		if (br_find(res, n_res, pb->name) == NULL &&
			((ret = list_add_bridge(&res, &n_res, pb->name, pb->opts, pb->n_opts)) <
					0 ||
				(ret = list_add_flows(&res[n_res - 1], pb->flows, pb->n_flows)) <
					0))
			goto err;
	}
	for (unsigned i = 0; i < st.n_pend_ports; i++) {
		const struct config_bridge *pb = &st.pend_ports[i];
		struct config_bridge *tb = br_find(res, n_res, pb->name);

		for (unsigned p = 0; tb != NULL && p < pb->n_ports; p++) {
			const struct config_port *pp = &pb->ports[p];

			if (port_find(res, n_res, pp->name, NULL) != NULL)
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

		if (br_find(snap, n_snap, wb->name) == NULL &&
			((ret = list_add_bridge(&br, &n_br, wb->name, wb->opts, wb->n_opts)) < 0 ||
				(ret = list_add_flows(&br[n_br - 1], wb->flows, wb->n_flows)) < 0))
			goto err;
		for (unsigned p = 0; p < wb->n_ports; p++) {
			const struct config_port *wp = &wb->ports[p];

			if (port_find(snap, n_snap, wp->name, NULL) != NULL)
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

			wp = port_find(want, n_want, sp->name, &wbr);
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
		const struct config_bridge *wb = br_find(want, n_want, snap[i].name);

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

		if (br_find(snap, n_snap, wb->name) != NULL)
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

		if (br_find(snap, n_snap, wb->name) == NULL)
			continue; // could not be added: listed already, retried with its ports
		for (unsigned p = 0; p < wb->n_ports; p++) {
			const struct config_port *wp = &wb->ports[p], *sp;
			const struct config_bridge *sbr = NULL;

			sp = port_find(snap, n_snap, wp->name, &sbr);
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

	if (list_add_flow(b, ri->text) < 0)
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
	if ((ret = mkdir_p(state_dir, err)) < 0)
		return ret;
	st.dir = strdup(state_dir);
	if (st.dir == NULL || asprintf(&st.path, "%s/%s", state_dir, STATE_FILE_NAME) < 0) {
		st.path = NULL;
		state_fini();
		return err_set(err, -ENOMEM, "", "state: out of memory");
	}
	remove_stale_tmp(state_dir);
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
		if ((ret = move_aside(st.path, aside, sizeof(aside))) == 0) {
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
