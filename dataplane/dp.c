// SPDX-License-Identifier: Apache-2.0
// The datapath manager (dp.h): bridges, ports, packet pools and workers. Every change builds a new
// immutable pipeline snapshot and new per-worker rx plans and publishes them with RCU; what
// workers may still use is released after a grace period (docs/datapath.md). Which worker polls
// which rx queue, rebalancing and the pmd.* statistics are in dp_pmd.c.
#include "dataplane/dp.h"

#include <ctype.h>
#include <errno.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/dp_internal.h"
#include "dataplane/dp_opts.h"
#include "dataplane/flow_table.h"
#include "dataplane/log.h"
#include "dataplane/mac_table.h"
#include "dataplane/mem.h"
#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "dataplane/rcu.h"
#include "dataplane/worker.h"

LOG_MODULE("dp");

STATIC_ASSERT(DP_MAX_WORKERS == WORKER_MAX, "dp and worker agree on the worker limit");
STATIC_ASSERT(DP_MAX_WORKERS <= 127, "worker ids fit in int8_t");

#define DP_GRACE_US 10000 // bounded wait on the control loop for workers to quiesce

// What the workers see: one allocation per publication, freed after a grace period.
struct dp_snap {
	struct pl_snapshot s; // first: workers get &s, the free gets the whole block
	struct pl_port ports[PORT_MAX];
	struct pl_bridge bridges[PL_MAX_BRIDGES];
	uint16_t members[PORT_MAX];
	uint64_t trunks[PORT_MAX][DP_OPTS_VLAN_WORDS];
};

struct dp_state dp; // see dp_internal.h

static void dp_after_grace(uint64_t gen);
static void dp_flows_publish(void);

// ---- lookups ----

static struct dp_bridge *dp_bridge_find(const char *name)
{
	for (unsigned i = 0; i < PL_MAX_BRIDGES; i++) {
		if (dp.bridges[i] != NULL && strcmp(dp.bridges[i]->name, name) == 0)
			return dp.bridges[i];
	}
	return NULL;
}

static struct dp_port *dp_port_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (unsigned i = 0; i < PORT_MAX; i++) {
		if (dp.ports[i] != NULL && strcmp(dp.ports[i]->port->name, name) == 0)
			return dp.ports[i];
	}
	return NULL;
}

static bool dp_port_dying(const char *name)
{
	for (struct dp_port *p = dp.dead_ports; p != NULL; p = p->next_dead) {
		if (strcmp(p->port->name, name) == 0)
			return true;
	}
	return false;
}

static struct mempool *dp_pool_for(int node)
{
	if (node >= 0 && node < MEM_MAX_NUMA && dp.pools[node] != NULL)
		return dp.pools[node];
	for (unsigned i = 0; i < MEM_MAX_NUMA; i++) {
		if (dp.pools[i] != NULL)
			return dp.pools[i];
	}
	return NULL;
}

static void dp_changed(void)
{
	if (dp.hook != NULL)
		dp.hook(dp.hook_arg);
}

// ---- publication ----

static void dp_defer_free(void *p)
{
	if (p == NULL)
		return;
	if (rcu_defer(free, p) == 0)
		return;
	// No memory for the callback record: wait for the grace period here instead.
	while (rcu_synchronize(1000000) < 0)
		LOG_RL(ERR, "", "a worker does not quiesce: still waiting to free datapath state");
	free(p);
}

// Starts (or finishes on the spot) the wait after publication gen.
static void dp_grace_cb(void *arg)
{
	dp_after_grace((uint64_t)(uintptr_t)arg);
}

static void dp_grace(uint64_t gen)
{
	// Bounded wait first: live workers quiesce within microseconds, and finishing now means
	// a removed port has released its resources when the RPC returns.
	if (rcu_synchronize(DP_GRACE_US) == 0) {
		rcu_poll();
		// Earlier deferred work must run first (a port's cleanup before its bridge's).
		if (rcu_pending() == 0) {
			dp_after_grace(gen);
			return;
		}
	}
	if (rcu_defer(dp_grace_cb, (void *)(uintptr_t)gen) == 0)
		return;
	while (rcu_synchronize(1000000) < 0)
		LOG_RL(ERR, "", "a worker does not quiesce: still waiting to finish a change");
	rcu_barrier();
	dp_after_grace(gen);
}

static struct dp_snap *dp_snap_build(uint64_t gen)
{
	struct dp_snap *sn = calloc(1, sizeof(*sn));
	unsigned m = 0;

