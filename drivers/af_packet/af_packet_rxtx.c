// SPDX-License-Identifier: Apache-2.0
// af_packet fast path: walks the TPACKET_V3 rx block ring (VLAN tag re-insertion, checksum
// offload hand-off, software segmentation of GSO frames) and fills the TPACKET_V2 tx ring with
// one send() per burst as the doorbell. Worker threads only; no allocation beyond the mempool.
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/socket.h>

#include "dataplane/net.h"
#include "drivers/af_packet/af_packet.h"

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 // Linux 4.18 UDP segmentation; older uapi headers lack it
#endif

// ---- rx ----

static struct pkt *afp_stash_get(struct af_packet_rxq *rxq)
{
	if (unlikely(rxq->n_stash == 0)) {
		// Bulk first; when the pool runs low, take what single buffers remain.
		if (pkt_alloc_bulk(rxq->pool, rxq->stash, AFP_STASH) == 0)
			rxq->n_stash = AFP_STASH;
		else if (pkt_alloc_bulk(rxq->pool, rxq->stash, PKT_BURST) == 0)
			rxq->n_stash = PKT_BURST;
		else if ((rxq->stash[0] = pkt_alloc(rxq->pool)) != NULL)
			rxq->n_stash = 1;
		else
			return NULL;
	}
	return rxq->stash[--rxq->n_stash];
}

static void afp_stash_put(struct af_packet_rxq *rxq, struct pkt *p)
{
	p->len = 0;
	p->flags = 0;
	rxq->stash[rxq->n_stash++] = p; // room: it came from the stash
}

void af_packet_rxq_drain(struct af_packet_rxq *rxq)
{
	pkt_free_bulk(rxq->stash, rxq->n_stash);
	rxq->n_stash = 0;
	pkt_free_bulk(rxq->pend + rxq->pend_idx, rxq->n_pend - rxq->pend_idx);
	rxq->n_pend = 0;
	rxq->pend_idx = 0;
}

// Copies a frame from the ring into d, re-inserting the VLAN tag the kernel moved into the
// frame header: the pipeline expects tags in the data.
static void afp_copy_frame(
	uint8_t *d, const uint8_t *mac, uint32_t len, bool tag, uint16_t tpid, uint16_t tci)
{
	if (!tag) {
		memcpy(d, mac, len);
		return;
	}
	memcpy(d, mac, 2 * NET_ETH_ALEN);
	net_put_be16(d + 12, tpid);
	net_put_be16(d + 14, tci);
	memcpy(d + 16, mac + 12, len - 12);
}

// Offset of the L3 header in an untagged-by-kernel frame, past any tags still in the data.
static int afp_l3_off(const uint8_t *mac, uint32_t len, uint32_t l4, uint16_t *type)
{
	uint32_t off = 12;
	uint16_t t = net_get_be16(mac + off);

	while (net_is_vlan_type(t) && off + 4 + 2 <= l4) {
		off += 4;
		t = net_get_be16(mac + off);
	}
	*type = t;
	off += 2;
	return off < l4 ? (int)off : -1;
}

