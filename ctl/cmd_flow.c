// SPDX-License-Identifier: Apache-2.0
// vsctl flow table commands: add-flow, add-flows, del-flows, mod-flows, dump-flows, flow-stats
// and trace (synthetic or --live). Maps to flow.add, flow.del, flow.mod, flow.dump, flow.stats,
// flow.trace and flow.trace_live; the rule syntax is ovs-ofctl's and is checked by vswitchd.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/print.h"
#include "ctl/vsctl.h"

#define FLOW_CHUNK 2000 // rules per flow.add call (keeps requests far below 1 MiB)
#define FLOW_LINE_MAX 8192
#define TRACE_LIVE_DEFAULT 10

static int flow_simple(
	struct vsctl_ctx *ctx, const char *method, json_t *params, const char *count_key)
{
	json_t *result = NULL;
	int ret;

	if (params == NULL)
		return -EINVAL;
	if ((ret = vsctl_call(ctx, method, params, &result)) < 0)
		return ret;
	if (ctx->json)
		ret = vsctl_print_json(ctx, result);
	else if (count_key != NULL && json_is_object(result) &&
		json_integer_value(json_object_get(result, count_key)) == 0 &&
		strcmp(count_key, "added") != 0)
		fprintf(ctx->err, "vsctl: no flow matched\n");
	json_decref(result);
	return ret;
}

static int cmd_add_flow(struct vsctl_ctx *ctx, int argc, char **argv)
{
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0)
		return ret;
	return flow_simple(ctx, "flow.add",
		vsctl_pack(ctx, "{s:s, s:s}", "bridge", argv[0], "flow", argv[1]), "added");
}

// Sends the rules collected so far; *total counts the added ones.
static int add_flows_send(
	struct vsctl_ctx *ctx, const char *bridge, json_t *list, unsigned long *total)
{
	json_t *params, *result = NULL;
	int ret;

	if (json_array_size(list) == 0)
		return 0;
	params = vsctl_pack(ctx, "{s:s, s:O}", "bridge", bridge, "flows", list);
	if (params == NULL)
		return -EINVAL;
	if ((ret = vsctl_call(ctx, "flow.add", params, &result)) == 0)
		*total += (unsigned long)json_integer_value(json_object_get(result, "added"));
	json_decref(result);
	json_array_clear(list);
	return ret;
}

static int cmd_add_flows(struct vsctl_ctx *ctx, int argc, char **argv)
{
	const char *path = argv[1];
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	json_t *list = json_array();
	unsigned long total = 0, line_no = 0;
	char *line = malloc(FLOW_LINE_MAX);
	int ret = 0;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0)
		goto out;
	if (f == NULL) {
		ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (list == NULL || line == NULL) {
		ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
		goto out;
	}
	while (fgets(line, FLOW_LINE_MAX, f) != NULL) {
		char *s = line, *e;

		line_no++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED,
				"%s:%lu: line too long (max %d bytes)", path, line_no,
				FLOW_LINE_MAX - 2);
			goto out;
		}
		s += strspn(s, " \t");
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		if (json_array_append_new(list, json_string(s)) < 0) {
			ret = vsctl_usage(ctx, "%s:%lu: not valid UTF-8", path, line_no);
			goto out;
		}
		if (json_array_size(list) == FLOW_CHUNK &&
			(ret = add_flows_send(ctx, argv[0], list, &total)) < 0)
			goto err_partial;
	}
	if (ferror(f)) {
		ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "%s: read error", path);
		goto out;
	}
	if ((ret = add_flows_send(ctx, argv[0], list, &total)) < 0)
		goto err_partial;
	if (ctx->json) {
		json_t *r = json_pack("{s:I}", "added", (json_int_t)total);

		ret = vsctl_print_json(ctx, r);
		json_decref(r);
	}
	goto out;
