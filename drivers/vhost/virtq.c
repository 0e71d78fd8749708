// SPDX-License-Identifier: Apache-2.0
// Split virtqueue fast path: chain walker, guest TX dequeue, guest RX enqueue (mergeable
// buffers), used-ring batching and interrupt suppression; see virtq.h for the thread model.
#include "drivers/vhost/virtq.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "drivers/vhost/vhost_proto.h"
#include "drivers/vhost/virtq_internal.h"
#include "drivers/vhost/virtq_packed.h"

static const char *const error_names[VIRTQ_ERR_MAX] = {
	[VIRTQ_ERR_NONE] = "none",
	[VIRTQ_ERR_AVAIL_IDX] = "avail index moved by more than the ring size",
	[VIRTQ_ERR_HEAD] = "avail ring entry out of range",
	[VIRTQ_ERR_NEXT] = "descriptor next index out of range",
	[VIRTQ_ERR_CHAIN_LONG] = "descriptor chain longer than its table (loop)",
	[VIRTQ_ERR_ADDR] = "buffer outside guest memory",
	[VIRTQ_ERR_INDIRECT_NESTED] = "indirect descriptor inside an indirect table",
	[VIRTQ_ERR_INDIRECT_LEN] = "indirect table length invalid",
	[VIRTQ_ERR_INDIRECT_NEXT] = "indirect descriptor with the next flag",
	[VIRTQ_ERR_INDIRECT_FEATURE] = "indirect descriptor not negotiated",
	[VIRTQ_ERR_DIRECTION] = "buffer with the wrong direction",
	[VIRTQ_ERR_ID] = "buffer id out of range",
	[VIRTQ_ERR_CHAIN_AVAIL] = "chained descriptor not made available",
	[VIRTQ_ERR_INDIRECT_CHAIN] = "indirect descriptor inside a descriptor chain",
};

const char *virtq_error_name(enum virtq_error e)
{
	if ((unsigned)e < VIRTQ_ERR_MAX)
		return error_names[e];
	return "unknown";
}

void virtq_stats_read(const struct virtq *vq, struct virtq_stats_snap *out)
{
#define VIRTQ_X(name) out->name = atomic_load_explicit(&vq->stats.name, memory_order_relaxed);
	VIRTQ_COUNTERS(VIRTQ_X)
#undef VIRTQ_X
}

// Asymmetric fences: with membarrier(2), bursts enter with a plain store and load (a full
// barrier per burst costs tens of cycles, paid on every poll, even empty ones) and the rare
// virtq_quiesce() forces the barrier on every thread of the process instead. Without it
// (kernels before 4.14, seccomp), bursts use seq_cst. Set once, before any queue is ready.
static _Atomic int virtq_membarrier = -1; // -1 unknown, 0 unavailable, 1 registered
static bool virtq_asym;

static void virtq_fences_init(void)
{
	int v = -1;

	if (!atomic_compare_exchange_strong(&virtq_membarrier, &v, 0))
		return;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
		virtq_asym = true;
		atomic_store(&virtq_membarrier, 1);
	}
}

void virtq_count_tx_invalid(struct virtq *vq, uint16_t n)
{
	if (n > 0)
		virtq_ctr_add(&vq->stats.drop_invalid, n);
}

void virtq_init(struct virtq *vq, uint16_t port_id, uint16_t qid, int errfd)
{
	virtq_fences_init();
	memset(vq, 0, sizeof(*vq));
	vq->callfd = -1;
	vq->port_id = port_id;
	vq->qid = qid;
	vq->errfd = errfd;
}

// ---- control side ----------------------------------------------------------------------------

void virtq_quiesce(struct virtq *vq)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 20000};

	atomic_store_explicit(&vq->ready, 0, memory_order_seq_cst);
	// Every running worker executes a full barrier: a burst that had not yet made busy = 1
	// visible now either sees ready == 0 or its busy store is visible to our load below.
	if (virtq_asym && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) < 0)
		abort(); // registered at init: failing now would break the handshake silently
	// A burst is bounded (32 packets), so this waits microseconds unless the worker thread is
	// preempted mid-burst; sleep rather than spin so that a worker sharing our core can run.
	while (atomic_load_explicit(&vq->busy, memory_order_seq_cst) != 0)
		nanosleep(&ts, NULL);
}

