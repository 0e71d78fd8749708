// SPDX-License-Identifier: Apache-2.0
// RPC methods flow.add, flow.del, flow.mod, flow.dump, flow.stats, flow.trace and
// flow.trace_live: JSON wrappers around the bridges' flow tables (dataplane/flow_table.h,
// flow_trace.h). Rule text is parsed here (dataplane/flow_parse.h); changes are persisted through
// state_flows_changed().
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/rpc.h"
#include "control/state.h"
#include "dataplane/dp.h"
#include "dataplane/flow_parse.h"
#include "dataplane/flow_table.h"
#include "dataplane/flow_trace.h"
#include "dataplane/log.h"
#include "dataplane/mac_table.h"

LOG_MODULE("flow");

#define RPC_FLOW_BULK_MAX 100000 // flows in one flow.add

static struct flow_table *rpc_flow_table(struct rpc_call *call, const char *bridge)
{
	struct flow_table *ft = dp_bridge_flow_table(bridge);

	if (ft == NULL)
		err_set(&call->err, -ENOENT, "bridge", "bridge %s does not exist", bridge);
	return ft;
}

// Parses one rule text; the message says where (which param, which column).
static int rpc_flow_parse(struct rpc_call *call, const char *bridge, const char *where,
	const char *text, enum flow_parse_mode mode, struct flow_spec *spec)
{
	struct err perr = {0};
	int ret;

	if ((ret = flow_parse(text, strlen(text), mode, spec, &perr)) < 0)
		return err_set(
			&call->err, ret, where, "bridge %s: invalid flow: %s", bridge, perr.msg);
	return 0;
}

static void rpc_flow_changed(const char *bridge)
{
	dp_bridge_flows_changed(bridge);
	state_flows_changed();
}

static int rpc_flow_add(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *bridge, *one = NULL;
	json_t *list = NULL, *v;
	struct flow_spec *specs = NULL;
	struct flow_table *ft;
	size_t n, i;
	char where[32];
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s, s?s, s?o}", "bridge", &bridge, "flow", &one,
		     "flows", &list)) < 0)
		return ret;
	if ((one == NULL) == (list == NULL))
		return err_set(&call->err, -EINVAL, "flow",
			"give either flow (one rule) or flows (a "
			"list of rules)");
	if (list != NULL &&
		(!json_is_array(list) || json_array_size(list) == 0 ||
			json_array_size(list) > RPC_FLOW_BULK_MAX))
		return err_set(&call->err, -EINVAL, "flows",
			"flows: expected a list of 1 to %d "
			"rule strings",
			RPC_FLOW_BULK_MAX);
	if ((ft = rpc_flow_table(call, bridge)) == NULL)
		return -ENOENT;
	n = list != NULL ? json_array_size(list) : 1;
	if ((specs = malloc(n * sizeof(*specs))) == NULL)
		return err_set(&call->err, -ENOMEM, "", "out of memory");
	// Everything is checked before anything changes.
	for (i = 0; i < n; i++) {
		const char *text = one;

		if (list != NULL) {
			v = json_array_get(list, i);
			snprintf(where, sizeof(where), "flows[%zu]", i);
			if (!json_is_string(v)) {
				ret = err_set(&call->err, -EINVAL, where,
					"%s: expected a rule string", where);
				goto out;
			}
			text = json_string_value(v);
		} else {
			snprintf(where, sizeof(where), "flow");
		}
		if ((ret = rpc_flow_parse(call, bridge, where, text, FLOW_PARSE_ADD, &specs[i])) <
			0)
			goto out;
		if ((ret = flow_table_check(ft, &specs[i], 0, &call->err)) < 0) {
			if (list != NULL) {
				char msg[sizeof(call->err.msg)];

				snprintf(msg, sizeof(msg), "%s", call->err.msg);
				err_clear(&call->err);
				err_set(&call->err, ret, where, "%s: %s", where, msg);
			}
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if ((ret = flow_table_add(ft, &specs[i], 0, &call->err)) < 0) {
			if (i > 0) {
				char msg[sizeof(call->err.msg)];

				snprintf(msg, sizeof(msg), "%s", call->err.msg);
				err_clear(&call->err);
				err_set(&call->err, ret, "flows",
					"flows[%zu]: %s (the %zu rules before it "
					"were added)",
					i, msg, i);
				rpc_flow_changed(bridge);
			}
			goto out;
		}
	}
	rpc_flow_changed(bridge);
	LOG_OBJ(INFO, bridge, "%zu flow(s) added (pid %d)", n, (int)call->peer_pid);
	*result = json_pack("{s:I}", "added", (json_int_t)n);
	ret = *result != NULL ? 0 : err_set(&call->err, -ENOMEM, "", "out of memory");
out:
	free(specs);
	return ret;
}