	if (sn == NULL)
		return NULL;
	sn->s.generation = gen;
	sn->s.pool = dp_pool_for(-1);
	for (uint16_t b = 0; b < PL_MAX_BRIDGES; b++) {
		const struct dp_bridge *br = dp.bridges[b];
		struct pl_bridge *pb = &sn->bridges[b];

		if (br == NULL)
			continue;
		pb->index = b;
		snprintf(pb->name, sizeof(pb->name), "%s", br->name);
		pb->macs = br->macs;
		// An empty table with the default miss action gives what L2 alone gives: skip it.
		pb->flows = flow_table_active(br->flows) ? br->flows : NULL;
		pb->ports = &sn->members[m];
		for (uint16_t id = 0; id < PORT_MAX; id++) {
			const struct dp_port *p = dp.ports[id];

			if (p != NULL && dp_port_live(p) && p->br == br) {
				sn->members[m++] = id;
				pb->n_ports++;
			}
		}
		sn->s.bridges[b] = pb;
	}
	for (uint16_t id = 0; id < PORT_MAX; id++) {
		const struct dp_port *p = dp.ports[id];
		struct pl_port *pp = &sn->ports[id];

		if (p == NULL || !dp_port_live(p))
			continue;
		pp->id = id;
		pp->bridge = p->br->index;
		pp->enabled = p->cfg.enabled;
		pp->vlan_mode = p->cfg.vlan_mode;
		pp->tag = p->cfg.tag;
		pp->mtu = p->cfg.mtu != 0 ? p->cfg.mtu : (p->port->mtu != 0 ? p->port->mtu : 1500);
		if (p->cfg.has_trunks) {
			memcpy(sn->trunks[id], p->cfg.trunks, sizeof(sn->trunks[id]));
			pp->trunks = sn->trunks[id];
		}
		snprintf(pp->name, sizeof(pp->name), "%s", p->port->name);
		sn->s.ports[id] = pp;
	}
	return sn;
}

static struct worker_plan *dp_plan_build(int8_t (*owner)[PORT_MAX_QUEUES], int8_t w, uint64_t gen)
{
	struct worker_plan *plan;
	unsigned n = 0;

	for (unsigned id = 0; id < PORT_MAX; id++) {
		for (unsigned q = 0; q < PORT_MAX_QUEUES; q++)
			n += owner[id][q] == w;
	}
	plan = malloc(sizeof(*plan) + n * sizeof(plan->rxq[0]));
	if (plan == NULL)
		return NULL;
	plan->generation = gen;
	plan->n = 0;
	for (uint16_t id = 0; id < PORT_MAX; id++) {
		for (uint16_t q = 0; q < PORT_MAX_QUEUES; q++) {
			if (owner[id][q] == w)
				plan->rxq[plan->n++] = (struct worker_rxq){.port = id, .queue = q};
		}
	}
	return plan;
}

// Publishes the current state: a new snapshot, and new plans for the workers whose rx queues
// change. A queue that moves leaves its old worker in this publication and joins the new one
// after the grace period (dp_after_grace). All-or-nothing: -ENOMEM publishes nothing.
int dp_publish(void)
{
	static int8_t owner[PORT_MAX][PORT_MAX_QUEUES];
	struct worker_plan *plans[DP_MAX_WORKERS] = {0};
	bool changed[DP_MAX_WORKERS] = {0};
	unsigned nw = worker_count();
	uint64_t gen = dp.gen + 1;
	bool need_grace = false;
	const struct pl_snapshot *old;
	struct dp_snap *snap;

	for (unsigned id = 0; id < PORT_MAX; id++) {
		for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
			int8_t o = dp.owner[id][q], a = dp.assign[id][q];

			owner[id][q] = o;
			if (o >= 0 && o != a) {
				owner[id][q] = -1;
				changed[o] = true;
				need_grace = true;
			} else if (o < 0 && a >= 0 && dp.drain[id][q] == 0) {
				owner[id][q] = a;
				changed[a] = true;
			}
		}
	}
	for (unsigned w = 0; w < nw; w++) {
		if (changed[w] && (plans[w] = dp_plan_build(owner, (int8_t)w, gen)) == NULL)
			goto err_plans;
	}
	if ((snap = dp_snap_build(gen)) == NULL)
		goto err_plans;

	// Nothing can fail from here on.
	dp.gen = gen;
	for (unsigned id = 0; id < PORT_MAX; id++) {
		for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
			if (dp.owner[id][q] >= 0 && owner[id][q] < 0)
				dp.drain[id][q] = gen;
			dp.owner[id][q] = owner[id][q];
		}
	}
	for (unsigned w = 0; w < nw; w++) {
		if (plans[w] != NULL)
			dp_defer_free((void *)worker_plan_set(w, plans[w]));
	}
	old = worker_snapshot_set(&snap->s);
	// &s is the first member: the block starts there.
	dp_defer_free((void *)old);
	dp.snap = &snap->s;
	for (unsigned b = 0; b < PL_MAX_BRIDGES; b++) {
		if (dp.bridges[b] != NULL)
			dp.bridges[b]->flows_active = snap->bridges[b].flows != NULL;
	}

	for (struct dp_port *p = dp.dead_ports; p != NULL; p = p->next_dead) {
		if (p->dead_gen == 0) {
			p->dead_gen = gen;
			need_grace = true;
		}
	}
	for (struct dp_bridge *br = dp.dead_bridges; br != NULL; br = br->next_dead) {
		if (br->dead_gen == 0) {
			br->dead_gen = gen;
			need_grace = true;
		}
	}
	for (unsigned id = 0; id < PORT_MAX; id++) {
		struct dp_port *p = dp.ports[id];

		if (p != NULL && p->fp_stale && p->stale_gen == 0) {
			p->stale_gen = gen;
			need_grace = true;
		}
	}
	dp.republish = false;
	if (need_grace)
		dp_grace(gen);
	return 0;

err_plans:
	for (unsigned w = 0; w < nw; w++)
		free(plans[w]);
	return -ENOMEM;
}

// After any change of ports or their options: assign rx queues, publish. Failures (ENOMEM) are
// retried from dp_run(); until then workers keep using the previous, consistent state.
static void dp_commit(void)
{
	if (dp_pmd_assign(true, NULL) < 0) {
		dp.reassign = true;
		LOG(WARN, "out of memory assigning rx queues, will retry");
	} else {
		dp.reassign = false;
	}
	if (dp_publish() < 0) {
		dp.republish = true;
		LOG(WARN, "out of memory publishing the datapath state, will retry");
	}
}

