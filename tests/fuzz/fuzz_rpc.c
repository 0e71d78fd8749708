// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for the JSON-RPC frame parser and dispatcher (rpc_process) with strict params
// unpacking: any input must give either nothing (notifications) or exactly one valid JSON line.
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/rpc.h"
#include "dataplane/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// The dispatcher's own tables; the other modules' handlers need a running datapath, so
// rpc_init() is not used here.
extern const struct rpc_method daemon_rpc_methods[];
extern const struct rpc_method rpc_rpc_methods[];

static int f_port_add(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *bridge, *name, *type;
	json_t *options = NULL;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s, s:s, s:s, s?:o}", "bridge", &bridge, "name",
		     &name, "type", &type, "options", &options)) < 0)
		return ret;
	if (options && !json_is_object(options))
		return err_set(&call->err, -EINVAL, "options", "options must be an object");
	if (strcmp(name, "exists") == 0)
		return err_set(&call->err, -EEXIST, "name", "port %s already exists", name);
	*result = json_pack("{s:i}", "id", 3);
	return 0;
}

static int f_nested(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *a = NULL, *b = NULL, *s = NULL;
	json_int_t big = 0;
	double d = 0;
	int i = 0, flag = 0;
	size_t len = 0;

	return rpc_unpack(call, params, "{s?:{s:i, s?:b, s?:F}, s?:[ss], s?:I, s?:s%, s?:n}", "opt",
		"mtu", &i, "flag", &flag, "ratio", &d, "pair", &a, &b, "big", &big, "str", &s, &len,
		"nothing");
}

static int f_fail(struct rpc_call *call, json_t *params, json_t **result)
{
	int e = 0, ret;

	if ((ret = rpc_unpack(call, params, "{s?:i}", "errno", &e)) < 0)
		return ret;
	*result = json_string("dropped on error");
	return e > 0 && e < 200 ? -e : -EIO;
}

static const struct rpc_method fuzz_rpc_methods[] = {
	{"fuzz.port_add", f_port_add, "{bridge: str, name: str, type: str, options?: {}}",
		"Shaped like port.add."},
	{"fuzz.nested", f_nested, "{...}", "Nested formats."},
	{"fuzz.fail", f_fail, "{errno?: int}", "Always fails."},
	{0},
};

static void quiet(enum log_level lvl, const char *module, const char *func, const char *object,
	const char *msg)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct rpc_call peer = {.peer_pid = 1, .peer_uid = 0, .peer_gid = 0};
	json_t *resp;
	char *out;
	size_t len;

	if (!ready) {
		log_set_sink(quiet); // log.set may turn on debug logging of every request
		rpc_register(daemon_rpc_methods);
		rpc_register(rpc_rpc_methods);
		rpc_register(fuzz_rpc_methods);
		ready = true;
	}
	out = rpc_process((const char *)data, size, &peer);
	if (out == NULL)
		return 0;
	// Framing invariant: one line, newline-terminated, valid JSON, an object or a batch.
	len = strlen(out);
	if (len == 0 || out[len - 1] != '\n' || memchr(out, '\n', len - 1) != NULL)
		abort();
	resp = json_loads(out, 0, NULL);
	if (resp == NULL || !(json_is_object(resp) || json_is_array(resp)))
		abort();
	json_decref(resp);
	free(out);
	return 0;
}
