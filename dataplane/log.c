// SPDX-License-Identifier: Apache-2.0
// Logging core; see log.h.
#include "dataplane/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static _Atomic int log_level = LOG_LVL_INFO;
static _Atomic(log_sink_fn) log_sink = log_sink_stderr;

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "err",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_NOTICE] = "notice",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_set_level(enum log_level lvl)
{
	atomic_store_explicit(&log_level, lvl, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return atomic_load_explicit(&log_level, memory_order_relaxed);
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (unsigned i = LOG_LVL_ERR; i <= LOG_LVL_DEBUG; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	if (strcasecmp(s, "error") == 0) {
		*out = LOG_LVL_ERR;
		return 0;
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level lvl)
{
	if (lvl < LOG_LVL_ERR || lvl > LOG_LVL_DEBUG)
		return "?";
	return level_names[lvl];
}

void log_set_sink(log_sink_fn sink)
{
	atomic_store(&log_sink, sink ? sink : log_sink_stderr);
}

void log_sink_stderr(enum log_level lvl, const char *module, const char *func, const char *object,
	const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	// One fprintf so concurrent lines do not interleave.
	fprintf(stderr, "%s.%03ld %-6s %s: %s%s%s\n", when, ts.tv_nsec / 1000000,
		log_level_name(lvl), module, object && *object ? object : "",
		object && *object ? ": " : "", msg);
}

void log_write(enum log_level lvl, const char *module, const char *func, const char *object,
	const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	atomic_load (&log_sink)(lvl, module, func, object ? object : "", msg);
	errno = saved;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool log_rl_allow(struct log_rl *rl, unsigned burst, unsigned interval_ms, uint32_t *suppressed)
{
	uint64_t now = now_ms();
	uint64_t next = atomic_load_explicit(&rl->next_ms, memory_order_relaxed);

	// Refill the bucket once per interval; races only cost an extra or a missing message.
	if (now >= next) {
		atomic_store_explicit(&rl->next_ms, now + interval_ms, memory_order_relaxed);
		atomic_store_explicit(&rl->tokens, next == 0 ? burst : 1, memory_order_relaxed);
	}
	uint32_t t = atomic_load_explicit(&rl->tokens, memory_order_relaxed);
	while (t > 0) {
		if (atomic_compare_exchange_weak_explicit(
			    &rl->tokens, &t, t - 1, memory_order_relaxed, memory_order_relaxed)) {
			*suppressed =
				atomic_exchange_explicit(&rl->suppressed, 0, memory_order_relaxed);
			return true;
		}
	}
	atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
	return false;
}