static void dp_port_finish(struct dp_port *p)
{
	uint16_t id = p->port->id;

	// No worker can learn on the port any more: forget it in the MAC table.
	if (p->br != NULL && p->br->macs != NULL)
		mac_table_flush(p->br->macs, id, -1);
	LOG_OBJ(DEBUG, p->port->name, "destroying port (id %u)", id);
	port_destroy(p->port);
	dp.id_busy[id] = false;
	dp_opts_free(&p->opts);
	free(p->type);
	free(p);
}

static void dp_bridge_finish(struct dp_bridge *br)
{
	flow_table_destroy(br->flows);
	mac_table_destroy(br->macs);
	dp_opts_free(&br->opts);
	free(br);
}

// Everything published at or before gen is no longer seen by any worker.
static void dp_after_grace(uint64_t gen)
{
	bool again = false;

	for (unsigned id = 0; id < PORT_MAX; id++) {
		for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
			if (dp.drain[id][q] != 0 && dp.drain[id][q] <= gen) {
				dp.drain[id][q] = 0;
				again = true;
			}
		}
	}
	for (struct dp_port **pp = &dp.dead_ports; *pp != NULL;) {
		struct dp_port *p = *pp;

		if (p->dead_gen != 0 && p->dead_gen <= gen) {
			*pp = p->next_dead;
			dp_port_finish(p);
		} else {
			pp = &p->next_dead;
		}
	}
	for (struct dp_bridge **bp = &dp.dead_bridges; *bp != NULL;) {
		struct dp_bridge *br = *bp;

		if (br->dead_gen != 0 && br->dead_gen <= gen) {
			*bp = br->next_dead;
			dp_bridge_finish(br);
		} else {
			bp = &br->next_dead;
		}
	}
	for (uint16_t id = 0; id < PORT_MAX; id++) {
		struct dp_port *p = dp.ports[id];

		if (p == NULL || !p->fp_stale || p->stale_gen == 0 || p->stale_gen > gen)
			continue;
		// Nobody polls or sends to the port: safe to swap its queue pointers.
		port_fp_publish(p->port);
		p->fp_stale = false;
		p->stale_gen = 0;
		dp_pmd_rxq_reset(id);
		again = true;
	}
	if (again && dp.init)
		dp_commit();
}

// port->queues_changed: the driver's queues changed (count or pointers).
static void dp_queues_changed(struct port *port)
{
	struct dp_port *p = port->dp_priv;

	// During probe/start (not attached yet) port_start() publishes the fast path itself.
	if (!dp.init || p == NULL || !p->attached)
		return;
	LOG_OBJ(DEBUG, port->name, "queues changed: %u rxq, %u txq, re-publishing", port->n_rxq,
		port->n_txq);
	if (!p->fp_stale) {
		p->fp_stale = true;
		p->stale_gen = 0;
	}
	dp_commit();
}

// ---- init / fini ----

static int dp_config_check(const struct dp_config *cfg, struct err *err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	if (cfg->n_workers < 1 || cfg->n_workers > DP_MAX_WORKERS) {
		return err_set(err, -EINVAL, "workers", "%u workers: expected 1 to %d",
			cfg->n_workers, DP_MAX_WORKERS);
	}
	for (unsigned i = 0; i < cfg->n_workers; i++) {
		int c = cfg->worker_cores[i];

		if (c < -1 || (c >= 0 && c >= ncpu)) {
			return err_set(err, -EINVAL, "worker-cores",
				"worker %u: CPU %d does not exist (CPUs 0-%ld)", i, c, ncpu - 1);
		}
		if (c >= 0 && c == cfg->control_core) {
			return err_set(err, -EINVAL, "worker-cores",
				"worker %u: CPU %d is the control thread's CPU; workers need "
				"their own",
				i, c);
		}
		for (unsigned j = 0; j < i; j++) {
			if (c >= 0 && cfg->worker_cores[j] == c) {
				return err_set(err, -EINVAL, "worker-cores",
					"workers %u and %u are both on CPU %d", j, i, c);
			}
		}
	}
	if (cfg->control_core < -1 || cfg->control_core >= ncpu) {
		return err_set(err, -EINVAL, "control-core", "control CPU %d does not exist",
			cfg->control_core);
	}
	if (cfg->rxq_assign != DP_RXQ_CYCLES && cfg->rxq_assign != DP_RXQ_ROUNDROBIN)
		return err_set(err, -EINVAL, "rxq-assign", "unknown rx queue assignment policy");
	if (cfg->max_mtu > PKT_DATA_ROOM_JUMBO - DP_OPTS_L2_OVERHEAD) {
		return err_set(err, -EINVAL, "max-mtu", "max-mtu %u: at most %d", cfg->max_mtu,
			PKT_DATA_ROOM_JUMBO - DP_OPTS_L2_OVERHEAD);
	}
	return 0;
}

static int dp_cpu_node(int core)
{
	int node = 0;

	if (core >= 0 && numa_available() >= 0)
		node = numa_node_of_cpu(core);
	return node >= 0 && node < MEM_MAX_NUMA ? node : 0;
}