// Cuts a TCP or UDP GSO frame into MSS-sized frames, each with its own headers and a partial
// L4 checksum left for the egress port. The first `room_now` segments go to out, the rest to
// rxq->pend for the next bursts. Returns the number put in out, or -1 (frame dropped).
static int afp_segment(struct af_packet_rxq *rxq, const uint8_t *mac, uint32_t len, bool tag,
	uint16_t tpid, uint16_t tci, const struct virtio_net_hdr *vh, struct pkt **out,
	unsigned room_now)
{
	const unsigned t = tag ? NET_VLAN_HLEN : 0;
	unsigned gso = vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	uint32_t mss = vh->gso_size, l4 = vh->csum_start, l4h, hdrs, payload, nseg, now;
	uint16_t l3type;
	bool tcp;
	int l3;

	if (gso == VIRTIO_NET_HDR_GSO_TCPV4 || gso == VIRTIO_NET_HDR_GSO_TCPV6)
		tcp = true;
	else if (gso == VIRTIO_NET_HDR_GSO_UDP_L4)
		tcp = false;
	else
		goto invalid;
	if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || mss == 0 || l4 + 20 > len)
		goto invalid;
	l4h = tcp ? (uint32_t)(mac[l4 + 12] >> 4) * 4 : 8;
	hdrs = l4 + l4h;
	// A TCP data offset below 5 would put the checksum written below past the headers (and,
	// with headers at the end of the buffer, past the buffer). Linux 6.1 refuses such frames
	// from tap and packet sockets; this does not rely on it.
	if (l4h < (tcp ? 20u : 8u) || hdrs >= len || (l3 = afp_l3_off(mac, len, l4, &l3type)) < 0)
		goto invalid;
	// The headers come from whoever built the skb (maybe a VM through vhost-net): check them.
	if (!(l3type == NET_ETH_P_IPV4 && mac[l3] >> 4 == 4 && (mac[l3] & 0xf) >= 5 &&
		    l3 + (mac[l3] & 0xf) * 4 <= (int)l4) &&
		!(l3type == NET_ETH_P_IPV6 && mac[l3] >> 4 == 6 && l3 + 40 <= (int)l4))
		goto invalid;
	payload = len - hdrs;
	// Division only for GSO frames (one per up to 64 KiB), never per packet.
	nseg = (payload + mss - 1) / mss;
	if (nseg > AFP_GSO_MAX_SEGS || hdrs + t + MIN(mss, payload) > rxq->room)
		goto invalid;
	now = MIN(nseg, room_now);
	if (pkt_alloc_bulk(rxq->pool, out, now) < 0)
		goto nobuf;
	if (nseg > now && pkt_alloc_bulk(rxq->pool, rxq->pend, nseg - now) < 0) {
		pkt_free_bulk(out, now);
		goto nobuf;
	}

	uint32_t seq = 0;
	if (tcp) {
		memcpy(&seq, mac + l4 + 4, 4);
		seq = net_ntohl(seq);
	}
	uint16_t ip_id = l3type == NET_ETH_P_IPV4 ? net_get_be16(mac + l3 + 4) : 0;
	uint8_t tcp_flags = tcp ? mac[l4 + 13] : 0;
	for (uint32_t i = 0; i < nseg; i++) {
		struct pkt *p = i < now ? out[i] : rxq->pend[i - now];
		uint32_t seg = i + 1 < nseg ? mss : payload - i * mss;
		uint8_t *d = pkt_data(p), *ip = d + l3 + t, *l4p = d + l4 + t;
		uint32_t l4len = l4h + seg, sum;

		afp_copy_frame(d, mac, hdrs, tag, tpid, tci);
		memcpy(d + hdrs + t, mac + hdrs + i * mss, seg);
		p->len = hdrs + t + seg;
		p->in_port = rxq->port_id;
		p->rxq = rxq->qid;
		if (l3type == NET_ETH_P_IPV4) {
			struct net_ipv4_hdr *h = (struct net_ipv4_hdr *)ip;

			h->tot_len = net_htons((uint16_t)(l4 + t + l4len - (l3 + t)));
			h->id = net_htons((uint16_t)(ip_id + i));
			h->csum = 0;
			h->csum = net_ipv4_csum(h);
			sum = net_ipv4_pseudo_csum(
				h, tcp ? NET_IPPROTO_TCP : NET_IPPROTO_UDP, (uint16_t)l4len);
		} else {
			struct net_ipv6_hdr *h = (struct net_ipv6_hdr *)ip;

			h->payload_len = net_htons((uint16_t)(l4 + t + l4len - (l3 + t) - 40));
			sum = net_ipv6_pseudo_csum(
				h, tcp ? NET_IPPROTO_TCP : NET_IPPROTO_UDP, l4len);
		}
		if (tcp) {
			uint8_t f = tcp_flags;
			uint32_t s = net_htonl(seq + i * mss);

			if (i + 1 < nseg)
				f &= (uint8_t)~0x09; // FIN and PSH only on the last segment
			if (i > 0)
				f &= (uint8_t)~0x80; // CWR only on the first
			memcpy(l4p + 4, &s, 4);
			l4p[13] = f;
		} else {
			net_put_be16(l4p + 4, (uint16_t)l4len);
		}
		// Partial checksum: the field holds the folded pseudo-header sum, like virtio.
		uint16_t field = (uint16_t)~net_csum_fold(sum);
		memcpy(l4p + (tcp ? 16 : 6), &field, 2);
		p->flags |= PKT_F_L4_CSUM_PARTIAL;
		p->csum_start = (uint16_t)(l4 + t);
		p->csum_off = tcp ? 16 : 6;
	}
	if (nseg > now) {
		rxq->n_pend = (uint16_t)(nseg - now);
		rxq->pend_idx = 0;
	}
	port_counter_add(&rxq->gso, 1);
	return (int)now;