static int rpc_flow_del(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *bridge, *text = "";
	struct flow_spec *spec;
	struct flow_table *ft;
	int strict = 0, ret;
	unsigned n;

	if ((ret = rpc_unpack(call, params, "{s:s, s?s, s?b}", "bridge", &bridge, "flow", &text,
		     "strict", &strict)) < 0)
		return ret;
	if ((ft = rpc_flow_table(call, bridge)) == NULL)
		return -ENOENT;
	if ((spec = malloc(sizeof(*spec))) == NULL)
		return err_set(&call->err, -ENOMEM, "", "out of memory");
	if ((ret = rpc_flow_parse(call, bridge, "flow", text, FLOW_PARSE_FILTER, spec)) == 0 &&
		(ret = flow_table_del(ft, spec, strict, &n)) == 0) {
		if (n > 0) {
			rpc_flow_changed(bridge);
			LOG_OBJ(INFO, bridge, "%u flow(s) deleted (pid %d)", n,
				(int)call->peer_pid);
		}
		*result = json_pack("{s:I}", "deleted", (json_int_t)n);
		if (*result == NULL)
			ret = err_set(&call->err, -ENOMEM, "", "out of memory");
	}
	free(spec);
	return ret;
}

static int rpc_flow_mod(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *bridge, *text;
	struct flow_spec *spec;
	struct flow_table *ft;
	int strict = 0, ret;
	unsigned n = 0;

	if ((ret = rpc_unpack(call, params, "{s:s, s:s, s?b}", "bridge", &bridge, "flow", &text,
		     "strict", &strict)) < 0)
		return ret;
	if ((ft = rpc_flow_table(call, bridge)) == NULL)
		return -ENOENT;
	if ((spec = malloc(sizeof(*spec))) == NULL)
		return err_set(&call->err, -ENOMEM, "", "out of memory");
	ret = rpc_flow_parse(call, bridge, "flow", text, FLOW_PARSE_ADD, spec);
	if (ret == 0 && (spec->has & (FLOW_HAS_IDLE | FLOW_HAS_HARD)))
		ret = err_set(&call->err, -EINVAL, "flow",
			"bridge %s: mod-flows changes actions "
			"only: timeouts cannot be given (delete and add the flow)",
			bridge);
	if (ret == 0)
		ret = flow_table_mod(ft, spec, strict, 0, &n, &call->err);
	if (ret == 0 || n > 0) {
		if (n > 0) {
			rpc_flow_changed(bridge);
			LOG_OBJ(INFO, bridge, "%u flow(s) modified (pid %d)", n,
				(int)call->peer_pid);
		}
	}
	if (ret == 0) {
		*result = json_pack("{s:I}", "modified", (json_int_t)n);
		if (*result == NULL)
			ret = err_set(&call->err, -ENOMEM, "", "out of memory");
	}
	free(spec);
	return ret;
}

struct rpc_flow_dump {
	json_t *list;
	int ret;
};