static void dp_pools_destroy(void)
{
	for (unsigned i = 0; i < MEM_MAX_NUMA; i++) {
		unsigned leaked;

		if (dp.pools[i] == NULL)
			continue;
		leaked = mempool_destroy(dp.pools[i]);
		if (leaked != 0) {
			LOG(WARN, "packet pool of NUMA node %u: %u buffers still in use, leaked", i,
				leaked);
		}
		dp.pools[i] = NULL;
	}
}

int dp_init(const struct dp_config *cfg, struct err *err)
{
	struct worker_config wcfg[DP_MAX_WORKERS];
	int ret;

	if (dp.init)
		return err_set(err, -EBUSY, "", "datapath already initialised");
	if ((ret = dp_config_check(cfg, err)) < 0)
		return ret;
	memset(&dp, 0, sizeof(dp));
	dp.cfg = *cfg;
	if (dp.cfg.n_pkts == 0)
		dp.cfg.n_pkts = DP_N_PKTS_DEFAULT;
	if (dp.cfg.max_mtu == 0)
		dp.cfg.max_mtu = 1500;
	dp.data_room = dp.cfg.max_mtu <= 1500 ? PKT_DATA_ROOM_DEFAULT : PKT_DATA_ROOM_JUMBO;
	memset(dp.assign, -1, sizeof(dp.assign));
	memset(dp.owner, -1, sizeof(dp.owner));

	for (unsigned i = 0; i < cfg->n_workers; i++) {
		int node = dp_cpu_node(cfg->worker_cores[i]);
		char name[32];

		wcfg[i] = (struct worker_config){
			.core = cfg->worker_cores[i],
			.idle_sleep_us = cfg->idle_sleep_us,
		};
		if (dp.pools[node] != NULL)
			continue;
		snprintf(name, sizeof(name), "pkt-node%d", node);
		dp.pools[node] =
			pkt_pool_create(name, dp.cfg.n_pkts, dp.data_room, dp.cfg.pkt_cache, node);
		if (dp.pools[node] == NULL) {
			ret = err_set(err, -errno, "n-pkts",
				"cannot create the packet pool of NUMA node %d (%u buffers of "
				"%u bytes): %s",
				node, dp.cfg.n_pkts, dp.data_room, strerror(errno));
			goto err_pools;
		}
	}
	if (cfg->control_core >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cfg->control_core, &set);
		if ((ret = pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) != 0) {
			ret = err_set(err, -ret, "control-core",
				"cannot pin the control thread to CPU %d: %s", cfg->control_core,
				strerror(ret));
			goto err_pools;
		}
	}
	if ((ret = worker_init(cfg->n_workers, wcfg, err)) < 0)
		goto err_pools;
	if (dp_publish() < 0) {
		ret = err_set(err, -ENOMEM, "", "out of memory publishing the datapath state");
		goto err_workers;
	}
	dp_pmd_init();
	dp.init = true;
	LOG(INFO, "%u workers started, %u packet buffers of %u bytes per NUMA node", cfg->n_workers,
		dp.cfg.n_pkts, dp.data_room);
	return 0;

err_workers:
	free((void *)worker_snapshot_set(NULL));
	worker_fini();
err_pools:
	dp_pools_destroy();
	return ret;
}

void dp_fini(void)
{
	struct dp_bridge *all[PL_MAX_BRIDGES];
	unsigned n = 0;

	if (!dp.init)
		return;
	// Tearing down is not a configuration change: persistence must not see it.
	dp.hook = NULL;
	for (unsigned i = 0; i < PL_MAX_BRIDGES; i++) {
		if (dp.bridges[i] != NULL)
			all[n++] = dp.bridges[i];
	}
	for (unsigned i = 0; i < n; i++)
		dp_bridge_del(all[i]->name, NULL);
	for (unsigned w = 0; w < worker_count(); w++)
		dp_defer_free((void *)worker_plan_set(w, NULL));
	dp_defer_free((void *)worker_snapshot_set(NULL));
	rcu_barrier();
	worker_fini();
	// Workers are gone: nothing else can be pending, but run what is.
	rcu_barrier();
	dp_pools_destroy();
	dp.init = false;
}

// ---- bridges ----

static int dp_bridge_name_check(const char *name, struct err *err)
{
	size_t len = name != NULL ? strlen(name) : 0;

	if (len == 0)
		return err_set(err, -EINVAL, "name", "bridge name missing");
	if (len >= DP_BRIDGE_NAME_MAX) {
		return err_set(err, -EINVAL, "name",
			"bridge name '%s' too long (max %d characters)", name,
			DP_BRIDGE_NAME_MAX - 1);
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != ':' && c != '-') {
			return err_set(err, -EINVAL, "name",
				"bridge name '%s' has an invalid character at position %zu "
				"(allowed: letters, digits, '_', '.', ':', '-')",
				name, i + 1);
		}
	}
	return 0;
}

// flow_table_port_ops.lookup: port names in flow rules resolve within their bridge.
static int dp_flow_port_lookup(void *arg, const char *name)
{
	const struct dp_bridge *br = arg;
	const struct dp_port *p = dp_port_find(name);

	if (p == NULL)
		return -ENOENT;
	return p->br == br ? p->port->id : -EXDEV;
}

