// SPDX-License-Identifier: Apache-2.0
// vsctl internals shared by the command modules (ctl/cmd_<object>.c): the command table, the
// per-invocation context and the helpers a command uses to call vswitchd, parse KEY=VALUE
// arguments and print results. See docs/vsctl.md for the user-facing behaviour.
#ifndef VSWITCH_VSCTL_H
#define VSWITCH_VSCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

// ctl/ shares only control/rpc_proto.h with the daemon (style rule 5), so it cannot include
// dataplane/compiler.h; these are the only attributes/macros vsctl needs.
#define VSCTL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define VSCTL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

// Process exit codes. A stable interface: documented in docs/vsctl.md, used by scripts.
enum vsctl_exit {
	VSCTL_EXIT_OK = 0,
	VSCTL_EXIT_FAILED = 1, // vswitchd (or vsctl's own check) refused the operation
	VSCTL_EXIT_USAGE = 2, // bad command line: unknown command/option, wrong arguments
	VSCTL_EXIT_NOT_RUNNING = 3, // socket missing or connection refused
	VSCTL_EXIT_PERMISSION = 4, // not allowed to connect to the socket
	VSCTL_EXIT_TIMEOUT = 5, // no answer within --timeout
	VSCTL_EXIT_PROTOCOL = 6, // connection lost, malformed response, I/O error
};

// One failure, as reported to the user: "vsctl: <msg>[ (field: <field>)]".
struct vsctl_error {
	enum vsctl_exit exit;
	int rpc_code; // JSON-RPC error.code when vswitchd answered with an error, else 0
	char field[128]; // error.data.field, "" if none
	char msg[1024]; // complete sentence without the "vsctl: " prefix
};

// How calls reach vswitchd: the UNIX socket client (ctl/client.c) or a fake in unit tests.
// call() borrows params; on success returns 0 and sets *result (new reference, json null for a
// null result); on failure returns -errno with *e filled.
struct vsctl_transport {
	int (*call)(void *arg, const char *method, json_t *params, json_t **result,
		struct vsctl_error *e);
	void *arg;
};

struct vsctl_ctx;

// A command handler gets the positional arguments after the command name (options already
// removed and checked against vsctl_command.opts, count checked against min/max). Returns 0 or
// -errno after reporting the failure with vsctl_usage()/vsctl_fail()/vsctl_call().
typedef int (*vsctl_run_fn)(struct vsctl_ctx *ctx, int argc, char **argv);

struct vsctl_command {
	const char *name; // "add-port"
	const char *usage; // the arguments: "BR PORT [type=TYPE] [KEY=VALUE]..."
	const char *help; // one line, lower case, no final period
	int min_args;
	int max_args; // -1: no limit
	// Options this command accepts, space-separated: "--may-exist", "--table=" (takes a value).
	// Given before or after the command name. NULL: none.
	const char *opts;
	// The RPC method behind the command: `vsctl help CMD` shows vswitchd's description of it
	// (for add-port, the port types it was built with). NULL: none.
	const char *method;
	vsctl_run_fn run;
};

// Each ctl/cmd_<object>.c ends with `const struct vsctl_command <object>_commands[]`, terminated
// by an entry with name == NULL, listed in ctl/commands.c under a title for `vsctl --help`.
struct vsctl_group {
	const char *title;
	const struct vsctl_command *commands;
};
extern const struct vsctl_group commands_table[]; // terminated by title == NULL

// Per-invocation state.
struct vsctl_ctx {
	FILE *out; // results
	FILE *err; // errors and warnings
	bool json; // -j: print results as JSON
	const char *socket_path;
	double timeout_s; // whole invocation; 0: wait forever
	const struct vsctl_command *cmd; // the command running
	char **opts; // its options as given ("--if-exists", "--table=1")
	int n_opts;
	struct vsctl_transport tp;
	// Set while vsctl checks every command of a chain (`vsctl A -- B`) before running any:
	// calls return -ECANCELED silently and output is discarded.
	bool checking;
	enum vsctl_exit exit; // of the first failure
};

// Entry point: parses argv, runs the commands, returns the process exit code. tp == NULL: talk to
// vswitchd over the UNIX socket (--socket, $VSWITCH_SOCKET, RPC_SOCKET_DEFAULT).
int vsctl_main(int argc, char **argv, FILE *out, FILE *err, const struct vsctl_transport *tp);

