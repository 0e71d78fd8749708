// SPDX-License-Identifier: Apache-2.0
// vswitchd.yaml loader: libyaml events are turned into a small node tree that keeps positions
// (aliases refused, size and depth bounded), then a schema walk fills struct config. Every error
// reads "FILE:LINE:COL: key.path: what was wrong and what was expected". See config.h.
#include "control/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "control/rpc_proto.h"
#include "dataplane/flow_parse.h"
#include "dataplane/mempool.h"

LOG_MODULE("config");

// Bounds that keep a hostile or broken file from costing more than a few MB or milliseconds.
#define CONFIG_MAX_FILE_SIZE (16u << 20)
#define YNODE_MAX_DEPTH 32
#define YNODE_MAX_NODES 200000
#define YNODE_MAX_MAP_KEYS 512 // keeps the quadratic duplicate-key check cheap
#define CONFIG_MAX_BRIDGES 64
#define CONFIG_MAX_OPT_VALUE 1024
#define CONFIG_SUN_PATH_MAX 108 // sizeof(sockaddr_un.sun_path)

#define DEFAULT_SOCKET_MODE 0660
#define DEFAULT_RPC_MAX_CLIENTS 64
#define DEFAULT_RPC_IDLE_TIMEOUT 300
#define DEFAULT_N_PKTS DP_N_PKTS_DEFAULT
#define DEFAULT_MAX_MTU 1500
#define DEFAULT_PKT_CACHE DP_PKT_CACHE_DEFAULT

enum ynode_type {
	YNODE_SCALAR,
	YNODE_SEQ,
	YNODE_MAP,
};

// One YAML node. Scalars keep their text (never containing NUL) and whether they were written
// plain (only plain scalars can be null or booleans). Mappings store key, value, key, value...
struct ynode {
	enum ynode_type type;
	unsigned line, col; // 1-based
	bool plain;
	char *str;
	size_t len;
	struct ynode **kids;
	unsigned n_kids;
	unsigned cap;
};

// Loader context.
struct ld {
	const char *name;
	const char *buf;
	size_t len;
	struct err *err;
	struct config *cfg;
	yaml_parser_t parser;
	unsigned n_nodes;
	const struct ynode *workers_at; // where cpu.worker-cores was set (NULL: default)
	const struct ynode *control_at;
};

// ---------------------------------------------------------------------------------------------
// Errors

static int __printf(5, 6) ld_err_at(
	struct ld *ld, unsigned line, unsigned col, const char *path, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (path != NULL && *path != '\0')
		return err_set(ld->err, -EINVAL, path, "%s:%u:%u: %s: %s", ld->name, line, col,
			path, what);
	return err_set(ld->err, -EINVAL, "", "%s:%u:%u: %s", ld->name, line, col, what);
}

#define ld_err(ld, node, path, ...) ld_err_at((ld), (node)->line, (node)->col, (path), __VA_ARGS__)