int dp_bridge_add(const char *name, const struct port_kv *opts, unsigned n_opts, struct err *err)
{
	unsigned size = MAC_TABLE_SIZE_DEFAULT, aging = MAC_TABLE_AGING_DEFAULT;
	enum flow_miss miss = FLOW_MISS_NORMAL;
	struct flow_table_port_ops fops;
	struct dp_bridge *br;
	int ret, idx = -1;

	if (!dp.init)
		return err_set(err, -EAGAIN, "", "datapath not initialised");
	rcu_poll();
	if ((ret = dp_bridge_name_check(name, err)) < 0)
		return ret;
	if (dp_bridge_find(name) != NULL)
		return err_set(err, -EEXIST, "name", "bridge %s already exists", name);
	if ((ret = dp_opts_check("bridge", name, opts, n_opts, err)) < 0)
		return ret;
	for (unsigned i = 0; i < n_opts; i++) {
		const char *k = opts[i].key, *v = opts[i].value;

		if (strcmp(k, "mac-table-size") == 0) {
			if (dp_opts_parse_uint(v, MAC_TABLE_SIZE_MIN, MAC_TABLE_SIZE_MAX, &size) <
				0) {
				return err_set(err, -EINVAL, k,
					"bridge %s: mac-table-size=%s: expected %u to %u entries",
					name, v, MAC_TABLE_SIZE_MIN, MAC_TABLE_SIZE_MAX);
			}
		} else if (strcmp(k, "mac-aging") == 0) {
			if (dp_opts_parse_uint(
				    v, MAC_TABLE_AGING_MIN, MAC_TABLE_AGING_MAX, &aging) < 0) {
				return err_set(err, -EINVAL, k,
					"bridge %s: mac-aging=%s: expected %u to %u seconds", name,
					v, MAC_TABLE_AGING_MIN, MAC_TABLE_AGING_MAX);
			}
		} else if (strcmp(k, "flow-miss") == 0) {
			if (strcmp(v, "normal") == 0) {
				miss = FLOW_MISS_NORMAL;
			} else if (strcmp(v, "drop") == 0) {
				miss = FLOW_MISS_DROP;
			} else {
				return err_set(err, -EINVAL, k,
					"bridge %s: flow-miss=%s: expected normal or drop", name,
					v);
			}
		} else {
			return err_set(err, -EINVAL, k,
				"bridge %s: unknown option '%s' (valid: mac-table-size, mac-aging, "
				"flow-miss)",
				name, k);
		}
	}
	for (unsigned i = 0; i < PL_MAX_BRIDGES && idx < 0; i++) {
		if (dp.bridges[i] == NULL)
			idx = (int)i;
	}
	if (idx < 0) {
		return err_set(err, -ENOSPC, "name", "bridge %s: too many bridges (max %d)", name,
			PL_MAX_BRIDGES);
	}
	if ((br = calloc(1, sizeof(*br))) == NULL)
		return err_set(err, -ENOMEM, "", "bridge %s: out of memory", name);
	snprintf(br->name, sizeof(br->name), "%s", name);
	br->index = (uint16_t)idx;
	if ((ret = dp_opts_copy(&br->opts, opts, n_opts)) < 0) {
		ret = err_set(err, ret, "", "bridge %s: out of memory", name);
		goto err_free;
	}
	if ((br->macs = mac_table_create(size, aging)) == NULL) {
		ret = err_set(err, -errno, "mac-table-size",
			"bridge %s: cannot create a MAC table of %u entries: %s", name, size,
			strerror(errno));
		goto err_free;
	}
	fops = (struct flow_table_port_ops){.lookup = dp_flow_port_lookup, .arg = br};
	if ((br->flows = flow_table_create(name, worker_count(), miss, &fops)) == NULL) {
		ret = err_set(err, -ENOMEM, "", "bridge %s: cannot create its flow table: %s", name,
			strerror(errno));
		goto err_macs;
	}
	br->seq = ++dp.seq;
	dp.bridges[idx] = br;
	dp_commit();
	LOG_OBJ(INFO, name, "bridge added (mac-table-size %u, mac-aging %u s)", size, aging);
	dp_changed();
	return 0;

err_macs:
	mac_table_destroy(br->macs);
err_free:
	dp_opts_free(&br->opts);
	free(br);
	return ret;
}

// Takes p out of the datapath; it is destroyed after the grace period of the next publication.
static void dp_port_detach(struct dp_port *p)
{
	uint16_t id = p->port->id;

	dp.ports[id] = NULL;
	dp.n_ports--;
	p->attached = false;
	p->dead_gen = 0;
	p->next_dead = dp.dead_ports;
	dp.dead_ports = p;
	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++)
		dp.assign[id][q] = -1;
}

int dp_bridge_del(const char *name, struct err *err)
{
	struct dp_bridge *br;

	if (!dp.init)
		return err_set(err, -EAGAIN, "", "datapath not initialised");
	rcu_poll();
	if (name == NULL || (br = dp_bridge_find(name)) == NULL) {
		return err_set(err, -ENOENT, "name", "bridge %s does not exist",
			name != NULL ? name : "(null)");
	}
	for (unsigned id = 0; id < PORT_MAX; id++) {
		if (dp.ports[id] != NULL && dp.ports[id]->br == br)
			dp_port_detach(dp.ports[id]);
	}
	// Before the commit: it may free br, and name may be br->name (dp_fini).
	LOG_OBJ(INFO, name, "removing bridge");
	dp.bridges[br->index] = NULL;
	br->dead_gen = 0;
	br->next_dead = dp.dead_bridges;
	dp.dead_bridges = br;
	dp_commit();
	dp_changed();
	return 0;
}

// ---- ports ----

