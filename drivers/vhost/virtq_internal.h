// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the split (virtq.c) and packed (virtq_packed.c) virtqueue fast paths:
// counters, short copies, buffer prefetching and the queue-stop path. Not a public interface.
#ifndef VSWITCH_VIRTQ_INTERNAL_H
#define VSWITCH_VIRTQ_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "dataplane/compiler.h"
#include "dataplane/pkt.h"
#include "drivers/vhost/virtq.h"

// Single-writer counter update: a plain add, atomic only so that readers never tear.
static inline void virtq_ctr_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(
		c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}

// memcpy for the short copies of the fast path (headers, small frames): two overlapping
// constant-size moves instead of a libc call; never touches bytes outside [0, n).
static __always_inline void virtq_copy_bytes(uint8_t *d, const uint8_t *s, size_t n)
{
	if (n <= 16) {
		if (n >= 8) {
			__builtin_memcpy(d, s, 8);
			__builtin_memcpy(d + n - 8, s + n - 8, 8);
		} else if (n >= 4) {
			__builtin_memcpy(d, s, 4);
			__builtin_memcpy(d + n - 4, s + n - 4, 4);
		} else {
			for (size_t i = 0; i < n; i++)
				d[i] = s[i];
		}
	} else if (n <= 32) {
		__builtin_memcpy(d, s, 16);
		__builtin_memcpy(d + n - 16, s + n - 16, 16);
	} else if (n <= 64) {
		__builtin_memcpy(d, s, 32);
		__builtin_memcpy(d + n - 32, s + n - 32, 32);
	} else {
		memcpy(d, s, n);
	}
}

// Lines of a guest buffer worth prefetching: the first two and the last (the header and a
// small frame; the hardware prefetcher follows the middle of a large one).
static inline void virtq_buf_prefetch(const uint8_t *b, uint32_t len, bool write)
{
	if (write) {
		prefetchw(b);
		if (len > 64)
			prefetchw(b + 64);
		if (len > 128)
			prefetchw(b + len - 1);
	} else {
		prefetch0(b);
		if (len > 64)
			prefetch0(b + 64);
		if (len > 128)
			prefetch0(b + len - 1);
	}
}

// Stops the queue on a guest error (neg_err = -VIRTQ_ERR_*) and wakes the control thread (one
// eventfd write, once). Worker, inside a burst.
void virtq_fail__(struct virtq *vq, int neg_err);

// Gathers the segments of one guest TX chain into a packet, stripping the virtio-net header:
// the slow path (chained, indirect or region-straddling buffers) of both ring layouts.
struct virtq_tx_gather {
	uint8_t *dst;
	uint32_t room;
	uint32_t skip; // header bytes still to strip
	uint64_t len; // frame bytes seen (may exceed room: the chain is still walked to its end)
};

static inline void virtq_tx_gather_init(
	struct virtq_tx_gather *g, const struct virtq *vq, struct pkt *p)
{
	g->dst = pkt_data(p);
	g->room = pkt_tailroom(p);
	g->skip = vq->hdr_len;
	g->len = 0;
}

static inline void virtq_tx_gather_seg(struct virtq_tx_gather *g, const struct virtq_seg *s)
{
	const uint8_t *src = s->p;
	uint32_t l = s->len;
	uint32_t k = MIN(g->skip, l);

	g->skip -= k;
	src += k;
	l -= k;
	// Keep walking an oversize chain: it is validated and returned to the guest.
	if (l > 0 && likely(g->len + l <= g->room))
		virtq_copy_bytes(g->dst + g->len, src, l);
	g->len += l;
}

// After the last segment: 0 with p->len set, or 1 when the frame is dropped although the chain
// was valid (*oversize: larger than the buffer, else shorter than its header).
static inline int virtq_tx_gather_end(struct virtq_tx_gather *g, struct pkt *p, bool *oversize)
{
	if (unlikely(g->skip > 0)) {
		*oversize = false;
		return 1;
	}
	if (unlikely(g->len > g->room)) {
		*oversize = true;
		return 1;
	}
	p->len = (uint32_t)g->len;
	return 0;
}

#endif
