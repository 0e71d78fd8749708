// SPDX-License-Identifier: Apache-2.0
// Port driver contract and registry. A backend (af_packet, tap, null, pcap, vhost-user, pci...)
// implements one `struct port_ops`, listed in port_drivers[] in port.c. The control thread owns
// struct port and calls the ops; workers never see the ops: start() fills rxq/txq pointers and the
// burst functions, which the port layer publishes into a flat per-port fast-path table
// (port_fp[]) that workers read without locks.
//
// Threads: every op except rx_burst/tx_burst runs on the control thread. rx_burst on one rxq is
// called by one worker at a time; tx_burst on one txq likewise unless the port sets txq_shared,
// in which case the worker layer serialises callers with a per-txq spinlock.
#ifndef VSWITCH_PORT_H
#define VSWITCH_PORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane/compiler.h"
#include "dataplane/err.h"
#include "dataplane/pkt.h"

#define PORT_NAME_MAX 64
#define PORT_MAX 256 // datapath ports, id 0..PORT_MAX-1
#define PORT_MAX_QUEUES 16
#define PORT_ARGS_MAX 32

struct port;

// rx: fills up to n packets, returns the count. tx: takes ownership of all n packets; those it
// cannot send it frees and counts as drops; returns the number sent. Never block, never syscall
// except the NIC/peer doorbell a backend needs (eventfd kick, sendto for af_packet tx).
typedef uint16_t (*port_rx_burst_fn)(void *rxq, struct pkt **pkts, uint16_t n);
typedef uint16_t (*port_tx_burst_fn)(void *txq, struct pkt **pkts, uint16_t n);

// key=value options from `vsctl add-port BR NAME type=T key=value...` or the YAML config.
struct port_kv {
	const char *key;
	const char *value;
};

struct port_args {
	const struct port_kv *kv;
	unsigned n;
	uint32_t used; // bit i set once kv[i] was read by port_args_get*()
	const char *port_name; // for error messages ("port p1: ..."); NULL: messages omit it
};

// Looks up `key`, marking it used. NULL if absent.
const char *port_args_get(struct port_args *a, const char *key);
// Typed getters: 0 and *out set (or default kept when absent), -EINVAL with err naming the key
// and the accepted range/values.
int port_args_get_uint(struct port_args *a, const char *key, unsigned min, unsigned max,
	unsigned *out, struct err *err);
int port_args_get_bool(struct port_args *a, const char *key, bool *out, struct err *err);
int port_args_get_mac(struct port_args *a, const char *key, uint8_t mac[6], struct err *err);
// Parses "aa:bb:cc:dd:ee:ff" (hex, 2 digits per byte); 0 or -EINVAL.
int port_mac_parse(const char *s, uint8_t mac[6]);

struct port_queue_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops; // rx: no buffer / ring full / invalid; tx: queue full / peer not ready
	uint64_t errors;
};

struct port_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_drop_nobuf; // no mbuf to receive into
	uint64_t rx_drop_invalid; // malformed input from the peer (bad descriptor, runt, too long)
	uint64_t rx_errors;
	uint64_t tx_drop_full; // tx queue / peer ring full
	uint64_t tx_drop_down; // link down, peer not connected
	uint64_t tx_drop_mtu; // frame larger than the port MTU
	uint64_t tx_errors;
	unsigned n_rxq, n_txq;
	struct port_queue_stats rxq[PORT_MAX_QUEUES];
	struct port_queue_stats txq[PORT_MAX_QUEUES];
};

// Key/value status lines for `vsctl show` and port.list ("state": "connected", "features":
// "0x..."); emit may be called any number of times.
typedef void (*port_status_emit_fn)(void *ctx, const char *key, const char *value);

struct port_ops {
	const char *type; // "af_packet", "vhost-user", ...
	size_t priv_size; // bytes of zeroed driver state at port->priv
	// One line per option, each starting with the option key: "iface=IFNAME  kernel interface
	// (default: port name)". The port layer derives the list of valid options from it (the
	// characters before the first '=' or blank of each line) to reject unknown ones before
	// probe; NULL means the type takes no options.
	const char *help;