static int dp_mtu_apply(struct port *port, unsigned mtu, struct err *err)
{
	int ret;

	// Without mtu_set the datapath alone enforces the MTU on egress.
	if (port->ops->mtu_set == NULL)
		return 0;
	if ((ret = port->ops->mtu_set(port, mtu, err)) < 0) {
		return err_set(err, ret, "mtu", "port %s: cannot set mtu %u: %s", port->name, mtu,
			strerror(-ret));
	}
	return 0;
}

int dp_port_add(const char *bridge, const char *name, const char *type, const struct port_kv *opts,
	unsigned n_opts, struct err *err)
{
	struct port_kv drv[DP_OPTS_MAX];
	unsigned n_drv = 0;
	struct dp_bridge *br;
	struct dp_port *p;
	struct port tmpl;
	int ret, id = -1;

	if (!dp.init)
		return err_set(err, -EAGAIN, "", "datapath not initialised");
	rcu_poll();
	if (bridge == NULL || (br = dp_bridge_find(bridge)) == NULL) {
		return err_set(err, -ENOENT, "bridge", "bridge %s does not exist",
			bridge != NULL ? bridge : "(null)");
	}
	if (name == NULL || name[0] == '\0')
		return err_set(err, -EINVAL, "name", "port name missing");
	if (dp_port_find(name) != NULL)
		return err_set(err, -EEXIST, "name", "port %s already exists", name);
	if (dp_port_dying(name)) {
		return err_set(err, -EBUSY, "name",
			"port %s is still being removed (a worker is slow to quiesce), try again",
			name);
	}
	if (type == NULL || type[0] == '\0')
		return err_set(err, -EINVAL, "type", "port %s: type missing", name);
	if ((ret = dp_opts_check("port", name, opts, n_opts, err)) < 0)
		return ret;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return err_set(err, -ENOMEM, "", "port %s: out of memory", name);
	if ((ret = dp_opts_port_parse(
		     name, opts, n_opts, dp.data_room, worker_count(), &p->cfg, err)) < 0)
		goto err_free;
	for (unsigned i = 0; i < n_opts; i++) {
		if (!dp_opts_is_port_key(opts[i].key))
			drv[n_drv++] = opts[i];
	}
	for (unsigned i = 0; i < PORT_MAX && id < 0; i++) {
		if (!dp.id_busy[i])
			id = (int)i;
	}
	if (id < 0) {
		ret = err_set(
			err, -ENOSPC, "name", "port %s: too many ports (max %d)", name, PORT_MAX);
		goto err_free;
	}
	if ((p->type = strdup(type)) == NULL || dp_opts_copy(&p->opts, opts, n_opts) < 0) {
		ret = err_set(err, -ENOMEM, "", "port %s: out of memory", name);
		goto err_free;
	}

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.id = (uint16_t)id;
	tmpl.pool = dp_pool_for(-1);
	tmpl.queues_changed = dp_queues_changed;
	tmpl.dp_priv = p;
	if ((p->port = port_create(name, type, drv, n_drv, &tmpl, err)) == NULL) {
		ret = err_set(
			err, errno != 0 ? -errno : -EINVAL, "", "port %s: cannot create", name);
		goto err_free;
	}
	// The driver knows its NUMA node after probe: receive into that node's pool if we have one.
	if (p->port->numa_node >= 0)
		p->port->pool = dp_pool_for(p->port->numa_node);
	if (p->cfg.mtu != 0 && (ret = dp_mtu_apply(p->port, p->cfg.mtu, err)) < 0)
		goto err_port;
	if ((ret = port_start(p->port, err)) < 0)
		goto err_port;

	p->br = br;
	p->seq = ++dp.seq;
	p->attached = true;
	dp.ports[id] = p;
	dp.id_busy[id] = true;
	dp.n_ports++;
	// The id may have served an earlier port: its counters start from here.
	worker_port_counters((uint16_t)id, &p->pl_base);
	dp_pmd_rxq_reset((uint16_t)id);
	// Flow rules naming this port start matching / sending to it.
	flow_table_ports_changed(br->flows);
	dp_commit();
	LOG_OBJ(INFO, name, "added to bridge %s: type %s, id %d, %u rxq, %u txq, NUMA node %d",
		bridge, type, id, p->port->n_rxq, p->port->n_txq, p->port->numa_node);
	dp_changed();
	return 0;

err_port:
	port_destroy(p->port);
err_free:
	dp_opts_free(&p->opts);
	free(p->type);
	free(p);
	return ret;
}

int dp_port_del(const char *name, struct err *err)
{
	struct dp_port *p;

	if (!dp.init)
		return err_set(err, -EAGAIN, "", "datapath not initialised");
	rcu_poll();
	if ((p = dp_port_find(name)) == NULL) {
		return err_set(err, -ENOENT, "name", "port %s does not exist",
			name != NULL ? name : "(null)");
	}
	LOG_OBJ(INFO, name, "removing from bridge %s", p->br->name);
	dp_port_detach(p);
	// Rules naming the port stay but stop matching / sending to it (as in OpenFlow).
	flow_table_ports_changed(p->br->flows);
	// Usually destroys the port before returning (bounded grace period wait).
	dp_commit();
	dp_changed();
	return 0;
}

