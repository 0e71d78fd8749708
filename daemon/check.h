// SPDX-License-Identifier: Apache-2.0
// `vswitchd --check`: validates the configuration and the host (CPUs, hugepages, memlock,
// directories, drivers) and prints each finding with the exact fix.
#ifndef VSWITCH_CHECK_H
#define VSWITCH_CHECK_H

#include <stdio.h>

#include "control/config.h"

enum check_level {
	CHECK_OK,
	CHECK_WARN, // works, but degraded (e.g. no hugepages: normal pages)
	CHECK_FAIL, // vswitchd would not start or a configured port would fail
	CHECK_NOTE, // would be a warning for a feature the configuration does not use (yet)
};

// Called by each check; `fix` may be NULL.
typedef void (*check_report_fn)(void *ctx, enum check_level lvl, const char *what, const char *fix);

// Runs every host check for cfg and reports through fn. Returns the number of failures.
unsigned check_run(const struct config *cfg, check_report_fn fn, void *ctx);
// Prints findings to out; returns 0 when nothing failed, 1 otherwise.
int check_print(const struct config *cfg, FILE *out);

#endif