static void rpc_flow_dump_one(void *arg, const struct flow_rule_info *ri)
{
	struct rpc_flow_dump *d = arg;
	char cookie[24];
	json_t *e;

	if (d->ret < 0)
		return;
	snprintf(cookie, sizeof(cookie), "0x%llx", (unsigned long long)ri->cookie);
	e = json_pack("{s:s, s:i, s:s, s:I, s:I, s:I, s:I, s:i, s:i}", "flow", ri->text, "priority",
		(int)ri->priority, "cookie", cookie, "packets", (json_int_t)ri->packets, "bytes",
		(json_int_t)ri->bytes, "duration", (json_int_t)ri->duration, "idle_age",
		(json_int_t)ri->idle_age, "idle_timeout", (int)ri->idle_timeout, "hard_timeout",
		(int)ri->hard_timeout);
	if (e != NULL && ri->in_port_missing)
		json_object_set_new(e, "in_port_missing", json_true());
	if (e != NULL && ri->missing_outputs > 0)
		json_object_set_new(e, "missing_outputs", json_integer(ri->missing_outputs));
	if (e == NULL || json_array_append_new(d->list, e) < 0)
		d->ret = -ENOMEM;
}

static int rpc_flow_dump(struct rpc_call *call, json_t *params, json_t **result)
{
	struct rpc_flow_dump d = {0};
	const char *bridge, *text = NULL;
	struct flow_spec *spec = NULL;
	struct flow_table *ft;
	int strict = 0, ret;

	if ((ret = rpc_unpack(call, params, "{s:s, s?s, s?b}", "bridge", &bridge, "flow", &text,
		     "strict", &strict)) < 0)
		return ret;
	if ((ft = rpc_flow_table(call, bridge)) == NULL)
		return -ENOENT;
	if (text != NULL) {
		if ((spec = malloc(sizeof(*spec))) == NULL)
			return err_set(&call->err, -ENOMEM, "", "out of memory");
		if ((ret = rpc_flow_parse(call, bridge, "flow", text, FLOW_PARSE_FILTER, spec)) < 0)
			goto out;
	}
	if ((d.list = json_array()) == NULL) {
		ret = err_set(&call->err, -ENOMEM, "", "out of memory");
		goto out;
	}
	flow_table_dump(ft, spec, strict, mac_table_now(), rpc_flow_dump_one, &d);
	if (d.ret < 0) {
		json_decref(d.list);
		ret = err_set(
			&call->err, -ENOMEM, "", "bridge %s: out of memory listing flows", bridge);
		goto out;
	}
	*result = d.list;
	ret = 0;
out:
	free(spec);
	return ret;
}

static int rpc_flow_stats(struct rpc_call *call, json_t *params, json_t **result)
{
	struct flow_table_stats st;
	struct flow_table *ft;
	const char *bridge;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s}", "bridge", &bridge)) < 0)
		return ret;
	if ((ft = rpc_flow_table(call, bridge)) == NULL)
		return -ENOENT;
	flow_table_stats_get(ft, &st);
	*result = json_pack(
		"{s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I}",
		"rules", (json_int_t)st.rules, "subtables", (json_int_t)st.subtables, "generation",
		(json_int_t)st.generation, "miss", st.miss == FLOW_MISS_DROP ? "drop" : "normal",
		"packets", (json_int_t)st.packets, "cache_hits", (json_int_t)st.cache_hits,
		"megaflow_hits", (json_int_t)st.megaflow_hits, "cls_hits", (json_int_t)st.cls_hits,
		"misses", (json_int_t)st.misses, "cls_lookups", (json_int_t)st.cls_lookups,
		"subtables_searched", (json_int_t)st.subtables_searched, "subtables_per_lookup",
		st.cls_lookups ? (double)st.subtables_searched / (double)st.cls_lookups : 0.0,
		"dropped", (json_int_t)st.dropped, "output_missing", (json_int_t)st.output_missing,
		"nobuf", (json_int_t)st.nobuf);
	return *result != NULL ? 0 : err_set(&call->err, -ENOMEM, "", "out of memory");
}