uint32_t virtq_base(const struct virtq *vq)
{
	if (vq->packed)
		return virtq_packed_base(vq);
	return vq->last_avail_idx;
}

enum virtq_error virtq_get_error(const struct virtq *vq)
{
	return atomic_load_explicit(&vq->error, memory_order_acquire);
}

void virtq_clear_error(struct virtq *vq)
{
	atomic_store_explicit(&vq->error, VIRTQ_ERR_NONE, memory_order_relaxed);
}

// Ring part of virtq_start() for a split queue (see virtq_packed_start() for packed ones).
static int split_start(
	struct virtq *vq, const struct virtq_config *cfg, bool *base_fixed, struct err *err)
{
	uint64_t size = cfg->size;
	uint64_t desc_len = 16 * size;
	uint64_t avail_len = 4 + 2 * size + 2; // flags, idx, ring, used_event
	uint64_t used_len = 4 + 8 * size + 2; // flags, idx, ring, avail_event
	uint16_t base = (uint16_t)cfg->base, used_idx;
	void *desc, *avail, *used;

	if ((desc = vhost_mem_uva(cfg->mem, cfg->desc, desc_len)) == NULL)
		return err_set(err, -EINVAL, "desc",
			"descriptor table at 0x%llx (+%llu) is not inside one memory region",
			(unsigned long long)cfg->desc, (unsigned long long)desc_len);
	if ((avail = vhost_mem_uva(cfg->mem, cfg->avail, avail_len)) == NULL)
		return err_set(err, -EINVAL, "avail",
			"avail ring at 0x%llx (+%llu) is not inside one memory region",
			(unsigned long long)cfg->avail, (unsigned long long)avail_len);
	if ((used = vhost_mem_uva(cfg->mem, cfg->used, used_len)) == NULL)
		return err_set(err, -EINVAL, "used",
			"used ring at 0x%llx (+%llu) is not inside one memory region",
			(unsigned long long)cfg->used, (unsigned long long)used_len);
	if (((uintptr_t)desc & 15) || ((uintptr_t)avail & 1) || ((uintptr_t)used & 3))
		return err_set(err, -EINVAL, "addr", "vring addresses misaligned");

	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->last_avail_idx = base;
	vq->last_used_idx = base;
	// We complete buffers in order and hold none across a stop, so used idx == base unless
	// the previous back-end left some in flight; follow the ring then (they are lost).
	used_idx = atomic_load_explicit(&vq->used->idx, memory_order_acquire);
	if (used_idx != base) {
		vq->last_avail_idx = used_idx;
		vq->last_used_idx = used_idx;
		*base_fixed = true;
	}
	// We poll: ask the guest not to kick. Without event idx through the used flags; with it
	// by parking avail_event just behind the current index, so a kick needs a full wrap.
	vq->used->flags = VIRTQ_USED_F_NO_NOTIFY;
	if (cfg->features & VHOST_BIT(VIRTIO_RING_F_EVENT_IDX)) {
		volatile uint16_t *avail_event = (volatile uint16_t *)&vq->used->ring[size];

		*avail_event = (uint16_t)(vq->last_avail_idx - 1);
	}
	return 0;
}

