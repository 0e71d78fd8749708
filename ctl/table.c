// SPDX-License-Identifier: Apache-2.0
// Aligned tables and one-line JSON value rendering for vsctl's human output (see table.h).
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/table.h"

struct table {
	unsigned n_cols;
	char **titles; // n_cols, NULL entries when the table has no header
	enum table_align *align;
	bool header;
	char **cells; // n_rows * n_cols, NULL = empty cell
	unsigned n_rows;
	unsigned cap_rows;
	unsigned next_col; // of the last row
	int error; // first failure, reported by table_print()
};

// Growable string used to render values.
struct sbuf {
	char *s;
	size_t len;
	size_t cap;
	bool oom;
};

static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

// Returns the string (caller frees) or NULL if an allocation failed.
static char *sbuf_finish(struct sbuf *b)
{
	if (b->s == NULL)
		sbuf_add(b, "", 0);
	if (b->oom) {
		free(b->s);
		return NULL;
	}
	return b->s;
}

// Values come from vswitchd and may carry names chosen by guests or peers: never let them move
// the terminal cursor or inject escape sequences.
static void sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

size_t table_text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static bool needs_quotes(const char *s)
{
	if (*s == '\0')
		return true;
	for (; *s != '\0'; s++)
		if (isspace((unsigned char)*s) || strchr(",={}[]\"", *s) != NULL)
			return true;
	return false;
}

static void render(struct sbuf *b, const json_t *v, bool nested);

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void render_object(struct sbuf *b, const json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
	const char *key;
	json_t *val;

	if (n && keys == NULL) {
		b->oom = true;
		return;
	}
	json_object_foreach((json_t *)obj, key, val)
		keys[i++] = key;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), cmp_str);
	sbuf_str(b, "{");
	for (i = 0; i < n; i++) {
		if (i)
			sbuf_str(b, ", ");
		sbuf_str(b, keys[i]);
		sbuf_str(b, "=");
		render(b, json_object_get(obj, keys[i]), true);
	}
	sbuf_str(b, "}");
	free(keys);
}

static void render(struct sbuf *b, const json_t *v, bool nested)
{
	char num[64];
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		if (nested && needs_quotes(json_string_value(v))) {
			// Quote and escape like ovs-vsctl so that "a, b" stays one value.
			sbuf_str(b, "\"");
			for (const char *s = json_string_value(v); *s != '\0'; s++) {
				if (*s == '"' || *s == '\\')
					sbuf_str(b, "\\");
				sbuf_add(b, s, 1);
			}
			sbuf_str(b, "\"");
		} else {
			sbuf_add(b, json_string_value(v), json_string_length(v));
		}
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		sbuf_str(b, num);
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%g", json_real_value(v));
		sbuf_str(b, num);
		break;
	case JSON_TRUE:
		sbuf_str(b, "true");
		break;
	case JSON_FALSE:
		sbuf_str(b, "false");
		break;
	case JSON_OBJECT:
		render_object(b, v);
		break;
	case JSON_ARRAY:
		sbuf_str(b, "[");
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				sbuf_str(b, ", ");
			render(b, json_array_get(v, i), true);
		}
		sbuf_str(b, "]");
		break;
	case JSON_NULL:
	default:
		sbuf_str(b, "-");
		break;
	}
}

char *table_format_value(const json_t *v)
{
	struct sbuf b = {0};
	char *s;

	if (v == NULL)
		sbuf_str(&b, "-");
	else
		render(&b, v, false);
	if ((s = sbuf_finish(&b)) != NULL)
		sanitize(s);
	return s;
}

void table_format_bytes(char *buf, size_t size, double bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	unsigned u = 0;

	if (bytes < 1024) {
		snprintf(buf, size, "%.0f B", bytes);
		return;
	}
	bytes /= 1024;
	while (bytes >= 1024 && u + 1 < VSCTL_ARRAY_SIZE(units)) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s", bytes, units[u]);
}

struct table *table_create(const struct table_col *cols, unsigned n_cols)
{
	struct table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->n_cols = n_cols;
	t->titles = calloc(n_cols ? n_cols : 1, sizeof(*t->titles));
	t->align = calloc(n_cols ? n_cols : 1, sizeof(*t->align));
	if (t->titles == NULL || t->align == NULL)
		goto err;
	for (unsigned c = 0; c < n_cols; c++) {
		t->align[c] = cols[c].align;
		if (cols[c].title == NULL)
			continue;
		t->header = true;
		if ((t->titles[c] = strdup(cols[c].title)) == NULL)
			goto err;
	}
	t->next_col = n_cols; // no row started yet
	return t;
err:
	table_destroy(t);
	errno = ENOMEM;
	return NULL;
}

void table_destroy(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < (size_t)t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	for (unsigned c = 0; t->titles != NULL && c < t->n_cols; c++)
		free(t->titles[c]);
	free(t->titles);
	free(t->align);
	free(t->cells);
	free(t);
}

unsigned table_n_rows(const struct table *t)
{
	return t->n_rows;
}

void table_row(struct table *t)
{
	if (t->error)
		return;
	if (t->n_rows == t->cap_rows) {
		unsigned cap = t->cap_rows ? t->cap_rows * 2 : 16;
		char **cells = realloc(
			t->cells, (size_t)cap * (t->n_cols ? t->n_cols : 1) * sizeof(*cells));
		if (cells == NULL) {
			t->error = -ENOMEM;
			return;
		}
		t->cells = cells;
		t->cap_rows = cap;
	}
	memset(&t->cells[(size_t)t->n_rows * t->n_cols], 0, t->n_cols * sizeof(*t->cells));
	t->n_rows++;
	t->next_col = 0;
}

