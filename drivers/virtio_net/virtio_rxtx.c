// SPDX-License-Identifier: Apache-2.0
// virtio-net fast path on split virtqueues: rx reads the used ring (mergeable buffers joined into
// one packet), hands buffers up and re-posts fresh ones in bulk with one avail->idx update and at
// most one doorbell; tx reclaims used descriptors, posts one descriptor per frame (the virtio-net
// header goes in the headroom) and rings the doorbell once per burst unless the device said it
// does not need it. Worker threads; no locks, no syscalls. Everything the device writes (used
// ids, lengths, num_buffers) is checked before use.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/net.h"
#include "drivers/virtio_net/virtio_ring.h"

#define VIRTIO_REFILL_CHUNK 64

// Publishes avail->idx (release: the ring entries and descriptors first), then reads the used
// flags after a full fence (store-load: the device may have set NO_NOTIFY after reading an old
// idx) and rings the doorbell when notifications are wanted.
static void virtio_publish(struct virtio_vq *q)
{
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
	atomic_thread_fence(memory_order_seq_cst);
	if (!(__atomic_load_n(&q->used->flags, __ATOMIC_RELAXED) & VIRTQ_USED_F_NO_NOTIFY))
		*q->notify = q->qidx;
}

static inline void virtio_rx_post(struct virtio_vq *q, uint16_t id, struct pkt *p)
{
	volatile struct virtq_desc *d = &q->desc[id];

	q->sw[id] = p;
	// The header lands in the headroom, the frame at the usual data offset.
	d->addr = pkt_data_iova(p) - VIRTIO_NET_HDR_LEN;
	d->len = q->buf_len;
	d->flags = VIRTQ_DESC_F_WRITE;
	q->avail->ring[q->avail_idx & q->mask] = id;
	q->avail_idx++;
}

// Gives every id waiting in q->ids a new buffer; one publish at the end.
static void virtio_rx_refill(struct virtio_vq *q)
{
	struct pkt *bufs[VIRTIO_REFILL_CHUNK];
	uint16_t posted = 0;

	while (q->n_ids > 0) {
		uint16_t c = MIN(q->n_ids, (uint16_t)VIRTIO_REFILL_CHUNK);

		if (pkt_alloc_bulk(q->pool, bufs, c) < 0) {
			port_counter_add(&q->nobuf, 1);
			break;
		}
		for (uint16_t i = 0; i < c; i++)
			virtio_rx_post(q, q->ids[--q->n_ids], bufs[i]);
		posted += c;
	}
	if (posted)
		virtio_publish(q);
}

static inline const uint8_t *virtio_rx_hdr(const struct pkt *p)
{
	return pkt_data(p) - VIRTIO_NET_HDR_LEN;
}

// Takes the used entry at used_idx: returns its buffer (NULL if the id is bad) and len.
static struct pkt *virtio_rx_take(struct virtio_vq *q, uint32_t *len)
{
	volatile struct virtq_used_elem *e = &q->used->ring[q->used_idx & q->mask];
	uint32_t id = e->id;
	struct pkt *p;

	*len = e->len;
	q->used_idx++;
	if (unlikely(id >= q->size || (p = q->sw[id]) == NULL))
		return NULL;
	q->sw[id] = NULL;
	q->ids[q->n_ids++] = (uint16_t)id;
	return p;
}

uint16_t virtio_rx_burst(void *rxq, struct pkt **pkts, uint16_t n)
{
	struct virtio_vq *q = rxq;
	// Acquire: the used entries are read after the index that covers them.
	uint16_t used = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	uint16_t cnt = 0;
	uint64_t bytes = 0, invalid = 0;

	while (cnt < n && q->used_idx != used) {
		volatile struct virtq_used_elem *e = &q->used->ring[q->used_idx & q->mask];
		uint32_t id = e->id, len;
		uint16_t nb = 1;
		struct pkt *p;

		if (unlikely(id >= q->size || q->sw[id] == NULL)) {
			q->used_idx++; // an id we never posted: nothing to recycle
			invalid++;
			continue;
		}
		if (q->mrg) {
			const uint8_t *h = virtio_rx_hdr(q->sw[id]);

			nb = (uint16_t)(h[VIRTIO_NET_HDR_NUM_BUFFERS] |
				h[VIRTIO_NET_HDR_NUM_BUFFERS + 1] << 8);
			if (unlikely(nb == 0 || nb > q->size))
				nb = 1; // nonsense: drop this buffer alone (checked below)
			// The rest of the frame is not used yet: come back later.
			if ((uint16_t)(used - q->used_idx) < nb)
				break;
		}
		p = virtio_rx_take(q, &len);
		bool drop = len < VIRTIO_NET_HDR_LEN + NET_ETH_HLEN || len > q->buf_len;
		if (!drop) {
			p->len = len - VIRTIO_NET_HDR_LEN;
			drop = nb == 1 && q->mrg &&
				(virtio_rx_hdr(p)[VIRTIO_NET_HDR_NUM_BUFFERS] |
					virtio_rx_hdr(p)[VIRTIO_NET_HDR_NUM_BUFFERS + 1] << 8) != 1;
		}
		// Mergeable: the next nb - 1 buffers hold the rest of the frame from their start.
		for (uint16_t k = 1; k < nb; k++) {
			uint32_t l;
			struct pkt *s = virtio_rx_take(q, &l);

			if (s == NULL || l > q->buf_len) {
				drop = true;
			} else if (!drop) {
				uint8_t *tail = pkt_append(p, l);

				if (tail == NULL)
					drop = true; // longer than our data room: no chains here
				else
					memcpy(tail, virtio_rx_hdr(s), l);
			}
			pkt_free(s);
		}
		if (unlikely(drop)) {
			invalid++;
			pkt_free(p);
			continue;
		}
		p->in_port = q->port_id;
		p->rxq = q->qid;
		p->flags = 0;
		pkts[cnt++] = p;
		bytes += p->len;
	}
	if (q->n_ids >= MIN(q->size / 4u, 32u) || (q->n_ids > 0 && cnt == 0))
		virtio_rx_refill(q);
	port_counter_add(&q->packets, cnt);
	port_counter_add(&q->bytes, bytes);
	if (unlikely(invalid))
		port_counter_add(&q->invalid, invalid);
	return cnt;
}

