// SPDX-License-Identifier: Apache-2.0
// vsctl's driver: global options, the `A -- B` command chain, dispatch through the command
// tables of ctl/commands.c, and the helpers command modules use (vsctl.h).
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "control/rpc_proto.h"
#include "ctl/client.h"
#include "ctl/table.h"
#include "ctl/vsctl.h"

#define VSCTL_DEFAULT_TIMEOUT 10.0
#define VSCTL_MAX_TIMEOUT (366.0 * 86400)

// One command of the chain, as parsed from argv.
struct vsctl_seg {
	const struct vsctl_command *cmd;
	char **args;
	int n_args;
	char **opts;
	int n_opts;
	bool help; // `vsctl CMD --help`
};

const struct vsctl_command *vsctl_command_lookup(const char *name)
{
	for (const struct vsctl_group *g = commands_table; g->title != NULL; g++)
		for (const struct vsctl_command *c = g->commands; c->name != NULL; c++)
			if (strcmp(c->name, name) == 0)
				return c;
	return NULL;
}

void vsctl_print_synopsis(FILE *f, const struct vsctl_command *cmd)
{
	const char *p = cmd->opts;

	fputs(cmd->name, f);
	// Each declared option as "[--may-exist]" or "[--table=VALUE]".
	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, " ");
		fprintf(f, " [%.*s%s]", (int)n, p, n > 0 && p[n - 1] == '=' ? "VALUE" : "");
		p += n;
		p += strspn(p, " ");
	}
	if (cmd->usage[0] != '\0')
		fprintf(f, " %s", cmd->usage);
}

void vsctl_print_usage(FILE *f, const struct vsctl_command *cmd)
{
	fputs("usage: vsctl ", f);
	vsctl_print_synopsis(f, cmd);
	fputc('\n', f);
}

static void print_error(struct vsctl_ctx *ctx, const char *msg, const char *field)
{
	char *s = strdup(msg);

	if (s == NULL) {
		fprintf(ctx->err, "vsctl: %s\n", msg);
		return;
	}
	// The message may quote names picked by peers; keep control characters off the terminal.
	for (char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (field != NULL && field[0] != '\0')
		fprintf(ctx->err, "vsctl: %s (field: %s)\n", s, field);
	else
		fprintf(ctx->err, "vsctl: %s\n", s);
	free(s);
}

static void set_exit(struct vsctl_ctx *ctx, enum vsctl_exit code)
{
	if (ctx->exit == VSCTL_EXIT_OK)
		ctx->exit = code;
}

int vsctl_usage(struct vsctl_ctx *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx->cmd != NULL) {
		fprintf(ctx->err, "vsctl: %s: %s\n", ctx->cmd->name, msg);
		vsctl_print_usage(ctx->err, ctx->cmd);
	} else {
		fprintf(ctx->err, "vsctl: %s\n", msg);
		fprintf(ctx->err, "Try `vsctl --help` or `vsctl list-commands`.\n");
	}
	set_exit(ctx, VSCTL_EXIT_USAGE);
	return -EINVAL;
}

int vsctl_fail(struct vsctl_ctx *ctx, enum vsctl_exit code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_error(ctx, msg, NULL);
	set_exit(ctx, code);
	return -EIO;
}

int vsctl_bad_result(struct vsctl_ctx *ctx, const char *method, const char *what)
{
	vsctl_fail(ctx, VSCTL_EXIT_PROTOCOL, "malformed response from vswitchd to %s: %s", method,
		what);
	return -EPROTO;
}

static void report_error(struct vsctl_ctx *ctx, const struct vsctl_error *e, const char *method)
{
	char msg[sizeof(e->msg) + 256];

	// A command whose method the daemon lacks: most likely a vsctl newer than the daemon.
	if (e->rpc_code == RPC_E_METHOD_NOT_FOUND && ctx->cmd != NULL &&
		strcmp(ctx->cmd->name, "rpc") != 0)
		snprintf(msg, sizeof(msg),
			"%s; is vswitchd older than vsctl? compare `vsctl version`", e->msg);
	else
		snprintf(msg, sizeof(msg), "%s", e->msg);
	print_error(ctx, msg, e->field);
	set_exit(ctx, e->exit != VSCTL_EXIT_OK ? e->exit : VSCTL_EXIT_FAILED);
}

int vsctl_call_tolerate(
	struct vsctl_ctx *ctx, const char *method, json_t *params, json_t **result, int rpc_code)
{
	struct vsctl_error e = {0};
	json_t *res = NULL;
	int ret;

