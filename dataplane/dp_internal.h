// SPDX-License-Identifier: Apache-2.0
// Datapath manager internals shared by dp.c (bridges, ports, publication, grace periods) and
// dp_pmd.c (rx queue assignment, rebalancing, worker health and statistics); not a public
// interface (callers use dp.h). Everything here belongs to the control thread.
#ifndef VSWITCH_DP_INTERNAL_H
#define VSWITCH_DP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/dp.h"
#include "dataplane/dp_opts.h"
#include "dataplane/mem.h"

struct mac_table;
struct flow_table;

struct dp_bridge {
	char name[DP_BRIDGE_NAME_MAX];
	uint16_t index; // in dp.bridges and pl_snapshot.bridges
	uint64_t seq; // creation order, for listings
	struct dp_opts opts;
	struct mac_table *macs;
	struct flow_table *flows; // flow rules (dataplane/flow_table.h)
	bool flows_active; // flow_table_active() as last published
	uint64_t dead_gen; // removed: publication that dropped it, 0 until published
	struct dp_bridge *next_dead;
};

struct dp_port {
	struct port *port;
	struct dp_bridge *br;
	uint64_t seq;
	char *type;
	struct dp_opts opts; // every option as given (datapath + driver)
	struct dp_opts_port cfg;
	bool attached; // in dp.ports: visible to lookups and published
	bool fp_stale; // driver changed its queues: out of the datapath until port_fp is
		       // re-published
	uint64_t stale_gen; // publication that took it out for that, 0 until published
	uint64_t dead_gen; // removed: publication that dropped it, 0 until published
	struct dp_port *next_dead;
	struct pl_port_counters pl_base; // datapath counters at creation / last clear
};

// The datapath manager's state. Control thread only.
struct dp_state {
	bool init;
	struct dp_config cfg;
	unsigned data_room;
	struct mempool *pools[MEM_MAX_NUMA];
	struct dp_bridge *bridges[PL_MAX_BRIDGES];
	struct dp_port *ports[PORT_MAX]; // attached ports by id
	bool id_busy[PORT_MAX]; // attached, or removed and not yet destroyed
	unsigned n_ports;
	uint64_t seq;
	uint64_t gen; // last publication
	struct dp_port *dead_ports; // destroyed once the grace period of their dead_gen ended
	struct dp_bridge *dead_bridges;
	// Rx queue assignment: what should poll each (port, queue), what polls it in the published
	// plans, and the publication that removed it from a plan (it may join its new worker
	// only after that grace period: nothing polls a queue twice, nothing is lost).
	int8_t assign[PORT_MAX][PORT_MAX_QUEUES];
	int8_t owner[PORT_MAX][PORT_MAX_QUEUES];
	uint64_t drain[PORT_MAX][PORT_MAX_QUEUES];
	bool reassign; // an assignment failed (ENOMEM): retried by dp_run()
	bool republish; // a publication failed (ENOMEM): retried by dp_run()
	void (*hook)(void *arg);
	void *hook_arg;
	const struct pl_snapshot *snap; // last published (control thread: valid until the next)
	uint32_t flow_run_sec; // last flow_table_run() second
	uint32_t mac_age_sec; // last MAC table aging sweep
};
extern struct dp_state dp;

static inline bool dp_port_live(const struct dp_port *p)
{
	return p->attached && !p->fp_stale;
}

// ---- dp.c ----

// Publishes the current state: a new snapshot, and new plans for the workers whose rx queues
// change (dp.assign against dp.owner). A queue that moves leaves its old worker in this
// publication and joins the new one after the grace period. All-or-nothing: -ENOMEM publishes
// nothing (the caller sets dp.republish to retry from dp_run()).
int dp_publish(void);

// ---- dp_pmd.c ----

// Resets the measurements, the statistics baselines and the rebalance timer; dp_init() calls it
// once the workers run.
void dp_pmd_init(void);
// Starts a new measurement interval for the rx queues of port id (added, or its queues changed).
void dp_pmd_rxq_reset(uint16_t id);
// Recomputes dp.assign from the live ports' rx queues (rxq_sched_assign with the configured
// policy and the load measured since each queue's interval started). keep: queues stay where they
// are when they may. *moved (may be NULL): queues that changed worker. 0 or -ENOMEM; dp.assign is
// unchanged on failure. Does not publish.
int dp_pmd_assign(bool keep, unsigned *moved);
// From dp_run(): every cpu.rebalance-interval seconds (cycles policy only), reassigns the rx
// queues when that lowers the busiest worker's load by DP_REBALANCE_MIN_GAIN percent or more.
void dp_pmd_run(void);

#endif
