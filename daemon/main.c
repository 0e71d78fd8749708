// SPDX-License-Identifier: Apache-2.0
// vswitchd: parses options, loads the configuration, brings up memory, the datapath and the
// control plane in that order, tells systemd when the configured bridges and ports are up, and
// tears everything down in reverse on SIGTERM. Runs in the foreground (systemd style).
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/config.h"
#include "control/loop.h"
#include "control/rpc.h"
#include "control/rpc_server.h"
#include "control/state.h"
#include "daemon/check.h"
#include "daemon/journal.h"
#include "daemon/notify.h"
#include "daemon/pidfile.h"
#include "daemon/reload.h"
#include "dataplane/dp.h"
#include "dataplane/log.h"
#include "dataplane/mem.h"

LOG_MODULE("vswitchd");

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vswitchd [OPTIONS]\n"
		"Userspace poll-mode virtual switch daemon (runs in the foreground).\n\n"
		"  -c, --config FILE      configuration file\n"
		"                         (default " CONFIG_DEFAULT_PATH ")\n"
		"  -s, --socket PATH      JSON-RPC control socket, overrides daemon.socket\n"
		"                         (default " RPC_SOCKET_DEFAULT ")\n"
		"  -l, --log-level LEVEL  err, warn, notice, info or debug; overrides\n"
		"                         daemon.log-level (default info)\n"
		"  -p, --pidfile FILE     write and lock a pid file\n"
		"      --check            validate the configuration and the host, print the\n"
		"                         findings with their fixes, exit 0 (ok) or 1\n"
		"  -h, --help             this help\n"
		"  -V, --version          print the version\n\n"
		"Signals: SIGTERM/SIGINT stop cleanly, SIGHUP re-reads the configuration.\n"
		"Exit status: 0 stopped cleanly, 1 configuration or start-up error, 2 bad usage.\n"
		"Documentation: docs/user-guide.md; control it with vsctl (vsctl --help).\n");
}

static void on_stop(int signo, void *arg)
{
	LOG(NOTICE, "%s received, stopping", strsignal(signo));
	notify_stopping();
	loop_stop();
}

static void on_hup(int signo, void *arg)
{
	struct err err = {0};
	char **changes = NULL;
	unsigned n = 0;

	LOG(NOTICE, "SIGHUP received, reloading the configuration");
	if (reload_run(&changes, &n, &err) < 0) {
		LOG(ERR, "reload failed, keeping the running configuration: %s", err.msg);
		return;
	}
	state_changes_free(changes, n);
}

// Frees what workers no longer see (RCU), retries deferred publications, ages MAC tables,
// expires flows and rebalances rx queues.
static void dp_tick(void *arg)
{
	dp_run();
}