	if (result != NULL)
		*result = NULL;
	if (params == NULL && (params = json_object()) == NULL)
		return vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
	if (ctx->checking) {
		json_decref(params);
		return -ECANCELED;
	}
	ret = ctx->tp.call(ctx->tp.arg, method, params, &res, &e);
	json_decref(params);
	if (ret < 0) {
		if (rpc_code != 0 && e.rpc_code == rpc_code)
			return 1;
		report_error(ctx, &e, method);
		return ret;
	}
	if (res == NULL)
		res = json_null();
	if (result != NULL)
		*result = res;
	else
		json_decref(res);
	return 0;
}

int vsctl_call(struct vsctl_ctx *ctx, const char *method, json_t *params, json_t **result)
{
	return vsctl_call_tolerate(ctx, method, params, result, 0);
}

// Finds `name` in a space-separated option list; *takes_value tells "--name=" entries.
static bool opt_declared(const char *list, const char *name, size_t len, bool *takes_value)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, " ");
		bool val = n > 0 && p[n - 1] == '=';
		if ((val ? n - 1 : n) == len && strncmp(p, name, len) == 0) {
			*takes_value = val;
			return true;
		}
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

bool vsctl_opt(const struct vsctl_ctx *ctx, const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; i < ctx->n_opts; i++)
		if (strncmp(ctx->opts[i], name, len) == 0 &&
			(ctx->opts[i][len] == '\0' || ctx->opts[i][len] == '='))
			return true;
	return false;
}

const char *vsctl_opt_value(const struct vsctl_ctx *ctx, const char *name)
{
	size_t len = strlen(name);

	for (int i = ctx->n_opts - 1; i >= 0; i--)
		if (strncmp(ctx->opts[i], name, len) == 0 && ctx->opts[i][len] == '=')
			return ctx->opts[i] + len + 1;
	return NULL;
}

static bool key_char_ok(char c)
{
	return isalnum((unsigned char)c) || strchr("_.:/-", c) != NULL;
}

int vsctl_kv_parse(struct vsctl_ctx *ctx, int argc, char **argv, unsigned flags, json_t **out)
{
	json_t *obj, *val;
	int ret = -EINVAL;

	*out = NULL;
	if (argc == 0)
		return 0;
	if ((obj = json_object()) == NULL)
		return vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *key = arg, *eq = strchr(arg, '=');
		char keybuf[256];
		size_t klen;

		if (eq == NULL) {
			vsctl_usage(ctx, "'%s' is not KEY=VALUE", arg);
			goto err;
		}
		if ((flags & VSCTL_KV_OVS) && strncmp(key, "options:", 8) == 0)
			key += 8;
		klen = (size_t)(eq - key);
		if (klen == 0) {
			vsctl_usage(ctx, "'%s': missing key before '='", arg);
			goto err;
		}
		if (klen >= sizeof(keybuf)) {
			vsctl_usage(ctx, "'%.40s...': key longer than %zu characters", arg,
				sizeof(keybuf) - 1);
			goto err;
		}
		for (size_t k = 0; k < klen; k++) {
			if (!key_char_ok(key[k])) {
				vsctl_usage(ctx,
					"'%s': invalid character in key (use letters, digits and "
					"_ . : / -)",
					arg);
				goto err;
			}
		}
		memcpy(keybuf, key, klen);
		keybuf[klen] = '\0';
		if (json_object_get(obj, keybuf) != NULL) {
			vsctl_usage(ctx, "'%s' is given more than once", keybuf);
			goto err;
		}
		if (eq[1] == '\0' && !(flags & VSCTL_KV_REMOVE)) {
			vsctl_usage(ctx, "'%s': missing value after '='", arg);
			goto err;
		}
		if ((val = json_string(eq + 1)) == NULL) {
			vsctl_usage(ctx, "'%s': value is not valid UTF-8", keybuf);
			goto err;
		}
		if (json_object_set_new(obj, keybuf, val) < 0) {
			vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
			ret = -ENOMEM;
			goto err;
		}
	}
	*out = obj;
	return 0;
err:
	json_decref(obj);
	return ret;
}

int vsctl_name_check(struct vsctl_ctx *ctx, const char *what, const char *name)
{
	if (name[0] == '\0')
		return vsctl_usage(ctx, "empty %s name", what);
	if (strchr(name, '=') != NULL)
		return vsctl_usage(ctx,
			"'%s' is not a %s name (KEY=VALUE arguments come after the %s name)", name,
			what, what);
	return 0;
}

