// SPDX-License-Identifier: Apache-2.0
// Human output for vsctl: aligned tables (column widths computed, numbers right-aligned, no
// trailing spaces) and the one-line rendering of JSON values used in tables and `show`.
#ifndef VSWITCH_TABLE_H
#define VSWITCH_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "ctl/vsctl.h"

enum table_align {
	TABLE_LEFT,
	TABLE_RIGHT, // numbers
};

struct table_col {
	const char *title; // NULL in every column: no header line
	enum table_align align;
};

struct table;

// Creates an empty table (the titles are copied). NULL + errno on failure.
struct table *table_create(const struct table_col *cols, unsigned n_cols);
void table_destroy(struct table *t); // NULL: no-op

// Starts a new row; the cells are then filled left to right. Allocation failures and extra cells
// are remembered and reported by table_print(), so callers check only that one.
void table_row(struct table *t);
void table_cell(struct table *t, const char *fmt, ...) VSCTL_PRINTF(2, 3);
// A JSON value rendered with table_format_value().
void table_cell_json(struct table *t, const json_t *v);

// Prints the header (if any) and the rows, each line prefixed with `indent` spaces. Columns are
// separated by two spaces; text is sanitized (control characters become '?').
// Returns 0, -ENOMEM if an earlier call failed to allocate, -EINVAL for a row with too many cells.
int table_print(const struct table *t, FILE *out, unsigned indent);
unsigned table_n_rows(const struct table *t);

// A table whose columns are the keys met in an array of objects (first-seen order; titles are
// the keys upper-cased; a column holding only numbers is right-aligned). NULL + errno.
struct table *table_from_array(const json_t *arr);

// Prints an object as aligned "key:  value" lines (keys sorted; values right-aligned when they
// are all numbers). Returns 0 or -ENOMEM.
int table_print_object(FILE *out, unsigned indent, const json_t *obj);

// One-line rendering (malloc'ed, NULL on ENOMEM): strings as they are, integers in decimal,
// reals with %g, null as "-", objects as {key=value, ...} with sorted keys (values quoted when
// they are empty or hold space , = { } [ ] "), arrays as [a, b]. Control characters become '?'.
char *table_format_value(const json_t *v);

// "1.5 GiB"-style size (binary units, one decimal above 1 KiB).
void table_format_bytes(char *buf, size_t size, double bytes);

// Display width of UTF-8 text (code points; enough for names and values).
size_t table_text_width(const char *s);

#endif
