// SPDX-License-Identifier: Apache-2.0
// Packed virtqueue fast path (virtio 1.1+ section 2.8): chain walker with wrap counters, guest
// TX dequeue, guest RX enqueue (mergeable buffers), in-order used descriptors and interrupts
// under the driver's event suppression. virtq.c enters the bursts and dispatches here.
//
// How it works: one ring of descriptors carries both directions. The guest makes a descriptor
// available by storing its flags with AVAIL equal to its wrap counter and USED the inverse; we
// give a whole chain back by writing one used descriptor (buffer id, length, AVAIL = USED = our
// wrap counter) over the chain's first slot and skipping the rest of the chain. We take chains
// strictly in ring order and complete each one in the burst that took it, so our used position
// always equals our avail position: one position (last_avail_idx) and one wrap counter
// (avail_wrap) describe the queue, and both halves of the vhost-user ring base are equal.
// Within a burst the first used descriptor (in ring order) is written last, so the guest sees
// the burst at once; every flags store is a release, after the descriptor's id and length and
// after the buffer's data.
#include "drivers/vhost/virtq_packed.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "drivers/vhost/vhost_proto.h"
#include "drivers/vhost/virtq_internal.h"

#define PACKED_POS_MASK 0x7fffu

// Flag bits of a descriptor available in the lap of wrap counter `wrap`.
static inline uint16_t avail_bits(bool wrap)
{
	return wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
}

static inline bool is_avail(uint16_t flags, bool wrap)
{
	return (flags & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED)) == avail_bits(wrap);
}