json_t *vsctl_pack(struct vsctl_ctx *ctx, const char *fmt, ...)
{
	json_error_t jerr;
	json_t *v;
	va_list ap;

	va_start(ap, fmt);
	v = json_vpack_ex(&jerr, 0, fmt, ap);
	va_end(ap);
	if (v == NULL)
		vsctl_usage(ctx, "invalid argument: %s", jerr.text);
	return v;
}

int vsctl_print_json(struct vsctl_ctx *ctx, const json_t *v)
{
	if (json_dumpf(v, ctx->out, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY) < 0 ||
		fputc('\n', ctx->out) == EOF)
		return vsctl_fail(
			ctx, VSCTL_EXIT_PROTOCOL, "cannot write the result: %s", strerror(errno));
	return 0;
}

const char *vsctl_get_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

bool vsctl_get_num(const json_t *obj, const char *key, double *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

static const char *sort_key__;

static int cmp_by_key(const void *a, const void *b)
{
	const char *x = vsctl_get_str(*(json_t *const *)a, sort_key__);
	const char *y = vsctl_get_str(*(json_t *const *)b, sort_key__);

	if (x == NULL || y == NULL)
		return (x != NULL) - (y != NULL);
	return strcmp(x, y);
}

void vsctl_sort_by_str(json_t *arr, const char *key)
{
	size_t n = json_array_size(arr);
	json_t **items;

	if (n < 2 || (items = malloc(n * sizeof(*items))) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(arr, i));
	// vsctl is single-threaded; qsort has no context argument in C17.
	sort_key__ = key;
	qsort(items, n, sizeof(*items), cmp_by_key);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	free(items);
}

int vsctl_print_names(struct vsctl_ctx *ctx, const char *method, json_t *arr)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (vsctl_get_str(v, "name") == NULL)
			return vsctl_bad_result(ctx, method, "an entry has no name");
	vsctl_sort_by_str(arr, "name");
	json_array_foreach(arr, i, v) {
		char *s = table_format_value(json_object_get(v, "name"));
		if (s == NULL)
			return vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
		fprintf(ctx->out, "%s\n", s);
		free(s);
	}
	return 0;
}

// ---- help ----