int dp_port_set(const char *name, const struct port_kv *opts, unsigned n_opts, struct err *err)
{
	struct port_kv drv[DP_OPTS_MAX];
	struct dp_opts merged = {0};
	struct dp_opts_port cfg;
	unsigned n_drv = 0, old_mtu;
	bool dp_keys = false;
	struct dp_port *p;
	int ret;

	if (!dp.init)
		return err_set(err, -EAGAIN, "", "datapath not initialised");
	rcu_poll();
	if ((p = dp_port_find(name)) == NULL) {
		return err_set(err, -ENOENT, "name", "port %s does not exist",
			name != NULL ? name : "(null)");
	}
	if ((ret = dp_opts_check("port", name, opts, n_opts, err)) < 0)
		return ret;

	// The option list after the change: given keys replace, empty values remove.
	for (unsigned i = 0; i < p->opts.n; i++) {
		const char *k = p->opts.kv[i].key;
		const char *nv = dp_opts_get(opts, n_opts, k);

		if (nv != NULL && nv[0] == '\0' && !dp_opts_is_port_key(k)) {
			ret = err_set(err, -EOPNOTSUPP, k,
				"port %s: driver option '%s' cannot be removed at run time "
				"(remove and re-add the port)",
				name, k);
			goto out;
		}
		if (nv == NULL && (ret = dp_opts_add(&merged, k, p->opts.kv[i].value)) < 0)
			goto err_nomem;
	}
	for (unsigned i = 0; i < n_opts; i++) {
		if (dp_opts_is_port_key(opts[i].key))
			dp_keys = true;
		else if (opts[i].value[0] != '\0')
			drv[n_drv++] = opts[i];
		if (opts[i].value[0] != '\0' &&
			(ret = dp_opts_add(&merged, opts[i].key, opts[i].value)) < 0)
			goto err_nomem;
	}
	if (merged.n > DP_OPTS_MAX) {
		ret = err_set(err, -EINVAL, "options", "port %s: too many options (max %d)", name,
			DP_OPTS_MAX);
		goto out;
	}
	if ((ret = dp_opts_port_parse(
		     name, merged.kv, merged.n, dp.data_room, worker_count(), &cfg, err)) < 0)
		goto out;

	// Driver side first, so that a refusal leaves everything as it was.
	old_mtu = p->port->mtu;
	if (cfg.mtu != 0 && cfg.mtu != p->cfg.mtu &&
		(ret = dp_mtu_apply(p->port, cfg.mtu, err)) < 0)
		goto out;
	if (n_drv > 0 && (ret = port_reconfigure(p->port, drv, n_drv, err)) < 0) {
		if (cfg.mtu != 0 && cfg.mtu != p->cfg.mtu)
			dp_mtu_apply(p->port, old_mtu, NULL);
		goto out;
	}

	dp_opts_free(&p->opts);
	p->opts = merged;
	merged = (struct dp_opts){0};
	p->cfg = cfg;
	if (dp_keys || n_drv > 0)
		dp_commit();
	LOG_OBJ(INFO, name, "options changed");
	dp_changed();
	ret = 0;
	goto out;

err_nomem:
	ret = err_set(err, -ENOMEM, "", "port %s: out of memory", name);
out:
	dp_opts_free(&merged);
	return ret;
}

// ---- configuration as applied ----

