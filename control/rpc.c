// SPDX-License-Identifier: Apache-2.0
// JSON-RPC 2.0 core: the method registry, strict parameter unpacking with errors that name the
// field at fault, and rpc_process(), which turns one request line into one response line.
#include "control/rpc.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/log.h"

LOG_MODULE("rpc");

// A batch of more requests than this is refused as a whole: one line could otherwise make the
// daemon build megabytes of error responses.
#define RPC_MAX_BATCH 1024

// Registry: sorted by name, so lookup is a binary search and rpc.list comes out sorted.
static const struct rpc_method **methods;
static size_t n_methods, cap_methods;

static int method_cmp(const void *key, const void *elt)
{
	const struct rpc_method *const *m = elt;

	return strcmp(key, (*m)->name);
}

void rpc_register(const struct rpc_method *table)
{
	for (const struct rpc_method *m = table; m->name != NULL; m++) {
		size_t i;

		if (m->handler == NULL || m->name[0] == '\0') {
			LOG(ERR, "method '%s' has no handler or no name, aborting", m->name);
			abort();
		}
		if (rpc_lookup(m->name) != NULL) {
			// Two modules claiming one name is a build mistake: fail at start, loudly.
			LOG(ERR, "method '%s' registered twice, aborting", m->name);
			abort();
		}
		if (n_methods == cap_methods) {
			size_t cap = cap_methods ? cap_methods * 2 : 64;
			const struct rpc_method **p = realloc(methods, cap * sizeof(*p));

			if (p == NULL) {
				LOG(ERR, "out of memory registering '%s', aborting", m->name);
				abort();
			}
			methods = p;
			cap_methods = cap;
		}
		for (i = n_methods; i > 0 && strcmp(methods[i - 1]->name, m->name) > 0; i--)
			methods[i] = methods[i - 1];
		methods[i] = m;
		n_methods++;
	}
}

const struct rpc_method *rpc_lookup(const char *name)
{
	const struct rpc_method **m;

	if (n_methods == 0)
		return NULL;
	m = bsearch(name, methods, n_methods, sizeof(*methods), method_cmp);
	return m ? *m : NULL;
}

void rpc_foreach(void (*cb)(const struct rpc_method *m, void *arg), void *arg)
{
	for (size_t i = 0; i < n_methods; i++)
		cb(methods[i], arg);
}

void rpc_fini(void)
{
	free(methods);
	methods = NULL;
	n_methods = cap_methods = 0;
}

// ---- rpc_unpack: jansson does the work; when it fails, explain() walks the same format and the
// same arguments over the params to find which field is at fault, since jansson's message does
// not say it for type errors, nor the path for nested fields.

#define UNPACK_MAX_KEYS 64

struct walk {
	const char *fmt;
	va_list ap;
	struct rpc_call *call;
	char path[128]; // "options.mtu", "ports[2].name"
};

// Format tokens as jansson reads them: blanks, ',' and ':' are separators.
static char walk_peek(struct walk *w)
{
	while (*w->fmt == ' ' || *w->fmt == '\t' || *w->fmt == '\n' || *w->fmt == ',' ||
		*w->fmt == ':')
		w->fmt++;
	return *w->fmt;
}

static char walk_next(struct walk *w)
{
	char c = walk_peek(w);

	if (c)
		w->fmt++;
	return c;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "real";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		break;
	}
	return "null";
}

static int walk_type_error(struct walk *w, const char *expected, const json_t *v)
{
	err_set(&w->call->err, -EINVAL, w->path, "field '%s': expected %s, got %s", w->path,
		expected, json_kind(v));
	return 1;
}

// Appends ".key" or "[i]" to the path; returns the old length for restoring.
static size_t walk_push(struct walk *w, const char *key, size_t idx)
{
	size_t len = strlen(w->path);

	if (key)
		snprintf(w->path + len, sizeof(w->path) - len, "%s%s", len ? "." : "", key);
	else
		snprintf(w->path + len, sizeof(w->path) - len, "[%zu]", idx);
	return len;
}