static bool ynode_is_null(const struct ynode *n)
{
	if (n->type != YNODE_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
		strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

// Describes what the user wrote, for "got ..." in messages: a quoted, escaped, truncated scalar.
static const char *ynode_got(const struct ynode *n, char *buf, size_t size)
{
	size_t o = 0;

	if (n->type == YNODE_SEQ)
		return "a list";
	if (n->type == YNODE_MAP)
		return "a mapping";
	if (ynode_is_null(n))
		return "nothing";
	buf[o++] = '"';
	for (size_t i = 0; i < n->len && o + 8 < size; i++) {
		unsigned char c = (unsigned char)n->str[i];

		if (i == 40) {
			o += (size_t)snprintf(buf + o, size - o, "...");
			break;
		}
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	snprintf(buf + o, size - o, "\"");
	return buf;
}

// ---------------------------------------------------------------------------------------------
// Node tree

static void ynode_free(struct ynode *n)
{
	if (n == NULL)
		return;
	for (unsigned i = 0; i < n->n_kids; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

static struct ynode *ynode_new(struct ld *ld, enum ynode_type type, const yaml_mark_t *mark)
{
	struct ynode *n;

	if (++ld->n_nodes > YNODE_MAX_NODES) {
		ld_err_at(ld, (unsigned)mark->line + 1, (unsigned)mark->column + 1, NULL,
			"the document is too large (more than %u nodes)", YNODE_MAX_NODES);
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
		return NULL;
	}
	n->type = type;
	n->line = (unsigned)mark->line + 1;
	n->col = (unsigned)mark->column + 1;
	return n;
}

static int ynode_append(struct ld *ld, struct ynode *parent, struct ynode *kid)
{
	if (parent->n_kids == parent->cap) {
		unsigned cap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **kids = realloc(parent->kids, cap * sizeof(*kids));

		if (kids == NULL) {
			ynode_free(kid);
			return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
		}
		parent->kids = kids;
		parent->cap = cap;
	}
	parent->kids[parent->n_kids++] = kid;
	return 0;
}

// Position (1-based line and column) of a byte offset, for reader errors that only give offsets.
static void ld_offset_pos(const struct ld *ld, size_t offset, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < offset && i < ld->len; i++) {
		unsigned char c = (unsigned char)ld->buf[i];

		if (c == '\n') {
			(*line)++;
			*col = 1;
		} else if ((c & 0xc0) != 0x80) {
			(*col)++; // count characters, not UTF-8 continuation bytes
		}
	}
}

static int ld_yaml_error(struct ld *ld)
{
	const yaml_parser_t *p = &ld->parser;
	unsigned line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory while parsing", ld->name);
	case YAML_READER_ERROR:
		ld_offset_pos(ld, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return ld_err_at(ld, line, col, NULL,
				"invalid input: %s (byte 0x%02x); the file must be UTF-8 text",
				p->problem, (unsigned)p->problem_value & 0xff);
		return ld_err_at(ld, line, col, NULL,
			"invalid input: %s; the file must be UTF-8 text", p->problem);
	default:
		line = (unsigned)p->problem_mark.line + 1;
		col = (unsigned)p->problem_mark.column + 1;
		if (p->context != NULL)
			return ld_err_at(ld, line, col, NULL, "invalid YAML: %s (%s at line %u)",
				p->problem ? p->problem : "syntax error", p->context,
				(unsigned)p->context_mark.line + 1);
		return ld_err_at(ld, line, col, NULL, "invalid YAML: %s",
			p->problem ? p->problem : "syntax error");
	}
}

static int ld_next(struct ld *ld, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&ld->parser, ev))
		return ld_yaml_error(ld);
	return 0;
}

static int ld_node(struct ld *ld, yaml_event_t *ev, unsigned depth, struct ynode **out);

// Reads the children of a sequence or mapping until its end event.
static int ld_collection(struct ld *ld, struct ynode *n, yaml_event_type_t end, unsigned depth)
{
	yaml_event_t ev;
	struct ynode *kid;
	int ret;

	for (;;) {
		if ((ret = ld_next(ld, &ev)) < 0)
			return ret;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (n->type == YNODE_MAP && n->n_kids % 2 == 0) {
			if (ev.type != YAML_SCALAR_EVENT) {
				ret = ld_err_at(ld, (unsigned)ev.start_mark.line + 1,
					(unsigned)ev.start_mark.column + 1, NULL,
					"mapping keys must be plain names, got %s",
					ev.type == YAML_ALIAS_EVENT ? "an alias" : "a collection");
				yaml_event_delete(&ev);
				return ret;
			}
			if (n->n_kids / 2 >= YNODE_MAX_MAP_KEYS) {
				ret = ld_err_at(ld, (unsigned)ev.start_mark.line + 1,
					(unsigned)ev.start_mark.column + 1, NULL,
					"too many keys in one mapping (max %u)",
					YNODE_MAX_MAP_KEYS);
				yaml_event_delete(&ev);
				return ret;
			}
		}
		ret = ld_node(ld, &ev, depth + 1, &kid);
		yaml_event_delete(&ev);
		if (ret < 0)
			return ret;
		if ((ret = ynode_append(ld, n, kid)) < 0)
			return ret;
	}
}

// Builds the node that starts with `ev` (owned by the caller).
static int ld_node(struct ld *ld, yaml_event_t *ev, unsigned depth, struct ynode **out)
{
	unsigned line = (unsigned)ev->start_mark.line + 1,
		 col = (unsigned)ev->start_mark.column + 1;
	struct ynode *n;
	int ret;

	*out = NULL;
	if (depth > YNODE_MAX_DEPTH)
		return ld_err_at(ld, line, col, NULL, "nesting is too deep (more than %u levels)",
			YNODE_MAX_DEPTH);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return ld_err_at(ld, line, col, NULL,
			"aliases (*%s) are not supported; repeat the value instead",
			(const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL)
			return ld_err_at(ld, line, col, NULL, "NUL characters are not allowed");
		if ((n = ynode_new(ld, YNODE_SCALAR, &ev->start_mark)) == NULL)
			return ld->err ? ld->err->code : -ENOMEM;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->len = ev->data.scalar.length;
		if ((n->str = strndup((const char *)ev->data.scalar.value, n->len)) == NULL) {
			ynode_free(n);
			return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
		}
		*out = n;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool seq = ev->type == YAML_SEQUENCE_START_EVENT;

		if ((n = ynode_new(ld, seq ? YNODE_SEQ : YNODE_MAP, &ev->start_mark)) == NULL)
			return ld->err ? ld->err->code : -ENOMEM;
		ret = ld_collection(
			ld, n, seq ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT, depth);
		if (ret < 0) {
			ynode_free(n);
			return ret;
		}
		*out = n;
		return 0;
	}
	default:
		return ld_err_at(ld, line, col, NULL, "unexpected YAML event %d", (int)ev->type);
	}
}

// Parses the whole stream: no document (empty file) gives *root NULL; two documents are an error.
static int ld_tree(struct ld *ld, struct ynode **root)
{
	yaml_event_t ev;
	int ret;

	*root = NULL;
	if ((ret = ld_next(ld, &ev)) < 0) // STREAM-START
		return ret;
	yaml_event_delete(&ev);
	if ((ret = ld_next(ld, &ev)) < 0)
		return ret;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return 0;
	}
	yaml_event_delete(&ev); // DOCUMENT-START
	if ((ret = ld_next(ld, &ev)) < 0)
		return ret;
	ret = ld_node(ld, &ev, 0, root);
	yaml_event_delete(&ev);
	if (ret < 0)
		return ret;
	if ((ret = ld_next(ld, &ev)) < 0) // DOCUMENT-END
		goto err_root;
	yaml_event_delete(&ev);
	if ((ret = ld_next(ld, &ev)) < 0)
		goto err_root;
	if (ev.type != YAML_STREAM_END_EVENT) {
		ret = ld_err_at(ld, (unsigned)ev.start_mark.line + 1,
			(unsigned)ev.start_mark.column + 1, NULL,
			"only one YAML document is allowed in the configuration");
		yaml_event_delete(&ev);
		goto err_root;
	}
	yaml_event_delete(&ev);
	return 0;
err_root:
	ynode_free(*root);
	*root = NULL;
	return ret;
}

// ---------------------------------------------------------------------------------------------
// Typed values

// Appends s to out (size bytes, NUL-terminated), truncating.
static void str_append(char *out, size_t size, size_t *o, const char *s)
{
	size_t n = strlen(s);

	if (*o + 1 >= size)
		return;
	if (n > size - 1 - *o)
		n = size - 1 - *o;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
}

// Joins a path prefix and a key ("cpu" + "worker-cores"), or an index ("bridges" + 0). Paths
// only label messages: a very long (unknown) key is truncated on purpose.
static void path_key(char *out, size_t size, const char *prefix, const char *key)
{
	size_t o = 0;

	out[0] = '\0';
	str_append(out, size, &o, prefix);
	if (*prefix != '\0')
		str_append(out, size, &o, ".");
	str_append(out, size, &o, key);
}

static void path_idx(char *out, size_t size, const char *prefix, unsigned i)
{
	char idx[16];
	size_t o = 0;

	snprintf(idx, sizeof(idx), "[%u]", i);
	out[0] = '\0';
	str_append(out, size, &o, prefix);
	str_append(out, size, &o, idx);
}

static int ld_scalar(struct ld *ld, const struct ynode *n, const char *path, const char *expected)
{
	char got[80];

	if (n->type != YNODE_SCALAR || ynode_is_null(n))
		return ld_err(ld, n, path, "expected %s, got %s", expected,
			ynode_got(n, got, sizeof(got)));
	return 0;
}

