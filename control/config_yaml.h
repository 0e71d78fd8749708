// SPDX-License-Identifier: Apache-2.0
// The YAML layer of the vswitchd.yaml loader, shared by config.c (the schema walk) and
// config_yaml.c; not a public interface (callers use config.h). The document becomes a tree of
// nodes that keep their positions, and typed readers check one node each, failing with
// "FILE:LINE:COL: key.path: what was wrong and what was expected" in ld->err.
#ifndef VSWITCH_CONFIG_YAML_H
#define VSWITCH_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "control/config.h"

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

// Loader context: the document and where errors go, then the schema walk's state (config.c).
struct ld {
	const char *name; // file name in messages
	const char *buf;
	size_t len;
	struct err *err;
	yaml_parser_t parser;
	unsigned n_nodes;
	struct config *cfg;
	const struct ynode *workers_at; // where cpu.worker-cores was set (NULL: default)
	const struct ynode *control_at;
};

// Parses ld->buf (ld->len bytes) into a tree, aliases refused, size and depth bounded: *root is
// NULL for an empty document; free it with config_yaml_free(). 0 or -errno with ld->err filled.
int config_yaml_parse(struct ld *ld, struct ynode **root);
void config_yaml_free(struct ynode *n); // NULL: no-op

// Sets ld->err to -EINVAL "NAME:LINE:COL: path: message" (no path: "NAME:LINE:COL: message", field
// ""). Returns -EINVAL.
int __printf(5, 6) config_yaml_err_at(
	struct ld *ld, unsigned line, unsigned col, const char *path, const char *fmt, ...);
// The same at a node's position.
#define config_yaml_err(ld, node, path, ...) \
	config_yaml_err_at((ld), (node)->line, (node)->col, (path), __VA_ARGS__)

// A plain empty scalar, ~ or null (any case YAML allows).
bool config_yaml_is_null(const struct ynode *n);
// Describes what the user wrote, for "got ..." in messages: a quoted, escaped, truncated scalar,
// "a list", "a mapping" or "nothing". Returns buf or a constant string.
const char *config_yaml_got(const struct ynode *n, char *buf, size_t size);

// Joins a path prefix and a key ("cpu" + "worker-cores"), or an index ("bridges" + 0). Paths
// only label messages: a very long (unknown) key is truncated on purpose.
void config_yaml_path_key(char *out, size_t size, const char *prefix, const char *key);
void config_yaml_path_idx(char *out, size_t size, const char *prefix, unsigned i);

// Typed readers: each checks node n (at key path `path`) and returns 0 with *out set, or
// -EINVAL ("expected ..., got ...") / -ENOMEM with ld->err filled.
// A non-null scalar ("expected <expected>, got ..." otherwise).
int config_yaml_scalar(
	struct ld *ld, const struct ynode *n, const char *path, const char *expected);
bool config_yaml_is_int(const char *s); // optional '-' then digits only
int config_yaml_int(struct ld *ld, const struct ynode *n, const char *path, long long min,
	long long max, long long *out);
int config_yaml_uint(struct ld *ld, const struct ynode *n, const char *path, unsigned min,
	unsigned max, unsigned *out);
// true/yes/on, false/no/off (any case).
int config_yaml_bool(struct ld *ld, const struct ynode *n, const char *path, bool *out);
// One of `names` (case-insensitive); *out = its index.
int config_yaml_enum(struct ld *ld, const struct ynode *n, const char *path,
	const char *const *names, unsigned n_names, unsigned *out);
// Copies the scalar's text into *out (freeing the previous string).
int config_yaml_strdup(struct ld *ld, const struct ynode *n, char **out);
// An absolute path shorter than max bytes, copied into *out.
int config_yaml_abs_path(
	struct ld *ld, const struct ynode *n, const char *path, size_t max, char **out);
// A size with an optional K/M/G suffix (config_parse_size).
int config_yaml_size(struct ld *ld, const struct ynode *n, const char *path, size_t *out);
// A bridge, port or type name (letters, digits and -_.:, not starting with -) shorter than max,
// copied into *out; `what` names it in messages ("a port name").
int config_yaml_name(struct ld *ld, const struct ynode *n, const char *path, const char *what,
	size_t max, char **out);

// Checks a section value: a mapping (returns 1), or nothing (returns 0, section left at its
// defaults), anything else an error.
int config_yaml_section(struct ld *ld, const struct ynode *n, const char *path, const char *what);
// Checks key i of a mapping: no duplicate of an earlier key and, when `keys` is given, one of
// them (typo protection: the message lists the valid keys). Fills `path` with prefix.key.
int config_yaml_key(struct ld *ld, const struct ynode *map, unsigned i, const char *prefix,
	const char *const *keys, unsigned n_keys, char *path, size_t path_size);
// Options (bridge or port): a mapping of names to scalars, stored as strings in a malloc'ed
// array (*out, *n_out entries; freed by config_free() once in a config).
int config_yaml_opts(struct ld *ld, const struct ynode *n, const char *prefix, struct port_kv **out,
	unsigned *n_out);

#endif