	// Parses args (port_args_get*), opens what it needs and sets n_rxq/n_txq/mtu/mac/numa_node.
	// Unknown keys are rejected by the port layer afterwards. Returns 0 or -errno with err
	// filled (name the option and the port). A failed probe is followed by remove().
	int (*probe)(struct port *port, struct port_args *args, struct err *err);
	// Makes the queues usable: fills port->rxq[]/txq[] and may be called again after stop().
	int (*start)(struct port *port, struct err *err);
	// Quiesces the queues. Called only after every worker stopped polling them.
	void (*stop)(struct port *port);
	// Releases everything; never fails; must accept a half-probed port.
	void (*remove)(struct port *port);

	port_rx_burst_fn rx_burst;
	port_tx_burst_fn tx_burst;

	// Optional (NULL: the generic layer answers -EOPNOTSUPP or a default).
	// stats_get fills st (zeroed, n_rxq/n_txq preset) with counters that only grow over the
	// port's life, across stop/start: port_stats_clear() works by subtracting a baseline.
	int (*stats_get)(struct port *port, struct port_stats *st);
	void (*stats_clear)(struct port *port);
	int (*mtu_set)(struct port *port, unsigned mtu, struct err *err);
	// Applies `vsctl set port P key=value` options the driver owns; unknown keys are rejected
	// by the port layer.
	int (*reconfigure)(struct port *port, struct port_args *args, struct err *err);
	bool (*link_get)(struct port *port);
	void (*status)(struct port *port, port_status_emit_fn emit, void *ctx);
};

enum port_state {
	PORT_S_PROBED,
	PORT_S_STARTED,
	PORT_S_STOPPED,
	PORT_S_BROKEN, // peer misbehaved (bad vhost-user message...): no traffic until reset
};

struct port {
	char name[PORT_NAME_MAX];
	const struct port_ops *ops;
	uint16_t id; // index in port_fp[]
	enum port_state state;
	int numa_node; // -1: unknown
	uint8_t mac[6];
	unsigned mtu;
	uint16_t n_rxq, n_txq;
	bool txq_shared; // tx queues must be serialised across workers
	void *rxq[PORT_MAX_QUEUES]; // filled by start()
	void *txq[PORT_MAX_QUEUES];
	// Pool the driver receives into (chosen by the datapath on numa_node before probe).
	struct mempool *pool;
	// The datapath's hooks, set before probe: queues_changed() is called by the driver
	// (control thread) when the number of usable queues or their pointers changed (vhost-user
	// negotiation, reconnect), so the datapath re-publishes the fast path and reassigns rx
	// queues.
	void (*queues_changed)(struct port *port);
	void *dp_priv; // datapath-private
	void *priv; // driver-private, ops->priv_size bytes (cache-line aligned)
	// Port layer private: ops->start succeeded and ops->stop has not run yet.
	bool ops_started;
	// Port layer private: counters at the last port_stats_clear(), subtracted by
	// port_stats_get().
	struct port_stats stats_base;
};

// Per-queue counters: written by the one worker that owns the queue, read by the control thread.
// Relaxed load + store (no locked instruction) is enough with a single writer and keeps the reader
// free of torn values.
static inline void port_counter_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(
		c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}

