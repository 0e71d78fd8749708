// SPDX-License-Identifier: Apache-2.0
// Result printing shared by the vsctl command modules (see print.h).
#include "ctl/print.h"

#include <errno.h>
#include <stdlib.h>

int print_result(struct vsctl_ctx *ctx, const char *method, json_t *params, json_type want,
	print_human_fn human, void *arg)
{
	json_t *result = NULL;
	int ret;

	if ((ret = vsctl_call(ctx, method, params, &result)) < 0)
		return ret;
	if (json_typeof(result) != want)
		ret = vsctl_bad_result(ctx, method,
			want == JSON_ARRAY ? "the result is not an array"
					   : "the result is not an object");
	else if (ctx->json)
		ret = vsctl_print_json(ctx, result);
	else if (human != NULL)
		ret = human(ctx, result, arg);
	json_decref(result);
	return ret;
}

int print_ack(struct vsctl_ctx *ctx, const char *method, json_t *params, int rpc_code)
{
	json_t *result = NULL;
	int ret;

	// A tolerated error returns 1 and no result: the command succeeded with nothing to show.
	ret = vsctl_call_tolerate(ctx, method, params, &result, rpc_code);
	if (ret >= 0 && ctx->json)
		ret = vsctl_print_json(ctx, result != NULL ? result : json_null());
	json_decref(result);
	return ret < 0 ? ret : 0;
}

int print_names(struct vsctl_ctx *ctx, json_t *result, void *method)
{
	return vsctl_print_names(ctx, method, result);
}

int print_object(struct vsctl_ctx *ctx, json_t *result, void *arg)
{
	if (table_print_object(ctx->out, 0, result) < 0)
		return vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
	return 0;
}

int print_table(struct vsctl_ctx *ctx, const struct table *t, unsigned indent)
{
	if (table_print(t, ctx->out, indent) < 0)
		return vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
	return 0;
}

void print_value(FILE *out, const char *before, const json_t *v, const char *after)
{
	char *s = table_format_value(v);

	fprintf(out, "%s%s%s", before, s != NULL ? s : "?", after);
	free(s);
}