err_partial:
	// Rules go in chunks: say how far it got (the failing chunk added nothing or said so).
	if (total > 0 && ret != -ECANCELED)
		fprintf(ctx->err, "vsctl: %lu rule(s) from %s were added before the error\n", total,
			path);
out:
	if (f != NULL && f != stdin)
		fclose(f);
	json_decref(list);
	free(line);
	return ret;
}

static int cmd_del_flows(struct vsctl_ctx *ctx, int argc, char **argv)
{
	bool strict = vsctl_opt(ctx, "--strict");
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0)
		return ret;
	if (strict && argc < 2)
		return vsctl_usage(ctx, "--strict needs a FLOW (its match and priority)");
	return flow_simple(ctx, "flow.del",
		vsctl_pack(ctx, "{s:s, s:s, s:b}", "bridge", argv[0], "flow",
			argc > 1 ? argv[1] : "", "strict", strict),
		strict ? "deleted" : NULL);
}

static int cmd_mod_flows(struct vsctl_ctx *ctx, int argc, char **argv)
{
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0)
		return ret;
	return flow_simple(ctx, "flow.mod",
		vsctl_pack(ctx, "{s:s, s:s, s:b}", "bridge", argv[0], "flow", argv[1], "strict",
			vsctl_opt(ctx, "--strict")),
		"modified");
}

// arg: the bridge name.
static int dump_flows_print(struct vsctl_ctx *ctx, json_t *flows, void *arg)
{
	const char *bridge = arg;
	json_t *f;
	size_t i;

	// ovs-ofctl's layout: counters first, then the rule as it would be added.
	json_array_foreach(flows, i, f) {
		const char *text = vsctl_get_str(f, "flow");
		double dur = 0, pk = 0, by = 0, age = -1, miss = 0;

		vsctl_get_num(f, "duration", &dur);
		vsctl_get_num(f, "packets", &pk);
		vsctl_get_num(f, "bytes", &by);
		vsctl_get_num(f, "idle_age", &age);
		vsctl_get_num(f, "missing_outputs", &miss);
		fprintf(ctx->out, " duration=%.0fs, n_packets=%.0f, n_bytes=%.0f, ", dur, pk, by);
		if (age >= 0)
			fprintf(ctx->out, "idle_age=%.0f, ", age);
		fprintf(ctx->out, "%s", text != NULL ? text : "?");
		if (json_is_true(json_object_get(f, "in_port_missing")))
			fprintf(ctx->out, "  (in_port is not a port of %s: matches nothing)",
				bridge);
		if (miss > 0)
			fprintf(ctx->out, "  (%.0f output port(s) missing)", miss);
		fputc('\n', ctx->out);
	}
	return 0;
}

static int cmd_dump_flows(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *params;
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0)
		return ret;
	params = vsctl_pack(ctx, "{s:s, s:s*, s:b}", "bridge", argv[0], "flow",
		argc > 1 ? argv[1] : NULL, "strict", vsctl_opt(ctx, "--strict"));
	if (params == NULL)
		return -EINVAL;
	return print_result(ctx, "flow.dump", params, JSON_ARRAY, dump_flows_print, argv[0]);
}

static int cmd_flow_stats(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *params;
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0)
		return ret;
	if ((params = vsctl_pack(ctx, "{s:s}", "bridge", argv[0])) == NULL)
		return -EINVAL;
	return print_result(ctx, "flow.stats", params, JSON_OBJECT, print_object, NULL);
}