static int dp_seq_cmp_port(const void *a, const void *b)
{
	const struct dp_port *x = *(struct dp_port *const *)a, *y = *(struct dp_port *const *)b;

	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static int dp_seq_cmp_bridge(const void *a, const void *b)
{
	const struct dp_bridge *x = *(struct dp_bridge *const *)a;
	const struct dp_bridge *y = *(struct dp_bridge *const *)b;

	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void dp_bridge_foreach(void (*cb)(const struct dp_bridge_conf *br, void *arg), void *arg)
{
	struct dp_bridge *list[PL_MAX_BRIDGES];
	unsigned n = 0;

	for (unsigned i = 0; i < PL_MAX_BRIDGES; i++) {
		if (dp.bridges[i] != NULL)
			list[n++] = dp.bridges[i];
	}
	qsort(list, n, sizeof(list[0]), dp_seq_cmp_bridge);
	for (unsigned i = 0; i < n; i++) {
		struct dp_bridge_conf c = {
			.name = list[i]->name,
			.opts = list[i]->opts.kv,
			.n_opts = list[i]->opts.n,
		};

		cb(&c, arg);
	}
}

void dp_port_foreach(void (*cb)(const struct dp_port_conf *p, void *arg), void *arg)
{
	struct dp_port *list[PORT_MAX];
	unsigned n = 0;

	for (unsigned i = 0; i < PORT_MAX; i++) {
		if (dp.ports[i] != NULL)
			list[n++] = dp.ports[i];
	}
	qsort(list, n, sizeof(list[0]), dp_seq_cmp_port);
	for (unsigned i = 0; i < n; i++) {
		struct dp_port_conf c = {
			.name = list[i]->port->name,
			.bridge = list[i]->br->name,
			.type = list[i]->type,
			.opts = list[i]->opts.kv,
			.n_opts = list[i]->opts.n,
		};

		cb(&c, arg);
	}
}

struct port *dp_port_lookup(const char *name)
{
	struct dp_port *p = dp_port_find(name);

	return p != NULL ? p->port : NULL;
}

unsigned dp_n_ports(void)
{
	return dp.n_ports;
}

unsigned dp_n_workers(void)
{
	return worker_count();
}

void dp_set_change_hook(void (*fn)(void *arg), void *arg)
{
	dp.hook = fn;
	dp.hook_arg = arg;
}

// ---- periodic work (worker health and rebalancing: dp_pmd.c) ----

// Once a second: flow timeouts and classifier ranking; expired flows are a change to persist.
static void dp_flows_run(void)
{
	uint32_t now = mac_table_now();
	unsigned expired = 0;

	if (now == dp.flow_run_sec)
		return;
	dp.flow_run_sec = now;
	for (unsigned b = 0; b < PL_MAX_BRIDGES; b++) {
		if (dp.bridges[b] != NULL)
			expired += flow_table_run(dp.bridges[b]->flows, now);
	}
	if (expired == 0)
		return;
	dp_flows_publish();
	dp_changed();
}

// Reclaims aged MAC entries every few seconds. Lookups already ignore aged entries; the sweep
// frees their slots so that a table that was full recovers without waiting for learning to
// trip over them.
static void dp_macs_age(void)
{
	uint32_t now = mac_table_now();

	if (now - dp.mac_age_sec < 5)
		return;
	dp.mac_age_sec = now;
	for (unsigned b = 0; b < PL_MAX_BRIDGES; b++) {
		if (dp.bridges[b] != NULL && dp.bridges[b]->macs != NULL)
			mac_table_age(dp.bridges[b]->macs, now);
	}
}

void dp_run(void)
{
	if (!dp.init)
		return;
	rcu_poll();
	if (dp.reassign || dp.republish)
		dp_commit();
	dp_flows_run();
	dp_macs_age();
	dp_pmd_run();
}

// ---- queries ----

static struct dp_port *dp_port_get(const char *name, struct err *err)
{
	struct dp_port *p = dp_port_find(name);

	if (p == NULL) {
		err_set(err, -ENOENT, "name", "port %s does not exist",
			name != NULL ? name : "(null)");
	}
	return p;
}

int dp_port_info_get(const char *name, struct dp_port_info *info, struct err *err)
{
	struct dp_port *p = dp_port_get(name, err);
	struct port *port;

	if (p == NULL)
		return -ENOENT;
	port = p->port;
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", port->name);
	snprintf(info->bridge, sizeof(info->bridge), "%s", p->br->name);
	info->type = port->ops->type;
	info->id = port->id;
	info->state = port->state;
	info->mtu = p->cfg.mtu != 0 ? p->cfg.mtu : port->mtu;
	memcpy(info->mac, port->mac, sizeof(info->mac));
	info->link = port->ops->link_get != NULL ? port->ops->link_get(port) : -1;
	info->n_rxq = port->n_rxq;
	info->n_txq = port->n_txq;
	info->numa_node = port->numa_node;
	info->enabled = p->cfg.enabled;
	return 0;
}

int dp_port_status(const char *name, port_status_emit_fn emit, void *ctx, struct err *err)
{
	struct dp_port *p = dp_port_get(name, err);

	if (p == NULL)
		return -ENOENT;
	if (p->port->ops->status != NULL)
		p->port->ops->status(p->port, emit, ctx);
	return 0;
}

int dp_port_stats_get(const char *name, struct dp_port_stats *st, struct err *err)
{
	struct dp_port *p = dp_port_get(name, err);
	uint64_t *c, *b;
	int ret;

	if (p == NULL)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	if ((ret = port_stats_get(p->port, &st->drv)) < 0) {
		return err_set(err, ret, "name", "port %s: cannot read driver counters: %s", name,
			strerror(-ret));
	}
	worker_port_counters(p->port->id, &st->pl);
	c = (uint64_t *)&st->pl;
	b = (uint64_t *)&p->pl_base;
	for (size_t i = 0; i < sizeof(st->pl) / sizeof(uint64_t); i++)
		c[i] = c[i] >= b[i] ? c[i] - b[i] : 0;
	return 0;
}

int dp_stats_clear(const char *name, struct err *err)
{
	struct dp_port *p;

	if (name != NULL) {
		if ((p = dp_port_get(name, err)) == NULL)
			return -ENOENT;
		port_stats_clear(p->port);
		worker_port_counters(p->port->id, &p->pl_base);
		return 0;
	}
	for (unsigned id = 0; id < PORT_MAX; id++) {
		if ((p = dp.ports[id]) == NULL)
			continue;
		port_stats_clear(p->port);
		worker_port_counters((uint16_t)id, &p->pl_base);
	}
	return 0;
}

struct mac_table *dp_bridge_mac_table(const char *name)
{
	struct dp_bridge *br = name != NULL ? dp_bridge_find(name) : NULL;

	return br != NULL ? br->macs : NULL;
}

// ---- flow tables (flow.* RPC handlers, control thread) ----

struct flow_table *dp_bridge_flow_table(const char *name)
{
	struct dp_bridge *br = name != NULL ? dp_bridge_find(name) : NULL;

	return br != NULL ? br->flows : NULL;
}

// Publishes a snapshot when a table went from skippable to needed or back.
static void dp_flows_publish(void)
{
	for (unsigned b = 0; b < PL_MAX_BRIDGES; b++) {
		const struct dp_bridge *br = dp.bridges[b];

		if (br != NULL && flow_table_active(br->flows) != br->flows_active) {
			if (dp_publish() < 0)
				dp.republish = true;
			return;
		}
	}
}

void dp_bridge_flows_changed(const char *name)
{
	(void)name;
	if (dp.init)
		dp_flows_publish();
}

const struct pl_snapshot *dp_snapshot_get(void)
{
	return dp.snap;
}