// Moves a ring position forward by n <= size, flipping the wrap counter at the end of the ring.
// No power-of-two assumption: packed rings need not have one.
static inline void pos_advance(uint16_t *pos, bool *wrap, uint16_t n, uint16_t size)
{
	uint32_t p = (uint32_t)*pos + n;

	if (p >= size) {
		p -= size;
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}

// Descriptors between two positions (from, fwrap) and (to, twrap), at most one lap apart.
static inline uint16_t pos_dist(uint16_t from, bool fwrap, uint16_t to, bool twrap, uint16_t size)
{
	return (uint16_t)(to + (fwrap != twrap ? size : 0) - from);
}

static inline uint32_t pos_encode(uint16_t pos, bool wrap)
{
	return pos | (wrap ? VIRTQ_PACKED_WRAP : 0);
}

// ---- control side ----------------------------------------------------------------------------

static void publish_pos(struct virtq *vq)
{
	atomic_store_explicit(&vq->pos_snap,
		pos_encode(vq->last_avail_idx, vq->avail_wrap) | (uint32_t)vq->consumed << 16,
		memory_order_relaxed);
}

int virtq_packed_start(
	struct virtq *vq, const struct virtq_config *cfg, bool *base_fixed, struct err *err)
{
	uint64_t desc_len = 16ull * cfg->size;
	uint16_t avail = cfg->base & PACKED_POS_MASK;
	uint16_t used = (cfg->base >> 16) & PACKED_POS_MASK;
	bool awrap = cfg->base & VIRTQ_PACKED_WRAP;
	bool uwrap = (cfg->base >> 16) & VIRTQ_PACKED_WRAP;
	void *desc, *drv, *dev;
	uint16_t behind = 0;

	if ((desc = vhost_mem_uva(cfg->mem, cfg->desc, desc_len)) == NULL)
		return err_set(err, -EINVAL, "desc",
			"descriptor ring at 0x%llx (+%llu) is not inside one memory region",
			(unsigned long long)cfg->desc, (unsigned long long)desc_len);
	if ((drv = vhost_mem_uva(cfg->mem, cfg->avail, sizeof(struct virtq_event))) == NULL)
		return err_set(err, -EINVAL, "avail",
			"driver event suppression area at 0x%llx is not inside a memory region",
			(unsigned long long)cfg->avail);
	if ((dev = vhost_mem_uva(cfg->mem, cfg->used, sizeof(struct virtq_event))) == NULL)
		return err_set(err, -EINVAL, "used",
			"device event suppression area at 0x%llx is not inside a memory region",
			(unsigned long long)cfg->used);
	if (((uintptr_t)desc & 15) || ((uintptr_t)drv & 3) || ((uintptr_t)dev & 3))
		return err_set(err, -EINVAL, "addr", "vring addresses misaligned");
	if (avail >= cfg->size)
		return err_set(err, -EINVAL, "base",
			"vring base: avail position %u outside the ring of %u descriptors", avail,
			cfg->size);
	// The used half is where the previous back-end would have written its next used
	// descriptor. Behind the avail half by less than a ring: it left chains in flight, which
	// are taken again from there (their descriptors are still marked available). Equal: all
	// was completed. Anything else (DPDK's virtio-user sends 0 there) carries no information.
	if (used < cfg->size) {
		if (uwrap == awrap && used <= avail)
			behind = avail - used;
		else if (uwrap != awrap && used > avail)
			behind = (uint16_t)(avail + cfg->size - used);
	}
	if (behind > 0 && behind < cfg->size) {
		avail = used;
		awrap = uwrap;
		*base_fixed = true;
	}
	vq->pdesc = desc;
	vq->driver_event = drv;
	vq->device_event = dev;
	vq->pool_room = cfg->pool != NULL ? pkt_pool_data_room(cfg->pool) : 0;
	vq->last_avail_idx = avail;
	vq->last_used_idx = avail;
	vq->avail_wrap = awrap;
	vq->signalled_wrap = awrap;
	vq->consumed = 0;
	publish_pos(vq);
	// We poll: ask the guest not to kick.
	vq->device_event->off_wrap = 0;
	vq->device_event->flags = VIRTQ_EVENT_F_DISABLE;
	return 0;
}

uint32_t virtq_packed_base(const struct virtq *vq)
{
	uint32_t half = pos_encode(vq->last_avail_idx, vq->avail_wrap);

	return half | half << 16;
}

void virtq_packed_ring_state(const struct virtq *vq, uint16_t *consumed, uint16_t *pending)
{
	uint32_t snap = atomic_load_explicit(&vq->pos_snap, memory_order_relaxed);
	uint16_t pos = snap & PACKED_POS_MASK, n = 0;
	bool wrap = snap & VIRTQ_PACKED_WRAP;

	*consumed = (uint16_t)(snap >> 16);
	while (vq->pdesc != NULL && n < vq->size && pos < vq->size) {
		uint16_t f = atomic_load_explicit(&vq->pdesc[pos].flags, memory_order_relaxed);

		if (!is_avail(f, wrap))
			break;
		n++;
		pos_advance(&pos, &wrap, 1, vq->size);
	}
	*pending = n;
}

// ---- chain walker ----------------------------------------------------------------------------

void virtq_packed_walk_init(
	struct virtq_packed_walk *w, const struct virtq *vq, uint16_t pos, bool wrap, bool write)
{
	w->mem = vq->mem;
	w->ring = vq->pdesc;
	w->table = NULL;
	w->table_len = 0;
	w->tidx = 0;
	w->size = vq->size;
	w->pos = pos;
	w->wrap = wrap;
	w->more = true;
	w->allow_indirect = vq->indirect;
	w->write = write;
	w->ndesc = 0;
	w->id = 0;
	w->cur_addr = 0;
	w->cur_len = 0;
}

// Takes the next ring descriptor of the chain, read once (the guest may rewrite it while we
// look), and applies the rules of ring descriptors. Returns 0 or -VIRTQ_ERR_*.
static int walk_ring_desc(
	struct virtq_packed_walk *w, uint64_t *addr, uint32_t *len, uint16_t *flags)
{
	const struct virtq_pdesc *d;
	uint16_t f, id;

	if (unlikely(w->ndesc >= w->size))
		return -VIRTQ_ERR_CHAIN_LONG;
	d = &w->ring[w->pos];
	// Acquire pairs with the guest's release of the flags: the fields below are its.
	f = atomic_load_explicit(&d->flags, memory_order_acquire);
	// The guest exposes a chain by its first descriptor, after the others: each one must be
	// available in its own lap (the counter flips where the chain wraps around the ring).
	if (unlikely(!is_avail(f, w->wrap)))
		return -VIRTQ_ERR_CHAIN_AVAIL;
	*addr = d->addr;
	*len = d->len;
	id = d->id;
	w->ndesc++;
	pos_advance(&w->pos, &w->wrap, 1, w->size);
	if (f & VIRTQ_DESC_F_INDIRECT) {
		if (unlikely(w->ndesc > 1))
			return -VIRTQ_ERR_INDIRECT_CHAIN;
		if (unlikely(!w->allow_indirect))
			return -VIRTQ_ERR_INDIRECT_FEATURE;
		if (unlikely(f & VIRTQ_DESC_F_NEXT))
			return -VIRTQ_ERR_INDIRECT_NEXT;
		// Its WRITE flag is reserved: the table's entries say the direction.
	} else if (unlikely(!!(f & VIRTQ_DESC_F_WRITE) != w->write)) {
		return -VIRTQ_ERR_DIRECTION;
	}
	if (!(f & VIRTQ_DESC_F_NEXT)) {
		if (unlikely(id >= w->size))
			return -VIRTQ_ERR_ID;
		w->id = id;
		w->more = false;
	}
	*flags = f;
	return 0;
}

int virtq_packed_walk_next(struct virtq_packed_walk *w, struct virtq_seg *seg)
{
	for (;;) {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		int r;

		if (w->cur_len > 0) {
			uint64_t n;
			uint8_t *p = vhost_mem_gpa_seg(w->mem, w->cur_addr, w->cur_len, &n);

			if (unlikely(p == NULL))
				return -VIRTQ_ERR_ADDR;
			seg->p = p;
			seg->len = (uint32_t)n; // <= cur_len <= UINT32_MAX
			w->cur_addr += n;
			w->cur_len -= n;
			return 1;
		}
		if (w->table != NULL) {
			const struct virtq_pdesc *d;

			if (w->tidx == w->table_len)
				return 0;
			// Entries follow each other; only WRITE is meaningful in them (NEXT and the
			// id are reserved and ignored). One level only.
			d = &w->table[w->tidx++];
			addr = d->addr;
			len = d->len;
			flags = atomic_load_explicit(&d->flags, memory_order_relaxed);
			if (unlikely(flags & VIRTQ_DESC_F_INDIRECT))
				return -VIRTQ_ERR_INDIRECT_NESTED;
			if (unlikely(!!(flags & VIRTQ_DESC_F_WRITE) != w->write))
				return -VIRTQ_ERR_DIRECTION;
		} else {
			if (!w->more)
				return 0;
			if (unlikely((r = walk_ring_desc(w, &addr, &len, &flags)) < 0))
				return r;
			if (flags & VIRTQ_DESC_F_INDIRECT) {
				const struct virtq_pdesc *t;

				if (unlikely(len == 0 || (len % sizeof(struct virtq_pdesc)) != 0 ||
					    len / sizeof(struct virtq_pdesc) > VIRTQ_INDIRECT_MAX))
					return -VIRTQ_ERR_INDIRECT_LEN;
				// Contiguous in one region, and aligned where we map it.
				if (unlikely((t = vhost_mem_gpa(w->mem, addr, len)) == NULL ||
					    ((uintptr_t)t & 15) != 0))
					return -VIRTQ_ERR_ADDR;
				w->table = t;
				w->table_len = len / sizeof(struct virtq_pdesc);
				w->tidx = 0;
				continue;
			}
		}
		if (unlikely(len > 0 && addr > UINT64_MAX - len))
			return -VIRTQ_ERR_ADDR;
		w->cur_addr = addr;
		w->cur_len = len;
	}
}

int virtq_packed_walk_finish(struct virtq_packed_walk *w)
{
	w->cur_len = 0;
	if (w->table != NULL) {
		w->tidx = w->table_len; // an indirect descriptor is a chain of one
		return 0;
	}
	while (w->more) {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		int r;

		if (unlikely((r = walk_ring_desc(w, &addr, &len, &flags)) < 0))
			return r;
	}
	return 0;
}

// ---- used descriptors and interrupts ---------------------------------------------------------

// The used descriptors of one burst. The one at the burst's first position is stored last (see
// the top of this file).
struct used_batch {
	uint16_t start; // position the burst started at
	uint16_t first_flags;
	bool first; // the descriptor at start waits for used_flush()
};

static inline void used_put(struct virtq *vq, struct used_batch *ub, uint16_t pos, bool wrap,
	uint16_t id, uint32_t len, uint16_t wflag)
{
	struct virtq_pdesc *d = &vq->pdesc[pos];
	uint16_t flags = wflag | (wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0);

	d->id = id;
	d->len = len;
	if (pos == ub->start && !ub->first) {
		ub->first = true;
		ub->first_flags = flags;
		return;
	}
	// Release: the guest that sees the flags sees the id, the length and the data (pairs
	// with its read barrier after reading the flags).
	atomic_store_explicit(&d->flags, flags, memory_order_release);
}

static inline void used_flush(struct virtq *vq, struct used_batch *ub)
{
	if (ub->first)
		atomic_store_explicit(
			&vq->pdesc[ub->start].flags, ub->first_flags, memory_order_release);
}

// Records the new position after a burst that took `ndesc` descriptors.
static inline void burst_done(struct virtq *vq, uint16_t pos, bool wrap, uint16_t ndesc)
{
	vq->last_avail_idx = pos;
	vq->last_used_idx = pos;
	vq->avail_wrap = wrap;
	vq->consumed += ndesc;
	publish_pos(vq);
}

// Signals the guest if its driver event area asks for it (call eventfd write: the only
// syscall of the fast path). With RING_EVENT_FLAGS_DESC (event idx negotiated) the guest wants
// an interrupt once the descriptor at its offset is used: when the offset lies in the stretch
// of the ring we used since the last check.
static inline void packed_notify(struct virtq *vq)
{
	uint16_t flags, off_wrap;
	bool need;

	if (vq->callfd < 0)
		return;
	// Our used flags must be visible before we read the guest's suppression state, and the
	// guest orders its own writes the other way round.
	atomic_thread_fence(memory_order_seq_cst);
	flags = vq->driver_event->flags & 0x3;
	off_wrap = vq->driver_event->off_wrap;
	if (flags == VIRTQ_EVENT_F_DISABLE) {
		need = false;
	} else if (flags == VIRTQ_EVENT_F_DESC && vq->event_idx && vq->signalled_used_valid) {
		// Positions made linear in the current lap: the previous lap is negative.
		int32_t size = vq->size;
		int32_t now = vq->last_avail_idx;
		int32_t old =
			vq->signalled_used - (vq->signalled_wrap != vq->avail_wrap ? size : 0);
		int32_t off = (off_wrap & PACKED_POS_MASK) -
			(!!(off_wrap & VIRTQ_PACKED_WRAP) != vq->avail_wrap ? size : 0);

		need = off >= old && off < now;
	} else {
		// ENABLE, the reserved value 3, DESC without event idx, or the first check after a
		// start: signal (an extra interrupt is harmless, a missing one stalls the guest).
		need = true;
	}
	vq->signalled_used = vq->last_avail_idx;
	vq->signalled_wrap = vq->avail_wrap;
	vq->signalled_used_valid = true;
	if (need) {
		uint64_t one = 1;
		ssize_t r = write(vq->callfd, &one, sizeof(one));

		(void)r; // EAGAIN only when the counter is saturated: the guest is signalled anyway
		virtq_ctr_add(&vq->stats.notify, 1);
	} else {
		virtq_ctr_add(&vq->stats.notify_suppressed, 1);
	}
}

// ---- dequeue (guest TX) ----------------------------------------------------------------------

// Copies one guest TX chain into p through the walker (chained, indirect or region-straddling
// buffers), stripping the virtio-net header. Returns 0, 1 when the frame is dropped but the
// chain was valid (oversize / short header), or -VIRTQ_ERR_*. *w ends after the chain.
static __noinline int dequeue_walk(
	struct virtq *vq, struct virtq_packed_walk *w, struct pkt *p, bool *oversize)
{
	struct virtq_tx_gather g;
	struct virtq_seg s;
	int r;

	virtq_tx_gather_init(&g, vq, p);
	while ((r = virtq_packed_walk_next(w, &s)) > 0)
		virtq_tx_gather_seg(&g, &s);
	if (unlikely(r < 0))
		return r;
	return virtq_tx_gather_end(&g, p, oversize);
}

uint16_t virtq_packed_dequeue(struct virtq *vq, struct pkt **pkts, uint16_t n)
{
	struct pkt *bufs[PKT_BURST];
	const uint8_t *src[PKT_BURST];
	uint32_t flen[PKT_BURST];
	uint16_t ids[PKT_BURST];
	uint16_t pos = vq->last_avail_idx, got = 0, done = 0;
	bool wrap = vq->avail_wrap;
	struct used_batch ub = {.start = pos};
	uint64_t bytes = 0, oversize = 0, invalid = 0;
	uint32_t skip = vq->hdr_len, room = vq->pool_room;
	bool stop = false;
	int r = 0;

	n = MIN(n, PKT_BURST);
	while (done < n && !stop) {
		uint16_t k = 0, want, have, p = pos;
		bool w = wrap, slow = false;

		// Pass 1: the run of plain descriptors from pos (header and frame in one buffer
		// inside one region: what virtio-user and Linux send), each read once and its
		// frame prefetched, so that the cross-core misses of the run overlap. The run ends
		// at a descriptor that is not available, or at one for the walker (chain, indirect,
		// anything unusual: the walker reads it again and judges it).
		while (done + k < n) {
			const struct virtq_pdesc *d = &vq->pdesc[p];
			uint16_t f = atomic_load_explicit(&d->flags, memory_order_acquire);
			uint64_t addr;
			uint32_t len;
			uint16_t id;
			const uint8_t *b;

			if (!is_avail(f, w))
				break;
			if (unlikely(f &
				    (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT |
					    VIRTQ_DESC_F_WRITE))) {
				slow = true;
				break;
			}
			addr = d->addr;
			len = d->len;
			id = d->id;
			if (unlikely(id >= vq->size || len < skip || len - skip > room ||
				    (b = vhost_mem_gpa(vq->mem, addr, len)) == NULL)) {
				slow = true;
				break;
			}
			src[k] = b + skip;
			flen[k] = len - skip;
			ids[k] = id;
			virtq_buf_prefetch(b, len, false);
			k++;
			pos_advance(&p, &w, 1, vq->size);
		}
		want = k + slow;
		if (want == 0)
			break;
		have = want;
		if (unlikely(pkt_alloc_bulk(vq->pool, bufs, want) < 0)) {
			// Take what the pool still has; the rest stays in the guest ring for later.
			have = 0;
			while (have < want && (bufs[have] = pkt_alloc(vq->pool)) != NULL)
				have++;
			virtq_ctr_add(&vq->stats.drop_nobuf, want - have);
			k = MIN(k, have);
			slow = slow && have == want;
			stop = true;
		}
		// Pass 2: copy the run, give its descriptors back.
		for (uint16_t i = 0; i < k; i++) {
			struct pkt *pk = bufs[i];

			virtq_copy_bytes(pkt_data(pk), src[i], flen[i]);
			pk->len = flen[i];
			pk->in_port = vq->port_id;
			pk->rxq = vq->qid;
			bytes += flen[i];
			pkts[got++] = pk;
			used_put(vq, &ub, pos, wrap, ids[i], 0, 0);
			pos_advance(&pos, &wrap, 1, vq->size);
		}
		done += k;
		if (!slow)
			break;
		// The descriptor that ended the run goes through the walker.
		{
			struct virtq_packed_walk wk;
			struct pkt *pk = bufs[k];
			bool big = false;

			virtq_packed_walk_init(&wk, vq, pos, wrap, false);
			if (unlikely((r = dequeue_walk(vq, &wk, pk, &big)) < 0)) {
				pkt_free(pk);
				invalid++;
				virtq_fail__(vq, r);
				break;
			}
			used_put(vq, &ub, pos, wrap, wk.id, 0, 0);
			pos = wk.pos;
			wrap = wk.wrap;
			done++;
			if (unlikely(r > 0)) {
				oversize += big;
				invalid += !big;
				pkt_free(pk);
				continue;
			}
			pk->in_port = vq->port_id;
			pk->rxq = vq->qid;
			bytes += pk->len;
			pkts[got++] = pk;
		}
	}
	if (done > 0) {
		used_flush(vq, &ub);
		burst_done(vq, pos, wrap, pos_dist(ub.start, vq->avail_wrap, pos, wrap, vq->size));
		packed_notify(vq);
	}
	virtq_ctr_add(&vq->stats.packets, got);
	virtq_ctr_add(&vq->stats.bytes, bytes);
	if (unlikely(oversize))
		virtq_ctr_add(&vq->stats.drop_oversize, oversize);
	if (unlikely(invalid))
		virtq_ctr_add(&vq->stats.drop_invalid, invalid);
	return got;
}

// ---- enqueue (guest RX) ----------------------------------------------------------------------

struct rx_head {
	uint16_t pos; // ring position of the buffer's first descriptor
	uint16_t id;
	uint16_t nsegs;
	bool wrap;
};

// Buffers reserved for one packet on the guest RX ring.
struct rx_reserve {
	uint16_t nheads;
	uint16_t nsegs;
	struct rx_head heads[VIRTQ_SEGS_MAX];
	struct virtq_seg segs[VIRTQ_SEGS_MAX];
};

// Collects buffers from (*pos, *wrap) on until they hold `need` bytes (one buffer only without
// mergeable buffers). Returns 1 (reserved, position advanced), 0 (not enough room: nothing
// consumed) or -VIRTQ_ERR_*.
static inline int rx_reserve(
	struct virtq *vq, uint16_t *cpos, bool *cwrap, uint32_t need, struct rx_reserve *rv)
{
	uint16_t pos = *cpos;
	bool wrap = *cwrap;
	uint64_t cap = 0;

	rv->nheads = 0;
	rv->nsegs = 0;
	while (cap < need) {
		const struct virtq_pdesc *d;
		struct rx_head *h;
		uint16_t f;

		if (rv->nheads == VIRTQ_SEGS_MAX || rv->nsegs == VIRTQ_SEGS_MAX)
			return 0;
		d = &vq->pdesc[pos];
		f = atomic_load_explicit(&d->flags, memory_order_acquire);
		if (!is_avail(f, wrap))
			return 0;
		h = &rv->heads[rv->nheads];
		h->pos = pos;
		h->wrap = wrap;
		// Fast path: one plain device-writable descriptor inside one region (mergeable
		// buffers as Linux and virtio-user post them), read once.
		if (likely((f & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE)) ==
			    VIRTQ_DESC_F_WRITE)) {
			uint64_t addr = d->addr;
			uint32_t len = d->len;
			uint16_t id = d->id;
			uint8_t *b;

			if (likely(len > 0 && id < vq->size &&
				    (b = vhost_mem_gpa(vq->mem, addr, len)) != NULL)) {
				rv->segs[rv->nsegs].p = b;
				rv->segs[rv->nsegs].len = len;
				rv->nsegs++;
				cap += len;
				h->id = id;
				h->nsegs = 1;
				rv->nheads++;
				pos_advance(&pos, &wrap, 1, vq->size);
				if (!vq->mrg_rxbuf)
					break;
				continue;
			}
		}
		{
			struct virtq_packed_walk w;
			uint16_t nseg = 0;
			int r = 0;

			virtq_packed_walk_init(&w, vq, pos, wrap, true);
			while (cap < need && rv->nsegs < VIRTQ_SEGS_MAX &&
				(r = virtq_packed_walk_next(&w, &rv->segs[rv->nsegs])) > 0) {
				cap += rv->segs[rv->nsegs].len;
				rv->nsegs++;
				nseg++;
			}
			// The rest of the chain is not needed, but its length says where the next
			// buffer starts.
			if (unlikely(r < 0 || (r = virtq_packed_walk_finish(&w)) < 0))
				return r;
			h->id = w.id;
			h->nsegs = nseg;
			rv->nheads++;
			pos = w.pos;
			wrap = w.wrap;
		}
		if (!vq->mrg_rxbuf)
			break;
	}
	if (cap < need)
		return 0;
	*cpos = pos;
	*cwrap = wrap;
	return 1;
}