// The snapshot's bridge called name, or NULL.
static const struct pl_bridge *rpc_flow_pl_bridge(const struct pl_snapshot *snap, const char *name)
{
	for (unsigned b = 0; snap != NULL && b < PL_MAX_BRIDGES; b++) {
		if (snap->bridges[b] != NULL && strcmp(snap->bridges[b]->name, name) == 0)
			return snap->bridges[b];
	}
	return NULL;
}

static json_t *rpc_flow_trace_json(const struct flow_trace *t)
{
	json_t *stages = json_array(), *outs = json_array(), *r;

	for (unsigned i = 0; stages != NULL && i < t->n_stages; i++)
		json_array_append_new(stages,
			json_pack("{s:s, s:s}", "stage", t->stages[i].stage, "text",
				t->stages[i].text));
	for (unsigned i = 0; outs != NULL && i < t->n_outputs; i++)
		json_array_append_new(outs, json_string(t->outputs[i]));
	r = json_pack("{s:s, s:b, s:o, s:o, s:b}", "packet", t->packet, "matched", t->matched,
		"stages", stages, "outputs", outs, "dropped", t->dropped);
	if (r != NULL && t->matched) {
		char cookie[24];

		snprintf(cookie, sizeof(cookie), "0x%llx", (unsigned long long)t->cookie);
		json_object_set_new(r, "rule", json_string(t->rule));
		json_object_set_new(r, "priority", json_integer(t->priority));
		json_object_set_new(r, "cookie", json_string(cookie));
	}
	return r;
}

static int rpc_flow_trace(struct rpc_call *call, json_t *params, json_t **result)
{
	const struct pl_snapshot *snap = dp_snapshot_get();
	const struct pl_bridge *br;
	struct dp_port_info info;
	struct flow_trace *t = NULL;
	struct flow_spec *spec;
	const char *bridge, *text;
	struct flow_table *ft;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s, s:s}", "bridge", &bridge, "packet", &text)) < 0)
		return ret;
	if ((ft = rpc_flow_table(call, bridge)) == NULL)
		return -ENOENT;
	if ((br = rpc_flow_pl_bridge(snap, bridge)) == NULL)
		return err_set(&call->err, -EAGAIN, "bridge",
			"bridge %s is not published yet, try "
			"again",
			bridge);
	if ((spec = malloc(sizeof(*spec))) == NULL)
		return err_set(&call->err, -ENOMEM, "", "out of memory");
	if ((ret = rpc_flow_parse(call, bridge, "packet", text, FLOW_PARSE_PACKET, spec)) < 0)
		goto out;
	if (spec->in_port[0] == '\0') {
		ret = err_set(&call->err, -EINVAL, "packet",
			"bridge %s: the packet needs in_port=PORT "
			"(the port it arrives on)",
			bridge);
		goto out;
	}
	if ((ret = dp_port_info_get(spec->in_port, &info, &call->err)) < 0)
		goto out;
	if (strcmp(info.bridge, bridge) != 0) {
		ret = err_set(&call->err, -EINVAL, "packet",
			"in_port=%s: port %s is in bridge %s, "
			"not %s",
			spec->in_port, spec->in_port, info.bridge, bridge);
		goto out;
	}
	if ((t = malloc(sizeof(*t))) == NULL) {
		ret = err_set(&call->err, -ENOMEM, "", "out of memory");
		goto out;
	}
	if ((ret = flow_trace_run(ft, snap, br, info.id, spec, t, &call->err)) < 0)
		goto out;
	*result = rpc_flow_trace_json(t);
	ret = *result != NULL ? 0 : err_set(&call->err, -ENOMEM, "", "out of memory");
out:
	free(t);
	free(spec);
	return ret;
}

static const char *rpc_flow_out_kind(uint8_t k)
{
	switch (k) {
	case FLOW_TRACE_OUT_FLOOD:
		return "flood";
	case FLOW_TRACE_OUT_MIRROR:
		return "mirror";
	case FLOW_TRACE_OUT_NORMAL:
		return "normal";
	default:
		return "output";
	}
}

