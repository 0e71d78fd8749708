// SPDX-License-Identifier: Apache-2.0
// Logging: one call site macro that adds module and function, a level filter, rate limiting for
// anything traffic or peers can trigger, and a pluggable sink (stderr by default, journald under
// systemd, installed by daemon/). Worker threads never log from their poll loop.
#ifndef VSWITCH_LOG_H
#define VSWITCH_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane/compiler.h"

// Same numeric values as syslog priorities so sinks can pass them through.
enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARN = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

// A sink receives fully formatted messages. `object` is the named object concerned (port, bridge,
// client), "" if none.
typedef void (*log_sink_fn)(enum log_level lvl, const char *module, const char *func,
	const char *object, const char *msg);

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
// Parses "err|warn|notice|info|debug"; returns 0 or -EINVAL.
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level lvl);
void log_set_sink(log_sink_fn sink); // NULL restores stderr
void log_sink_stderr(enum log_level lvl, const char *module, const char *func, const char *object,
	const char *msg);

void log_write(enum log_level lvl, const char *module, const char *func, const char *object,
	const char *fmt, ...) __printf(5, 6);

// Token bucket for one call site: `burst` messages, then one per `interval_ms`; the number
// suppressed is reported with the next message that passes.
struct log_rl {
	_Atomic uint64_t next_ms;
	_Atomic uint32_t tokens;
	_Atomic uint32_t suppressed;
};
// Returns true when the caller may log; *suppressed gets how many were dropped since the last pass.
bool log_rl_allow(struct log_rl *rl, unsigned burst, unsigned interval_ms, uint32_t *suppressed);

static inline bool log_enabled(enum log_level lvl)
{
	return lvl <= log_get_level();
}

#define LOG_MODULE(name) static const char log_module__[] __unused = name

#define LOG(lvl, ...) \
	do { \
		if (log_enabled(LOG_LVL_##lvl)) \
			log_write(LOG_LVL_##lvl, log_module__, __func__, "", __VA_ARGS__); \
	} while (0)

// Same as LOG with the object (port/bridge/client name) as a structured field.
#define LOG_OBJ(lvl, obj, ...) \
	do { \
		if (log_enabled(LOG_LVL_##lvl)) \
			log_write(LOG_LVL_##lvl, log_module__, __func__, (obj), __VA_ARGS__); \
	} while (0)

// Rate-limited: 10 messages, then at most one per 5 s per call site.
#define LOG_RL(lvl, obj, ...) \
	do { \
		static struct log_rl rl__; \
		uint32_t supp__; \
		if (log_enabled(LOG_LVL_##lvl) && log_rl_allow(&rl__, 10, 5000, &supp__)) { \
			if (supp__) \
				log_write(LOG_LVL_##lvl, log_module__, __func__, (obj), \
					"(%u similar messages suppressed)", supp__); \
			log_write(LOG_LVL_##lvl, log_module__, __func__, (obj), __VA_ARGS__); \
		} \
	} while (0)

#endif
