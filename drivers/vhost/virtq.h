// SPDX-License-Identifier: Apache-2.0
// Virtqueues seen from the device side: split rings (virtio 1.x section 2.7, virtq.c) and
// packed rings (virtio 1.1+ section 2.8, virtq_packed.c, chosen at virtq_start() from the
// negotiated features). The descriptor chain walkers validate everything the guest wrote; the
// burst functions the vhost-user port's rx/tx call are dequeue (guest TX ring -> packets) and
// enqueue (packets -> guest RX ring, mergeable buffers), with interrupt suppression (event idx,
// or the packed ring's driver event area) deciding the call eventfd writes.
//
// How it works with threads: the control thread configures a queue only while it is quiesced
// and then publishes it by setting `ready` (virtq_start). A worker entering a burst stores
// busy = 1 and then reads ready (both seq_cst); virtq_quiesce() clears ready and then waits
// for busy == 0 (seq_cst). Either the worker sees ready == 0 and does nothing, or the control
// thread sees busy == 1 and waits for the burst to end: after virtq_quiesce() returns, no
// worker touches the ring, the memory table or the call fd until the next virtq_start().
// A guest that breaks the rules stops its queue (error, checked at burst entry) and wakes the
// control thread through `errfd`; the worker itself never logs.
#ifndef VSWITCH_VIRTQ_H
#define VSWITCH_VIRTQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane/compiler.h"
#include "dataplane/err.h"
#include "dataplane/pkt.h"
#include "drivers/vhost/vhost_mem.h"