// Takes ownership of s (NULL = allocation failed).
static void table_put(struct table *t, char *s)
{
	if (t->error) {
		free(s);
		return;
	}
	if (s == NULL) {
		t->error = -ENOMEM;
		return;
	}
	if (t->next_col >= t->n_cols) {
		free(s);
		t->error = -EINVAL;
		return;
	}
	sanitize(s);
	t->cells[(size_t)(t->n_rows - 1) * t->n_cols + t->next_col++] = s;
}

void table_cell(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	table_put(t, s);
}

void table_cell_json(struct table *t, const json_t *v)
{
	table_put(t, table_format_value(v));
}

static void print_line(
	FILE *out, unsigned indent, const struct table *t, char *const *texts, const size_t *widths)
{
	struct sbuf b = {0};
	char *line;

	for (unsigned i = 0; i < indent; i++)
		sbuf_str(&b, " ");
	for (unsigned c = 0; c < t->n_cols; c++) {
		const char *s = texts[c] ? texts[c] : "";
		size_t pad = widths[c] - table_text_width(s);

		if (c)
			sbuf_str(&b, "  ");
		if (t->align[c] == TABLE_RIGHT)
			for (size_t i = 0; i < pad; i++)
				sbuf_str(&b, " ");
		sbuf_str(&b, s);
		if (t->align[c] == TABLE_LEFT)
			for (size_t i = 0; i < pad; i++)
				sbuf_str(&b, " ");
	}
	if ((line = sbuf_finish(&b)) == NULL)
		return;
	// Padding of a left-aligned last column (or of empty trailing cells) is never printed.
	size_t len = strlen(line);
	while (len > 0 && line[len - 1] == ' ')
		line[--len] = '\0';
	fprintf(out, "%s\n", line);
	free(line);
}

int table_print(const struct table *t, FILE *out, unsigned indent)
{
	size_t *widths;

	if (t->error)
		return t->error;
	if ((widths = calloc(t->n_cols ? t->n_cols : 1, sizeof(*widths))) == NULL)
		return -ENOMEM;
	for (unsigned c = 0; c < t->n_cols; c++) {
		if (t->titles[c] != NULL)
			widths[c] = table_text_width(t->titles[c]);
		for (unsigned r = 0; r < t->n_rows; r++) {
			const char *s = t->cells[(size_t)r * t->n_cols + c];
			if (s != NULL && table_text_width(s) > widths[c])
				widths[c] = table_text_width(s);
		}
	}
	if (t->header)
		print_line(out, indent, t, t->titles, widths);
	for (unsigned r = 0; r < t->n_rows; r++)
		print_line(out, indent, t, &t->cells[(size_t)r * t->n_cols], widths);
	free(widths);
	return 0;
}

struct table *table_from_array(const json_t *arr)
{
	struct table_col *cols = NULL;
	const char **keys = NULL;
	struct table *t = NULL;
	unsigned n = 0, cap = 0;
	const char *key;
	json_t *row, *val;
	size_t i;

	// Union of the keys, in the order they first appear.
	json_array_foreach((json_t *)arr, i, row) {
		json_object_foreach(row, key, val) {
			unsigned k;
			for (k = 0; k < n && strcmp(keys[k], key) != 0; k++)
				;
			if (k < n)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				const char **p = realloc(keys, cap * sizeof(*keys));
				if (p == NULL)
					goto out;
				keys = p;
			}
			keys[n++] = key;
		}
	}
	if ((cols = calloc(n ? n : 1, sizeof(*cols))) == NULL)
		goto out;
	for (unsigned k = 0; k < n; k++) {
		char *title = strdup(keys[k]);
		bool numeric = true;

		if (title == NULL)
			goto out_titles;
		for (char *p = title; *p != '\0'; p++)
			*p = (char)toupper((unsigned char)*p);
		cols[k].title = title;
		json_array_foreach((json_t *)arr, i, row) {
			val = json_object_get(row, keys[k]);
			if (val != NULL && !json_is_number(val) && !json_is_null(val))
				numeric = false;
		}
		cols[k].align = numeric ? TABLE_RIGHT : TABLE_LEFT;
	}
	if ((t = table_create(cols, n)) == NULL)
		goto out_titles;
	json_array_foreach((json_t *)arr, i, row) {
		table_row(t);
		for (unsigned k = 0; k < n; k++)
			table_cell_json(t, json_object_get(row, keys[k]));
	}
out_titles:
	for (unsigned k = 0; k < n; k++)
		free((char *)cols[k].title);
out:
	free(cols);
	free(keys);
	if (t == NULL)
		errno = ENOMEM;
	return t;
}

int table_print_object(FILE *out, unsigned indent, const json_t *obj)
{
	struct table_col cols[] = {{NULL, TABLE_LEFT}, {NULL, TABLE_RIGHT}};
	size_t n = json_object_size(obj), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	struct table *t = NULL;
	const char *key;
	json_t *val;
	int ret = -ENOMEM;

	if (keys == NULL)
		goto out;
	json_object_foreach((json_t *)obj, key, val) {
		keys[i++] = key;
		if (!json_is_number(val))
			cols[1].align =
				TABLE_LEFT; // counters line up on the right, text on the left
	}
	if ((t = table_create(cols, 2)) == NULL)
		goto out;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++) {
		table_row(t);
		table_cell(t, "%s:", keys[i]);
		table_cell_json(t, json_object_get(obj, keys[i]));
	}
	ret = table_print(t, out, indent);
out:
	table_destroy(t);
	free(keys);
	return ret;
}