static inline uint64_t port_counter_read(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

// Completes the L4 checksum of a packet carrying PKT_F_L4_CSUM_PARTIAL (the field holds the
// pseudo-header sum, as with virtio NEEDS_CSUM / Linux CHECKSUM_PARTIAL) and clears the flag.
// For tx drivers whose peer cannot take a partial checksum (af_packet, tap, pcap). Returns 0, or
// -EINVAL when csum_start/csum_off point outside the frame (the flag is left; drop the packet).
// Worker-safe.
int port_csum_finalize(struct pkt *p);

// For tx MTU checks: a frame of max_untagged + 4 bytes is still fine when it carries a VLAN tag
// (the Linux rule: MTU + Ethernet header, + 4 for a tag). Call only when p->len > max_untagged.
static inline bool port_len_ok_tagged(const struct pkt *p, uint32_t max_untagged)
{
	const uint8_t *d = pkt_data(p);
	uint16_t type;

	if (p->len > max_untagged + 4)
		return false;
	type = (uint16_t)(d[12] << 8 | d[13]);
	return type == 0x8100 || type == 0x88a8;
}

// Flat fast-path table read by workers; written by the control thread only (port_fp_publish)
// while no worker polls the port (the datapath guarantees that through RCU).
struct port_fp {
	port_rx_burst_fn rx_burst;
	port_tx_burst_fn tx_burst;
	uint16_t n_rxq, n_txq;
	bool txq_shared;
	void *rxq[PORT_MAX_QUEUES];
	void *txq[PORT_MAX_QUEUES];
} __cache_aligned;

// An id without a started port holds the idle entry: n_rxq = n_txq = 0, rx_burst returns 0 and
// tx_burst frees every packet (returns 0); neither reads the queue pointer, so workers may call
// any (id, queue) safely.
extern struct port_fp port_fp[PORT_MAX];

// Control-thread services a driver may use (fd readiness, timers), implemented by control/ with
// libevent so drivers never include it. Callbacks run on the control thread.
struct port_env {
	// Calls cb(fd, arg) whenever fd is readable. Returns a handle or NULL + errno.
	void *(*fd_watch)(int fd, void (*cb)(int fd, void *arg), void *arg);
	void (*fd_unwatch)(void *handle); // NULL is a no-op
	// One-shot timer after `ms`; returns a handle or NULL + errno. timer_del before it fires
	// cancels it; after it fired the handle is gone.
	void *(*timer_add)(unsigned ms, void (*cb)(void *arg), void *arg);
	void (*timer_del)(void *handle);
};

// The env is copied; NULL clears it. port_env_get() returns NULL when none was set (unit tests):
// drivers then run without periodic work.
void port_env_set(const struct port_env *env);
const struct port_env *port_env_get(void);

// Registry.
const struct port_ops *port_ops_lookup(const char *type);
// 0 if `type` is a known port type, else -EINVAL with err saying "unknown port type 'x' (known:
// null, pcap, ...)" on field "type".
int port_type_check(const char *type, struct err *err);
// Iterates the drivers (for `vsctl add-port --help`, rpc.list help).
void port_ops_foreach(void (*cb)(const struct port_ops *ops, void *arg), void *arg);

// Generic lifecycle used by the datapath (control thread). port_create allocates the port with
// its priv area, runs probe and rejects unused args; on failure returns NULL with err filled.
// The caller has set id, pool and queues_changed through `tmpl`.
struct port *port_create(const char *name, const char *type, const struct port_kv *kv,
	unsigned n_kv, const struct port *tmpl, struct err *err);
// Starts the driver queues, then publishes port_fp[port->id]; 0 if already started. On a BROKEN
// port this is the reset: the driver is stopped and started again, so call it only after a grace
// period following port_mark_broken() (no worker may still run the old burst functions).
int port_start(struct port *port, struct err *err);
void port_stop(struct port *port); // clears port_fp[port->id] to a drop-everything entry first
void port_destroy(struct port *port); // stop if needed, remove, free; NULL no-op
int port_reconfigure(struct port *port, const struct port_kv *kv, unsigned n_kv, struct err *err);
// Re-copies port->rxq/txq/n_*q into port_fp[port->id] (after queues_changed).
void port_fp_publish(struct port *port);
// Counters since the last port_stats_clear(): the driver's stats_get (zeros if it has none) minus
// the baseline; n_rxq/n_txq default to the port's queue counts.
int port_stats_get(struct port *port, struct port_stats *st);
// Clears the counters by recording a baseline (so workers never race with a reset); also calls
// ops->stats_clear when the driver has one. Control thread.
void port_stats_clear(struct port *port);
// Logs `why` rate-limited, sets BROKEN and swaps the fast-path functions for the idle ones at once
// (queue pointers stay valid until port_stop). Control thread.
void port_mark_broken(struct port *port, const char *why);
const char *port_state_name(enum port_state s);

#endif