static int run(struct config *cfg, const char *pidfile)
{
	struct rpc_server_config scfg;
	struct err err = {0};
	char **changes = NULL;
	unsigned n_changes = 0;
	void *dp_timer = NULL;
	int ret;

	if (pidfile && (ret = pidfile_create(pidfile, &err)) < 0) {
		LOG(ERR, "%s", err.msg);
		return ret;
	}
	if ((ret = loop_init()) < 0) {
		LOG(ERR, "cannot create the control loop: %s", strerror(-ret));
		goto out_pidfile;
	}
	if ((ret = mem_init(&cfg->mem, &err)) < 0) {
		LOG(ERR, "memory: %s", err.msg);
		goto out_loop;
	}
	if ((ret = dp_init(&cfg->dp, &err)) < 0) {
		LOG(ERR, "datapath: %s", err.msg);
		goto out_mem;
	}
	dp_timer = loop_timer_every(2, dp_tick, NULL);
	rpc_init();
	rpc_daemon_set_reload_hook(reload_rpc);
	// The socket comes first: it refuses to start when another vswitchd answers on it, before
	// this instance touches any state. Requests are served only once the loop runs.
	scfg = (struct rpc_server_config){
		.path = cfg->socket_path,
		.group = cfg->socket_group,
		.mode = cfg->socket_mode,
		.max_clients = cfg->rpc_max_clients,
		.idle_timeout_s = cfg->rpc_idle_timeout_s,
		.max_request = RPC_MAX_REQUEST,
	};
	if ((ret = rpc_server_start(&scfg, &err)) < 0) {
		LOG(ERR, "control socket: %s", err.msg);
		goto out_dp;
	}
	if ((ret = state_init(cfg->state_dir, &err)) < 0) {
		LOG(ERR, "state: %s", err.msg);
		goto out_server;
	}
	// Bridges and ports from the file and the persisted state; individual port failures are
	// reported and do not stop the daemon (the operator fixes them at run time).
	if ((ret = state_apply_config(cfg, &changes, &n_changes, &err)) < 0) {
		LOG(ERR, "applying the configuration: %s", err.msg);
		goto out_state;
	}
	state_changes_free(changes, n_changes); // each change was logged by state.c
	dp_set_change_hook(state_change_hook, NULL);

	loop_signal(SIGTERM, on_stop, NULL);
	loop_signal(SIGINT, on_stop, NULL);
	loop_signal(SIGHUP, on_hup, NULL);
	if ((ret = notify_init(cfg->watchdog_sec)) < 0) {
		LOG(ERR, "systemd notification timers: %s", strerror(-ret));
		goto out_state;
	}
	LOG(NOTICE, "vswitchd %s ready: %u ports, %u workers, control socket %s", VSWITCH_VERSION,
		dp_n_ports(), dp_n_workers(), cfg->socket_path);
	notify_ready();

	ret = loop_run();

	notify_stopping();
	notify_fini();
out_state:
	dp_set_change_hook(NULL, NULL);
	// Flush the run-time state once more so an orderly stop never loses a change.
	if (state_save(&err) < 0)
		LOG(ERR, "saving state: %s", err.msg);
	state_fini();
out_server:
	rpc_server_stop();
out_dp:
	loop_cancel(dp_timer);
	dp_fini();
out_mem:
	mem_fini();
out_loop:
	loop_fini();
out_pidfile:
	pidfile_remove();
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 's'},
		{"log-level", required_argument, NULL, 'l'},
		{"pidfile", required_argument, NULL, 'p'},
		{"check", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct reload_opts ro = {.config_path = CONFIG_DEFAULT_PATH};
	const char *pidfile = NULL;
	bool check = false, explicit_config = false;
	struct config cfg;
	struct err err = {0};
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:s:l:p:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ro.config_path = optarg;
			explicit_config = true;
			break;
		case 's':
			ro.socket_path = optarg;
			break;
		case 'l':
			if (log_level_parse(optarg, &ro.log_level) < 0) {
				fprintf(stderr,
					"vswitchd: invalid --log-level '%s' "
					"(expected err, warn, notice, info or debug)\n",
					optarg);
				return 2;
			}
			ro.log_level_set = true;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vswitchd %s (JSON-RPC API %d.%d)\n", VSWITCH_VERSION, RPC_API_MAJOR,
				RPC_API_MINOR);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vswitchd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (journal_stderr_is_journal())
		journal_install();
	signal(SIGPIPE, SIG_IGN);

	ro.missing_ok = !explicit_config;
	if ((ret = reload_load(&ro, &cfg, &err)) < 0) {
		fprintf(stderr, "vswitchd: %s\n", err.msg);
		return 1;
	}
	if (check) {
		printf("configuration %s: ok\n", ro.config_path);
		ret = check_print(&cfg, stdout);
		config_free(&cfg);
		return ret;
	}
	reload_init(&ro, &cfg);
	ret = run(&cfg, pidfile);
	reload_fini();
	config_free(&cfg);
	if (ret < 0) {
		LOG(ERR, "exiting after a fatal error");
		return 1;
	}
	LOG(NOTICE, "stopped");
	return 0;
}