// Reclaims the descriptors the device is done with and frees their packets in bulk.
static void virtio_tx_clean(struct virtio_vq *q)
{
	uint16_t used = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	struct pkt *done[PKT_BURST];
	unsigned n = 0;

	while (q->used_idx != used) {
		uint32_t id = q->used->ring[q->used_idx & q->mask].id;

		q->used_idx++;
		if (unlikely(id >= q->size || q->sw[id] == NULL)) {
			port_counter_add(&q->errors, 1); // the device returned an id twice
			continue;
		}
		done[n++] = q->sw[id];
		q->sw[id] = NULL;
		q->ids[q->n_ids++] = (uint16_t)id;
		if (n == PKT_BURST) {
			pkt_free_bulk(done, n);
			n = 0;
		}
	}
	pkt_free_bulk(done, n);
}

uint16_t virtio_tx_burst(void *txq, struct pkt **pkts, uint16_t n)
{
	struct virtio_vq *q = txq;
	const uint32_t max_len = atomic_load_explicit(&q->max_len, memory_order_relaxed);
	uint16_t sent = 0;
	uint64_t bytes = 0;

	virtio_tx_clean(q);
	for (uint16_t i = 0; i < n; i++) {
		struct pkt *p = pkts[i];
		volatile struct virtq_desc *d;
		uint16_t id;
		uint8_t *h;

		if (unlikely(p->len > max_len) &&
			(p->len > q->data_cap || !port_len_ok_tagged(p, max_len))) {
			port_counter_add(&q->drop_mtu, 1);
			pkt_free(p);
			continue;
		}
		if (unlikely(p->len < NET_ETH_HLEN || pkt_headroom(p) < VIRTIO_NET_HDR_LEN) ||
			(unlikely(p->flags & PKT_F_L4_CSUM_PARTIAL) && port_csum_finalize(p) < 0)) {
			port_counter_add(&q->errors, 1);
			pkt_free(p);
			continue;
		}
		if (unlikely(q->n_ids == 0)) {
			port_counter_add(&q->drop_full, n - i);
			pkt_free_bulk(pkts + i, n - i);
			break;
		}
		id = q->ids[--q->n_ids];
		h = pkt_data(p) - VIRTIO_NET_HDR_LEN;
		memset(h, 0, VIRTIO_NET_HDR_LEN); // no offloads; num_buffers is rx only
		d = &q->desc[id];
		d->addr = pkt_data_iova(p) - VIRTIO_NET_HDR_LEN;
		d->len = p->len + VIRTIO_NET_HDR_LEN;
		d->flags = 0;
		q->sw[id] = p;
		q->avail->ring[q->avail_idx & q->mask] = id;
		q->avail_idx++;
		sent++;
		bytes += p->len;
	}
	if (sent)
		virtio_publish(q);
	port_counter_add(&q->packets, sent);
	port_counter_add(&q->bytes, bytes);
	return sent;
}

// ---- control side ----

int virtio_vq_setup(struct virtio_vq *q, bool rx, uint16_t size, volatile void *desc,
	volatile void *avail, volatile void *used, struct mempool *pool)
{
	if (size == 0 || (size & (size - 1)) != 0)
		return -EINVAL;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	memset((void *)desc, 0, VIRTQ_DESC_SIZE(size));
	memset((void *)avail, 0, VIRTQ_AVAIL_SIZE(size));
	memset((void *)used, 0, VIRTQ_USED_SIZE(size));
	q->size = size;
	q->mask = (uint16_t)(size - 1);
	q->avail_idx = 0;
	q->used_idx = 0;
	q->pool = pool;
	// We poll: the device need not interrupt.
	q->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	if ((q->sw = calloc(size, sizeof(*q->sw))) == NULL ||
		(q->ids = calloc(size, sizeof(*q->ids))) == NULL)
		goto nomem;
	q->n_ids = 0;
	if (!rx) {
		for (uint16_t i = 0; i < size; i++)
			q->ids[q->n_ids++] = (uint16_t)(size - 1 - i);
		return 0;
	}
	if (pool != NULL) {
		q->buf_len = VIRTIO_NET_HDR_LEN + pkt_pool_data_room(pool);
		for (uint16_t i = 0; i < size; i++)
			q->ids[q->n_ids++] = (uint16_t)(size - 1 - i);
		while (q->n_ids > 0) {
			struct pkt *p = pkt_alloc(pool);

			if (p == NULL) {
				virtio_vq_release(q);
				return -ENOBUFS;
			}
			virtio_rx_post(q, q->ids[--q->n_ids], p);
		}
	}
	return 0;
nomem:
	virtio_vq_release(q);
	return -ENOMEM;
}

void virtio_vq_kick(struct virtio_vq *q)
{
	virtio_publish(q);
}

void virtio_vq_release(struct virtio_vq *q)
{
	if (q->sw != NULL) {
		for (unsigned i = 0; i < q->size; i++)
			pkt_free(q->sw[i]);
	}
	free(q->sw);
	free(q->ids);
	q->sw = NULL;
	q->ids = NULL;
	q->n_ids = 0;
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
}