// Prints text wrapped at 79 columns, each line indented.
static void print_wrapped(FILE *f, unsigned indent, const char *text)
{
	const unsigned width = 79;
	unsigned col = 0;

	while (*text != '\0') {
		size_t n = strcspn(text, " ");
		if (col > indent && col + 1 + n > width) {
			fputc('\n', f);
			col = 0;
		}
		if (col == 0) {
			fprintf(f, "%*s", (int)indent, "");
			col = indent;
		} else {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, n, f);
		col += (unsigned)n;
		text += n;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

void vsctl_print_help(FILE *f)
{
	fprintf(f,
		"usage: vsctl [OPTIONS] COMMAND [ARG...] [-- [OPTIONS] COMMAND [ARG...]]...\n"
		"Configures and inspects vswitchd through its JSON-RPC socket.\n");
	for (const struct vsctl_group *g = commands_table; g->title != NULL; g++) {
		fprintf(f, "\n%s:\n", g->title);
		for (const struct vsctl_command *c = g->commands; c->name != NULL; c++) {
			fputs("  ", f);
			vsctl_print_synopsis(f, c);
			fputc('\n', f);
			print_wrapped(f, 6, c->help);
		}
	}
	fprintf(f,
		"\nOptions:\n"
		"  -j, --json             print results as JSON (a stable interface for scripts)\n"
		"      --socket PATH      vswitchd's socket (default: $VSWITCH_SOCKET, else\n"
		"                         " RPC_SOCKET_DEFAULT ")\n"
		"  -t, --timeout SECONDS  give up after SECONDS (default 10; 0 waits forever)\n"
		"  -h, --help             this help; `vsctl help COMMAND` describes one command\n"
		"  -V, --version          print vsctl's version\n"
		"\nExit status: 0 ok, 1 operation failed, 2 bad usage, 3 vswitchd not running,\n"
		"4 permission denied, 5 timeout, 6 connection or protocol error.\n"
		"See docs/vsctl.md for the details and the JSON output of each command.\n");
}

// Prints vswitchd's own description of the command's method, when it can be reached quickly.
static void print_method_help(struct vsctl_ctx *ctx, const char *method)
{
	struct vsctl_error e = {0};
	struct client *tmp = NULL;
	struct vsctl_transport tp = ctx->tp;
	json_t *params = json_object(), *list = NULL, *m;
	size_t i;

	// The checking pass of a chain sends nothing, not even this read-only query.
	if (ctx->checking || params == NULL) {
		json_decref(params);
		return;
	}
	if (tp.call == client_call) {
		// Help must not hang on a wedged daemon: a fresh client with a short deadline.
		double t = ctx->timeout_s > 0 && ctx->timeout_s < 2 ? ctx->timeout_s : 2;
		if ((tmp = client_create(ctx->socket_path, t)) == NULL)
			goto out;
		tp.arg = tmp;
	}
	if (tp.call(tp.arg, "rpc.list", params, &list, &e) < 0) {
		fprintf(ctx->out, "\n(vswitchd's description of %s is not available: %s)\n", method,
			e.exit == VSCTL_EXIT_NOT_RUNNING ? "vswitchd is not running" : e.msg);
		goto out;
	}
	json_array_foreach(list, i, m) {
		const char *name = vsctl_get_str(m, "name"), *help = vsctl_get_str(m, "help");
		const char *p = vsctl_get_str(m, "params");
		if (name == NULL || strcmp(name, method) != 0)
			continue;
		char *h = table_format_value(json_object_get(m, "help"));
		char *ps = table_format_value(json_object_get(m, "params"));
		fprintf(ctx->out, "\nvswitchd: %s %s\n", method, p && ps ? ps : "");
		if (help != NULL && h != NULL)
			print_wrapped(ctx->out, 2, h);
		free(h);
		free(ps);
		goto out;
	}
	fprintf(ctx->out, "\n(this vswitchd has no method %s)\n", method);
out:
	json_decref(params);
	json_decref(list);
	client_destroy(tmp);
}

void vsctl_print_command_help(struct vsctl_ctx *ctx, const struct vsctl_command *cmd)
{
	char text[1024];

	vsctl_print_usage(ctx->out, cmd);
	snprintf(text, sizeof(text), "%c%s.", toupper((unsigned char)cmd->help[0]), cmd->help + 1);
	print_wrapped(ctx->out, 0, text);
	if (cmd->method != NULL) {
		fprintf(ctx->out, "RPC method: %s\n", cmd->method);
		print_method_help(ctx, cmd->method);
	}
}

// Edit distance, to suggest a command for a typo ("add-bridge", "fdb/show").
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 64 || lb >= 64)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t v = del < ins ? del : ins;
			cur[j] = v < sub ? v : sub;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(*prev));
	}
	return prev[lb];
}

static int unknown_command(struct vsctl_ctx *ctx, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (const struct vsctl_group *g = commands_table; g->title != NULL; g++) {
		for (const struct vsctl_command *c = g->commands; c->name != NULL; c++) {
			size_t d = distance(name, c->name);
			// "add-bridge" for add-br, "list-b" for list-br.
			bool prefix =
				(strlen(name) >= 3 && strncmp(c->name, name, strlen(name)) == 0) ||
				(strlen(c->name) >= 3 &&
					strncmp(name, c->name, strlen(c->name)) == 0);
			if (prefix)
				d = 1;
			if (d < best_d) {
				best_d = d;
				best = c->name;
			}
		}
	}
	if (best != NULL)
		return vsctl_usage(ctx, "unknown command '%s'; did you mean '%s'?", name, best);
	return vsctl_usage(ctx, "unknown command '%s'", name);
}

// ---- command line ----

static bool looks_like_option(const char *a)
{
	// "-" alone and negative numbers are arguments; "--" separates commands.
	return a[0] == '-' && (isalpha((unsigned char)a[1]) || (a[1] == '-' && a[2] != '\0'));
}

static bool any_command_takes(const char *opt)
{
	size_t len = strcspn(opt, "=");
	bool val;

	for (const struct vsctl_group *g = commands_table; g->title != NULL; g++)
		for (const struct vsctl_command *c = g->commands; c->name != NULL; c++)
			if (c->opts != NULL && opt_declared(c->opts, opt, len, &val))
				return true;
	return false;
}

enum { GLOBAL_NO = 0, GLOBAL_DONE = 1, GLOBAL_HELP = 2, GLOBAL_VERSION = 3 };

