// SPDX-License-Identifier: Apache-2.0
// Intel descriptor rings, control side: software ring allocation, the initial rx fill, buffer
// release after the NIC stopped, and counters. See intel_ring.h.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/intel/intel_ring.h"

int intel_rxq_setup(struct intel_rxq *q, volatile union intel_rx_desc *ring, uint16_t n,
	struct mempool *pool, volatile uint32_t *tail_reg)
{
	struct pkt **bufs;

	if (n < 8 || (n & (n - 1)) != 0)
		return -EINVAL;
	if ((q->sw = calloc(n, sizeof(*q->sw))) == NULL)
		return -ENOMEM;
	if ((bufs = calloc(n, sizeof(*bufs))) == NULL) {
		free(q->sw);
		q->sw = NULL;
		return -ENOMEM;
	}
	q->ring = ring;
	q->n = n;
	q->mask = (uint16_t)(n - 1);
	q->tail_reg = tail_reg;
	q->pool = pool;
	q->buf_len = pkt_pool_data_room(pool);
	q->free_thresh = (uint16_t)MIN(n / 4, 32);
	q->discard = false;
	// All slots but the last get a buffer: tail = n - 1 is the one that stays empty.
	if (pkt_alloc_bulk(pool, bufs, n - 1u) < 0) {
		free(bufs);
		free(q->sw);
		q->sw = NULL;
		return -ENOBUFS;
	}
	for (uint16_t i = 0; i < n - 1; i++) {
		q->sw[i] = bufs[i];
		ring[i].read.addr = pkt_data_iova(bufs[i]);
		ring[i].read.hdr_addr = 0;
	}
	ring[n - 1].read.addr = 0;
	ring[n - 1].read.hdr_addr = 0;
	free(bufs);
	q->next = 0;
	q->tail = (uint16_t)(n - 1);
	q->empty = 1;
	return 0;
}

int intel_txq_setup(struct intel_txq *q, volatile struct intel_tx_desc *ring, uint16_t n,
	volatile uint32_t *tail_reg)
{
	if (n < 64 || (n & (n - 1)) != 0)
		return -EINVAL;
	if ((q->sw = calloc(n, sizeof(*q->sw))) == NULL)
		return -ENOMEM;
	for (uint16_t i = 0; i < n; i++) {
		ring[i].addr = 0;
		ring[i].lower = 0;
		ring[i].upper = 0;
	}
	q->ring = ring;
	q->n = n;
	q->mask = (uint16_t)(n - 1);
	q->tail_reg = tail_reg;
	q->tail = 0;
	q->clean = 0;
	q->rs_thresh = 32;
	return 0;
}

void intel_rxq_release(struct intel_rxq *q)
{
	if (q->sw == NULL)
		return;
	for (unsigned i = 0; i < q->n; i++)
		pkt_free(q->sw[i]);
	free(q->sw);
	q->sw = NULL;
	q->ring = NULL;
}

void intel_txq_release(struct intel_txq *q)
{
	if (q->sw == NULL)
		return;
	for (unsigned i = 0; i < q->n; i++)
		pkt_free(q->sw[i]);
	free(q->sw);
	q->sw = NULL;
	q->ring = NULL;
}

void intel_rxq_stats(const struct intel_rxq *q, unsigned qid, struct port_stats *st)
{
	struct port_queue_stats *r = &st->rxq[qid];
	uint64_t nobuf = port_counter_read(&q->nobuf), invalid = port_counter_read(&q->invalid);

	r->packets = port_counter_read(&q->packets);
	r->bytes = port_counter_read(&q->bytes);
	r->drops = nobuf;
	r->errors = invalid;
	st->rx_packets += r->packets;
	st->rx_bytes += r->bytes;
	st->rx_drop_nobuf += nobuf;
	st->rx_drop_invalid += invalid;
}

void intel_txq_stats(const struct intel_txq *q, unsigned qid, struct port_stats *st)
{
	struct port_queue_stats *t = &st->txq[qid];
	uint64_t full = port_counter_read(&q->drop_full), mtu = port_counter_read(&q->drop_mtu);

	t->packets = port_counter_read(&q->packets);
	t->bytes = port_counter_read(&q->bytes);
	t->drops = full + mtu;
	t->errors = port_counter_read(&q->errors);
	st->tx_packets += t->packets;
	st->tx_bytes += t->bytes;
	st->tx_drop_full += full;
	st->tx_drop_mtu += mtu;
	st->tx_errors += t->errors;
}
