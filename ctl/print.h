// SPDX-License-Identifier: Apache-2.0
// Result printing shared by the vsctl command modules (ctl/cmd_<object>.c): the call, check,
// print sequence of query commands (the result as it is under -j, a human rendering otherwise),
// the -j acknowledgement of commands that print nothing for humans, tables and single values.
#ifndef VSWITCH_PRINT_H
#define VSWITCH_PRINT_H

#include <jansson.h>
#include <stdio.h>

#include "ctl/table.h"
#include "ctl/vsctl.h"

// Prints a checked result for humans (never under -j); arg is print_result()'s. Returns 0 or
// -errno after reporting the failure.
typedef int (*print_human_fn)(struct vsctl_ctx *ctx, json_t *result, void *arg);

// Calls METHOD with params (stolen; NULL = {}), checks that the result has the JSON type `want`
// (JSON_ARRAY or JSON_OBJECT; else "malformed response from vswitchd to METHOD: the result is not
// an array|object", exit 6), then prints it: as it is under -j, else with human(ctx, result,
// arg). Returns 0 or -errno (reported).
int print_result(struct vsctl_ctx *ctx, const char *method, json_t *params, json_type want,
	print_human_fn human, void *arg);

// For commands that print nothing for humans: calls METHOD with params (stolen; NULL = {}) and
// prints its result under -j. rpc_code != 0 (an RPC_E_* constant, for --if-exists and
// --may-exist): that error is not reported and prints json null under -j. Returns 0 or -errno.
int print_ack(struct vsctl_ctx *ctx, const char *method, json_t *params, int rpc_code);

// print_human_fn for list-br/list-ports: vsctl_print_names(ctx, method, result), arg = method.
int print_names(struct vsctl_ctx *ctx, json_t *result, void *method);
// print_human_fn for counter objects (fdb-stats, flow-stats): table_print_object() at indent 0.
int print_object(struct vsctl_ctx *ctx, json_t *result, void *arg);

// table_print(t, ctx->out, indent), a failure reported as "out of memory". Returns 0 or -errno.
int print_table(struct vsctl_ctx *ctx, const struct table *t, unsigned indent);

// Prints before, v rendered by table_format_value() ("?" when out of memory), then after.
void print_value(FILE *out, const char *before, const json_t *v, const char *after);

#endif
