// SPDX-License-Identifier: Apache-2.0
// Intel descriptor ring fast path (see intel_ring.h): rx reads a burst of write-backs, hands the
// buffers up and refills the ring in bulk with one tail write; tx cleans completed blocks, fills
// descriptors and rings the doorbell (TDT) once per burst. Worker threads; no locks, no
// syscalls: the tail registers are mapped device memory.
#include <stdatomic.h>

#include "dataplane/net.h"
#include "drivers/intel/intel_ring.h"

#define INTEL_REFILL_CHUNK 64

// Orders our descriptor stores before the tail write that hands them to the NIC. On x86 stores
// are not reordered with each other (uncached MMIO included), so this only stops the compiler.
static inline void intel_wmb(void)
{
	atomic_thread_fence(memory_order_release);
}

static inline void intel_reg_write(volatile uint32_t *reg, uint32_t v)
{
	*reg = v;
}

// Posts new buffers in the empty slots but the last one (RDT == RDH would mean "no buffers"
// to the NIC) and moves RDT once.
static void intel_rx_refill(struct intel_rxq *q)
{
	uint16_t want = q->empty - 1, tail = q->tail;
	struct pkt *bufs[INTEL_REFILL_CHUNK];

	while (want > 0) {
		uint16_t c = MIN(want, (uint16_t)INTEL_REFILL_CHUNK);

		if (pkt_alloc_bulk(q->pool, bufs, c) < 0) {
			port_counter_add(&q->nobuf, 1);
			break;
		}
		for (uint16_t i = 0; i < c; i++) {
			volatile union intel_rx_desc *d = &q->ring[tail];

			q->sw[tail] = bufs[i];
			d->read.addr = pkt_data_iova(bufs[i]);
			d->read.hdr_addr = 0;
			tail = (tail + 1) & q->mask;
		}
		want -= c;
		q->empty -= c;
	}
	if (tail != q->tail) {
		q->tail = tail;
		intel_wmb();
		intel_reg_write(q->tail_reg, tail);
	}
}

uint16_t intel_rx_burst(void *rxq, struct pkt **pkts, uint16_t n)
{
	struct intel_rxq *q = rxq;
	uint16_t idx = q->next, cnt = 0, seen = 0;
	uint64_t bytes = 0, invalid = 0;

	while (seen < n) {
		volatile union intel_rx_desc *d = &q->ring[idx];
		uint32_t se = d->wb.status_error;
		struct pkt *p;
		uint16_t len;

		if (!(se & INTEL_RXD_STAT_DD))
			break;
		// Acquire: the rest of the write-back is read after DD was seen set.
		atomic_thread_fence(memory_order_acquire);
		len = d->wb.length;
		p = q->sw[idx];
		q->sw[idx] = NULL;
		idx = (idx + 1) & q->mask;
		seen++;
		prefetch0(q->sw[idx]);
		if (unlikely(p == NULL)) {
			invalid++; // DD on a slot we never posted: the NIC is confused
			continue;
		}
		// A frame longer than one buffer: drop all of its descriptors (no chains here).
		if (unlikely(!(se & INTEL_RXD_STAT_EOP) || q->discard)) {
			q->discard = !(se & INTEL_RXD_STAT_EOP);
			invalid++;
			pkt_free(p);
			continue;
		}
		if (unlikely((se & q->err_mask) || len < NET_ETH_HLEN || len > q->buf_len)) {
			invalid++;
			pkt_free(p);
			continue;
		}
		p->len = len;
		p->in_port = q->port_id;
		p->rxq = q->qid;
		p->flags = 0;
		if (q->hash && (d->wb.info & INTEL_RXD_RSS_TYPE_MASK)) {
			p->hash = d->wb.rss;
			p->flags = PKT_F_HASH;
		}
		pkts[cnt++] = p;
		bytes += len;
	}
	if (seen == 0)
		return 0;
	q->next = idx;
	q->empty += seen;
	if (q->empty > q->free_thresh)
		intel_rx_refill(q);
	port_counter_add(&q->packets, cnt);
	port_counter_add(&q->bytes, bytes);
	if (unlikely(invalid))
		port_counter_add(&q->invalid, invalid);
	return cnt;
}

// Frees the packets of every completed block (the NIC wrote DD into the block's RS descriptor).
static void intel_tx_clean(struct intel_txq *q)
{
	for (;;) {
		uint16_t last = (q->clean + q->rs_thresh - 1) & q->mask;

		// The block is not complete yet: its RS descriptor is not filled or not done.
		if (((q->tail - q->clean) & q->mask) < q->rs_thresh ||
			!(q->ring[last].upper & INTEL_TXD_STAT_DD))
			return;
		atomic_thread_fence(memory_order_acquire);
		pkt_free_bulk(q->sw + q->clean, q->rs_thresh);
		for (uint16_t i = 0; i < q->rs_thresh; i++)
			q->sw[q->clean + i] = NULL;
		q->clean = (q->clean + q->rs_thresh) & q->mask;
	}
}

uint16_t intel_tx_burst(void *txq, struct pkt **pkts, uint16_t n)
{
	struct intel_txq *q = txq;
	const uint32_t max_len = atomic_load_explicit(&q->max_len, memory_order_relaxed);
	uint16_t tail = q->tail, sent = 0, room, i;
	uint64_t bytes = 0;

	room = (uint16_t)((q->clean - tail - 1) & q->mask);
	if (room < n) {
		intel_tx_clean(q);
		room = (uint16_t)((q->clean - tail - 1) & q->mask);
	}
	for (i = 0; i < n; i++) {
		struct pkt *p = pkts[i];
		volatile struct intel_tx_desc *d;
		uint32_t lower;

		if (unlikely(p->len > max_len) &&
			(p->len > q->data_cap || !port_len_ok_tagged(p, max_len))) {
			port_counter_add(&q->drop_mtu, 1);
			pkt_free(p);
			continue;
		}
		if (unlikely(p->len < NET_ETH_HLEN) ||
			(unlikely(p->flags & PKT_F_L4_CSUM_PARTIAL) && port_csum_finalize(p) < 0)) {
			port_counter_add(&q->errors, 1);
			pkt_free(p);
			continue;
		}
		if (unlikely(room == 0)) {
			port_counter_add(&q->drop_full, n - i);
			pkt_free_bulk(pkts + i, n - i);
			break;
		}
		d = &q->ring[tail];
		lower = p->len | q->cmd;
		// RS on the last slot of each block: one write-back per block, cleaned at once.
		if ((tail & (q->rs_thresh - 1)) == q->rs_thresh - 1)
			lower |= q->cmd_rs;
		d->addr = pkt_data_iova(p);
		d->lower = lower;
		d->upper = q->adv ? p->len << 14 : 0; // advanced: PAYLEN; clears DD either way
		q->sw[tail] = p;
		tail = (tail + 1) & q->mask;
		room--;
		sent++;
		bytes += p->len;
	}
	if (sent != 0) {
		q->tail = tail;
		intel_wmb();
		intel_reg_write(q->tail_reg, tail);
	}
	port_counter_add(&q->packets, sent);
	port_counter_add(&q->bytes, bytes);
	return sent;
}
