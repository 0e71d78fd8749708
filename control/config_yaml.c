// SPDX-License-Identifier: Apache-2.0
// The YAML layer of the vswitchd.yaml loader (config_yaml.h): libyaml events become a small node
// tree that keeps positions (aliases refused, size and depth bounded), and typed readers check
// one node each with a message that says where and what was expected.
#include "control/config_yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

// Bounds that keep a hostile or broken file from costing more than a few MB or milliseconds.
#define YNODE_MAX_DEPTH 32
#define YNODE_MAX_NODES 200000
#define YNODE_MAX_MAP_KEYS 512 // keeps the quadratic duplicate-key check cheap
#define CONFIG_MAX_OPT_VALUE 1024

// ---------------------------------------------------------------------------------------------
// Errors

int config_yaml_err_at(
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

bool config_yaml_is_null(const struct ynode *n)
{
	if (n->type != YNODE_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
		strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const char *config_yaml_got(const struct ynode *n, char *buf, size_t size)
{
	size_t o = 0;

	if (n->type == YNODE_SEQ)
		return "a list";
	if (n->type == YNODE_MAP)
		return "a mapping";
	if (config_yaml_is_null(n))
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

void config_yaml_free(struct ynode *n)
{
	if (n == NULL)
		return;
	for (unsigned i = 0; i < n->n_kids; i++)
		config_yaml_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

static struct ynode *ynode_new(struct ld *ld, enum ynode_type type, const yaml_mark_t *mark)
{
	struct ynode *n;

	if (++ld->n_nodes > YNODE_MAX_NODES) {
		config_yaml_err_at(ld, (unsigned)mark->line + 1, (unsigned)mark->column + 1, NULL,
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
			config_yaml_free(kid);
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
			return config_yaml_err_at(ld, line, col, NULL,
				"invalid input: %s (byte 0x%02x); the file must be UTF-8 text",
				p->problem, (unsigned)p->problem_value & 0xff);
		return config_yaml_err_at(ld, line, col, NULL,
			"invalid input: %s; the file must be UTF-8 text", p->problem);
	default:
		line = (unsigned)p->problem_mark.line + 1;
		col = (unsigned)p->problem_mark.column + 1;
		if (p->context != NULL)
			return config_yaml_err_at(ld, line, col, NULL,
				"invalid YAML: %s (%s at line %u)",
				p->problem ? p->problem : "syntax error", p->context,
				(unsigned)p->context_mark.line + 1);
		return config_yaml_err_at(ld, line, col, NULL, "invalid YAML: %s",
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
				ret = config_yaml_err_at(ld, (unsigned)ev.start_mark.line + 1,
					(unsigned)ev.start_mark.column + 1, NULL,
					"mapping keys must be plain names, got %s",
					ev.type == YAML_ALIAS_EVENT ? "an alias" : "a collection");
				yaml_event_delete(&ev);
				return ret;
			}
			if (n->n_kids / 2 >= YNODE_MAX_MAP_KEYS) {
				ret = config_yaml_err_at(ld, (unsigned)ev.start_mark.line + 1,
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
		return config_yaml_err_at(ld, line, col, NULL,
			"nesting is too deep (more than %u levels)", YNODE_MAX_DEPTH);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return config_yaml_err_at(ld, line, col, NULL,
			"aliases (*%s) are not supported; repeat the value instead",
			(const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL)
			return config_yaml_err_at(
				ld, line, col, NULL, "NUL characters are not allowed");
		if ((n = ynode_new(ld, YNODE_SCALAR, &ev->start_mark)) == NULL)
			return ld->err ? ld->err->code : -ENOMEM;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->len = ev->data.scalar.length;
		if ((n->str = strndup((const char *)ev->data.scalar.value, n->len)) == NULL) {
			config_yaml_free(n);
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
			config_yaml_free(n);
			return ret;
		}
		*out = n;
		return 0;
	}
	default:
		return config_yaml_err_at(
			ld, line, col, NULL, "unexpected YAML event %d", (int)ev->type);
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
		ret = config_yaml_err_at(ld, (unsigned)ev.start_mark.line + 1,
			(unsigned)ev.start_mark.column + 1, NULL,
			"only one YAML document is allowed in the configuration");
		yaml_event_delete(&ev);
		goto err_root;
	}
	yaml_event_delete(&ev);
	return 0;
err_root:
	config_yaml_free(*root);
	*root = NULL;
	return ret;
}

int config_yaml_parse(struct ld *ld, struct ynode **root)
{
	int ret;

	*root = NULL;
	if (!yaml_parser_initialize(&ld->parser))
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	yaml_parser_set_input_string(&ld->parser, (const unsigned char *)ld->buf, ld->len);
	ret = ld_tree(ld, root);
	yaml_parser_delete(&ld->parser);
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

void config_yaml_path_key(char *out, size_t size, const char *prefix, const char *key)
{
	size_t o = 0;

	out[0] = '\0';
	str_append(out, size, &o, prefix);
	if (*prefix != '\0')
		str_append(out, size, &o, ".");
	str_append(out, size, &o, key);
}

void config_yaml_path_idx(char *out, size_t size, const char *prefix, unsigned i)
{
	char idx[16];
	size_t o = 0;

	snprintf(idx, sizeof(idx), "[%u]", i);
	out[0] = '\0';
	str_append(out, size, &o, prefix);
	str_append(out, size, &o, idx);
}

int config_yaml_scalar(struct ld *ld, const struct ynode *n, const char *path, const char *expected)
{
	char got[80];

	if (n->type != YNODE_SCALAR || config_yaml_is_null(n))
		return config_yaml_err(ld, n, path, "expected %s, got %s", expected,
			config_yaml_got(n, got, sizeof(got)));
	return 0;
}

bool config_yaml_is_int(const char *s)
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

int config_yaml_int(struct ld *ld, const struct ynode *n, const char *path, long long min,
	long long max, long long *out)
{
	char expected[80], got[80];
	long long v;
	int ret;

	snprintf(expected, sizeof(expected), "an integer %lld..%lld", min, max);
	if ((ret = config_yaml_scalar(ld, n, path, expected)) < 0)
		return ret;
	if (!config_yaml_is_int(n->str))
		return config_yaml_err(ld, n, path, "expected %s, got %s", expected,
			config_yaml_got(n, got, sizeof(got)));
	errno = 0;
	v = strtoll(n->str, NULL, 10);
	if (errno == ERANGE || v < min || v > max)
		return config_yaml_err(
			ld, n, path, "%s is out of range, expected %lld..%lld", n->str, min, max);
	*out = v;
	return 0;
}

int config_yaml_uint(struct ld *ld, const struct ynode *n, const char *path, unsigned min,
	unsigned max, unsigned *out)
{
	long long v;
	int ret;

	if ((ret = config_yaml_int(ld, n, path, min, max, &v)) < 0)
		return ret;
	*out = (unsigned)v;
	return 0;
}

int config_yaml_bool(struct ld *ld, const struct ynode *n, const char *path, bool *out)
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
	return config_yaml_err(ld, n, path, "expected true or false, got %s",
		config_yaml_got(n, got, sizeof(got)));
}

int config_yaml_enum(struct ld *ld, const struct ynode *n, const char *path,
	const char *const *names, unsigned n_names, unsigned *out)
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
	return config_yaml_err(
		ld, n, path, "expected %s, got %s", expected, config_yaml_got(n, got, sizeof(got)));
}

int config_yaml_strdup(struct ld *ld, const struct ynode *n, char **out)
{
	char *s = strdup(n->str);

	if (s == NULL)
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	free(*out);
	*out = s;
	return 0;
}

int config_yaml_abs_path(
	struct ld *ld, const struct ynode *n, const char *path, size_t max, char **out)
{
	char got[80];
	int ret;

	if ((ret = config_yaml_scalar(ld, n, path, "an absolute path")) < 0)
		return ret;
	if (n->str[0] != '/')
		return config_yaml_err(ld, n, path,
			"expected an absolute path (starting with /), got %s",
			config_yaml_got(n, got, sizeof(got)));
	if (n->len >= max)
		return config_yaml_err(
			ld, n, path, "path is too long (%zu bytes, max %zu)", n->len, max - 1);
	return config_yaml_strdup(ld, n, out);
}

int config_yaml_size(struct ld *ld, const struct ynode *n, const char *path, size_t *out)
{
	char got[80];
	int ret;

	if ((ret = config_yaml_scalar(ld, n, path, "a size like 512M or 1G")) < 0)
		return ret;
	ret = config_parse_size(n->str, out);
	if (ret == -ERANGE)
		return config_yaml_err(ld, n, path, "size %s is too large", n->str);
	if (ret < 0)
		return config_yaml_err(ld, n, path,
			"expected a size in bytes with an optional K, M or G suffix (like 512M), "
			"got %s",
			config_yaml_got(n, got, sizeof(got)));
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

int config_yaml_name(struct ld *ld, const struct ynode *n, const char *path, const char *what,
	size_t max, char **out)
{
	char got[80];

	// A plain `null` is the word here, not YAML's null: `type: null` names the null driver.
	if (n->type != YNODE_SCALAR || n->len == 0 || (n->plain && strcmp(n->str, "~") == 0))
		return config_yaml_err(ld, n, path, "expected %s, got %s", what,
			config_yaml_got(n, got, sizeof(got)));
	if (n->len >= max)
		return config_yaml_err(ld, n, path, "%s is too long (%zu characters, max %zu)",
			config_yaml_got(n, got, sizeof(got)), n->len, max - 1);
	if (!name_is_valid(n->str))
		return config_yaml_err(ld, n, path,
			"expected %s made of letters, digits and -_.: (not starting with -), "
			"got %s",
			what, config_yaml_got(n, got, sizeof(got)));
	return config_yaml_strdup(ld, n, out);
}

// ---------------------------------------------------------------------------------------------
// Mappings

int config_yaml_section(struct ld *ld, const struct ynode *n, const char *path, const char *what)
{
	char got[80];

	if (config_yaml_is_null(n))
		return 0;
	if (n->type != YNODE_MAP)
		return config_yaml_err(ld, n, path, "expected %s, got %s", what,
			config_yaml_got(n, got, sizeof(got)));
	return 1;
}

int config_yaml_key(struct ld *ld, const struct ynode *map, unsigned i, const char *prefix,
	const char *const *keys, unsigned n_keys, char *path, size_t path_size)
{
	const struct ynode *k = map->kids[2 * i];
	char valid[300] = "";
	size_t o = 0;

	config_yaml_path_key(path, path_size, prefix, k->str);
	for (unsigned j = 0; j < i; j++) {
		const struct ynode *prev = map->kids[2 * j];

		if (strcmp(prev->str, k->str) == 0)
			return config_yaml_err(
				ld, k, path, "duplicate key (first set at line %u)", prev->line);
	}
	if (keys == NULL)
		return 0;
	for (unsigned j = 0; j < n_keys; j++)
		if (strcmp(keys[j], k->str) == 0)
			return 0;
	for (unsigned j = 0; j < n_keys && o < sizeof(valid); j++)
		o += (size_t)snprintf(valid + o, sizeof(valid) - o, "%s%s", j ? ", " : "", keys[j]);
	return config_yaml_err(ld, k, path, "unknown key, expected one of: %s", valid);
}

int config_yaml_opts(struct ld *ld, const struct ynode *n, const char *prefix, struct port_kv **out,
	unsigned *n_out)
{
	char path[192], got[80];
	struct port_kv *kv;
	unsigned n_kv;
	int ret;

	if ((ret = config_yaml_section(ld, n, prefix, "a mapping of option names to values")) <= 0)
		return ret;
	n_kv = n->n_kids / 2;
	if (n_kv > PORT_ARGS_MAX)
		return config_yaml_err(
			ld, n, prefix, "too many options (%u, max %u)", n_kv, PORT_ARGS_MAX);
	if (n_kv == 0)
		return 0;
	if ((kv = calloc(n_kv, sizeof(*kv))) == NULL)
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	*out = kv;
	for (unsigned i = 0; i < n_kv; i++) {
		const struct ynode *k = n->kids[2 * i], *v = n->kids[2 * i + 1];

		if ((ret = config_yaml_key(ld, n, i, prefix, NULL, 0, path, sizeof(path))) < 0)
			return ret;
		if (!name_is_valid(k->str) || k->len > 64)
			return config_yaml_err(ld, k, path,
				"expected an option name made of letters, digits and -_.:, got %s",
				config_yaml_got(k, got, sizeof(got)));
		if (v->type != YNODE_SCALAR || config_yaml_is_null(v) || v->len == 0)
			return config_yaml_err(ld, v, path,
				"expected a value (string, number or boolean; write lists as "
				"\"10,20\"), got %s",
				config_yaml_got(v, got, sizeof(got)));
		if (v->len > CONFIG_MAX_OPT_VALUE)
			return config_yaml_err(ld, v, path, "value is too long (%zu bytes, max %u)",
				v->len, CONFIG_MAX_OPT_VALUE);
		kv[i].key = strdup(k->str);
		kv[i].value = strdup(v->str);
		*n_out = i + 1;
		if (kv[i].key == NULL || kv[i].value == NULL)
			return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	}
	return 0;
}