// Writes header + frame into the reserved buffers and their used descriptors, the first
// buffer's last (a guest never sees part of a multi-buffer frame).
static inline void rx_copy(
	struct virtq *vq, struct used_batch *ub, const struct rx_reserve *rv, const struct pkt *p)
{
	struct virtio_net_hdr hdr = {.num_buffers = rv->nheads};
	const uint8_t *src = (const uint8_t *)&hdr;
	uint32_t src_left = vq->hdr_len;
	const uint8_t *data = pkt_data(p);
	uint32_t data_left = p->len;
	uint32_t written0 = 0;
	bool in_hdr = true;
	unsigned s = 0;

	for (unsigned h = 0; h < rv->nheads; h++) {
		const struct rx_head *hd = &rv->heads[h];
		uint32_t written = 0;

		for (unsigned k = 0; k < hd->nsegs; k++, s++) {
			uint8_t *dst = rv->segs[s].p;
			uint32_t room = rv->segs[s].len;

			while (room > 0 && (src_left > 0 || (in_hdr && data_left > 0))) {
				uint32_t c;

				if (src_left == 0) {
					in_hdr = false;
					src = data;
					src_left = data_left;
					data_left = 0;
				}
				c = MIN(room, src_left);
				virtq_copy_bytes(dst, src, c);
				dst += c;
				room -= c;
				src += c;
				src_left -= c;
				written += c;
			}
		}
		if (h == 0)
			written0 = written;
		else
			used_put(vq, ub, hd->pos, hd->wrap, hd->id, written, VIRTQ_DESC_F_WRITE);
	}
	used_put(vq, ub, rv->heads[0].pos, rv->heads[0].wrap, rv->heads[0].id, written0,
		VIRTQ_DESC_F_WRITE);
}