STATIC_ASSERT(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio 1.x rings are little-endian");

#define VIRTQ_DESC_F_NEXT 0x1
#define VIRTQ_DESC_F_WRITE 0x2
#define VIRTQ_DESC_F_INDIRECT 0x4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 0x1
#define VIRTQ_USED_F_NO_NOTIFY 0x1
// Packed ring: descriptor flags marking available / used (against a wrap counter), the event
// suppression flags, and the wrap bit of an event offset or of a vhost-user ring base half.
#define VIRTQ_DESC_F_AVAIL 0x80
#define VIRTQ_DESC_F_USED 0x8000
#define VIRTQ_EVENT_F_ENABLE 0x0
#define VIRTQ_EVENT_F_DISABLE 0x1
#define VIRTQ_EVENT_F_DESC 0x2
#define VIRTQ_PACKED_WRAP 0x8000

#define VIRTQ_INDIRECT_MAX 65536u // entries of one indirect table (Linux vhost's bound)
#define VIRTQ_SEGS_MAX 64u // buffer segments one packet may be scattered into (enqueue)

// Guest memory layout. Fields the guest writes are volatile so each is read exactly once into
// a local before it is validated and used (no double fetch).
struct virtq_desc {
	volatile uint64_t addr;
	volatile uint32_t len;
	volatile uint16_t flags;
	volatile uint16_t next;
};

struct virtq_avail {
	volatile uint16_t flags;
	_Atomic uint16_t idx; // guest: store-release after the ring entries; we load-acquire
	volatile uint16_t ring[]; // [size], then used_event
};

struct virtq_used_elem {
	volatile uint32_t id;
	volatile uint32_t len;
};

struct virtq_used {
	volatile uint16_t flags;
	_Atomic uint16_t idx; // we store-release after the ring entries
	struct virtq_used_elem ring[]; // [size], then avail_event (uint16_t)
};

// Packed ring descriptor (virtio 1.1+ section 2.8.13): the guest writes flags last with a
// release store when it makes the descriptor available, we do the same when we mark it used.
struct virtq_pdesc {
	volatile uint64_t addr;
	volatile uint32_t len;
	volatile uint16_t id; // buffer id, in the last descriptor of a chain
	_Atomic uint16_t flags;
};

// Packed ring event suppression area (driver area: the guest's wishes for our interrupts; device
// area: ours for its kicks).
struct virtq_event {
	volatile uint16_t off_wrap; // descriptor offset (bits 0-14) and wrap counter (bit 15)
	volatile uint16_t flags; // VIRTQ_EVENT_F_*
};

STATIC_ASSERT(sizeof(struct virtq_desc) == 16, "virtq_desc wire size");
STATIC_ASSERT(sizeof(struct virtq_pdesc) == 16, "virtq_pdesc wire size");
STATIC_ASSERT(sizeof(struct virtq_event) == 4, "virtq_event wire size");
STATIC_ASSERT(sizeof(_Atomic uint16_t) == 2, "ring index size");

// virtio-net header (with VERSION_1 or MRG_RXBUF: 12 bytes, else 10 without num_buffers).
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

// Why a queue stopped (guest bugs or attacks). 0 = fine.
enum virtq_error {
	VIRTQ_ERR_NONE = 0,
	VIRTQ_ERR_AVAIL_IDX, // avail idx moved by more than the ring size
	VIRTQ_ERR_HEAD, // avail ring entry >= ring size
	VIRTQ_ERR_NEXT, // next index outside the descriptor table
	VIRTQ_ERR_CHAIN_LONG, // chain longer than its table (a loop)
	VIRTQ_ERR_ADDR, // buffer not inside guest memory (or length overflow)
	VIRTQ_ERR_INDIRECT_NESTED, // indirect descriptor inside an indirect table
	VIRTQ_ERR_INDIRECT_LEN, // indirect table empty, not a multiple of 16 or too large
	VIRTQ_ERR_INDIRECT_NEXT, // INDIRECT together with NEXT
	VIRTQ_ERR_INDIRECT_FEATURE, // INDIRECT without VIRTIO_RING_F_INDIRECT_DESC
	VIRTQ_ERR_DIRECTION, // device-writable buffer on TX or read-only buffer on RX
	VIRTQ_ERR_ID, // packed: buffer id >= ring size
	VIRTQ_ERR_CHAIN_AVAIL, // packed: a chained descriptor that is not available
	VIRTQ_ERR_INDIRECT_CHAIN, // packed: indirect descriptor inside a descriptor chain
	VIRTQ_ERR_MAX,
};

const char *virtq_error_name(enum virtq_error e);

// Per-queue counters: written by the worker only (relaxed), read by the control thread.
#define VIRTQ_COUNTERS(X) \
	X(packets) /* frames moved */ \
	X(bytes) /* their bytes, without the virtio-net header */ \
	X(drop_full) /* enqueue: guest RX ring had no (big enough) buffer */ \
	X(drop_nobuf) /* dequeue: no packet buffer; frames stay in the guest ring */ \
	X(drop_invalid) /* bad chain (queue stops) or frame shorter than its header */ \
	X(drop_oversize) /* dequeue: frame larger than the packet data room */ \
	X(drop_down) /* enqueue on a queue that is not ready */ \
	X(notify) /* call eventfd writes (guest interrupts) */ \
	X(notify_suppressed) /* interrupts the guest asked us to skip */

struct virtq_stats {
#define VIRTQ_X(name) _Atomic uint64_t name;
	VIRTQ_COUNTERS(VIRTQ_X)
#undef VIRTQ_X
};

struct virtq_stats_snap {
#define VIRTQ_X(name) uint64_t name;
	VIRTQ_COUNTERS(VIRTQ_X)
#undef VIRTQ_X
};

struct virtq {
	// Fast-path configuration: written by the control thread only while quiesced.
	// worker: ro, control: rw (quiesced)
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	const struct vhost_mem *mem;
	struct mempool *pool; // dequeue allocates here
	uint16_t size;
	uint16_t mask;
	uint16_t hdr_len;
	bool mrg_rxbuf;
	bool event_idx;
	bool indirect;
	bool packed; // packed ring layout (VIRTIO_F_RING_PACKED): bursts go to virtq_packed.c
	int callfd; // -1: no interrupts
	uint16_t port_id; // stamped into received packets
	uint16_t qid; // port queue index, stamped into received packets
	// Ring state. worker: rw, control: rw (quiesced only). Packed: last_avail_idx is the ring
	// position of the next descriptor (also where the next used one goes) and signalled_used
	// the position at the last interrupt check.
	uint16_t last_avail_idx;
	uint16_t last_used_idx;
	uint16_t signalled_used;
	bool signalled_used_valid;
	// Quiescence handshake (see the top of this file).
	_Atomic uint32_t ready; // control: rw, worker: ro; pairs with busy
	_Atomic uint32_t busy; // worker: rw, control: ro; pairs with ready
	_Atomic uint32_t error; // enum virtq_error; worker sets, control clears (quiesced)
	int errfd; // eventfd written once when error is set; -1: none
	// Packed ring only. worker: ro, control: rw (quiesced)
	struct virtq_pdesc *pdesc; // descriptor ring
	const struct virtq_event *driver_event; // the guest's suppression of our interrupts
	struct virtq_event *device_event; // ours of its kicks (disabled: we poll)
	uint32_t pool_room; // data room of pool's buffers
	// Packed ring state. worker: rw, control: rw (quiesced only)
	bool avail_wrap; // wrap counter of the descriptor at last_avail_idx
	bool signalled_wrap; // and of signalled_used
	uint16_t consumed; // descriptors taken so far (free-running, for status)
	// last_avail_idx | avail_wrap << 15 | consumed << 16 after each burst: where the ring
	// stands, for status. worker: w (relaxed), control: r
	_Atomic uint32_t pos_snap;
	struct virtq_stats stats __cache_aligned;
} __cache_aligned;

// Everything virtq_start() needs. Ring addresses are front-end user addresses.
struct virtq_config {
	const struct vhost_mem *mem;
	uint64_t desc, avail, used;
	uint16_t size; // power of two, <= 32768
	// Where to start, in the vhost-user ring base encoding: split, the next avail index (bits
	// 0-15); packed, the next avail position (bits 0-14) and its wrap counter (bit 15), with
	// the next used position and wrap counter in bits 16-31.
	uint32_t base;
	uint64_t features; // negotiated virtio features (hdr size, mrg, event idx, indirect)
	int callfd; // -1: none; stays owned by the caller
	struct mempool *pool;
};

// Resets vq to a stopped queue (control thread, before any worker sees it).
void virtq_init(struct virtq *vq, uint16_t port_id, uint16_t qid, int errfd);

// Translates the ring addresses (each ring must lie inside one region), loads the state and
// publishes the queue to workers; the layout (split or packed) follows cfg->features. The queue
// must be quiesced. Returns 0, or -EINVAL with err filled (nothing published). *base_fixed is
// set when the used position (split: the ring's used idx; packed: the base's upper half)
// disagreed with the avail position and was adopted (the previous back-end left buffers in
// flight).
int virtq_start(
	struct virtq *vq, const struct virtq_config *cfg, bool *base_fixed, struct err *err);

// Stops the queue and waits until no worker is inside a burst on it (bounded by one burst).
// Control thread. Idempotent.
void virtq_quiesce(struct virtq *vq);

// Ring position for GET_VRING_BASE, encoded as virtq_config.base (packed: avail and used halves
// are equal: we complete in order and hold no buffer across a stop). The queue must be
// quiesced.
uint32_t virtq_base(const struct virtq *vq);

// Error that stopped the queue, VIRTQ_ERR_NONE if none. virtq_clear_error() needs quiesced.
enum virtq_error virtq_get_error(const struct virtq *vq);
void virtq_clear_error(struct virtq *vq);

static inline bool virtq_is_ready(const struct virtq *vq)
{
	return atomic_load_explicit(&vq->ready, memory_order_relaxed) != 0;
}

// Guest TX ring -> up to n packets from vq->pool (single segment; chains are copied, the
// virtio-net header stripped). Returns the count. Worker thread, one caller per queue.
uint16_t virtq_dequeue_burst(struct virtq *vq, struct pkt **pkts, uint16_t n);

// Packets -> guest RX ring. Copies pkts[0..k) and returns k; pkts stay owned by the caller
// (which frees all n). Drops are counted here by reason. Worker thread, one caller at a time.
uint16_t virtq_enqueue_burst(struct virtq *vq, struct pkt *const *pkts, uint16_t n);

void virtq_stats_read(const struct virtq *vq, struct virtq_stats_snap *out);
// Counts n frames the caller dropped before enqueue as invalid (worker, same rules as enqueue).
void virtq_count_tx_invalid(struct virtq *vq, uint16_t n);

// Descriptor chain walker, exposed for tests and fuzzing (the bursts use it too).
struct virtq_seg {
	uint8_t *p;
	uint32_t len;
};

struct virtq_walk {
	const struct vhost_mem *mem;
	const struct virtq_desc *table; // ring or current indirect table
	uint32_t table_len; // entries in table
	uint32_t count; // descriptors taken from table (loop bound: table_len)
	uint16_t idx; // next descriptor in table
	bool in_indirect;
	bool allow_indirect;
	bool write; // expected direction: device-writable (RX) or readable (TX)
	bool have_next; // a descriptor is pending at idx
	uint64_t cur_addr; // remainder of the current descriptor (region splitting)
	uint64_t cur_len;
};

// Starts walking the chain at `head` (must be < vq->size: checked). write: the chain must be
// device-writable (guest RX) rather than readable (guest TX). Returns 0 or -VIRTQ_ERR_*.
int virtq_walk_init(struct virtq_walk *w, const struct virtq *vq, uint16_t head, bool write);

// Next contiguous piece of the chain's buffers: 1 with *seg filled (len > 0), 0 at the end of
// the chain, -VIRTQ_ERR_* on a rule violation. Zero-length descriptors yield nothing; a buffer
// that straddles guest memory regions yields one segment per region.
int virtq_walk_next(struct virtq_walk *w, struct virtq_seg *seg);

#endif