// Applies argv[*i] if it is a global option (consuming its value). Returns GLOBAL_*, or -EINVAL.
static int global_option(struct vsctl_ctx *ctx, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *val = NULL;
	size_t len = strcspn(a, "=");
	char *end;

	if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
		ctx->json = true;
		return GLOBAL_DONE;
	}
	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
		return GLOBAL_HELP;
	if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)
		return GLOBAL_VERSION;
	bool sock = strncmp(a, "--socket", len) == 0 && len == 8;
	bool tmo = (strncmp(a, "--timeout", len) == 0 && len == 9) || strcmp(a, "-t") == 0;
	if (!sock && !tmo)
		return GLOBAL_NO;
	if (a[len] == '=') {
		val = a + len + 1;
	} else if (*i + 1 < argc) {
		val = argv[++*i];
	} else {
		ctx->cmd = NULL;
		return vsctl_usage(ctx, "option %s needs a value", a);
	}
	if (sock) {
		ctx->socket_path = val;
		return GLOBAL_DONE;
	}
	errno = 0;
	ctx->timeout_s = strtod(val, &end);
	if (errno != 0 || end == val || *end != '\0' || !isfinite(ctx->timeout_s) ||
		ctx->timeout_s < 0 || ctx->timeout_s > VSCTL_MAX_TIMEOUT) {
		ctx->cmd = NULL;
		return vsctl_usage(
			ctx, "invalid timeout '%s': expected seconds (0 waits forever)", val);
	}
	return GLOBAL_DONE;
}

// Names the first missing argument from the usage string: the required words ("BR PORT" in
// "BR PORT [type=TYPE]...") are the arguments in order.
static int missing_argument(struct vsctl_ctx *ctx, const struct vsctl_seg *seg)
{
	const char *p = seg->cmd->usage;
	int idx = 0;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");
		if (*p != '[' && idx++ == seg->n_args)
			return vsctl_usage(ctx, "missing argument %.*s", (int)n, p);
		p += n;
		p += strspn(p, " ");
	}
	return vsctl_usage(ctx, "missing argument");
}

// Parses argv[start..end) as one command with its options. Returns 0, GLOBAL_HELP/VERSION, or
// -EINVAL (reported).
static int parse_segment(
	struct vsctl_ctx *ctx, int start, int end, char **argv, struct vsctl_seg *seg)
{
	int i, ret;

	for (i = start; i < end; i++) {
		const char *a = argv[i];

		if (seg->cmd == NULL && !looks_like_option(a)) {
			if ((seg->cmd = vsctl_command_lookup(a)) == NULL)
				return unknown_command(ctx, a);
			ctx->cmd = seg->cmd;
			continue;
		}
		if (!looks_like_option(a)) {
			seg->args[seg->n_args++] = argv[i];
			continue;
		}
		if ((ret = global_option(ctx, end, argv, &i)) < 0)
			return ret;
		if (ret == GLOBAL_HELP && seg->cmd != NULL) {
			seg->help = true;
			continue;
		}
		if (ret != GLOBAL_NO) {
			if (ret != GLOBAL_DONE)
				return ret;
			continue;
		}
		// A command option: checked once the command is known (it may come first).
		seg->opts[seg->n_opts++] = argv[i];
	}
	if (seg->cmd == NULL) {
		ctx->cmd = NULL;
		if (seg->n_opts > 0 && !any_command_takes(seg->opts[0]))
			return vsctl_usage(ctx, "unknown option '%s'", seg->opts[0]);
		return vsctl_usage(ctx, "missing command");
	}
	for (i = 0; i < seg->n_opts; i++) {
		const char *o = seg->opts[i];
		size_t len = strcspn(o, "=");
		bool takes_value;

		if (seg->cmd->opts == NULL || !opt_declared(seg->cmd->opts, o, len, &takes_value))
			return vsctl_usage(ctx, "unknown option '%.*s'", (int)len, o);
		if (takes_value && o[len] != '=')
			return vsctl_usage(ctx, "option %s needs a value (%s=VALUE)", o, o);
		if (!takes_value && o[len] == '=')
			return vsctl_usage(ctx, "option %.*s takes no value", (int)len, o);
	}
	if (seg->help)
		return 0;
	if (seg->n_args < seg->cmd->min_args)
		return missing_argument(ctx, seg);
	if (seg->cmd->max_args >= 0 && seg->n_args > seg->cmd->max_args)
		return vsctl_usage(
			ctx, "too many arguments ('%s' is extra)", seg->args[seg->cmd->max_args]);
	return 0;
}