static json_t *rpc_flow_rec_json(const struct flow_trace_rec *r, const struct pl_snapshot *snap)
{
	static const char *const decision[] = {"?", "cache", "megaflow", "classifier"};
	const struct pl_port *ip = r->in_port < PORT_MAX && snap ? snap->ports[r->in_port] : NULL;
	const struct pl_bridge *br =
		snap && r->bridge < PL_MAX_BRIDGES ? snap->bridges[r->bridge] : NULL;
	struct flow_key full;
	char *text = malloc(FLOW_TEXT_MAX), *rule = malloc(FLOW_TEXT_MAX);
	json_t *outs = json_array(), *j = NULL;

	if (text == NULL || rule == NULL || outs == NULL)
		goto out;
	flow_trace_key_mask(&r->key, &full);
	flow_format_match(&r->key, &full, ip ? ip->name : NULL, text, FLOW_TEXT_MAX);
	for (unsigned i = 0; i < r->n_out; i++) {
		const struct pl_port *op =
			r->out[i] < PORT_MAX && snap ? snap->ports[r->out[i]] : NULL;
		json_t *o;

		if (r->out_kind[i] == FLOW_TRACE_OUT_NORMAL)
			o = json_pack("{s:s}", "via", "normal");
		else
			o = json_pack("{s:s, s:s}", "via", rpc_flow_out_kind(r->out_kind[i]),
				"port", op ? op->name : "?");
		json_array_append_new(outs, o);
	}
	j = json_pack("{s:i, s:s, s:I, s:s, s:s, s:o}", "worker", (int)r->worker, "port",
		ip ? ip->name : "?", "bytes", (json_int_t)r->len, "packet", text, "lookup",
		decision[r->decision < 4 ? r->decision : 0], "outputs", outs);
	if (j != NULL)
		json_object_set_new(j, "miss", json_boolean(r->miss));
	outs = NULL;
	if (j != NULL && r->rule_id != 0) {
		struct flow_table *ft = br != NULL ? dp_bridge_flow_table(br->name) : NULL;
		char cookie[24];

		if (ft == NULL || !flow_trace_rule_text(ft, r->rule_id, rule, FLOW_TEXT_MAX))
			snprintf(rule, FLOW_TEXT_MAX, "(rule deleted since)");
		snprintf(cookie, sizeof(cookie), "0x%llx", (unsigned long long)r->cookie);
		json_object_set_new(j, "rule", json_string(rule));
		json_object_set_new(j, "priority", json_integer(r->priority));
		json_object_set_new(j, "cookie", json_string(cookie));
	}
out:
	json_decref(outs);
	free(text);
	free(rule);
	return j;
}

// The trace of this bridge ended: its table may be skipped again.
static void rpc_flow_untrace(struct flow_table *ft, const char *bridge)
{
	flow_table_set_traced(ft, false);
	dp_bridge_flows_changed(bridge);
}

