// SPDX-License-Identifier: Apache-2.0
// Pid file with an advisory lock, so a second vswitchd on the same pid file refuses to start.
#ifndef VSWITCH_PIDFILE_H
#define VSWITCH_PIDFILE_H

#include "dataplane/err.h"

int pidfile_create(const char *path, struct err *err);
void pidfile_remove(void);

#endif