static int run_segment(struct vsctl_ctx *ctx, const struct vsctl_seg *seg)
{
	ctx->cmd = seg->cmd;
	ctx->opts = seg->opts;
	ctx->n_opts = seg->n_opts;
	if (seg->help) {
		vsctl_print_command_help(ctx, seg->cmd);
		return 0;
	}
	return seg->cmd->run(ctx, seg->n_args, seg->args);
}

static void print_version(FILE *f)
{
	fprintf(f, "vsctl (vswitch) %s\nRPC API %d.%d\n", VSWITCH_VERSION, RPC_API_MAJOR,
		RPC_API_MINOR);
}

int vsctl_main(int argc, char **argv, FILE *out, FILE *err, const struct vsctl_transport *tp)
{
	struct vsctl_ctx ctx = {
		.out = out,
		.err = err,
		.timeout_s = VSCTL_DEFAULT_TIMEOUT,
	};
	struct vsctl_seg *segs = NULL;
	struct client *client = NULL;
	char **slots = NULL;
	int i, n_segs = 0, ret = 0;
	const char *env = getenv("VSWITCH_SOCKET");

	ctx.socket_path = env != NULL && env[0] != '\0' ? env : RPC_SOCKET_DEFAULT;
	// Global options, up to the first command (or a command option such as --if-exists).
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (!looks_like_option(argv[i]))
			break;
		if ((ret = global_option(&ctx, argc, argv, &i)) < 0)
			goto out;
		if (ret == GLOBAL_HELP) {
			vsctl_print_help(out);
			goto out;
		}
		if (ret == GLOBAL_VERSION) {
			print_version(out);
			goto out;
		}
		if (ret == GLOBAL_NO) {
			if (any_command_takes(argv[i]))
				break;
			ret = vsctl_usage(&ctx, "unknown option '%s'", argv[i]);
			goto out;
		}
	}
	if (i >= argc) {
		ret = vsctl_usage(&ctx, "missing command");
		goto out;
	}
	// Each argument lands in at most one args[] or opts[] slot: size them by argc.
	segs = calloc((size_t)(argc - i + 1), sizeof(*segs));
	slots = calloc((size_t)(argc - i + 1) * 2, sizeof(*slots));
	if (segs == NULL || slots == NULL) {
		ret = vsctl_fail(&ctx, VSCTL_EXIT_FAILED, "out of memory");
		goto out;
	}
	for (int start = i, used = 0; start <= argc;) {
		int end = start;
		while (end < argc && strcmp(argv[end], "--") != 0)
			end++;
		struct vsctl_seg *seg = &segs[n_segs++];
		seg->args = slots + used;
		seg->opts = slots + used + (end - start);
		used += 2 * (end - start);
		ret = parse_segment(&ctx, start, end, argv, seg);
		if (ret == GLOBAL_VERSION) {
			print_version(out);
			ret = 0;
			goto out;
		}
		if (ret == GLOBAL_HELP) {
			vsctl_print_help(out);
			ret = 0;
			goto out;
		}
		if (ret < 0)
			goto out;
		start = end + 1;
	}
	if (tp != NULL) {
		ctx.tp = *tp;
	} else {
		if ((client = client_create(ctx.socket_path, ctx.timeout_s)) == NULL) {
			ret = vsctl_fail(&ctx, VSCTL_EXIT_FAILED, "out of memory");
			goto out;
		}
		ctx.tp = (struct vsctl_transport){.call = client_call, .arg = client};
	}
	// A chain is checked as a whole first (argument errors of the third command must not
	// leave the first two applied); output of that pass is discarded.
	if (n_segs > 1) {
		FILE *null = fopen("/dev/null", "w");
		if (null != NULL) {
			ctx.out = null;
			ctx.checking = true;
			for (int s = 0; s < n_segs && ret >= 0; s++)
				if ((ret = run_segment(&ctx, &segs[s])) == -ECANCELED)
					ret = 0;
			ctx.checking = false;
			ctx.out = out;
			fclose(null);
			if (ret < 0)
				goto out;
		}
	}
	for (int s = 0; s < n_segs && ret >= 0; s++)
		ret = run_segment(&ctx, &segs[s]);
out:
	if (fflush(out) == EOF && ret >= 0)
		ret = vsctl_fail(
			&ctx, VSCTL_EXIT_PROTOCOL, "cannot write the result: %s", strerror(errno));
	client_destroy(client);
	free(slots);
	free(segs);
	if (ret < 0 && ctx.exit == VSCTL_EXIT_OK)
		ctx.exit = VSCTL_EXIT_FAILED;
	return ret < 0 ? (int)ctx.exit : VSCTL_EXIT_OK;
}
