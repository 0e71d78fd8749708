// SPDX-License-Identifier: Apache-2.0
// JSON options objects <-> key=value lists; see rpc_opts.h.
#include "control/rpc_opts.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rpc_opts_free(struct rpc_opts *o)
{
	for (unsigned i = 0; i < o->n; i++) {
		free((char *)o->kv[i].key);
		free((char *)o->kv[i].value);
	}
	free(o->kv);
	o->kv = NULL;
	o->n = 0;
}

// The value as the datapath wants it (a string), or NULL with call->err filled.
static char *rpc_opts_value(struct rpc_call *call, const char *key, json_t *v)
{
	char buf[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return strdup(json_string_value(v));
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return strdup(buf);
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		return strdup(buf);
	case JSON_TRUE:
		return strdup("true");
	case JSON_FALSE:
		return strdup("false");
	default:
		break;
	}
	char field[128];

	snprintf(field, sizeof(field), "options.%s", key);
	err_set(&call->err, -EINVAL, field,
		"option '%s': expected a string, number or boolean value", key);
	errno = EINVAL;
	return NULL;
}

int rpc_opts_parse(struct rpc_call *call, json_t *obj, struct rpc_opts *out)
{
	const char *key;
	json_t *v;

	out->kv = NULL;
	out->n = 0;
	if (obj == NULL || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return err_set(&call->err, -EINVAL, "options", "options: expected an object");
	if (json_object_size(obj) > RPC_OPTS_MAX) {
		return err_set(&call->err, -EINVAL, "options", "options: %zu given, at most %d",
			json_object_size(obj), RPC_OPTS_MAX);
	}
	if (json_object_size(obj) == 0)
		return 0;
	out->kv = calloc(json_object_size(obj), sizeof(*out->kv));
	if (out->kv == NULL)
		return err_set(&call->err, -ENOMEM, "options", "out of memory");
	json_object_foreach(obj, key, v) {
		char *k, *val;

		if (key[0] == '\0')
			return err_set(
				&call->err, -EINVAL, "options", "options: empty option name");
		if ((val = rpc_opts_value(call, key, v)) == NULL)
			return errno == EINVAL
				? -EINVAL
				: err_set(&call->err, -ENOMEM, "options", "out of memory");
		if ((k = strdup(key)) == NULL) {
			free(val);
			return err_set(&call->err, -ENOMEM, "options", "out of memory");
		}
		out->kv[out->n++] = (struct port_kv){.key = k, .value = val};
	}
	return 0;
}

json_t *rpc_opts_to_json(const struct port_kv *kv, unsigned n)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		if (json_object_set_new(o, kv[i].key, json_string(kv[i].value)) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}
