// SPDX-License-Identifier: Apache-2.0
// The datapath manager: owns bridges, ports, packet pools and worker threads, and is the only
// API control/ uses to change forwarding state. Control thread only. Every mutation builds new
// immutable worker state and publishes it with RCU (dataplane/rcu.h); nothing here blocks on a
// worker except dp_quiesce() during teardown.
//
// Options are key=value pairs. Bridge options: mac-table-size, mac-aging (seconds).
// Port options understood by the datapath itself (stripped before the driver sees the rest):
//   tag=VID (access VLAN), trunks=VID[,VID...] (trunk port), vlan-mode=access|trunk|native-tagged|
//   native-untagged, enabled=true|false, mtu=N, rxq-affinity=Q:W[,Q:W...] (pin rx queue Q to worker W).
#ifndef VSWITCH_DP_H
#define VSWITCH_DP_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/err.h"
#include "drivers/port.h"

#define DP_MAX_WORKERS 32
#define DP_BRIDGE_NAME_MAX 32

enum dp_rxq_assign {
	DP_RXQ_CYCLES = 0, // by measured busy cycles (default), NUMA-local first
	DP_RXQ_ROUNDROBIN,
};

struct dp_config {
	unsigned n_workers; // >= 1
	int worker_cores[DP_MAX_WORKERS]; // CPU of each worker; -1 = unpinned
	int control_core; // -1: leave the control thread where it is
	unsigned idle_sleep_us; // 0: busy poll (default); else sleep up to this when idle
	enum dp_rxq_assign rxq_assign;
	unsigned rebalance_interval_s; // cycles-based reassignment period, 0 = never automatic
	unsigned n_pkts; // packet buffers per NUMA node in use
	unsigned max_mtu; // sizes the data room: <= 1500+26 -> 2048, else 9216
	unsigned pkt_cache; // per-worker mempool cache
};

int dp_init(const struct dp_config *cfg, struct err *err); // after mem_init()
void dp_fini(void); // stops workers, removes all ports and bridges, frees pools

// Mutations: 0 or -errno with err filled. -EEXIST, -ENOENT as expected; -EINVAL for options.
int dp_bridge_add(const char *name, const struct port_kv *opts, unsigned n_opts, struct err *err);
int dp_bridge_del(const char *name, struct err *err); // removes its ports first
int dp_port_add(const char *bridge, const char *name, const char *type, const struct port_kv *opts,
	unsigned n_opts, struct err *err);
int dp_port_del(const char *name, struct err *err);
// Changes options in place; an option given with an empty value is removed. Datapath options
// apply without touching the driver; driver options go to port_ops.reconfigure, or -EOPNOTSUPP.
int dp_port_set(const char *name, const struct port_kv *opts, unsigned n_opts, struct err *err);

// The configuration as applied (what persistence saves and reload diffs against).
struct dp_port_conf {
	const char *name;
	const char *bridge;
	const char *type;
	const struct port_kv *opts; // every option as given (datapath + driver)
	unsigned n_opts;
};
struct dp_bridge_conf {
	const char *name;
	const struct port_kv *opts;
	unsigned n_opts;
};
void dp_bridge_foreach(void (*cb)(const struct dp_bridge_conf *br, void *arg), void *arg);
void dp_port_foreach(void (*cb)(const struct dp_port_conf *p, void *arg), void *arg);
struct port *dp_port_lookup(const char *name);
unsigned dp_n_ports(void);
unsigned dp_n_workers(void);

// Called after every successful mutation (persistence hooks here); NULL to clear.
void dp_set_change_hook(void (*fn)(void *arg), void *arg);

// Health for the systemd watchdog: true when every worker made progress (loop iterations) since
// the previous call. Control thread.
bool dp_workers_alive(void);
// Aggregate rates for STATUS=: packets/s received over all ports since the previous call.
double dp_rx_pps(void);

#endif