// A frame reserved in one plain buffer (the common case): copied after the whole burst is
// reserved, so that the write misses on the guest's buffers overlap (prefetched for writing).
struct rx_simple {
	uint8_t *dst;
	const struct pkt *p;
	uint16_t pos;
	uint16_t id;
	bool wrap;
};

static inline void rx_copy_simple(
	struct virtq *vq, struct used_batch *ub, const struct rx_simple *s, unsigned n)
{
	struct virtio_net_hdr hdr = {.num_buffers = 1};

	for (unsigned k = 0; k < n; k++) {
		uint32_t len = s[k].p->len;

		if (vq->hdr_len == sizeof(hdr))
			memcpy(s[k].dst, &hdr, sizeof(hdr));
		else
			memcpy(s[k].dst, &hdr, 10); // legacy header without num_buffers
		virtq_copy_bytes(s[k].dst + vq->hdr_len, pkt_data(s[k].p), len);
		used_put(vq, ub, s[k].pos, s[k].wrap, s[k].id, vq->hdr_len + len,
			VIRTQ_DESC_F_WRITE);
	}
}

uint16_t virtq_packed_enqueue(struct virtq *vq, struct pkt *const *pkts, uint16_t n)
{
	struct rx_simple simple[PKT_BURST];
	struct rx_reserve rv;
	uint16_t pos = vq->last_avail_idx, i, used = 0;
	bool wrap = vq->avail_wrap;
	struct used_batch ub = {.start = pos};
	unsigned ns = 0;
	uint64_t bytes = 0;
	int r = 0;

	// The guest's core wrote the descriptors we read and will overwrite: put the lines of
	// the burst's first descriptors in flight at once (one buffer per frame is the common
	// case; further ones are loaded on demand).
	for (i = 0; i < MIN(n, vq->size); i += 4) {
		uint32_t k = (uint32_t)pos + i;

		prefetchw(&vq->pdesc[k < vq->size ? k : k - vq->size]);
	}
	for (i = 0; i < n; i++) {
		const struct pkt *p = pkts[i];

		if (likely(i + 1 < n))
			prefetch0(pkt_data(pkts[i + 1]));
		r = rx_reserve(vq, &pos, &wrap, vq->hdr_len + p->len, &rv);
		if (r <= 0)
			break;
		if (likely(rv.nheads == 1 && rv.nsegs == 1 && ns < PKT_BURST)) {
			simple[ns] = (struct rx_simple){.dst = rv.segs[0].p,
				.p = p,
				.pos = rv.heads[0].pos,
				.id = rv.heads[0].id,
				.wrap = rv.heads[0].wrap};
			virtq_buf_prefetch(simple[ns].dst, vq->hdr_len + p->len, true);
			ns++;
		} else {
			rx_copy(vq, &ub, &rv, p);
		}
		used += rv.nheads;
		bytes += p->len;
	}
	rx_copy_simple(vq, &ub, simple, ns);
	if (used > 0) {
		used_flush(vq, &ub);
		burst_done(vq, pos, wrap, pos_dist(ub.start, vq->avail_wrap, pos, wrap, vq->size));
		packed_notify(vq);
	}
	if (unlikely(r < 0)) {
		virtq_fail__(vq, r);
		virtq_ctr_add(&vq->stats.drop_invalid, n - i);
	} else if (i < n) {
		virtq_ctr_add(&vq->stats.drop_full, n - i);
	}
	virtq_ctr_add(&vq->stats.packets, i);
	virtq_ctr_add(&vq->stats.bytes, bytes);
	return i;
}