invalid:
	port_counter_add(&rxq->invalid, 1);
	return -1;
nobuf:
	port_counter_add(&rxq->nobuf, 1);
	return -1;
}

// One ring frame into out[]: returns the packets produced (0: dropped and counted).
static int afp_rx_frame(struct af_packet_rxq *rxq, const struct tpacket3_hdr *h, struct pkt **out,
	unsigned room_now)
{
	const uint8_t *mac = (const uint8_t *)h + h->tp_mac;
	const struct virtio_net_hdr *vh = NULL;
	uint32_t len = h->tp_snaplen, out_len;
	bool tag = h->tp_status & TP_STATUS_VLAN_VALID;
	uint16_t tpid = NET_ETH_P_VLAN, tci = 0;
	struct pkt *p;

	if (rxq->skip_outgoing) {
		const struct sockaddr_ll *sll = (const void *)((const uint8_t *)h + AFP_RX_SLL_OFF);

		if (sll->sll_pkttype == PACKET_OUTGOING)
			return 0;
	}
	if (tag) {
		tci = h->hv1.tp_vlan_tci;
		if (h->tp_status & TP_STATUS_VLAN_TPID_VALID)
			tpid = h->hv1.tp_vlan_tpid;
	}
	if (unlikely(h->tp_len != len || len < NET_ETH_HLEN))
		goto invalid; // cut by the ring, or a runt
	if (rxq->vnet) {
		vh = (const struct virtio_net_hdr *)(const void *)(mac - sizeof(*vh));
		if (unlikely(vh->gso_type != VIRTIO_NET_HDR_GSO_NONE)) {
			int k = afp_segment(rxq, mac, len, tag, tpid, tci, vh, out, room_now);

			return k < 0 ? 0 : k;
		}
	}
	out_len = len + (tag ? NET_VLAN_HLEN : 0);
	if (unlikely(out_len > rxq->room))
		goto invalid;
	if (unlikely((p = afp_stash_get(rxq)) == NULL)) {
		port_counter_add(&rxq->nobuf, 1);
		return 0;
	}
	afp_copy_frame(pkt_data(p), mac, len, tag, tpid, tci);
	p->len = out_len;
	p->in_port = rxq->port_id;
	p->rxq = rxq->qid;
	if (vh != NULL && (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		// The sender left the L4 checksum to "hardware" (veth, local stack): pass it on.
		uint32_t start = vh->csum_start + (tag ? NET_VLAN_HLEN : 0);

		if (unlikely(start + vh->csum_offset + 2 > out_len)) {
			afp_stash_put(rxq, p);
			goto invalid;
		}
		p->flags |= PKT_F_L4_CSUM_PARTIAL;
		p->csum_start = (uint16_t)start;
		p->csum_off = vh->csum_offset;
	}
	out[0] = p;
	return 1;
invalid:
	port_counter_add(&rxq->invalid, 1);
	return 0;
}

static void afp_block_release(struct af_packet_rxq *rxq)
{
	struct tpacket_block_desc *bd = (void *)(rxq->ring + (size_t)rxq->blk * rxq->block_size);

	// Release: our reads of the block happen before the kernel may refill it.
	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	rxq->cur = NULL;
	rxq->left = 0;
	if (++rxq->blk == rxq->n_blocks)
		rxq->blk = 0;
}

uint16_t af_packet_rx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	struct af_packet_rxq *rxq = q;
	uint64_t bytes = 0;
	uint16_t cnt = 0;

	if (unlikely(rxq->n_pend != 0)) {
		while (cnt < n && rxq->pend_idx < rxq->n_pend)
			pkts[cnt++] = rxq->pend[rxq->pend_idx++];
		if (rxq->pend_idx == rxq->n_pend)
			rxq->n_pend = rxq->pend_idx = 0;
		else
			goto out;
	}
	while (cnt < n) {
		const struct tpacket3_hdr *h;

		if (rxq->cur == NULL) {
			struct tpacket_block_desc *bd =
				(void *)(rxq->ring + (size_t)rxq->blk * rxq->block_size);

			// Acquire: pairs with the kernel's release of the block to user space.
			if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
				    TP_STATUS_USER))
				break;
			rxq->left = bd->hdr.bh1.num_pkts;
			rxq->cur = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
			if (rxq->left == 0) {
				afp_block_release(rxq);
				continue;
			}
		}
		h = (const struct tpacket3_hdr *)(const void *)rxq->cur;
		rxq->cur += h->tp_next_offset;
		if (--rxq->left != 0)
			prefetch0(rxq->cur);
		cnt += (uint16_t)afp_rx_frame(rxq, h, pkts + cnt, n - cnt);
		if (rxq->left == 0)
			afp_block_release(rxq);
		if (rxq->n_pend != 0)
			break; // a GSO frame filled the burst; its tail waits in pend
	}