static int rpc_flow_trace_live(struct rpc_call *call, json_t *params, json_t **result)
{
	const struct pl_snapshot *snap = dp_snapshot_get();
	struct flow_trace_rec *recs = NULL;
	struct dp_port_info info;
	struct flow_table *ft;
	const char *port;
	json_t *list;
	int count = -1, stop = 0, ret;
	unsigned n;

	if ((ret = rpc_unpack(call, params, "{s:s, s?i, s?b}", "port", &port, "count", &count,
		     "stop", &stop)) < 0)
		return ret;
	if ((ret = dp_port_info_get(port, &info, &call->err)) < 0)
		return ret;
	if ((ft = dp_bridge_flow_table(info.bridge)) == NULL)
		return err_set(&call->err, -ENOENT, "port", "port %s: bridge %s has no flow table",
			port, info.bridge);
	if (stop) {
		flow_trace_live_stop(info.id);
		rpc_flow_untrace(ft, info.bridge);
		return 0;
	}
	if (count != -1) {
		if (count < 1 || count > FLOW_TRACE_LIVE_MAX)
			return err_set(&call->err, -EINVAL, "count",
				"count %d: expected 1 to %d packets", count, FLOW_TRACE_LIVE_MAX);
		// An empty table is skipped by the pipeline: make it run while the trace lasts.
		flow_table_set_traced(ft, true);
		dp_bridge_flows_changed(info.bridge);
		flow_trace_live_start(info.id, (unsigned)count);
		LOG_OBJ(INFO, port, "tracing the next %d packets (pid %d)", count,
			(int)call->peer_pid);
	}
	if ((recs = malloc(FLOW_TRACE_LIVE_MAX * sizeof(*recs))) == NULL ||
		(list = json_array()) == NULL) {
		free(recs);
		return err_set(&call->err, -ENOMEM, "", "out of memory");
	}
	n = flow_trace_live_read(recs, FLOW_TRACE_LIVE_MAX);
	for (unsigned i = 0; i < n; i++) {
		json_t *j = rpc_flow_rec_json(&recs[i], snap);

		if (j == NULL || json_array_append_new(list, j) < 0) {
			json_decref(list);
			free(recs);
			return err_set(&call->err, -ENOMEM, "", "out of memory");
		}
	}
	free(recs);
	if (flow_trace_live_remaining(info.id) == 0)
		rpc_flow_untrace(ft, info.bridge);
	*result = json_pack("{s:s, s:I, s:o}", "port", port, "remaining",
		(json_int_t)flow_trace_live_remaining(info.id), "packets", list);
	return *result != NULL ? 0 : err_set(&call->err, -ENOMEM, "", "out of memory");
}

const struct rpc_method flow_rpc_methods[] = {
	{"flow.add", rpc_flow_add, "{bridge: str, flow?: str, flows?: [str]}",
		"Add flow rules in ovs-ofctl syntax (\"priority=100,in_port=vm1,tcp,tp_dst=80 "
		"actions=output:uplink\"); a rule with the same match and priority is replaced. "
		"flows: all are checked before any is added. Result {added}."},
	{"flow.del", rpc_flow_del, "{bridge: str, flow?: str, strict?: bool}",
		"Delete the rules matching flow (\"\" or absent: all): strict = same match and "
		"priority, else every rule at least as specific; cookie=V/MASK selects too. Result "
		"{deleted}."},
	{"flow.mod", rpc_flow_mod, "{bridge: str, flow: str, strict?: bool}",
		"Replace the actions of the rules selected as by flow.del (counters kept). Result "
		"{modified}."},
	{"flow.dump", rpc_flow_dump, "{bridge: str, flow?: str, strict?: bool}",
		"List rules (highest priority first): [{flow, priority, cookie, packets, bytes, "
		"duration (s), idle_age (s, -1 never), idle_timeout, hard_timeout}]."},
	{"flow.stats", rpc_flow_stats, "{bridge: str}",
		"Flow table counters: rules, subtables, packets, cache_hits, megaflow_hits, "
		"cls_hits, "
		"misses, "
		"cls_lookups, subtables_searched, subtables_per_lookup, dropped, output_missing, "
		"nobuf, miss (table-miss action)."},
	{"flow.trace", rpc_flow_trace, "{bridge: str, packet: str}",
		"Trace a packet given as fields (\"in_port=vm1,dl_src=...,tcp,tp_dst=80\") through "
		"the flow table without sending it: {packet, stages: [{stage, text}], matched, "
		"rule, priority, cookie, outputs, dropped}."},
	{"flow.trace_live", rpc_flow_trace_live, "{port: str, count?: int, stop?: bool}",
		"Live trace: count starts tracing the next count packets received on port; every "
		"call returns the packets traced since the last one: {port, remaining, packets: "
		"[{worker, port, bytes, packet, lookup (cache, megaflow or classifier), miss, "
		"rule, "
		"priority, cookie, outputs}]}."},
	{NULL},
};
