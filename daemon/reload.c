// SPDX-License-Identifier: Apache-2.0
// Configuration (re)loading; see reload.h.
#include "daemon/reload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/state.h"
#include "daemon/notify.h"
#include "dataplane/log.h"

LOG_MODULE("reload");

static struct reload_opts opts;
static struct config *running;

int reload_load(const struct reload_opts *ro, struct config *cfg, struct err *err)
{
	int ret;

	// config_load_file() initialises cfg itself (defaults, then the file).
	if (ro->missing_ok && access(ro->config_path, F_OK) != 0) {
		config_init_defaults(cfg);
		LOG(NOTICE, "no configuration file at %s, running on defaults", ro->config_path);
	} else if ((ret = config_load_file(ro->config_path, cfg, err)) < 0) {
		return ret;
	}
	if (ro->socket_path) {
		char *s = strdup(ro->socket_path);
		if (s == NULL) {
			config_free(cfg);
			return err_set(err, -ENOMEM, "socket", "out of memory");
		}
		free(cfg->socket_path);
		cfg->socket_path = s;
	}
	if (ro->log_level_set)
		cfg->log_level = ro->log_level;
	log_set_level(cfg->log_level);
	return 0;
}

void reload_init(const struct reload_opts *ro, struct config *cfg)
{
	opts = *ro;
	running = cfg;
}

void reload_fini(void)
{
	running = NULL;
}

static int add_change(char ***changes, unsigned *n, const char *fmt, ...) __printf(3, 4);

static int add_change(char ***changes, unsigned *n, const char *fmt, ...)
{
	char **v = realloc(*changes, (*n + 1) * sizeof(*v));
	va_list ap;
	char *s;

	if (v == NULL)
		return -ENOMEM;
	*changes = v;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		return -ENOMEM;
	v[(*n)++] = s;
	return 0;
}

static bool mem_config_differs(const struct mem_config *a, const struct mem_config *b)
{
	// Field by field: memcmp would also compare padding.
	return a->iova_mode != b->iova_mode || a->page_size != b->page_size ||
		a->require_hugepages != b->require_hugepages ||
		memcmp(a->budget, b->budget, sizeof(a->budget)) != 0;
}

static bool str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

// Settings the running daemon cannot change without a restart: listed, not applied.
static void restart_only(
	const struct config *old, const struct config *new, char ***changes, unsigned *n)
{
	static const char suffix[] = "changed in the file; restart vswitchd to apply it";

	if (str_differs(old->socket_path, new->socket_path) ||
		str_differs(old->socket_group, new->socket_group) ||
		old->socket_mode != new->socket_mode)
		add_change(changes, n, "daemon.socket %s", suffix);
	if (str_differs(old->state_dir, new->state_dir))
		add_change(changes, n, "daemon.state-dir %s", suffix);
	if (old->dp.n_workers != new->dp.n_workers ||
		memcmp(old->dp.worker_cores, new->dp.worker_cores, sizeof(old->dp.worker_cores)) ||
		old->dp.control_core != new->dp.control_core ||
		old->dp.idle_sleep_us != new->dp.idle_sleep_us ||
		old->dp.rxq_assign != new->dp.rxq_assign ||
		old->dp.rebalance_interval_s != new->dp.rebalance_interval_s)
		add_change(changes, n, "cpu %s", suffix);
	if (old->dp.n_pkts != new->dp.n_pkts || old->dp.max_mtu != new->dp.max_mtu ||
		old->dp.pkt_cache != new->dp.pkt_cache || mem_config_differs(&old->mem, &new->mem))
		add_change(changes, n, "memory %s", suffix);
	if (old->rpc_max_clients != new->rpc_max_clients ||
		old->rpc_idle_timeout_s != new->rpc_idle_timeout_s ||
		old->watchdog_sec != new->watchdog_sec)
		add_change(changes, n, "daemon limits/watchdog %s", suffix);
}

int reload_run(char ***changes, unsigned *n_changes, struct err *err)
{
	struct config new;
	char **bridge_changes = NULL;
	unsigned n_bridge = 0, n_own;
	int ret;

	*changes = NULL;
	*n_changes = 0;
	if (running == NULL)
		return err_set(err, -EAGAIN, "", "the daemon is not running yet");
	notify_reloading();
	// A file that does not load changes nothing: the running configuration stays.
	if ((ret = reload_load(&opts, &new, err)) < 0) {
		log_set_level(running->log_level);
		notify_ready();
		return ret;
	}
	if (new.log_level != running->log_level)
		add_change(
			changes, n_changes, "log level set to %s", log_level_name(new.log_level));
	restart_only(running, &new, changes, n_changes);
	n_own = *n_changes; // the bridge and port changes are logged by state.c
	ret = state_apply_config(&new, &bridge_changes, &n_bridge, err);
	for (unsigned i = 0; i < n_bridge; i++)
		add_change(changes, n_changes, "%s", bridge_changes[i]);
	state_changes_free(bridge_changes, n_bridge);
	if (ret < 0) {
		// reload_load() already switched to the file's log level: back to the running one.
		log_set_level(running->log_level);
		config_free(&new);
		// Callers free the changes on success only.
		state_changes_free(*changes, *n_changes);
		*changes = NULL;
		*n_changes = 0;
		notify_ready();
		return ret;
	}
	// Take the new configuration but keep the running values of restart-only settings, so a
	// later reload still reports them and a restart picks them up from the file. Strings are
	// swapped so that config_free(&old) releases exactly what is no longer used.
	struct config old = *running;
	*running = new;
#define SWAP_PTR(f) \
	do { \
		char *t__ = running->f; \
		running->f = old.f; \
		old.f = t__; \
	} while (0)
	SWAP_PTR(socket_path);
	SWAP_PTR(socket_group);
	SWAP_PTR(state_dir);
#undef SWAP_PTR
	running->socket_mode = old.socket_mode;
	running->dp = old.dp;
	running->mem = old.mem;
	running->rpc_max_clients = old.rpc_max_clients;
	running->rpc_idle_timeout_s = old.rpc_idle_timeout_s;
	running->watchdog_sec = old.watchdog_sec;
	config_free(&old);
	for (unsigned i = 0; i < n_own && i < *n_changes; i++)
		LOG(INFO, "reload: %s", (*changes)[i]);
	if (*n_changes == 0)
		LOG(INFO, "reload: nothing changed");
	notify_ready();
	return 0;
}

int reload_rpc(struct err *err, json_t **result)
{
	char **changes;
	unsigned n;
	json_t *arr;
	int ret;

	if ((ret = reload_run(&changes, &n, err)) < 0)
		return ret;
	arr = json_array();
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(arr, json_string(changes[i]));
	state_changes_free(changes, n);
	*result = json_pack("{s:o}", "changes", arr);
	return 0;
}