static int walk_value(struct walk *w, json_t *v);

// Returns 0 when this object is fine, 1 when an error was recorded, -1 when the format is beyond
// what the walker knows (the caller then falls back to jansson's text).
static int walk_object(struct walk *w, json_t *v)
{
	const char *keys[UNPACK_MAX_KEYS];
	unsigned n_keys = 0;
	bool strict = true; // rpc_unpack always passes JSON_STRICT
	const char *k;
	json_t *item;
	size_t old;
	int ret;

	if (v && !json_is_object(v))
		return walk_type_error(w, "object", v);
	for (;;) {
		char c = walk_next(w);

		if (c == '}')
			break;
		if (c == '!' || c == '*') {
			strict = c == '!';
			continue;
		}
		if (c != 's' || n_keys == UNPACK_MAX_KEYS)
			return -1;
		k = va_arg(w->ap, const char *);
		if (k == NULL)
			return -1;
		bool opt = walk_peek(w) == '?';
		if (opt)
			walk_next(w);
		item = v ? json_object_get(v, k) : NULL;
		old = walk_push(w, k, 0);
		if (v && item == NULL && !opt) {
			err_set(&w->call->err, -EINVAL, w->path, "missing field '%s'", w->path);
			return 1;
		}
		if ((ret = walk_value(w, item)) != 0)
			return ret;
		w->path[old] = '\0';
		keys[n_keys++] = k;
	}
	if (v == NULL || !strict)
		return 0;
	json_object_foreach(v, k, item) {
		unsigned i;
		char valid[256] = "";
		size_t len = 0;

		for (i = 0; i < n_keys && strcmp(keys[i], k) != 0; i++)
			;
		if (i < n_keys)
			continue;
		for (i = 0; i < n_keys && len < sizeof(valid); i++)
			len += snprintf(
				valid + len, sizeof(valid) - len, "%s%s", i ? ", " : "", keys[i]);
		old = walk_push(w, k, 0);
		if (n_keys == 0 && old == 0)
			err_set(&w->call->err, -EINVAL, w->path,
				"unknown field '%s'; this method takes no parameters", w->path);
		else if (n_keys == 0)
			err_set(&w->call->err, -EINVAL, w->path,
				"unknown field '%s'; no fields are accepted here", w->path);
		else
			err_set(&w->call->err, -EINVAL, w->path,
				"unknown field '%s'; valid fields: %s", w->path, valid);
		return 1;
	}
	return 0;
}

static int walk_array(struct walk *w, json_t *v)
{
	bool strict = true;
	size_t i = 0, old;
	json_t *item;
	int ret;

	if (v && !json_is_array(v))
		return walk_type_error(w, "array", v);
	for (;;) {
		char c = walk_peek(w);

		if (c == ']') {
			walk_next(w);
			break;
		}
		if (c == '!' || c == '*') {
			walk_next(w);
			strict = c == '!';
			continue;
		}
		if (c == '\0')
			return -1;
		item = v ? json_array_get(v, i) : NULL;
		old = walk_push(w, NULL, i);
		if (v && item == NULL) {
			err_set(&w->call->err, -EINVAL, w->path, "missing element '%s'", w->path);
			return 1;
		}
		if ((ret = walk_value(w, item)) != 0)
			return ret;
		w->path[old] = '\0';
		i++;
	}
	if (v && strict && json_array_size(v) != i) {
		err_set(&w->call->err, -EINVAL, w->path[0] ? w->path : "params",
			"field '%s': expected %zu elements, got %zu", w->path, i,
			json_array_size(v));
		return 1;
	}
	return 0;
}