static bool str_is_int(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static int ld_int(struct ld *ld, const struct ynode *n, const char *path, long long min,
	long long max, long long *out)
{
	char expected[80], got[80];
	long long v;
	int ret;

	snprintf(expected, sizeof(expected), "an integer %lld..%lld", min, max);
	if ((ret = ld_scalar(ld, n, path, expected)) < 0)
		return ret;
	if (!str_is_int(n->str))
		return ld_err(ld, n, path, "expected %s, got %s", expected,
			ynode_got(n, got, sizeof(got)));
	errno = 0;
	v = strtoll(n->str, NULL, 10);
	if (errno == ERANGE || v < min || v > max)
		return ld_err(
			ld, n, path, "%s is out of range, expected %lld..%lld", n->str, min, max);
	*out = v;
	return 0;
}

static int ld_uint(struct ld *ld, const struct ynode *n, const char *path, unsigned min,
	unsigned max, unsigned *out)
{
	long long v;
	int ret;

	if ((ret = ld_int(ld, n, path, min, max, &v)) < 0)
		return ret;
	*out = (unsigned)v;
	return 0;
}

static int ld_bool(struct ld *ld, const struct ynode *n, const char *path, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"},
				 *const no[] = {"false", "no", "off"};
	char got[80];

	if (n->type == YNODE_SCALAR) {
		for (unsigned i = 0; i < ARRAY_SIZE(yes); i++) {
			if (strcasecmp(n->str, yes[i]) == 0) {
				*out = true;
				return 0;
			}
			if (strcasecmp(n->str, no[i]) == 0) {
				*out = false;
				return 0;
			}
		}
	}
	return ld_err(
		ld, n, path, "expected true or false, got %s", ynode_got(n, got, sizeof(got)));
}

// One of `names` (case-insensitive); *out = its index.
static int ld_enum(struct ld *ld, const struct ynode *n, const char *path, const char *const *names,
	unsigned n_names, unsigned *out)
{
	char expected[160] = "", got[80];
	size_t o = 0;

	if (n->type == YNODE_SCALAR) {
		for (unsigned i = 0; i < n_names; i++) {
			if (strcasecmp(n->str, names[i]) == 0) {
				*out = i;
				return 0;
			}
		}
	}
	for (unsigned i = 0; i < n_names && o < sizeof(expected); i++)
		o += (size_t)snprintf(expected + o, sizeof(expected) - o, "%s%s",
			i == 0 ? "" : (i + 1 == n_names ? " or " : ", "), names[i]);
	return ld_err(ld, n, path, "expected %s, got %s", expected, ynode_got(n, got, sizeof(got)));
}

static int ld_strdup(struct ld *ld, const struct ynode *n, char **out)
{
	char *s = strdup(n->str);

	if (s == NULL)
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	free(*out);
	*out = s;
	return 0;
}

static int ld_abs_path(
	struct ld *ld, const struct ynode *n, const char *path, size_t max, char **out)
{
	char got[80];
	int ret;

	if ((ret = ld_scalar(ld, n, path, "an absolute path")) < 0)
		return ret;
	if (n->str[0] != '/')
		return ld_err(ld, n, path, "expected an absolute path (starting with /), got %s",
			ynode_got(n, got, sizeof(got)));
	if (n->len >= max)
		return ld_err(
			ld, n, path, "path is too long (%zu bytes, max %zu)", n->len, max - 1);
	return ld_strdup(ld, n, out);
}

static int ld_size(struct ld *ld, const struct ynode *n, const char *path, size_t *out)
{
	char got[80];
	int ret;

	if ((ret = ld_scalar(ld, n, path, "a size like 512M or 1G")) < 0)
		return ret;
	ret = config_parse_size(n->str, out);
	if (ret == -ERANGE)
		return ld_err(ld, n, path, "size %s is too large", n->str);
	if (ret < 0)
		return ld_err(ld, n, path,
			"expected a size in bytes with an optional K, M or G suffix (like 512M), "
			"got %s",
			ynode_got(n, got, sizeof(got)));
	return 0;
}

// Names of bridges, ports and option keys: letters, digits and "-_.:", not starting with '-'.
static bool name_is_valid(const char *s)
{
	if (*s == '\0' || *s == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.:", *s) == NULL)
			return false;
	return true;
}

static int ld_name(struct ld *ld, const struct ynode *n, const char *path, const char *what,
	size_t max, char **out)
{
	char got[80];

	// A plain `null` is the word here, not YAML's null: `type: null` names the null driver.
	if (n->type != YNODE_SCALAR || n->len == 0 || (n->plain && strcmp(n->str, "~") == 0))
		return ld_err(
			ld, n, path, "expected %s, got %s", what, ynode_got(n, got, sizeof(got)));
	if (n->len >= max)
		return ld_err(ld, n, path, "%s is too long (%zu characters, max %zu)",
			ynode_got(n, got, sizeof(got)), n->len, max - 1);
	if (!name_is_valid(n->str))
		return ld_err(ld, n, path,
			"expected %s made of letters, digits and -_.: (not starting with -), "
			"got %s",
			what, ynode_got(n, got, sizeof(got)));
	return ld_strdup(ld, n, out);
}

// ---------------------------------------------------------------------------------------------
// Mappings

// Checks a section value: a mapping (returns 1), or nothing (returns 0, section left at its
// defaults), anything else an error.
static int ld_section(struct ld *ld, const struct ynode *n, const char *path, const char *what)
{
	char got[80];

	if (ynode_is_null(n))
		return 0;
	if (n->type != YNODE_MAP)
		return ld_err(
			ld, n, path, "expected %s, got %s", what, ynode_got(n, got, sizeof(got)));
	return 1;
}

// Checks key i of a mapping: no duplicate of an earlier key and, when `keys` is given, one of
// them (typo protection: the message lists the valid keys). Fills `path` with prefix.key.
static int ld_key(struct ld *ld, const struct ynode *map, unsigned i, const char *prefix,
	const char *const *keys, unsigned n_keys, char *path, size_t path_size)
{
	const struct ynode *k = map->kids[2 * i];
	char valid[300] = "";
	size_t o = 0;

	path_key(path, path_size, prefix, k->str);
	for (unsigned j = 0; j < i; j++) {
		const struct ynode *prev = map->kids[2 * j];

		if (strcmp(prev->str, k->str) == 0)
			return ld_err(
				ld, k, path, "duplicate key (first set at line %u)", prev->line);
	}
	if (keys == NULL)
		return 0;
	for (unsigned j = 0; j < n_keys; j++)
		if (strcmp(keys[j], k->str) == 0)
			return 0;
	for (unsigned j = 0; j < n_keys && o < sizeof(valid); j++)
		o += (size_t)snprintf(valid + o, sizeof(valid) - o, "%s%s", j ? ", " : "", keys[j]);
	return ld_err(ld, k, path, "unknown key, expected one of: %s", valid);
}

// Options (bridge or port): a mapping of names to scalars, stored as strings.
static int ld_opts(struct ld *ld, const struct ynode *n, const char *prefix, struct port_kv **out,
	unsigned *n_out)
{
	char path[192], got[80];
	struct port_kv *kv;
	unsigned n_kv;
	int ret;

	if ((ret = ld_section(ld, n, prefix, "a mapping of option names to values")) <= 0)
		return ret;
	n_kv = n->n_kids / 2;
	if (n_kv > PORT_ARGS_MAX)
		return ld_err(ld, n, prefix, "too many options (%u, max %u)", n_kv, PORT_ARGS_MAX);
	if (n_kv == 0)
		return 0;
	if ((kv = calloc(n_kv, sizeof(*kv))) == NULL)
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	*out = kv;
	for (unsigned i = 0; i < n_kv; i++) {
		const struct ynode *k = n->kids[2 * i], *v = n->kids[2 * i + 1];

		if ((ret = ld_key(ld, n, i, prefix, NULL, 0, path, sizeof(path))) < 0)
			return ret;
		if (!name_is_valid(k->str) || k->len > 64)
			return ld_err(ld, k, path,
				"expected an option name made of letters, digits and -_.:, got %s",
				ynode_got(k, got, sizeof(got)));
		if (v->type != YNODE_SCALAR || ynode_is_null(v) || v->len == 0)
			return ld_err(ld, v, path,
				"expected a value (string, number or boolean; write lists as "
				"\"10,20\"), got %s",
				ynode_got(v, got, sizeof(got)));
		if (v->len > CONFIG_MAX_OPT_VALUE)
			return ld_err(ld, v, path, "value is too long (%zu bytes, max %u)", v->len,
				CONFIG_MAX_OPT_VALUE);
		kv[i].key = strdup(k->str);
		kv[i].value = strdup(v->str);
		*n_out = i + 1;
		if (kv[i].key == NULL || kv[i].value == NULL)
			return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	}
	return 0;
}

// ---------------------------------------------------------------------------------------------
// CPUs

// The CPUs vswitchd may use, captured at the first call: the loader runs first at start, before
// the control thread is pinned, and a later reload must not see only the control core.
static const cpu_set_t *config_cpus(void)
{
	static cpu_set_t set;
	static bool done;

	if (!done) {
		if (sched_getaffinity(0, sizeof(set), &set) < 0) {
			long n = sysconf(_SC_NPROCESSORS_CONF);

			CPU_ZERO(&set);
			for (long i = 0; i < n && i < CPU_SETSIZE; i++)
				CPU_SET((int)i, &set);
		}
		done = true;
	}
	return &set;
}

static bool cpu_usable(int cpu)
{
	return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, config_cpus());
}

// "0-1,3" for messages.
static void cpus_describe(char *out, size_t size)
{
	const cpu_set_t *set = config_cpus();
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < CPU_SETSIZE && o < size; i++) {
		int j = i;

		if (!CPU_ISSET(i, set))
			continue;
		while (j + 1 < CPU_SETSIZE && CPU_ISSET(j + 1, set))
			j++;
		if (j == i)
			o += (size_t)snprintf(out + o, size - o, "%s%d", o ? "," : "", i);
		else
			o += (size_t)snprintf(out + o, size - o, "%s%d-%d", o ? "," : "", i, j);
		i = j;
	}
}

