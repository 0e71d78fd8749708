// SPDX-License-Identifier: Apache-2.0
// Error reports that travel up to the user: a message plus the field at fault, filled where the
// error is understood (config loader, port driver, RPC handler) and returned with a -errno.
#ifndef VSWITCH_ERR_H
#define VSWITCH_ERR_H

#include "dataplane/compiler.h"

struct err {
	int code; // negative errno, 0 when unset
	char field[64]; // the config key / RPC param / option at fault, "" if none
	char msg[512]; // complete sentence for the user, with the object's name
};

// Fill err (may be NULL) and return code (a negative errno) so callers can
// `return err_set(err, -EINVAL, "mtu", "port %s: mtu %u out of range", ...)`.
// Only the first error is kept: a later err_set on a filled err does nothing.
int err_set(struct err *err, int code, const char *field, const char *fmt, ...) __printf(4, 5);
void err_clear(struct err *err);

#endif