static int trace_synthetic(struct vsctl_ctx *ctx, const char *bridge, const char *packet)
{
	json_t *params, *r = NULL, *st;
	size_t i;
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", bridge)) < 0)
		return ret;
	if ((params = vsctl_pack(ctx, "{s:s, s:s}", "bridge", bridge, "packet", packet)) == NULL)
		return -EINVAL;
	if ((ret = vsctl_call(ctx, "flow.trace", params, &r)) < 0)
		return ret;
	if (!json_is_object(r) || !json_is_array(json_object_get(r, "stages"))) {
		ret = vsctl_bad_result(ctx, "flow.trace", "no stages");
		goto out;
	}
	if (ctx->json) {
		ret = vsctl_print_json(ctx, r);
		goto out;
	}
	json_array_foreach(json_object_get(r, "stages"), i, st) {
		const char *s = vsctl_get_str(st, "stage"), *t = vsctl_get_str(st, "text");

		fprintf(ctx->out, "%-11s %s\n", s ? s : "?", t ? t : "");
	}
out:
	json_decref(r);
	return ret;
}

static void trace_live_print(struct vsctl_ctx *ctx, json_t *pk, unsigned n)
{
	const char *rule = vsctl_get_str(pk, "rule");
	json_t *o;
	double bytes = 0, worker = 0;
	size_t i;

	vsctl_get_num(pk, "bytes", &bytes);
	vsctl_get_num(pk, "worker", &worker);
	fprintf(ctx->out, "#%u  %.0f bytes on %s (worker %.0f): %s\n", n, bytes,
		vsctl_get_str(pk, "port") ? vsctl_get_str(pk, "port") : "?", worker,
		vsctl_get_str(pk, "packet") ? vsctl_get_str(pk, "packet") : "");
	fprintf(ctx->out, "    lookup: %s",
		vsctl_get_str(pk, "lookup") ? vsctl_get_str(pk, "lookup") : "?");
	if (rule != NULL)
		fprintf(ctx->out, ", rule: %s", rule);
	else
		fprintf(ctx->out, ", no rule (table-miss action)");
	fprintf(ctx->out, "\n    sent: ");
	if (json_array_size(json_object_get(pk, "outputs")) == 0)
		fprintf(ctx->out, "nothing (dropped)");
	json_array_foreach(json_object_get(pk, "outputs"), i, o) {
		const char *via = vsctl_get_str(o, "via"), *port = vsctl_get_str(o, "port");

		if (port != NULL)
			fprintf(ctx->out, "%s%s (%s)", i ? ", " : "", port, via ? via : "?");
		else
			fprintf(ctx->out, "%s%s", i ? ", " : "", via ? via : "?");
	}
	fputc('\n', ctx->out);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int trace_live(struct vsctl_ctx *ctx, const char *port, const char *count_s)
{
	json_t *params, *r = NULL, *all = json_array(), *pk;
	double start = now_s(), limit;
	unsigned long count = TRACE_LIVE_DEFAULT;
	unsigned got = 0;
	bool first = true;
	int ret = 0;
	char *end;

	if ((ret = vsctl_name_check(ctx, "port", port)) < 0)
		goto out;
	if (count_s != NULL) {
		errno = 0;
		count = strtoul(count_s, &end, 10);
		if (errno != 0 || *end != '\0' || count < 1 || count > 1000) {
			ret = vsctl_usage(ctx, "N: expected 1 to 1000 packets, got '%s'", count_s);
			goto out;
		}
	}
	if (all == NULL) {
		ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
		goto out;
	}
	// Stay inside the invocation's --timeout (the connection's deadline).
	limit = ctx->timeout_s > 0 ? ctx->timeout_s - 0.5 : 1e9;
	for (;;) {
		size_t i;

		if (first)
			params = vsctl_pack(ctx, "{s:s, s:i}", "port", port, "count", (int)count);
		else
			params = vsctl_pack(ctx, "{s:s}", "port", port);
		if (params == NULL) {
			ret = -EINVAL;
			goto out;
		}
		if ((ret = vsctl_call(ctx, "flow.trace_live", params, &r)) < 0)
			goto out;
		first = false;
		if (!json_is_array(json_object_get(r, "packets"))) {
			ret = vsctl_bad_result(ctx, "flow.trace_live", "no packets list");
			goto out;
		}
		json_array_foreach(json_object_get(r, "packets"), i, pk) {
			got++;
			if (ctx->json)
				json_array_append(all, pk);
			else
				trace_live_print(ctx, pk, got);
		}
		fflush(ctx->out);
		if (got >= count)
			break;
		if (now_s() - start > limit) {
			json_decref(r);
			r = NULL;
			params = vsctl_pack(ctx, "{s:s, s:b}", "port", port, "stop", 1);
			if (params != NULL)
				vsctl_call(ctx, "flow.trace_live", params, NULL);
			fprintf(ctx->err,
				"vsctl: %u of %lu packets traced on %s in %.1f s (raise "
				"--timeout to wait longer)\n",
				got, count, port, now_s() - start);
			break;
		}
		json_decref(r);
		r = NULL;
		nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
	}
	if (ctx->json)
		ret = vsctl_print_json(ctx, all);
out:
	json_decref(r);
	json_decref(all);
	return ret;
}

static int cmd_trace(struct vsctl_ctx *ctx, int argc, char **argv)
{
	if (vsctl_opt(ctx, "--live"))
		return trace_live(ctx, argv[0], argc > 1 ? argv[1] : NULL);
	if (argc < 2)
		return vsctl_usage(ctx, "expected BR FIELDS (or --live PORT [N])");
	return trace_synthetic(ctx, argv[0], argv[1]);
}

const struct vsctl_command flow_commands[] = {
	{
		.name = "add-flow",
		.usage = "BR FLOW",
		.help = "add a flow rule to BR in ovs-ofctl syntax, e.g. "
			"\"priority=100,in_port=vm1,"
			"tcp,tp_dst=80 actions=output:uplink\" (a rule with the same match and "
			"priority is replaced)",
		.min_args = 2,
		.max_args = 2,
		.method = "flow.add",
		.run = cmd_add_flow,
	},
	{
		.name = "add-flows",
		.usage = "BR FILE",
		.help = "add the rules of FILE (one per line, # comments, - for stdin) to BR",
		.min_args = 2,
		.max_args = 2,
		.method = "flow.add",
		.run = cmd_add_flows,
	},
	{
		.name = "del-flows",
		.usage = "BR [FLOW]",
		.help = "delete the rules of BR matching FLOW (all without FLOW); --strict: only "
			"the "
			"rule with exactly this match and priority",
		.min_args = 1,
		.max_args = 2,
		.opts = "--strict",
		.method = "flow.del",
		.run = cmd_del_flows,
	},
	{
		.name = "mod-flows",
		.usage = "BR FLOW",
		.help = "replace the actions of the rules of BR matching FLOW (counters kept); "
			"--strict as del-flows",
		.min_args = 2,
		.max_args = 2,
		.opts = "--strict",
		.method = "flow.mod",
		.run = cmd_mod_flows,
	},
	{
		.name = "dump-flows",
		.usage = "BR [FLOW]",
		.help = "list the rules of BR (those matching FLOW) with packet and byte counters, "
			"age and idle age",
		.min_args = 1,
		.max_args = 2,
		.opts = "--strict",
		.method = "flow.dump",
		.run = cmd_dump_flows,
	},
	{
		.name = "flow-stats",
		.usage = "BR",
		.help = "show the flow table counters of BR: rules, subtables, cache hits, "
			"classifier hits, misses, subtables searched per lookup",
		.min_args = 1,
		.max_args = 1,
		.method = "flow.stats",
		.run = cmd_flow_stats,
	},
	{
		.name = "trace",
		.usage = "BR FIELDS | PORT [N]",
		.help = "show how a packet with FIELDS (\"in_port=vm1,dl_dst=...,tcp,tp_dst=80\") "
			"goes through BR's flow table, without sending it; --live: trace the next "
			"N "
			"(default 10) packets received on PORT",
		.min_args = 1,
		.max_args = 2,
		.opts = "--live",
		.method = "flow.trace",
		.run = cmd_trace,
	},
	{0},
};