static int cpu_default_worker(void)
{
	const cpu_set_t *set = config_cpus();
	int first = -1, last = -1;

	for (int i = 0; i < CPU_SETSIZE; i++) {
		if (CPU_ISSET(i, set)) {
			if (first < 0)
				first = i;
			last = i;
		}
	}
	if (first < 0)
		return 0;
	return CPU_COUNT(set) > 1 ? last : first;
}

static int parse_cpu_num(const char **s, int *out)
{
	const char *p = *s;
	long v = 0;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return -EINVAL;
	}
	*out = (int)v;
	*s = p;
	return 0;
}

int config_parse_cpu_list(const char *s, int *cpus, unsigned max, unsigned *n)
{
	*n = 0;
	for (;;) {
		int lo, hi;

		while (*s == ' ')
			s++;
		if (parse_cpu_num(&s, &lo) < 0)
			return -EINVAL;
		hi = lo;
		if (*s == '-') {
			s++;
			if (parse_cpu_num(&s, &hi) < 0 || hi < lo)
				return -EINVAL;
		}
		for (int c = lo; c <= hi; c++) {
			if (*n >= max)
				return -E2BIG;
			cpus[(*n)++] = c;
		}
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return 0;
		if (*s++ != ',')
			return -EINVAL;
	}
}

int config_parse_size(const char *s, size_t *out)
{
	unsigned long long v = 0, mult = 1;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	switch (toupper((unsigned char)*s)) {
	case 'K':
		mult = 1ull << 10;
		break;
	case 'M':
		mult = 1ull << 20;
		break;
	case 'G':
		mult = 1ull << 30;
		break;
	case 'T':
		mult = 1ull << 40;
		break;
	case '\0':
		break;
	case 'B':
		s--; // plain bytes with a "B" suffix
		break;
	default:
		return -EINVAL;
	}
	if (*s != '\0')
		s++;
	if (mult > 1 && (*s == 'i' || *s == 'I'))
		s++;
	if (*s == 'B' || *s == 'b')
		s++;
	if (*s != '\0')
		return -EINVAL;
	if (v > SIZE_MAX / mult)
		return -ERANGE;
	*out = (size_t)(v * mult);
	return 0;
}

// ---------------------------------------------------------------------------------------------
// Sections

static int ld_socket_mode(struct ld *ld, const struct ynode *n, const char *path)
{
	const char *s = n->str;
	char got[80];
	unsigned v = 0;
	int ret;

	if ((ret = ld_scalar(ld, n, path, "an octal mode like \"0660\"")) < 0)
		return ret;
	// Always octal, with or without the leading 0: a decimal 660 is never what was meant.
	if (strncasecmp(s, "0o", 2) == 0)
		s += 2;
	if (*s == '\0')
		goto bad;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			goto bad;
		v = v * 8 + (unsigned)(*s - '0');
		if (v > 0777)
			return ld_err(ld, n, path, "mode %s is out of range, expected 0000..0777",
				n->str);
	}
	ld->cfg->socket_mode = v;
	return 0;
bad:
	return ld_err(ld, n, path, "expected an octal mode like \"0660\", got %s",
		ynode_got(n, got, sizeof(got)));
}

static int ld_socket_group(struct ld *ld, const struct ynode *n, const char *path)
{
	struct group grp, *res = NULL;
	char buf[4096], got[80];
	int ret;

	if ((ret = ld_scalar(ld, n, path, "a group name")) < 0)
		return ret;
	if (getgrnam_r(n->str, &grp, buf, sizeof(buf), &res) != 0 || res == NULL)
		return ld_err(ld, n, path, "group %s does not exist on this machine",
			ynode_got(n, got, sizeof(got)));
	return ld_strdup(ld, n, &ld->cfg->socket_group);
}

static const char *const daemon_keys[] = {
	"socket",
	"socket-group",
	"socket-mode",
	"log-level",
	"state-dir",
	"watchdog-sec",
	"rpc-max-clients",
	"rpc-idle-timeout",
};