int virtq_start(struct virtq *vq, const struct virtq_config *cfg, bool *base_fixed, struct err *err)
{
	bool packed = cfg->features & VHOST_BIT(VIRTIO_F_RING_PACKED);
	uint64_t size = cfg->size;
	int ret;

	*base_fixed = false;
	if (cfg->mem == NULL)
		return err_set(err, -EINVAL, "mem", "vring %u: no memory table", vq->qid);
	if (size == 0 || size > VHOST_VRING_SIZE_MAX || (size & (size - 1)))
		return err_set(err, -EINVAL, "num", "vring size %u invalid", cfg->size);
	if (packed)
		ret = virtq_packed_start(vq, cfg, base_fixed, err);
	else
		ret = split_start(vq, cfg, base_fixed, err);
	if (ret < 0)
		return ret;
	vq->packed = packed;
	vq->mem = cfg->mem;
	vq->pool = cfg->pool;
	vq->size = cfg->size;
	vq->mask = cfg->size - 1;
	vq->mrg_rxbuf = cfg->features & VHOST_BIT(VIRTIO_NET_F_MRG_RXBUF);
	vq->event_idx = cfg->features & VHOST_BIT(VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = cfg->features & VHOST_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	vq->hdr_len = (cfg->features &
			      (VHOST_BIT(VIRTIO_F_VERSION_1) | VHOST_BIT(VIRTIO_NET_F_MRG_RXBUF)))
		? 12
		: 10;
	vq->callfd = cfg->callfd;
	vq->signalled_used_valid = false;
	atomic_store_explicit(&vq->error, VIRTQ_ERR_NONE, memory_order_relaxed);
	// Publishes everything above; pairs with the seq_cst load of ready in burst_enter().
	atomic_store_explicit(&vq->ready, 1, memory_order_seq_cst);
	return 0;
}

// ---- worker side -----------------------------------------------------------------------------

static inline bool burst_enter(struct virtq *vq)
{
	bool ready;

	// Pairs with virtq_quiesce(): store busy, then load ready (Dekker). The store-load order
	// comes from the control thread's membarrier, or from seq_cst here without it; acquire
	// pairs with the seq_cst store of ready in virtq_start() (the queue configuration).
	if (likely(virtq_asym)) {
		atomic_store_explicit(&vq->busy, 1, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
		ready = atomic_load_explicit(&vq->ready, memory_order_acquire);
	} else {
		atomic_store_explicit(&vq->busy, 1, memory_order_seq_cst);
		ready = atomic_load_explicit(&vq->ready, memory_order_seq_cst);
	}
	if (likely(ready &&
		    atomic_load_explicit(&vq->error, memory_order_relaxed) == VIRTQ_ERR_NONE))
		return true;
	atomic_store_explicit(&vq->busy, 0, memory_order_release);
	return false;
}

static inline void burst_leave(struct virtq *vq)
{
	// Release: our ring-state writes are visible to the control thread once it sees busy 0.
	atomic_store_explicit(&vq->busy, 0, memory_order_release);
}

__noinline void virtq_fail__(struct virtq *vq, int neg_err)
{
	uint32_t expected = VIRTQ_ERR_NONE;
	uint64_t one = 1;

	if (atomic_compare_exchange_strong_explicit(&vq->error, &expected, (uint32_t)-neg_err,
		    memory_order_release, memory_order_relaxed) &&
		vq->errfd >= 0) {
		ssize_t r = write(vq->errfd, &one, sizeof(one));

		(void)r; // a full eventfd already wakes the control thread
	}
}

int virtq_walk_init(struct virtq_walk *w, const struct virtq *vq, uint16_t head, bool write)
{
	if (unlikely(head >= vq->size))
		return -VIRTQ_ERR_HEAD;
	w->mem = vq->mem;
	w->table = vq->desc;
	w->table_len = vq->size;
	w->count = 0;
	w->idx = head;
	w->in_indirect = false;
	w->allow_indirect = vq->indirect;
	w->write = write;
	w->have_next = true;
	w->cur_len = 0;
	return 0;
}

int virtq_walk_next(struct virtq_walk *w, struct virtq_seg *seg)
{
	for (;;) {
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
		if (!w->have_next)
			return 0;
		if (unlikely(w->count >= w->table_len))
			return -VIRTQ_ERR_CHAIN_LONG;
		w->count++;

		// Read the descriptor once; the guest may rewrite it while we look.
		const struct virtq_desc *d = &w->table[w->idx];
		uint64_t addr = d->addr;
		uint32_t len = d->len;
		uint16_t flags = d->flags;
		uint16_t next = d->next;

		if (flags & VIRTQ_DESC_F_INDIRECT) {
			const struct virtq_desc *t;

			if (unlikely(!w->allow_indirect))
				return -VIRTQ_ERR_INDIRECT_FEATURE;
			if (unlikely(w->in_indirect))
				return -VIRTQ_ERR_INDIRECT_NESTED;
			if (unlikely(flags & VIRTQ_DESC_F_NEXT))
				return -VIRTQ_ERR_INDIRECT_NEXT;
			if (unlikely(len == 0 || (len % sizeof(struct virtq_desc)) != 0 ||
				    len / sizeof(struct virtq_desc) > VIRTQ_INDIRECT_MAX))
				return -VIRTQ_ERR_INDIRECT_LEN;
			// The table itself must be contiguous in one region, and aligned where we
			// map it (a region's mmap offset need not be).
			if (unlikely((t = vhost_mem_gpa(w->mem, addr, len)) == NULL ||
				    ((uintptr_t)t & 15) != 0))
				return -VIRTQ_ERR_ADDR;
			w->table = t;
			w->table_len = len / sizeof(struct virtq_desc);
			w->count = 0;
			w->idx = 0;
			w->in_indirect = true;
			continue;
		}
		if (unlikely(!!(flags & VIRTQ_DESC_F_WRITE) != w->write))
			return -VIRTQ_ERR_DIRECTION;
		if (unlikely(len > 0 && addr > UINT64_MAX - len))
			return -VIRTQ_ERR_ADDR;
		if (flags & VIRTQ_DESC_F_NEXT) {
			if (unlikely(next >= w->table_len))
				return -VIRTQ_ERR_NEXT;
			w->idx = next;
		} else {
			w->have_next = false;
		}
		w->cur_addr = addr;
		w->cur_len = len;
	}
}

// Signals the guest if it wants it (call eventfd write: the only syscall of the fast path).
static inline void vq_notify(struct virtq *vq)
{
	bool need;

	if (vq->callfd < 0)
		return;
	// Our used idx store must be visible before we read the guest's suppression state, and
	// the guest orders its own writes the other way round (virtio spec 2.7.10).
	atomic_thread_fence(memory_order_seq_cst);
	if (vq->event_idx) {
		uint16_t event = vq->avail->ring[vq->size]; // used_event
		uint16_t old = vq->signalled_used;
		uint16_t new = vq->last_used_idx;

		need = !vq->signalled_used_valid ||
			(uint16_t)(new - event - 1) < (uint16_t)(new - old);
		vq->signalled_used = new;
		vq->signalled_used_valid = true;
	} else {
		need = !(vq->avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	if (need) {
		uint64_t one = 1;
		ssize_t r = write(vq->callfd, &one, sizeof(one));

		(void)r; // EAGAIN only when the counter is saturated: the guest is signalled anyway
		virtq_ctr_add(&vq->stats.notify, 1);
	} else {
		virtq_ctr_add(&vq->stats.notify_suppressed, 1);
	}
}

static inline void used_publish(struct virtq *vq, uint16_t n)
{
	vq->last_used_idx += n;
	// Pairs with the guest's read barrier after reading used->idx.
	atomic_store_explicit(&vq->used->idx, vq->last_used_idx, memory_order_release);
}

static inline void used_write(struct virtq *vq, uint16_t slot, uint16_t head, uint32_t len)
{
	struct virtq_used_elem *e = &vq->used->ring[slot & vq->mask];

	e->id = head;
	e->len = len;
}

// Number of new avail entries, or -1 if the guest moved idx by more than the ring size.
static inline int avail_count(struct virtq *vq, uint16_t *avail_idx)
{
	// Acquire pairs with the guest's write barrier before its avail idx store.
	uint16_t idx = atomic_load_explicit(&vq->avail->idx, memory_order_acquire);
	uint16_t n = idx - vq->last_avail_idx;

	if (unlikely(n > vq->size))
		return -1;
	*avail_idx = idx;
	return n;
}

// Copies one guest TX chain into p through the general walker (chained, indirect or
// region-straddling buffers), stripping the virtio-net header. Returns 0, 1 when the frame is
// dropped but the chain was valid (oversize / short header), or -VIRTQ_ERR_*.
static __noinline int dequeue_walk(struct virtq *vq, uint16_t head, struct pkt *p, bool *oversize)
{
	struct virtq_tx_gather g;
	struct virtq_walk w;
	struct virtq_seg s;
	int r;

	if (unlikely((r = virtq_walk_init(&w, vq, head, false)) < 0))
		return r;
	virtq_tx_gather_init(&g, vq, p);
	while ((r = virtq_walk_next(&w, &s)) > 0)
		virtq_tx_gather_seg(&g, &s);
	if (unlikely(r < 0))
		return r;
	return virtq_tx_gather_end(&g, p, oversize);
}

// Starts loading the used-ring entries [last_used_idx, +n) for writing: the guest's core read
// them last, so each line is a cross-core miss that should overlap with the rest of the burst.
static inline void used_prefetch(const struct virtq *vq, uint16_t n)
{
	for (uint16_t k = 0; k < n; k += 8)
		prefetchw(&vq->used->ring[(uint16_t)(vq->last_used_idx + k) & vq->mask]);
	if (n > 0)
		prefetchw(&vq->used->ring[(uint16_t)(vq->last_used_idx + n - 1) & vq->mask]);
}

uint16_t virtq_dequeue_burst(struct virtq *vq, struct pkt **pkts, uint16_t n)
{
	uint16_t avail_idx, i, got = 0, done = 0;
	uint64_t bytes = 0, oversize = 0, invalid = 0;
	struct pkt *bufs[PKT_BURST];
	const uint8_t *src[PKT_BURST];
	uint32_t flen[PKT_BURST];
	uint16_t heads[PKT_BURST];
	uint32_t skip = vq->hdr_len;
	int navail, r = 0;

	if (!burst_enter(vq))
		return 0;
	// The layout is fixed while the queue runs (set before ready, read after entering).
	if (unlikely(vq->packed)) {
		got = virtq_packed_dequeue(vq, pkts, n);
		goto out;
	}
	if (unlikely((navail = avail_count(vq, &avail_idx)) < 0)) {
		virtq_fail__(vq, -VIRTQ_ERR_AVAIL_IDX);
		virtq_ctr_add(&vq->stats.drop_invalid, 1);
		goto out;
	}
	n = MIN(n, (uint16_t)navail);
	n = MIN(n, PKT_BURST);
	if (n == 0)
		goto out;
	// The guest's core wrote the avail entries, descriptors and frames of this burst: three
	// passes put each kind of line in flight for the whole burst at once, so their cross-core
	// misses overlap instead of costing one full latency per packet.
	for (i = 0; i < n; i++) {
		uint16_t h = vq->avail->ring[(uint16_t)(vq->last_avail_idx + i) & vq->mask];

		heads[i] = h;
		if (likely(h < vq->size))
			prefetch0(&vq->desc[h]);
	}
	used_prefetch(vq, n);
	if (unlikely(pkt_alloc_bulk(vq->pool, bufs, n) < 0)) {
		// Take what the pool still has; the rest stays in the guest ring for later.
		uint16_t k = 0;

		while (k < n && (bufs[k] = pkt_alloc(vq->pool)) != NULL)
			k++;
		virtq_ctr_add(&vq->stats.drop_nobuf, n - k);
		n = k;
		if (n == 0)
			goto out;
	}
	// Fast path: header and frame in one plain descriptor inside one region (what virtio-user
	// and Linux send with VERSION_1). Each descriptor is read once here, into locals; the
	// others (src NULL) take the general walker, which reads and validates them itself.
	for (i = 0; i < n; i++) {
		uint16_t h = heads[i];

		src[i] = NULL;
		if (likely(h < vq->size)) {
			const struct virtq_desc *d = &vq->desc[h];
			uint64_t addr = d->addr;
			uint32_t dlen = d->len;
			uint16_t flags = d->flags;
			const uint8_t *b;

			if (likely(flags == 0 && dlen >= skip &&
				    dlen - skip <= pkt_tailroom(bufs[i]) &&
				    (b = vhost_mem_gpa(vq->mem, addr, dlen)) != NULL)) {
				src[i] = b + skip;
				flen[i] = dlen - skip;
				virtq_buf_prefetch(b, dlen, false);
			}
		}
	}
	for (i = 0; i < n; i++) {
		struct pkt *p = bufs[i];
		bool big = false;

		if (likely(src[i] != NULL)) {
			virtq_copy_bytes(pkt_data(p), src[i], flen[i]);
			p->len = flen[i];
			r = 0;
		} else {
			r = dequeue_walk(vq, heads[i], p, &big);
			if (unlikely(r < 0))
				break;
		}
		used_write(vq, vq->last_used_idx + i, heads[i], 0);
		done++;
		if (unlikely(r > 0)) {
			oversize += big;
			invalid += !big;
			pkt_free(p);
			continue;
		}
		p->in_port = vq->port_id;
		p->rxq = vq->qid;
		bytes += p->len;
		pkts[got++] = p;
	}
	if (unlikely(r < 0)) {
		// Chain i is bad: free the buffers we did not fill, complete those before it.
		pkt_free_bulk(&bufs[i], n - i);
		invalid++;
		virtq_fail__(vq, r);
	}
	if (done > 0) {
		vq->last_avail_idx += done;
		used_publish(vq, done);
		vq_notify(vq);
	}
	virtq_ctr_add(&vq->stats.packets, got);
	virtq_ctr_add(&vq->stats.bytes, bytes);
	if (unlikely(oversize))
		virtq_ctr_add(&vq->stats.drop_oversize, oversize);
	if (unlikely(invalid))
		virtq_ctr_add(&vq->stats.drop_invalid, invalid);
out:
	burst_leave(vq);
	return got;
}

// Buffers reserved for one packet on the guest RX ring.
struct rx_reserve {
	uint16_t nheads;
	uint16_t nsegs;
	uint16_t heads[VIRTQ_SEGS_MAX];
	uint16_t head_segs[VIRTQ_SEGS_MAX]; // segments per head
	struct virtq_seg segs[VIRTQ_SEGS_MAX];
};

// Collects buffers from avail entries [*cursor, avail_idx) until they hold `need` bytes (one
// chain only without mergeable buffers). Returns 1 (reserved, *cursor advanced), 0 (not
// enough room: nothing consumed) or -VIRTQ_ERR_*.
static inline int rx_reserve(struct virtq *vq, uint16_t *cursor, uint16_t avail_idx, uint32_t need,
	struct rx_reserve *rv)
{
	uint16_t cur = *cursor;
	uint64_t cap = 0;

	rv->nheads = 0;
	rv->nsegs = 0;
	while (cap < need) {
		struct virtq_walk w;
		uint16_t head, nseg = 0;
		int r = 0;

		if (cur == avail_idx || rv->nheads == VIRTQ_SEGS_MAX || rv->nsegs == VIRTQ_SEGS_MAX)
			return 0;
		head = vq->avail->ring[cur & vq->mask];
		// Fast path: one plain device-writable descriptor inside one region (mergeable
		// buffers as Linux and virtio-user post them).
		if (likely(head < vq->size)) {
			const struct virtq_desc *d = &vq->desc[head];
			uint64_t addr = d->addr;
			uint32_t dlen = d->len;
			uint16_t flags = d->flags;
			uint8_t *b;

			if (likely(flags == VIRTQ_DESC_F_WRITE && dlen > 0 &&
				    (b = vhost_mem_gpa(vq->mem, addr, dlen)) != NULL)) {
				rv->segs[rv->nsegs].p = b;
				rv->segs[rv->nsegs].len = dlen;
				rv->nsegs++;
				cap += dlen;
				rv->heads[rv->nheads] = head;
				rv->head_segs[rv->nheads] = 1;
				rv->nheads++;
				cur++;
				if (!vq->mrg_rxbuf)
					break;
				continue;
			}
		}
		if (unlikely((r = virtq_walk_init(&w, vq, head, true)) < 0))
			return r;
		while (cap < need && rv->nsegs < VIRTQ_SEGS_MAX &&
			(r = virtq_walk_next(&w, &rv->segs[rv->nsegs])) > 0) {
			cap += rv->segs[rv->nsegs].len;
			rv->nsegs++;
			nseg++;
		}
		if (unlikely(r < 0))
			return r;
		rv->heads[rv->nheads] = head;
		rv->head_segs[rv->nheads] = nseg;
		rv->nheads++;
		cur++;
		if (!vq->mrg_rxbuf)
			break;
	}
	if (cap < need)
		return 0;
	*cursor = cur;
	return 1;
}

// Writes header + frame into the reserved segments and the used entries of their heads.
static inline void rx_copy(
	struct virtq *vq, const struct rx_reserve *rv, const struct pkt *p, uint16_t slot)
{
	struct virtio_net_hdr hdr = {.num_buffers = rv->nheads};
	const uint8_t *src = (const uint8_t *)&hdr;
	uint32_t src_left = vq->hdr_len;
	const uint8_t *data = pkt_data(p);
	uint32_t data_left = p->len;
	bool in_hdr = true;
	unsigned s = 0;

	for (unsigned h = 0; h < rv->nheads; h++) {
		uint32_t written = 0;

		for (unsigned k = 0; k < rv->head_segs[h]; k++, s++) {
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
		used_write(vq, slot + h, rv->heads[h], written);
	}
}

// A frame reserved in one plain buffer (the common case): copied after the whole burst is
// reserved, so that the write misses on the guest's buffers overlap (prefetched for writing).
struct rx_simple {
	uint8_t *dst;
	const struct pkt *p;
	uint16_t head;
	uint16_t slot;
};

static inline void rx_copy_simple(struct virtq *vq, const struct rx_simple *s, unsigned n)
{
	struct virtio_net_hdr hdr = {.num_buffers = 1};

	for (unsigned k = 0; k < n; k++) {
		uint32_t len = s[k].p->len;

		if (vq->hdr_len == sizeof(hdr))
			memcpy(s[k].dst, &hdr, sizeof(hdr));
		else
			memcpy(s[k].dst, &hdr, 10); // legacy header without num_buffers
		virtq_copy_bytes(s[k].dst + vq->hdr_len, pkt_data(s[k].p), len);
		used_write(vq, s[k].slot, s[k].head, vq->hdr_len + len);
	}
}

uint16_t virtq_enqueue_burst(struct virtq *vq, struct pkt *const *pkts, uint16_t n)
{
	struct rx_simple simple[PKT_BURST];
	struct rx_reserve rv;
	uint16_t avail_idx, cursor, i, used = 0;
	unsigned ns = 0;
	uint64_t bytes = 0;
	int r = 0;

	if (!burst_enter(vq)) {
		virtq_ctr_add(&vq->stats.drop_down, n);
		return 0;
	}
	if (unlikely(vq->packed)) {
		i = virtq_packed_enqueue(vq, pkts, n);
		burst_leave(vq);
		return i;
	}
	if (unlikely(avail_count(vq, &avail_idx) < 0)) {
		virtq_fail__(vq, -VIRTQ_ERR_AVAIL_IDX);
		virtq_ctr_add(&vq->stats.drop_invalid, n);
		burst_leave(vq);
		return 0;
	}
	cursor = vq->last_avail_idx;
	// The guest's core wrote these avail entries and descriptors, and last read the used
	// entries we will fill: put those lines in flight for the burst at once (one buffer per
	// packet is the common case; more are loaded on demand by rx_reserve()).
	for (i = 0; i < MIN(n, (uint16_t)(avail_idx - cursor)); i++) {
		uint16_t h = vq->avail->ring[(uint16_t)(cursor + i) & vq->mask];

		if (likely(h < vq->size))
			prefetch0(&vq->desc[h]);
	}
	used_prefetch(vq, MIN(n, (uint16_t)(avail_idx - cursor)));
	for (i = 0; i < n; i++) {
		const struct pkt *p = pkts[i];

		if (likely(i + 1 < n))
			prefetch0(pkt_data(pkts[i + 1]));
		r = rx_reserve(vq, &cursor, avail_idx, vq->hdr_len + p->len, &rv);
		if (r <= 0)
			break;
		if (likely(rv.nheads == 1 && rv.nsegs == 1 && ns < PKT_BURST)) {
			simple[ns] = (struct rx_simple){.dst = rv.segs[0].p,
				.p = p,
				.head = rv.heads[0],
				.slot = (uint16_t)(vq->last_used_idx + used)};
			virtq_buf_prefetch(simple[ns].dst, vq->hdr_len + p->len, true);
			ns++;
		} else {
			rx_copy(vq, &rv, p, vq->last_used_idx + used);
		}
		used += rv.nheads;
		bytes += p->len;
	}
	rx_copy_simple(vq, simple, ns);
	if (used > 0) {
		vq->last_avail_idx = cursor;
		used_publish(vq, used);
		vq_notify(vq);
	}
	if (unlikely(r < 0)) {
		virtq_fail__(vq, r);
		virtq_ctr_add(&vq->stats.drop_invalid, n - i);
	} else if (i < n) {
		virtq_ctr_add(&vq->stats.drop_full, n - i);
	}
	virtq_ctr_add(&vq->stats.packets, i);
	virtq_ctr_add(&vq->stats.bytes, bytes);
	burst_leave(vq);
	return i;
}