// Consumes the arguments of one value spec like jansson does and checks v (NULL: an absent
// optional field, only the arguments are consumed).
static int walk_value(struct walk *w, json_t *v)
{
	json_int_t n;

	switch (walk_next(w)) {
	case '{':
		return walk_object(w, v);
	case '[':
		return walk_array(w, v);
	case 's':
		(void)va_arg(w->ap, const char **);
		if (walk_peek(w) == '%') {
			walk_next(w);
			(void)va_arg(w->ap, size_t *);
		}
		return v && !json_is_string(v) ? walk_type_error(w, "string", v) : 0;
	case 'i':
		(void)va_arg(w->ap, int *);
		if (v && !json_is_integer(v))
			return walk_type_error(w, "integer", v);
		// jansson would silently truncate to int: refuse instead.
		n = v ? json_integer_value(v) : 0;
		if (n < INT_MIN || n > INT_MAX) {
			err_set(&w->call->err, -EINVAL, w->path,
				"field '%s': %" JSON_INTEGER_FORMAT " is out of range [%d, %d]",
				w->path, n, INT_MIN, INT_MAX);
			return 1;
		}
		return 0;
	case 'I':
		(void)va_arg(w->ap, json_int_t *);
		return v && !json_is_integer(v) ? walk_type_error(w, "integer", v) : 0;
	case 'b':
		(void)va_arg(w->ap, int *);
		return v && !json_is_boolean(v) ? walk_type_error(w, "boolean", v) : 0;
	case 'f':
		(void)va_arg(w->ap, double *);
		return v && !json_is_real(v) ? walk_type_error(w, "real", v) : 0;
	case 'F':
		(void)va_arg(w->ap, double *);
		return v && !json_is_number(v) ? walk_type_error(w, "number", v) : 0;
	case 'o':
	case 'O':
		(void)va_arg(w->ap, json_t **);
		return 0;
	case 'n':
		return v && !json_is_null(v) ? walk_type_error(w, "null", v) : 0;
	default:
		return -1;
	}
}

int rpc_unpack(struct rpc_call *call, json_t *params, const char *fmt, ...)
{
	json_t *empty = NULL;
	json_error_t jerr;
	struct walk w = {.fmt = fmt, .call = call};
	va_list ap;
	int ret, r;

	if (params == NULL)
		params = empty = json_object();
	va_start(ap, fmt);
	va_copy(w.ap, ap);
	ret = json_vunpack_ex(params, &jerr, JSON_STRICT, fmt, ap);
	va_end(ap);
	// On success the walk still runs: it refuses 'i' values that do not fit an int.
	r = walk_value(&w, params);
	va_end(w.ap);
	json_decref(empty);
	if (r == 1)
		return -EINVAL;
	if (ret < 0) {
		err_set(&call->err, -EINVAL, "", "invalid params: %s", jerr.text);
		return -EINVAL;
	}
	return 0;
}

// ---- Dispatch.

static int errno_to_code(int err)
{
	switch (err) {
	case EINVAL:
	case ERANGE:
		return RPC_E_INVALID_PARAMS;
	case ENOENT:
	case ENODEV:
		return RPC_E_NOT_FOUND;
	case EEXIST:
		return RPC_E_EXISTS;
	case EBUSY:
	case EAGAIN:
		return RPC_E_BUSY;
	case EOPNOTSUPP:
		return RPC_E_NOT_SUPPORTED;
	case EPERM:
	case EACCES:
		return RPC_E_PERMISSION;
	case ENOMEM:
	case ENOBUFS:
	case ENOSPC:
		return RPC_E_NO_RESOURCES;
	default:
		return RPC_E_FAILED;
	}
}

// {"code": c, "message": msg, "data": {"field": f, "errno": "ENOENT"}}; data only when known.
static json_t *verror_response(json_t *id, int code, const char *field, int err, const char *fmt,
	va_list ap) __printf(5, 0);