static int ld_daemon(struct ld *ld, const struct ynode *map)
{
	struct config *cfg = ld->cfg;
	char path[192], got[80];
	int ret;

	if ((ret = ld_section(ld, map, "daemon", "a mapping (socket, log-level, ...)")) <= 0)
		return ret;
	for (unsigned i = 0; i < map->n_kids / 2; i++) {
		const struct ynode *v = map->kids[2 * i + 1];
		const char *k = map->kids[2 * i]->str;

		if ((ret = ld_key(ld, map, i, "daemon", daemon_keys, ARRAY_SIZE(daemon_keys), path,
			     sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "socket") == 0) {
			ret = ld_abs_path(ld, v, path, CONFIG_SUN_PATH_MAX, &cfg->socket_path);
		} else if (strcmp(k, "socket-group") == 0) {
			ret = ld_socket_group(ld, v, path);
		} else if (strcmp(k, "socket-mode") == 0) {
			ret = ld_socket_mode(ld, v, path);
		} else if (strcmp(k, "log-level") == 0) {
			if (v->type != YNODE_SCALAR || log_level_parse(v->str, &cfg->log_level) < 0)
				ret = ld_err(ld, v, path,
					"expected err, warn, notice, info or debug, got %s",
					ynode_got(v, got, sizeof(got)));
		} else if (strcmp(k, "state-dir") == 0) {
			ret = ld_abs_path(ld, v, path, PATH_MAX - 64, &cfg->state_dir);
		} else if (strcmp(k, "watchdog-sec") == 0) {
			ret = ld_uint(ld, v, path, 0, 3600, &cfg->watchdog_sec);
		} else if (strcmp(k, "rpc-max-clients") == 0) {
			ret = ld_uint(ld, v, path, 1, 4096, &cfg->rpc_max_clients);
		} else if (strcmp(k, "rpc-idle-timeout") == 0) {
			ret = ld_uint(ld, v, path, 0, 86400, &cfg->rpc_idle_timeout_s);
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int ld_worker_cores(struct ld *ld, const struct ynode *n, const char *path)
{
	static const char expected[] =
		"expected a list of CPU numbers or a range string like \"1-3\"";
	struct dp_config *dp = &ld->cfg->dp;
	int cpus[DP_MAX_WORKERS];
	char got[80], usable[128];
	unsigned n_cpus = 0;
	int ret;

	if (n->type == YNODE_SEQ) {
		if (n->n_kids > DP_MAX_WORKERS)
			return ld_err(ld, n, path, "too many worker cores (%u, max %u)", n->n_kids,
				DP_MAX_WORKERS);
		for (unsigned i = 0; i < n->n_kids; i++) {
			const struct ynode *c = n->kids[i];

			if (c->type != YNODE_SCALAR || !str_is_int(c->str) || c->str[0] == '-' ||
				c->len > 5)
				return ld_err(ld, c, path, "%s, got %s", expected,
					ynode_got(c, got, sizeof(got)));
			cpus[n_cpus++] = atoi(c->str);
		}
	} else if (n->type == YNODE_SCALAR && !ynode_is_null(n)) {
		ret = config_parse_cpu_list(n->str, cpus, DP_MAX_WORKERS, &n_cpus);
		if (ret == -E2BIG)
			return ld_err(ld, n, path, "too many worker cores in %s (max %u)",
				ynode_got(n, got, sizeof(got)), DP_MAX_WORKERS);
		if (ret < 0)
			return ld_err(ld, n, path, "%s, got %s", expected,
				ynode_got(n, got, sizeof(got)));
	} else {
		return ld_err(ld, n, path, "%s, got %s", expected, ynode_got(n, got, sizeof(got)));
	}
	if (n_cpus == 0)
		return ld_err(ld, n, path, "at least one worker core is needed");
	for (unsigned i = 0; i < n_cpus; i++) {
		for (unsigned j = 0; j < i; j++)
			if (cpus[j] == cpus[i])
				return ld_err(ld, n, path, "CPU %d is listed twice", cpus[i]);
		if (!cpu_usable(cpus[i])) {
			cpus_describe(usable, sizeof(usable));
			return ld_err(ld, n, path,
				"CPU %d does not exist or is not available to vswitchd (usable "
				"CPUs: %s)",
				cpus[i], usable);
		}
	}
	dp->n_workers = n_cpus;
	for (unsigned i = 0; i < DP_MAX_WORKERS; i++)
		dp->worker_cores[i] = i < n_cpus ? cpus[i] : -1;
	ld->workers_at = n;
	return 0;
}

static const char *const cpu_keys[] = {
	"worker-cores",
	"control-core",
	"idle-sleep-us",
	"rxq-assign",
	"rebalance-interval",
};

static int ld_cpu(struct ld *ld, const struct ynode *map)
{
	static const char *const rxq_assign[] = {"cycles", "roundrobin"};
	struct dp_config *dp = &ld->cfg->dp;
	char path[192], usable[128];
	unsigned u;
	long long v;
	int ret;

	if ((ret = ld_section(ld, map, "cpu", "a mapping (worker-cores, control-core, ...)")) <= 0)
		return ret;
	for (unsigned i = 0; i < map->n_kids / 2; i++) {
		const struct ynode *val = map->kids[2 * i + 1];
		const char *k = map->kids[2 * i]->str;

		if ((ret = ld_key(ld, map, i, "cpu", cpu_keys, ARRAY_SIZE(cpu_keys), path,
			     sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "worker-cores") == 0) {
			ret = ld_worker_cores(ld, val, path);
		} else if (strcmp(k, "control-core") == 0) {
			if ((ret = ld_int(ld, val, path, -1, CPU_SETSIZE - 1, &v)) < 0)
				return ret;
			if (v >= 0 && !cpu_usable((int)v)) {
				cpus_describe(usable, sizeof(usable));
				return ld_err(ld, val, path,
					"CPU %lld does not exist or is not available to vswitchd "
					"(usable CPUs: %s, or -1 to leave the control thread "
					"unpinned)",
					v, usable);
			}
			dp->control_core = (int)v;
			ld->control_at = val;
		} else if (strcmp(k, "idle-sleep-us") == 0) {
			ret = ld_uint(ld, val, path, 0, 1000000, &dp->idle_sleep_us);
		} else if (strcmp(k, "rxq-assign") == 0) {
			if ((ret = ld_enum(ld, val, path, rxq_assign, ARRAY_SIZE(rxq_assign), &u)) <
				0)
				return ret;
			dp->rxq_assign = u == 0 ? DP_RXQ_CYCLES : DP_RXQ_ROUNDROBIN;
		} else if (strcmp(k, "rebalance-interval") == 0) {
			ret = ld_uint(ld, val, path, 0, 86400, &dp->rebalance_interval_s);
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int ld_budget(struct ld *ld, const struct ynode *n, const char *prefix)
{
	struct mem_config *mem = &ld->cfg->mem;
	char path[192], got[80];
	long long node;
	int ret;

	if (n->type == YNODE_SCALAR)
		return ld_size(ld, n, prefix, &mem->budget[0]);
	if ((ret = ld_section(ld, n, prefix,
		     "a size (node 0) or a mapping of NUMA node to size like {\"0\": 512M}")) <= 0)
		return ret;
	for (unsigned i = 0; i < n->n_kids / 2; i++) {
		const struct ynode *k = n->kids[2 * i], *v = n->kids[2 * i + 1];

		if ((ret = ld_key(ld, n, i, prefix, NULL, 0, path, sizeof(path))) < 0)
			return ret;
		if (!str_is_int(k->str) || k->str[0] == '-' || k->len > 3 ||
			(node = atoll(k->str)) >= MEM_MAX_NUMA)
			return ld_err(ld, k, path, "expected a NUMA node number 0..%d, got %s",
				MEM_MAX_NUMA - 1, ynode_got(k, got, sizeof(got)));
		for (unsigned j = 0; j < i; j++)
			if (atoll(n->kids[2 * j]->str) == node)
				return ld_err(ld, k, path, "NUMA node %lld is given twice", node);
		if ((ret = ld_size(ld, v, path, &mem->budget[node])) < 0)
			return ret;
	}
	return 0;
}

static const char *const memory_keys[] = {
	"iova-mode",
	"page-size",
	"hugepage-budget",
	"require-hugepages",
	"packet-buffers",
	"max-mtu",
	"buffer-cache",
};

static int ld_memory(struct ld *ld, const struct ynode *map)
{
	static const char *const iova[] = {"auto", "va", "pa"};
	struct config *cfg = ld->cfg;
	char path[192], got[80];
	size_t size;
	unsigned u;
	int ret;

	if ((ret = ld_section(ld, map, "memory", "a mapping (iova-mode, page-size, ...)")) <= 0)
		return ret;
	for (unsigned i = 0; i < map->n_kids / 2; i++) {
		const struct ynode *v = map->kids[2 * i + 1];
		const char *k = map->kids[2 * i]->str;

		if ((ret = ld_key(ld, map, i, "memory", memory_keys, ARRAY_SIZE(memory_keys), path,
			     sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "iova-mode") == 0) {
			if ((ret = ld_enum(ld, v, path, iova, ARRAY_SIZE(iova), &u)) < 0)
				return ret;
			cfg->mem.iova_mode = u == 0 ? MEM_IOVA_AUTO
				: u == 1            ? MEM_IOVA_VA
						    : MEM_IOVA_PA;
		} else if (strcmp(k, "page-size") == 0) {
			if (v->type == YNODE_SCALAR && strcasecmp(v->str, "auto") == 0) {
				cfg->mem.page_size = 0;
			} else if (v->type == YNODE_SCALAR &&
				config_parse_size(v->str, &size) == 0 &&
				(size == (2u << 20) || size == (1u << 30))) {
				cfg->mem.page_size = size;
			} else {
				ret = ld_err(ld, v, path, "expected auto, 2M or 1G, got %s",
					ynode_got(v, got, sizeof(got)));
			}
		} else if (strcmp(k, "hugepage-budget") == 0) {
			ret = ld_budget(ld, v, path);
		} else if (strcmp(k, "require-hugepages") == 0) {
			ret = ld_bool(ld, v, path, &cfg->mem.require_hugepages);
		} else if (strcmp(k, "packet-buffers") == 0) {
			ret = ld_uint(ld, v, path, 1024, 4u << 20, &cfg->dp.n_pkts);
		} else if (strcmp(k, "max-mtu") == 0) {
			ret = ld_uint(ld, v, path, 68, 9000, &cfg->dp.max_mtu);
		} else if (strcmp(k, "buffer-cache") == 0) {
			ret = ld_uint(ld, v, path, 0, MEMPOOL_CACHE_MAX, &cfg->dp.pkt_cache);
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

static const char *const port_keys[] = {"name", "type", "options"};
static const char *const bridge_keys[] = {"name", "options", "ports", "flows"};

// Port names are global to the datapath: checks against every port parsed so far.
static int ld_port_unique(
	struct ld *ld, const struct ynode *at, const char *path, const struct config_port *self)
{
	const struct config *cfg = ld->cfg;

	for (unsigned b = 0; b < cfg->n_bridges; b++) {
		const struct config_bridge *br = &cfg->bridges[b];

		for (unsigned p = 0; p < br->n_ports; p++) {
			const struct config_port *port = &br->ports[p];

			if (port == self || port->name == NULL)
				continue;
			if (strcmp(port->name, self->name) == 0)
				return ld_err(ld, at, path,
					"duplicate port name \"%s\" (already declared at line %u "
					"in bridge %s); port names are unique across bridges",
					self->name, port->line, br->name ? br->name : "?");
		}
	}
	return 0;
}

static int ld_port(
	struct ld *ld, const struct ynode *map, const char *prefix, struct config_port *port)
{
	const struct ynode *name_at = NULL;
	char path[192], got[80];
	int ret;

	if (map->type != YNODE_MAP)
		return ld_err(ld, map, prefix,
			"expected a port (a mapping with name, type and options), got %s",
			ynode_got(map, got, sizeof(got)));
	port->line = map->line;
	port->col = map->col;
	for (unsigned i = 0; i < map->n_kids / 2; i++) {
		const struct ynode *v = map->kids[2 * i + 1];
		const char *k = map->kids[2 * i]->str;

		if ((ret = ld_key(ld, map, i, prefix, port_keys, ARRAY_SIZE(port_keys), path,
			     sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "name") == 0) {
			ret = ld_name(ld, v, path, "a port name", PORT_NAME_MAX, &port->name);
			name_at = v;
		} else if (strcmp(k, "type") == 0) {
			ret = ld_name(ld, v, path, "a port type like af_packet", 32, &port->type);
			port->type_line = v->line;
			port->type_col = v->col;
		} else if (strcmp(k, "options") == 0) {
			ret = ld_opts(ld, v, path, &port->opts, &port->n_opts);
		}
		if (ret < 0)
			return ret;
	}
	if (port->name == NULL) {
		path_key(path, sizeof(path), prefix, "name");
		return ld_err(ld, map, path, "missing required key \"name\" in this port");
	}
	if (port->type == NULL) {
		path_key(path, sizeof(path), prefix, "type");
		return ld_err(ld, map, path,
			"missing required key \"type\" in port %s (af_packet, tap, null, ...)",
			port->name);
	}
	path_key(path, sizeof(path), prefix, "name");
	return ld_port_unique(ld, name_at, path, port);
}

static int ld_ports(
	struct ld *ld, const struct ynode *n, const char *prefix, struct config_bridge *br)
{
	const struct config *cfg = ld->cfg;
	unsigned total = 0;
	char path[192], got[80];
	int ret;

	if (ynode_is_null(n))
		return 0;
	if (n->type != YNODE_SEQ)
		return ld_err(ld, n, prefix, "expected a list of ports (- name: p1 ...), got %s",
			ynode_got(n, got, sizeof(got)));
	for (unsigned b = 0; b < cfg->n_bridges; b++)
		total += cfg->bridges[b].n_ports;
	if (total + n->n_kids > PORT_MAX)
		return ld_err(ld, n, prefix, "too many ports (max %u in all bridges)", PORT_MAX);
	if (n->n_kids == 0)
		return 0;
	if ((br->ports = calloc(n->n_kids, sizeof(*br->ports))) == NULL)
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	for (unsigned i = 0; i < n->n_kids; i++) {
		path_idx(path, sizeof(path), prefix, i);
		br->n_ports = i + 1; // counted before parsing so that config_free sees it
		if ((ret = ld_port(ld, n->kids[i], path, &br->ports[i])) < 0)
			return ret;
	}
	return 0;
}

// flows: a list of rule strings, each checked by the flow parser (ports are resolved later,
// when the bridge has them).
static int ld_flows(
	struct ld *ld, const struct ynode *n, const char *prefix, struct config_bridge *br)
{
	char path[192], got[80];
	struct flow_spec *spec;
	int ret = 0;

	if (ynode_is_null(n))
		return 0;
	if (n->type != YNODE_SEQ)
		return ld_err(ld, n, prefix,
			"expected a list of flow rules (- \"priority=10,ip actions=normal\" ...), "
			"got %s",
			ynode_got(n, got, sizeof(got)));
	if (n->n_kids == 0)
		return 0;
	if ((br->flows = calloc(n->n_kids, sizeof(*br->flows))) == NULL ||
		(spec = malloc(sizeof(*spec))) == NULL)
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	for (unsigned i = 0; i < n->n_kids; i++) {
		const struct ynode *f = n->kids[i];
		struct err perr = {0};

		path_idx(path, sizeof(path), prefix, i);
		if ((ret = ld_scalar(ld, f, path, "a flow rule string")) < 0)
			break;
		if (flow_parse(f->str, f->len, FLOW_PARSE_ADD, spec, &perr) < 0) {
			ret = ld_err(ld, f, path, "invalid flow: %s", perr.msg);
			break;
		}
		br->n_flows = i + 1; // counted before the copy so that config_free sees it
		if ((br->flows[i] = strdup(f->str)) == NULL) {
			ret = err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
			break;
		}
	}
	free(spec);
	return ret;
}

static int ld_bridge(
	struct ld *ld, const struct ynode *map, const char *prefix, struct config_bridge *br)
{
	const struct ynode *name_at = NULL;
	char path[192], got[80];
	int ret;

	if (map->type != YNODE_MAP)
		return ld_err(ld, map, prefix,
			"expected a bridge (a mapping with name, options, ports and flows), got %s",
			ynode_got(map, got, sizeof(got)));
	br->line = map->line;
	br->col = map->col;
	for (unsigned i = 0; i < map->n_kids / 2; i++) {
		const struct ynode *v = map->kids[2 * i + 1];
		const char *k = map->kids[2 * i]->str;

		if ((ret = ld_key(ld, map, i, prefix, bridge_keys, ARRAY_SIZE(bridge_keys), path,
			     sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "name") == 0) {
			ret = ld_name(ld, v, path, "a bridge name", DP_BRIDGE_NAME_MAX, &br->name);
			name_at = v;
		} else if (strcmp(k, "options") == 0) {
			ret = ld_opts(ld, v, path, &br->opts, &br->n_opts);
		} else if (strcmp(k, "ports") == 0) {
			ret = ld_ports(ld, v, path, br);
		} else if (strcmp(k, "flows") == 0) {
			ret = ld_flows(ld, v, path, br);
		}
		if (ret < 0)
			return ret;
	}
	path_key(path, sizeof(path), prefix, "name");
	if (br->name == NULL)
		return ld_err(ld, map, path, "missing required key \"name\" in this bridge");
	for (const struct config_bridge *o = ld->cfg->bridges; o < br; o++)
		if (strcmp(o->name, br->name) == 0)
			return ld_err(ld, name_at, path,
				"duplicate bridge name \"%s\" (first declared at line %u)",
				br->name, o->line);
	return 0;
}

static int ld_bridges(struct ld *ld, const struct ynode *n)
{
	struct config *cfg = ld->cfg;
	char path[64], got[80];
	int ret;

	if (ynode_is_null(n))
		return 0;
	if (n->type != YNODE_SEQ)
		return ld_err(ld, n, "bridges",
			"expected a list of bridges (- name: br0 ...), got %s",
			ynode_got(n, got, sizeof(got)));
	if (n->n_kids > CONFIG_MAX_BRIDGES)
		return ld_err(ld, n, "bridges", "too many bridges (%u, max %u)", n->n_kids,
			CONFIG_MAX_BRIDGES);
	if (n->n_kids == 0)
		return 0;
	if ((cfg->bridges = calloc(n->n_kids, sizeof(*cfg->bridges))) == NULL)
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	for (unsigned i = 0; i < n->n_kids; i++) {
		path_idx(path, sizeof(path), "bridges", i);
		cfg->n_bridges = i + 1;
		if ((ret = ld_bridge(ld, n->kids[i], path, &cfg->bridges[i])) < 0)
			return ret;
	}
	return 0;
}

static const char *const top_keys[] = {"daemon", "cpu", "memory", "bridges"};

static int ld_root(struct ld *ld, const struct ynode *root)
{
	struct dp_config *dp = &ld->cfg->dp;
	char path[192], got[80];
	int ret;

	if (root == NULL || ynode_is_null(root))
		return 0; // empty file: every default
	if (root->type != YNODE_MAP)
		return ld_err(ld, root, NULL,
			"expected a mapping with the sections daemon, cpu, memory and bridges at "
			"the top level, got %s",
			ynode_got(root, got, sizeof(got)));
	for (unsigned i = 0; i < root->n_kids / 2; i++) {
		const struct ynode *v = root->kids[2 * i + 1];
		const char *k = root->kids[2 * i]->str;

		if ((ret = ld_key(ld, root, i, "", top_keys, ARRAY_SIZE(top_keys), path,
			     sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "daemon") == 0)
			ret = ld_daemon(ld, v);
		else if (strcmp(k, "cpu") == 0)
			ret = ld_cpu(ld, v);
		else if (strcmp(k, "memory") == 0)
			ret = ld_memory(ld, v);
		else
			ret = ld_bridges(ld, v);
		if (ret < 0)
			return ret;
	}
	// The control thread must not share a core with a poll-mode worker (which never yields).
	if (dp->control_core >= 0) {
		for (unsigned i = 0; i < dp->n_workers; i++) {
			if (dp->worker_cores[i] != dp->control_core)
				continue;
			return ld_err(ld, ld->control_at, "cpu.control-core",
				"CPU %d is also a worker core%s; a worker never yields its core, "
				"choose another control core or -1",
				dp->control_core,
				ld->workers_at ? ""
					       : " (by default the last CPU is the worker core)");
		}
	}
	return 0;
}

// ---------------------------------------------------------------------------------------------
// Public API

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	// Only for the few default strings: without them nothing can start anyway.
	if (d == NULL)
		abort();
	return d;
}

void config_init_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_path = xstrdup(RPC_SOCKET_DEFAULT);
	cfg->socket_mode = DEFAULT_SOCKET_MODE;
	cfg->log_level = LOG_LVL_INFO;
	cfg->state_dir = xstrdup(CONFIG_STATE_DIR);
	cfg->rpc_max_clients = DEFAULT_RPC_MAX_CLIENTS;
	cfg->rpc_idle_timeout_s = DEFAULT_RPC_IDLE_TIMEOUT;
	cfg->dp.n_workers = 1;
	for (unsigned i = 0; i < DP_MAX_WORKERS; i++)
		cfg->dp.worker_cores[i] = -1;
	cfg->dp.worker_cores[0] = cpu_default_worker();
	cfg->dp.control_core = -1;
	cfg->dp.idle_sleep_us = 0;
	cfg->dp.rxq_assign = DP_RXQ_CYCLES;
	cfg->dp.rebalance_interval_s = 0;
	cfg->dp.n_pkts = DEFAULT_N_PKTS;
	cfg->dp.max_mtu = DEFAULT_MAX_MTU;
	cfg->dp.pkt_cache = DEFAULT_PKT_CACHE;
	cfg->mem.iova_mode = MEM_IOVA_AUTO;
	cfg->mem.page_size = 0;
	cfg->mem.require_hugepages = false;
}

int config_load_buf(
	const char *buf, size_t len, const char *name, struct config *cfg, struct err *err)
{
	struct ld ld = {
		.name = name ? name : "<buffer>",
		.buf = buf,
		.len = len,
		.err = err,
		.cfg = cfg,
	};
	struct err local;
	struct ynode *root = NULL;
	int ret;

	if (err == NULL) {
		err_clear(&local);
		ld.err = &local;
	}
	config_init_defaults(cfg);
	if ((cfg->source = strdup(ld.name)) == NULL) {
		ret = err_set(ld.err, -ENOMEM, "", "%s: out of memory", ld.name);
		goto out;
	}
	if (!yaml_parser_initialize(&ld.parser)) {
		ret = err_set(ld.err, -ENOMEM, "", "%s: out of memory", ld.name);
		goto out;
	}
	yaml_parser_set_input_string(&ld.parser, (const unsigned char *)buf, len);
	ret = ld_tree(&ld, &root);
	yaml_parser_delete(&ld.parser);
	if (ret < 0)
		goto out;
	ret = ld_root(&ld, root);
out:
	ynode_free(root);
	if (ret < 0)
		config_free(cfg);
	return ret;
}

int config_load_file(const char *path, struct config *cfg, struct err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, ret;

	memset(cfg, 0, sizeof(*cfg));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(err, -errno, "", "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = err_set(err, -errno, "", "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = err_set(err, -EINVAL, "", "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > CONFIG_MAX_FILE_SIZE) {
		ret = err_set(err, -EFBIG, "", "%s: file is too large (%lld bytes, max %u)", path,
			(long long)st.st_size, CONFIG_MAX_FILE_SIZE);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		ret = err_set(err, -ENOMEM, "", "%s: out of memory", path);
		goto out;
	}
	// Read to EOF (the size may change under us; never past the buffer).
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = err_set(
				err, -errno, "", "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	ret = config_load_buf(buf, len, path, cfg, err);
out:
	free(buf);
	close(fd);
	return ret;
}

static void opts_free(struct port_kv *kv, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free((char *)kv[i].key);
		free((char *)kv[i].value);
	}
	free(kv);
}

void config_bridges_free(struct config_bridge *b, unsigned n)
{
	if (b == NULL)
		return;
	for (unsigned i = 0; i < n; i++) {
		for (unsigned p = 0; p < b[i].n_ports; p++) {
			free(b[i].ports[p].name);
			free(b[i].ports[p].type);
			opts_free(b[i].ports[p].opts, b[i].ports[p].n_opts);
		}
		free(b[i].ports);
		free(b[i].name);
		opts_free(b[i].opts, b[i].n_opts);
		for (unsigned f = 0; f < b[i].n_flows; f++)
			free(b[i].flows[f]);
		free(b[i].flows);
	}
	free(b);
}

static int opts_dup(const struct port_kv *kv, unsigned n, struct port_kv **out, unsigned *n_out)
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

int config_bridges_dup(const struct config_bridge *b, unsigned n, struct config_bridge **out)
{
	struct config_bridge *d;
	unsigned done = 0;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((d = calloc(n, sizeof(*d))) == NULL)
		return -ENOMEM;
	for (; done < n; done++) {
		const struct config_bridge *s = &b[done];
		struct config_bridge *t = &d[done];

		t->line = s->line;
		t->col = s->col;
		if ((t->name = strdup(s->name)) == NULL)
			goto err;
		if (opts_dup(s->opts, s->n_opts, &t->opts, &t->n_opts) < 0)
			goto err;
		if (s->n_flows > 0 && (t->flows = calloc(s->n_flows, sizeof(*t->flows))) == NULL)
			goto err;
		for (unsigned f = 0; f < s->n_flows; f++) {
			t->n_flows = f + 1;
			if ((t->flows[f] = strdup(s->flows[f])) == NULL)
				goto err;
		}
		if (s->n_ports == 0)
			continue;
		if ((t->ports = calloc(s->n_ports, sizeof(*t->ports))) == NULL)
			goto err;
		for (unsigned p = 0; p < s->n_ports; p++) {
			const struct config_port *sp = &s->ports[p];
			struct config_port *tp = &t->ports[p];

			t->n_ports = p + 1;
			tp->line = sp->line;
			tp->col = sp->col;
			tp->type_line = sp->type_line;
			tp->type_col = sp->type_col;
			tp->name = strdup(sp->name);
			tp->type = strdup(sp->type);
			if (tp->name == NULL || tp->type == NULL)
				goto err;
			if (opts_dup(sp->opts, sp->n_opts, &tp->opts, &tp->n_opts) < 0)
				goto err;
		}
	}
	*out = d;
	return 0;
err:
	config_bridges_free(d, done + 1);
	return -ENOMEM;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->socket_path);
	free(cfg->socket_group);
	free(cfg->state_dir);
	free(cfg->source);
	config_bridges_free(cfg->bridges, cfg->n_bridges);
	memset(cfg, 0, sizeof(*cfg));
}

struct types_ctx {
	char list[256];
	size_t o;
};

static void types_collect(const struct port_ops *ops, void *arg)
{
	struct types_ctx *t = arg;

	if (t->o < sizeof(t->list))
		t->o += (size_t)snprintf(t->list + t->o, sizeof(t->list) - t->o, "%s%s",
			t->o ? ", " : "", ops->type);
}

int config_check_ports(const struct config *cfg, struct err *err)
{
	const char *src = cfg->source ? cfg->source : "<config>";

	for (unsigned b = 0; b < cfg->n_bridges; b++) {
		const struct config_bridge *br = &cfg->bridges[b];

		for (unsigned p = 0; p < br->n_ports; p++) {
			const struct config_port *port = &br->ports[p];
			struct types_ctx types = {.o = 0};
			char field[64];

			if (port_ops_lookup(port->type) != NULL)
				continue;
			port_ops_foreach(types_collect, &types);
			snprintf(field, sizeof(field), "bridges[%u].ports[%u].type", b, p);
			return err_set(err, -EINVAL, field,
				"%s:%u:%u: %s: unknown port type \"%s\" for port %s, expected one "
				"of: %s",
				src, port->type_line, port->type_col, field, port->type, port->name,
				types.list);
		}
	}
	return 0;
}
