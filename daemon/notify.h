// SPDX-License-Identifier: Apache-2.0
// systemd service protocol (sd_notify): READY/RELOADING/STOPPING, a STATUS= summary, and a
// watchdog that is fed only while every worker thread makes progress.
#ifndef VSWITCH_NOTIFY_H
#define VSWITCH_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

// Reads WATCHDOG_USEC/NOTIFY_SOCKET; starts the status and watchdog timers on the control loop.
// `watchdog_sec` (config) overrides the interval when systemd gave none.
int notify_init(unsigned watchdog_sec);
void notify_fini(void);
void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
// Refreshes STATUS= now (also done every 2 s).
void notify_status(void);
// True while the last watchdog check found every worker alive (for --check/RPC).
bool notify_workers_healthy(void);

#endif