out:
	for (uint16_t i = 0; i < cnt; i++)
		bytes += pkts[i]->len;
	port_counter_add(&rxq->packets, cnt);
	port_counter_add(&rxq->bytes, bytes);
	return cnt;
}

// ---- tx ----

uint16_t af_packet_tx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	struct af_packet_txq *txq = q;
	const uint32_t max_len = atomic_load_explicit(&txq->max_len, memory_order_relaxed);
	uint32_t head = txq->head, first = head;
	uint16_t queued = 0, i;
	uint64_t bytes = 0;

	for (i = 0; i < n; i++) {
		struct pkt *p = pkts[i];
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)(void *)txq->frames[head];

		if (unlikely(p->len > max_len) &&
			(p->len > txq->data_cap || !port_len_ok_tagged(p, max_len))) {
			port_counter_add(&txq->drop_mtu, 1);
			continue;
		}
		if (unlikely(p->len < NET_ETH_HLEN)) {
			port_counter_add(&txq->errors, 1);
			continue;
		}
		// Acquire: pairs with the kernel's release when it is done with the frame.
		if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) &
			(TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING)) {
			port_counter_add(&txq->drop_full, n - i);
			break;
		}
		if (unlikely(p->flags & PKT_F_L4_CSUM_PARTIAL) && port_csum_finalize(p) < 0) {
			port_counter_add(&txq->errors, 1);
			continue;
		}
		memcpy((uint8_t *)h + AFP_TX_DATA_OFF, pkt_data(p), p->len);
		h->tp_len = p->len;
		h->tp_snaplen = p->len;
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
		if (++head == txq->n_frames)
			head = 0;
		queued++;
		bytes += p->len;
	}
	if (queued != 0) {
		// The doorbell: the kernel sends every SEND_REQUEST frame. One syscall per burst.
		if (unlikely(send(txq->fd, NULL, 0, MSG_DONTWAIT) < 0) &&
			(errno == ENETDOWN || errno == ENXIO)) {
			// Interface down or gone: the kernel took nothing; take the frames back so
			// they are not sent stale when the link returns.
			for (uint32_t f = first, k = 0; k < queued; k++) {
				struct tpacket2_hdr *h = (void *)txq->frames[f];

				__atomic_store_n(
					&h->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELAXED);
				if (++f == txq->n_frames)
					f = 0;
			}
			head = first;
			port_counter_add(&txq->drop_down, queued);
			queued = 0;
			bytes = 0;
		}
		// EAGAIN/ENOBUFS: frames stay queued and go out with the next doorbell.
	}
	txq->head = head;
	pkt_free_bulk(pkts, n);
	port_counter_add(&txq->packets, queued);
	port_counter_add(&txq->bytes, bytes);
	return queued;
}