static json_t *verror_response(
	json_t *id, int code, const char *field, int err, const char *fmt, va_list ap)
{
	const char *ename = err ? strerrorname_np(err) : NULL;
	json_t *data = NULL;
	char msg[sizeof(((struct err *)0)->msg) + 64];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if ((field && field[0]) || ename) {
		data = json_object();
		if (field && field[0])
			json_object_set_new(data, "field", json_string(field));
		if (ename)
			json_object_set_new(data, "errno", json_string(ename));
	}
	return json_pack("{s:s, s:{s:i, s:s, s:o*}, s:O}", "jsonrpc", "2.0", "error", "code", code,
		"message", msg, "data", data, "id", id ? id : json_null());
}

static json_t *error_response(
	json_t *id, int code, const char *field, int err, const char *fmt, ...) __printf(5, 6);

static json_t *error_response(
	json_t *id, int code, const char *field, int err, const char *fmt, ...)
{
	json_t *resp;
	va_list ap;

	va_start(ap, fmt);
	resp = verror_response(id, code, field, err, fmt, ap);
	va_end(ap);
	return resp;
}

// A request refused before its method ran: an error response, or nothing for a notification.
static json_t *reject(json_t *id, int code, const char *field, const char *fmt, ...) __printf(4, 5);

static json_t *reject(json_t *id, int code, const char *field, const char *fmt, ...)
{
	json_t *resp;
	va_list ap;

	if (id == NULL)
		return NULL;
	va_start(ap, fmt);
	resp = verror_response(id, code, field, 0, fmt, ap);
	va_end(ap);
	return resp;
}

static void log_request(const struct rpc_call *call, json_t *params)
{
	char *p = json_dumps(params, JSON_COMPACT);

	LOG(DEBUG, "pid %d uid %u: %s %.400s%s", (int)call->peer_pid, (unsigned)call->peer_uid,
		call->method, p ? p : "?", p && strlen(p) > 400 ? "..." : "");
	free(p);
}

static bool request_member(const char *key)
{
	return strcmp(key, "jsonrpc") == 0 || strcmp(key, "method") == 0 ||
		strcmp(key, "params") == 0 || strcmp(key, "id") == 0;
}

// Returns the response object, or NULL for a notification (which never gets one).
static json_t *process_one(json_t *req, const struct rpc_call *peer)
{
	const struct rpc_method *m;
	struct rpc_call call = {0};
	json_t *id, *v, *params, *result = NULL;
	const char *key, *method;
	int ret;

	if (!json_is_object(req))
		return error_response(NULL, RPC_E_INVALID_REQUEST, NULL, 0,
			"invalid request: expected a JSON object, got %s", json_kind(req));
	id = json_object_get(req, "id");
	if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id))
		return error_response(NULL, RPC_E_INVALID_REQUEST, "id", 0,
			"invalid request: 'id' must be a string, an integer or null, got %s",
			json_kind(id));
	v = json_object_get(req, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
		return reject(id, RPC_E_INVALID_REQUEST, "jsonrpc",
			"invalid request: 'jsonrpc' must be \"2.0\"");
	v = json_object_get(req, "method");
	if (!json_is_string(v))
		return reject(id, RPC_E_INVALID_REQUEST, "method",
			"invalid request: 'method' must be a string");
	method = json_string_value(v);
	json_object_foreach(req, key, v) {
		if (!request_member(key))
			return reject(id, RPC_E_INVALID_REQUEST, key,
				"invalid request: unknown member '%s' (expected jsonrpc, method, "
				"params, id)",
				key);
	}
	params = json_object_get(req, "params");
	if (params && !json_is_object(params))
		return reject(id, RPC_E_INVALID_PARAMS, "params",
			"%s: params must be an object (named parameters), got %s", method,
			json_kind(params));
	if ((m = rpc_lookup(method)) == NULL)
		return reject(id, RPC_E_METHOD_NOT_FOUND, "method",
			"unknown method '%s' (rpc.list shows the available methods)", method);

	if (peer) {
		call.peer_pid = peer->peer_pid;
		call.peer_uid = peer->peer_uid;
		call.peer_gid = peer->peer_gid;
	}
	call.method = m->name;
	params = params ? json_incref(params) : json_object();
	if (log_enabled(LOG_LVL_DEBUG))
		log_request(&call, params);
	ret = m->handler(&call, params, &result);
	json_decref(params);

	if (ret < 0) {
		json_decref(result);
		if (call.err.msg[0] == '\0')
			snprintf(call.err.msg, sizeof(call.err.msg), "%s: %s", m->name,
				strerror(-ret));
		LOG(DEBUG, "%s: %s: %s", m->name,
			strerrorname_np(-ret) ? strerrorname_np(-ret) : "error", call.err.msg);
		if (id == NULL)
			return NULL;
		return error_response(
			id, errno_to_code(-ret), call.err.field, -ret, "%s", call.err.msg);
	}
	if (id == NULL) {
		json_decref(result);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "result",
		result ? result : json_null(), "id", id);
}

