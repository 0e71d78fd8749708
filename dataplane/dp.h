// SPDX-License-Identifier: Apache-2.0
// The datapath manager: owns bridges, ports, packet pools and worker threads, and is the only
// API control/ uses to change forwarding state. Control thread only. Every mutation builds new
// immutable worker state and publishes it with RCU (dataplane/rcu.h). Removing or moving what a
// worker polls waits for one grace period on the spot, bounded by a few milliseconds (live workers
// quiesce within microseconds); past that bound the rest of the work is deferred to rcu_poll()
// (dp_run()), so a stuck worker never stalls the control loop. See docs/datapath.md.
//
// Options are key=value pairs. Bridge options: mac-table-size, mac-aging (seconds), flow-miss
// (normal|drop: what the flow table does with packets no rule matches).
// Port options understood by the datapath itself (stripped before the driver sees the rest):
//   tag=VID (access VLAN), trunks=VID[,VID...] (trunk port), vlan-mode=access|trunk|native-tagged|
//   native-untagged, enabled=true|false, mtu=N, rxq-affinity=Q:W[,Q:W...] (pin rx queue Q to
//   worker W).
#ifndef VSWITCH_DP_H
#define VSWITCH_DP_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/err.h"
#include "dataplane/pipeline.h"
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
	unsigned n_pkts; // packet buffers per NUMA node in use (0: DP_N_PKTS_DEFAULT)
	unsigned max_mtu; // sizes the data room: <= 1500 -> 2048, else 9216 (0: 1500)
	unsigned pkt_cache; // per-worker mempool cache, 0 = none (config: DP_PKT_CACHE_DEFAULT)
};

#define DP_N_PKTS_DEFAULT 16384
#define DP_PKT_CACHE_DEFAULT 256

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

// Periodic work; the daemon calls it from a 1..10 ms timer on the control thread. Runs the RCU
// callbacks whose grace period ended (rcu_poll: deferred frees, port removals and rx queue moves
// that could not finish within the bounded wait), retries a publication that failed for lack of
// memory, and rebalances rx queues every rebalance_interval_s (cycles policy) when that lowers
// the busiest worker's load by at least DP_REBALANCE_MIN_GAIN percent. Never blocks.
void dp_run(void);
#define DP_REBALANCE_MIN_GAIN 25

// ---- Queries for the RPC handlers (control thread) ----

struct dp_port_info {
	char name[PORT_NAME_MAX];
	char bridge[DP_BRIDGE_NAME_MAX];
	const char *type; // static driver type string
	uint16_t id;
	enum port_state state;
	unsigned mtu; // datapath MTU (option mtu, else the driver's)
	uint8_t mac[6];
	int link; // 1 up, 0 down, -1 unknown (driver has no link_get)
	unsigned n_rxq, n_txq;
	int numa_node;
	bool enabled;
};
// -ENOENT (err names the port) when there is no such port.
int dp_port_info_get(const char *name, struct dp_port_info *info, struct err *err);
// Calls the driver's status op (if any) with emit; -ENOENT when there is no such port.
int dp_port_status(const char *name, port_status_emit_fn emit, void *ctx, struct err *err);

struct dp_port_stats {
	struct port_stats drv; // driver counters since the last clear, with per-queue counters
	struct pl_port_counters pl; // datapath counters summed over workers since the last clear
};
int dp_port_stats_get(const char *name, struct dp_port_stats *st, struct err *err);
// Clears driver and datapath counters of one port, or of all ports when name is NULL.
int dp_stats_clear(const char *name, struct err *err);

struct dp_pmd_stats {
	unsigned worker;
	int core; // -1 unpinned
	int numa;
	// Since the last dp_pmd_stats_clear():
	uint64_t iterations, busy_cycles, idle_cycles, packets, rx_batches, tx_packets, tx_drops;
};
// Fills up to max entries (one per worker); returns the number of workers.
unsigned dp_pmd_stats_get(struct dp_pmd_stats *out, unsigned max);
// Also restarts the per-rxq measurement interval (busy_pct, cycles-based assignment).
void dp_pmd_stats_clear(void);

struct dp_rxq_info {
	unsigned worker;
	char port[PORT_NAME_MAX];
	uint16_t port_id, queue;
	double busy_pct; // share of the time spent on this queue since the interval started
	bool pinned;
	uint64_t cycles; // busy cycles since the interval started
};
// Fills up to max entries ordered by worker, then port id and queue; returns the total number
// of assigned rx queues.
unsigned dp_pmd_rxq_get(struct dp_rxq_info *out, unsigned max);
// Recomputes the whole assignment with the configured policy from the loads measured since the
// interval started, applies it (two-phase, nothing lost) and starts a new interval. *moved gets
// the number of rx queues that changed worker.
int dp_pmd_rebalance(unsigned *moved, struct err *err);

// Test hook: makes worker `worker` stall (spin without progress or quiescent points) for ms
// milliseconds (1..60000). -ENOENT / -EINVAL with err filled.
int dp_debug_stall_worker(unsigned worker, unsigned ms, struct err *err);

// ---- MAC learning tables (fdb.* RPC handlers, control thread) ----

struct mac_table;
// The MAC table of bridge `name` (dataplane/mac_table.h: dump, flush, stats), or NULL when there
// is no such bridge. The table lives as long as the bridge: use it within one handler call and
// never keep it across dp_* mutations.
struct mac_table *dp_bridge_mac_table(const char *name);

// ---- Flow tables (flow.* RPC handlers, control thread) ----

struct flow_table;
// The flow table of bridge `name` (dataplane/flow_table.h), NULL when there is no such bridge.
// Same lifetime rule as dp_bridge_mac_table(). Bridge option flow-miss=normal|drop sets its
// table-miss action.
struct flow_table *dp_bridge_flow_table(const char *name);
// After changing rules of bridge `name`: publishes a snapshot when the pipeline must start or
// may stop running the table (empty table with flow-miss=normal is skipped). Does not call the
// change hook: the caller persists.
void dp_bridge_flows_changed(const char *name);
// The pipeline snapshot published last (for traces). Valid until the next dp_* mutation.
const struct pl_snapshot *dp_snapshot_get(void);

#endif
