// SPDX-License-Identifier: Apache-2.0
// Packet buffers: one struct pkt header per buffer, followed by headroom and a data room sized
// from the maximum MTU (single segment; jumbo frames use larger buffers, no chains). Allocated
// from mempools; every function here is safe on worker threads (no locks, no syscalls).
//
// Buffer layout: [struct pkt (128 B)][headroom PKT_HEADROOM][data room ...]
// pkt->buf points at the start of the headroom; frame data starts at buf + data_off.
#ifndef VSWITCH_PKT_H
#define VSWITCH_PKT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dataplane/compiler.h"
#include "dataplane/mempool.h"

#define PKT_HEADROOM 128
#define PKT_BURST 32
#define PKT_DATA_ROOM_DEFAULT 2048 // fits 1518 B + VLAN tags
#define PKT_DATA_ROOM_JUMBO 9216 // fits MTU 9000 frames

// pkt->flags
// vlan_tci is valid. Set before parsing, it means a driver stripped the tag from the frame
// (rx offload) and the parser puts it back into the data; after parsing it mirrors the outer
// tag, which stays in the frame data. L2 clears it before output: tx drivers never re-insert.
#define PKT_F_VLAN 0x1
#define PKT_F_HASH 0x2 // hash is valid
#define PKT_F_PARSED 0x4 // l3_off/l4_off/eth_type are valid
#define PKT_F_L4_CSUM_PARTIAL 0x8 // L4 checksum left for tx (virtio NEEDS_CSUM); csum_start/off set

struct pkt {
	// Cache line 0: what rx, tx and the pipeline touch on every packet.
	void *buf; // start of headroom
	uint64_t buf_iova; // IOVA of buf, for DMA
	uint16_t data_off; // frame start, from buf
	uint16_t buf_size; // headroom + data room
	uint32_t len; // frame length in bytes
	uint16_t in_port; // datapath port id the frame arrived on
	uint16_t vlan_tci; // with PKT_F_VLAN
	uint32_t flags;
	uint32_t hash;
	uint16_t eth_type; // after parse: outermost ethertype past any VLAN tags
	uint16_t l3_off; // after parse: offsets from frame start
	uint16_t l4_off;
	uint16_t csum_start; // with PKT_F_L4_CSUM_PARTIAL
	uint16_t csum_off;
	uint16_t rxq; // rx queue index on in_port
	struct mempool *pool;
	uint64_t pipeline[2]; // scratch for pipeline stages (e.g. chosen output)
	// Cache line 1 (pipeline[1] is its first word): cold metadata.
	uint64_t rx_tsc; // when received, for trace/latency
	uint32_t trace_id; // non-zero when the packet is being traced
	uint32_t reserved;
	uint8_t priv[40]; // driver-private while the driver owns the packet
} __cache_aligned;

STATIC_ASSERT(sizeof(struct pkt) == 2 * CACHE_LINE_SIZE, "struct pkt must be two cache lines");

// Creates a pool of n packet buffers with `data_room` bytes after the headroom, cache of
// `cache_size` per worker, on numa_node. data_room is 1..UINT16_MAX - PKT_HEADROOM. NULL + errno
// (EINVAL, ENOMEM). Control thread.
struct mempool *pkt_pool_create(
	const char *name, unsigned n, unsigned data_room, unsigned cache_size, int numa_node);
// Data room of a packet pool; 0 when mp is not a packet pool.
unsigned pkt_pool_data_room(struct mempool *mp);
bool pkt_pool_is_pkt(struct mempool *mp);
// Recomputes buf_iova of every buffer after mem_iova_mode_set() (VFIO, before any DMA; no packet
// of the pool may be in flight). No-op for pools that are not packet pools. Control thread.
void pkt_pool_refresh_iova(struct mempool *mp);
void pkt_pools_refresh_iova(void); // all packet pools

// Returns a reset packet (len 0, data_off PKT_HEADROOM, flags 0) or NULL.
struct pkt *pkt_alloc(struct mempool *mp);
// All n or nothing: 0 or -ENOBUFS. Packets are reset as by pkt_alloc.
int pkt_alloc_bulk(struct mempool *mp, struct pkt **pkts, unsigned n);
void pkt_free(struct pkt *p); // NULL is a no-op
// Packets may come from different pools; consecutive runs from one pool are freed in bulk.
// NULL entries are skipped.
void pkt_free_bulk(struct pkt **pkts, unsigned n);
// New packet from mp with a copy of p's data and metadata (for flooding); NULL if exhausted or
// if p does not fit mp's data room. The copy starts at PKT_HEADROOM; priv is not copied.
struct pkt *pkt_copy(struct mempool *mp, const struct pkt *p);

static inline uint8_t *pkt_data(const struct pkt *p)
{
	return (uint8_t *)p->buf + p->data_off;
}

static inline uint64_t pkt_data_iova(const struct pkt *p)
{
	return p->buf_iova + p->data_off;
}

static inline unsigned pkt_headroom(const struct pkt *p)
{
	return p->data_off;
}

static inline unsigned pkt_tailroom(const struct pkt *p)
{
	return p->buf_size - p->data_off - p->len;
}

// Grows the frame at the front by n bytes; returns the new start or NULL (no headroom).
static inline uint8_t *pkt_prepend(struct pkt *p, unsigned n)
{
	if (unlikely(n > p->data_off))
		return NULL;
	p->data_off -= n;
	p->len += n;
	return pkt_data(p);
}

// Removes n bytes from the front; returns the new start or NULL (n > len).
static inline uint8_t *pkt_adj(struct pkt *p, unsigned n)
{
	if (unlikely(n > p->len))
		return NULL;
	p->data_off += n;
	p->len -= n;
	return pkt_data(p);
}

// Grows the frame at the end by n bytes; returns a pointer to the new bytes or NULL.
static inline uint8_t *pkt_append(struct pkt *p, unsigned n)
{
	if (unlikely(n > pkt_tailroom(p)))
		return NULL;
	uint8_t *tail = pkt_data(p) + p->len;
	p->len += n;
	return tail;
}

// Shrinks the frame by n bytes at the end; -EINVAL if n > len, else 0.
static inline int pkt_trim(struct pkt *p, unsigned n)
{
	if (unlikely(n > p->len))
		return -EINVAL;
	p->len -= n;
	return 0;
}

#endif