struct outbuf {
	char *buf;
	size_t len, cap;
};

static int outbuf_append(const char *data, size_t size, void *arg)
{
	struct outbuf *o = arg;

	if (o->len + size + 2 > o->cap) {
		size_t cap = MAX(o->cap * 2, o->len + size + 2);
		char *p = realloc(o->buf, MAX(cap, (size_t)256));

		if (p == NULL)
			return -1;
		o->buf = p;
		o->cap = MAX(cap, (size_t)256);
	}
	memcpy(o->buf + o->len, data, size);
	o->len += size;
	return 0;
}

// Compact JSON (never contains a raw newline) plus the '\n' that frames it.
static char *encode(json_t *resp)
{
	static const char fallback[] =
		"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32603,\"message\":"
		"\"internal error: cannot encode the response\"},\"id\":null}\n";
	struct outbuf o = {0};

	if (resp == NULL || json_dump_callback(resp, outbuf_append, &o, JSON_COMPACT) < 0) {
		LOG(ERR, "cannot encode a response (out of memory?), sending an internal error");
		free(o.buf);
		return strdup(fallback);
	}
	o.buf[o.len++] = '\n';
	o.buf[o.len] = '\0';
	return o.buf;
}

char *rpc_process(const char *buf, size_t len, const struct rpc_call *peer)
{
	json_error_t jerr;
	json_t *req, *resp, *r, *el;
	bool silent = false; // notifications only: nothing to send
	size_t i;
	char *out;

	req = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (req == NULL) {
		resp = error_response(NULL, RPC_E_PARSE, NULL, 0,
			"parse error at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	} else if (!json_is_array(req)) {
		resp = process_one(req, peer);
		silent = resp == NULL;
	} else if (json_array_size(req) == 0) {
		resp = error_response(
			NULL, RPC_E_INVALID_REQUEST, NULL, 0, "invalid request: empty batch");
	} else if (json_array_size(req) > RPC_MAX_BATCH) {
		resp = error_response(NULL, RPC_E_TOO_MANY, NULL, 0,
			"batch of %zu requests exceeds the limit of %d", json_array_size(req),
			RPC_MAX_BATCH);
	} else {
		resp = json_array();
		json_array_foreach(req, i, el) {
			if ((r = process_one(el, peer)) != NULL)
				json_array_append_new(resp, r);
		}
		if (resp && json_array_size(resp) == 0) {
			json_decref(resp);
			resp = NULL;
			silent = true;
		}
	}
	json_decref(req);
	if (silent)
		return NULL;
	out = encode(resp);
	json_decref(resp);
	return out;
}

// ---- rpc.list

static void list_one(const struct rpc_method *m, void *arg)
{
	json_array_append_new(arg,
		json_pack("{s:s, s:s, s:s}", "name", m->name, "params",
			m->params ? m->params : "{}", "help", m->help ? m->help : ""));
}

static int rpc_rpc_list(struct rpc_call *call, json_t *params, json_t **result)
{
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	*result = json_array();
	rpc_foreach(list_one, *result);
	return 0;
}

const struct rpc_method rpc_rpc_methods[] = {
	{"rpc.list", rpc_rpc_list, "{}", "List every method with its parameters and help."},
	{0},
};
