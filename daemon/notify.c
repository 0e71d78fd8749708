// SPDX-License-Identifier: Apache-2.0
// sd_notify integration. The watchdog ping is tied to worker progress, not to the control loop
// alone: a PMD stuck in a driver must make systemd restart us.
#include "daemon/notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "control/loop.h"
#include "dataplane/dp.h"
#include "dataplane/log.h"

LOG_MODULE("notify");

static void *status_timer;
static void *watchdog_timer;
static bool workers_healthy = true;
static unsigned stalled_checks;

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void notify_status(void)
{
	char line[256];

	snprintf(line, sizeof(line), "STATUS=%u ports, %u PMDs, %.0f packets/s%s", dp_n_ports(),
		dp_n_workers(), dp_rx_pps(), workers_healthy ? "" : ", WORKER STALLED");
	sd_notify(0, line);
}

static void status_tick(void *arg)
{
	notify_status();
}

static void watchdog_tick(void *arg)
{
	if (dp_workers_alive()) {
		if (!workers_healthy)
			LOG(NOTICE, "all workers make progress again");
		workers_healthy = true;
		stalled_checks = 0;
		sd_notify(0, "WATCHDOG=1");
		return;
	}
	// Not pinging lets WatchdogSec expire: systemd restarts the service (Restart=on-failure).
	if (stalled_checks++ == 0)
		LOG(ERR, "a worker thread made no progress; withholding the watchdog ping");
	workers_healthy = false;
	notify_status();
}

int notify_init(unsigned watchdog_sec)
{
	uint64_t usec = 0;
	int ret;

	if ((ret = sd_watchdog_enabled(0, &usec)) < 0)
		LOG(WARN, "invalid watchdog settings from systemd (%s), ignoring", strerror(-ret));
	if (ret <= 0 && watchdog_sec > 0 && getenv("NOTIFY_SOCKET"))
		usec = (uint64_t)watchdog_sec * 1000000;
	if (usec > 0) {
		// Ping at twice the required rate, and check progress at that rate too.
		unsigned ms = (unsigned)(usec / 2000);
		if (ms == 0)
			ms = 1;
		watchdog_timer = loop_timer_every(ms, watchdog_tick, NULL);
		if (watchdog_timer == NULL)
			return -errno;
		LOG(INFO,
			"watchdog enabled: interval %llu ms, pinged every %u ms while workers run",
			(unsigned long long)(usec / 1000), ms);
	}
	status_timer = loop_timer_every(2000, status_tick, NULL);
	if (status_timer == NULL)
		return -errno;
	return 0;
}

void notify_fini(void)
{
	loop_cancel(status_timer);
	loop_cancel(watchdog_timer);
	status_timer = watchdog_timer = NULL;
}

void notify_ready(void)
{
	sd_notify(0, "READY=1");
	notify_status();
}

void notify_reloading(void)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		(unsigned long long)monotonic_usec());
	sd_notify(0, msg);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

bool notify_workers_healthy(void)
{
	return workers_healthy;
}
