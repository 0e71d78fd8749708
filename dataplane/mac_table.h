// SPDX-License-Identifier: Apache-2.0
// Per-bridge MAC learning table keyed by (VLAN, MAC) -> (port, last seen). Fixed capacity, no
// allocation after create; workers learn and look up concurrently without blocking while the
// control thread dumps, flushes and sweeps aged entries.
#ifndef VSWITCH_MAC_TABLE_H
#define VSWITCH_MAC_TABLE_H

#include <stdint.h>

#define MAC_TABLE_SIZE_DEFAULT 8192 // bridge option mac-table-size
#define MAC_TABLE_SIZE_MIN 16
#define MAC_TABLE_SIZE_MAX (1u << 20)
#define MAC_TABLE_AGING_DEFAULT 300 // bridge option mac-aging, seconds
#define MAC_TABLE_AGING_MIN 1
#define MAC_TABLE_AGING_MAX 86400

// mac_table_learn() results (>= 0); errors are negative.
enum mac_table_learn_result {
	MAC_TABLE_KNOWN = 0, // already there on that port (timestamp refreshed if due)
	MAC_TABLE_LEARNED = 1, // new entry
	MAC_TABLE_MOVED = 2, // existing entry now points at another port
};

struct mac_table_stats {
	unsigned entries; // live and not yet reclaimed (aged entries count until reclaimed)
	unsigned capacity; // mac-table-size
	unsigned aging_s;
	uint64_t learned; // new entries
	uint64_t moved; // port changes of an existing entry
	uint64_t full_drops; // learn attempts refused because the table (or its buckets) was full
	uint64_t aged; // entries reclaimed because they had aged out
};

struct mac_table;

// Control thread. `size` = maximum number of entries (MAC_TABLE_SIZE_MIN..MAX), `aging_s` =
// seconds after which an entry not seen is ignored and reclaimable (MAC_TABLE_AGING_MIN..MAX).
// Returns NULL + errno (EINVAL for out-of-range arguments, ENOMEM).
struct mac_table *mac_table_create(unsigned size, unsigned aging_s);
// Control thread, once no worker can reach the table any more (after an RCU grace period).
// NULL is a no-op.
void mac_table_destroy(struct mac_table *mt);

// Worker threads (any number, concurrently with each other and with the control thread).
// `now` is the caller's monotonic clock in seconds (pl_ctx.now_sec); callers may disagree by a
// second or so, which the table tolerates.

// Port id the (vlan, mac) entry points at, or -ENOENT when absent or aged out. Lock-free: if a
// writer keeps the entry's bucket busy it gives up after a few tries and answers -ENOENT (the
// caller floods, which is always correct for a bridge).
int mac_table_lookup(const struct mac_table *mt, uint16_t vlan, const uint8_t mac[6],
	uint32_t now);
// Records that `mac` was seen on `port` in `vlan`. A known MAC on the same port costs only a
// read (plus a timestamp store at most once per second). Returns enum mac_table_learn_result,
// -ENOSPC when the table is full (counted in full_drops) or -EBUSY when another thread holds a
// bucket it needs (nothing learned; the next frame retries). Never blocks.
int mac_table_learn(struct mac_table *mt, uint16_t vlan, const uint8_t mac[6], uint16_t port,
	uint32_t now);
// Prefetches the buckets a lookup/learn of (vlan, mac) will read; a no-op for tables small
// enough to stay in cache.
void mac_table_prefetch(const struct mac_table *mt, uint16_t vlan, const uint8_t mac[6]);

// Control thread (may run while workers learn; spins only on a worker's few-instruction
// critical section).

// The clock of the `now` arguments: CLOCK_MONOTONIC seconds, which workers advance from the TSC
// (pl_ctx.now_sec). For control-thread callers (a system call: never on a worker).
uint32_t mac_table_now(void);

// Removes entries matching port (-1 = any) and vlan (-1 = any); returns how many.
unsigned mac_table_flush(struct mac_table *mt, int port, int vlan);
// Reclaims entries older than the aging time; returns how many. Call every few seconds so a
// full table makes room even when learning never hits the buckets holding stale entries.
unsigned mac_table_age(struct mac_table *mt, uint32_t now);
// Calls cb for every live (not aged) entry, age = now - last seen; returns the count.
// Entries learned or removed during the walk may or may not be reported.
typedef void (*mac_table_dump_fn)(void *arg, uint16_t vlan, const uint8_t mac[6], uint16_t port,
	uint32_t age);
unsigned mac_table_dump(const struct mac_table *mt, uint32_t now, mac_table_dump_fn cb, void *arg);
void mac_table_stats_get(const struct mac_table *mt, struct mac_table_stats *st);
// Changes the aging time (clamped to MAC_TABLE_AGING_MIN..MAX); workers see it on their next
// lookup.
void mac_table_set_aging(struct mac_table *mt, unsigned aging_s);

#endif