// Looks a command up by name; NULL if unknown.
const struct vsctl_command *vsctl_command_lookup(const char *name);
// Prints "NAME [OPTION]... USAGE", e.g. "add-br [--may-exist] BR [KEY=VALUE]...".
void vsctl_print_synopsis(FILE *f, const struct vsctl_command *cmd);
// Prints "usage: vsctl " + the synopsis + newline.
void vsctl_print_usage(FILE *f, const struct vsctl_command *cmd);
// `vsctl --help`: every command of every group, the options and the exit codes.
void vsctl_print_help(FILE *f);
// `vsctl help CMD` / `vsctl CMD --help`: usage, description, options and vswitchd's description
// of the command's RPC method (fetched with rpc.list when vswitchd answers within 2 s).
void vsctl_print_command_help(struct vsctl_ctx *ctx, const struct vsctl_command *cmd);

// Calls METHOD with params (stolen; NULL = {}). On success returns 0 and, if result != NULL,
// sets *result (new reference). On failure prints the error, records the exit code and
// returns -errno.
int vsctl_call(struct vsctl_ctx *ctx, const char *method, json_t *params, json_t **result);
// Same, but when vswitchd answers with error code `rpc_code` (an RPC_E_* constant) nothing is
// printed and 1 is returned (*result NULL): for --if-exists / --may-exist.
int vsctl_call_tolerate(
	struct vsctl_ctx *ctx, const char *method, json_t *params, json_t **result, int rpc_code);

// Reports a command-line error for the running command ("vsctl: CMD: msg" + its usage); exit 2.
// Returns -EINVAL.
int vsctl_usage(struct vsctl_ctx *ctx, const char *fmt, ...) VSCTL_PRINTF(2, 3);
// Reports a failure ("vsctl: msg") with the given exit code. Returns -EIO.
int vsctl_fail(struct vsctl_ctx *ctx, enum vsctl_exit code, const char *fmt, ...)
	VSCTL_PRINTF(3, 4);
// Reports a result that does not have the shape the contract promises; exit 6. Returns -EPROTO.
int vsctl_bad_result(struct vsctl_ctx *ctx, const char *method, const char *what);

// Option lookup for the running command: vsctl_opt(ctx, "--if-exists"); the value of
// "--table=3" is vsctl_opt_value(ctx, "--table") ("3"), NULL when absent.
bool vsctl_opt(const struct vsctl_ctx *ctx, const char *name);
const char *vsctl_opt_value(const struct vsctl_ctx *ctx, const char *name);

// Parses KEY=VALUE arguments into a new object of string values (*out NULL when argc == 0).
// Rejects missing '=', empty or malformed keys, duplicates, invalid UTF-8 and empty values
// (unless VSCTL_KV_REMOVE: then "key=" is sent as "", which port.set reads as "remove").
// VSCTL_KV_OVS also accepts ovs-vsctl's "options:key=value". Returns 0 or -EINVAL (reported).
#define VSCTL_KV_REMOVE 0x1
#define VSCTL_KV_OVS 0x2
int vsctl_kv_parse(struct vsctl_ctx *ctx, int argc, char **argv, unsigned flags, json_t **out);

// Checks a BR/PORT argument (non-empty, valid UTF-8, no '=' which means a forgotten name).
// Returns 0 or -EINVAL (reported).
int vsctl_name_check(struct vsctl_ctx *ctx, const char *what, const char *name);

// json_pack() that reports a failure (invalid UTF-8 in an argument) as a usage error.
json_t *vsctl_pack(struct vsctl_ctx *ctx, const char *fmt, ...);

// -j output: v pretty-printed with sorted keys, then a newline. Returns 0 or -EIO.
int vsctl_print_json(struct vsctl_ctx *ctx, const json_t *v);

// Small accessors for result objects; they tolerate a missing key or a wrong type.
const char *vsctl_get_str(const json_t *obj, const char *key); // NULL if not a string
// Integer (or real) value as double; returns false if absent or not a number.
bool vsctl_get_num(const json_t *obj, const char *key, double *out);

// Sorts an array of objects in place by a string key (missing keys first).
void vsctl_sort_by_str(json_t *arr, const char *key);

// list-br/list-ports output: the "name" of each object of the result of `method`, sorted, one
// per line. An entry without a string name is a malformed response. Returns 0 or -errno.
int vsctl_print_names(struct vsctl_ctx *ctx, const char *method, json_t *arr);

#endif
