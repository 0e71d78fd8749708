// SPDX-License-Identifier: Apache-2.0
// The null port: a packet source and sink with no I/O, for benchmarks and tests. rx builds valid
// Ethernet/IPv4/UDP frames from per-flow templates (so learning and flow lookups see real
// headers); tx frees and counts.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/log.h"
#include "drivers/port.h"

LOG_MODULE("null");

#define NULL_SIZE_MIN 60 // shortest Ethernet frame without FCS
#define NULL_FLOWS_MAX 65536
#define NULL_TMPL_SIZE 64 // one cache line per flow: headers + start of the zero payload
#define NULL_HDR_SIZE 42 // Ethernet 14 + IPv4 20 + UDP 8
#define NULL_RATE_MAX 1000000000u

struct null_rxq {
	struct mempool *pool;
	const uint8_t *tmpl; // n_flows * NULL_TMPL_SIZE bytes, read-only while started
	uint32_t n_flows;
	uint32_t next; // next flow to emit (worker-owned)
	uint32_t size; // frame bytes
	uint16_t port_id;
	uint16_t qid;
	// rate limit (token bucket): credit in 1/2^32 packets, rate_fp packets per ns << 32
	uint64_t rate_fp; // 0: unlimited
	uint64_t credit;
	uint64_t last_ns;
	_Atomic uint64_t packets, bytes, nobuf; // worker: rw, control: ro
} __cache_aligned;

struct null_txq {
	_Atomic uint64_t packets, bytes; // worker: rw, control: ro
} __cache_aligned;

struct null_priv {
	struct null_rxq rxq[PORT_MAX_QUEUES];
	struct null_txq txq[PORT_MAX_QUEUES];
	uint8_t *tmpl;
	unsigned size;
	unsigned flows;
	unsigned rate; // packets/s per rx queue, 0 = unlimited
	uint8_t dst_mac[6];
	bool rx;
};

// ---- fast path ----

static uint64_t null_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); // vDSO: no syscall
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// How many of n packets the rate allows now: multiply-only token bucket, burst of 2 x 32.
static uint16_t null_rate_limit(struct null_rxq *rxq, uint16_t n)
{
	uint64_t now = null_now_ns(), elapsed = now - rxq->last_ns, avail;

	rxq->last_ns = now;
	if (elapsed > 1000000000ull)
		elapsed = 1000000000ull; // keeps the product below 2^64 after a long pause
	rxq->credit += elapsed * rxq->rate_fp;
	if (rxq->credit > (uint64_t)(2 * PKT_BURST) << 32)
		rxq->credit = (uint64_t)(2 * PKT_BURST) << 32;
	avail = rxq->credit >> 32;
	if (avail < n)
		n = (uint16_t)avail;
	rxq->credit -= (uint64_t)n << 32;
	return n;
}

static uint16_t null_rx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	struct null_rxq *rxq = q;
	const uint32_t size = rxq->size;
	uint32_t f = rxq->next;

	if (rxq->rate_fp != 0)
		n = null_rate_limit(rxq, n);
	if (unlikely(n == 0))
		return 0;
	if (unlikely(pkt_alloc_bulk(rxq->pool, pkts, n) < 0)) {
		port_counter_add(&rxq->nobuf, n);
		return 0;
	}
	for (uint16_t i = 0; i < n; i++) {
		struct pkt *p = pkts[i];
		uint8_t *d = pkt_data(p);

		if (i + 1 < n)
			prefetchw(pkt_data(pkts[i + 1]));
		// Constant-size copy (one cache line) that the compiler inlines; sizes below 64
		// only write zero template bytes past the frame, inside the data room.
		memcpy(d, rxq->tmpl + (size_t)f * NULL_TMPL_SIZE, NULL_TMPL_SIZE);
		if (size > NULL_TMPL_SIZE)
			memset(d + NULL_TMPL_SIZE, 0, size - NULL_TMPL_SIZE);
		p->len = size;
		p->in_port = rxq->port_id;
		p->rxq = rxq->qid;
		if (++f == rxq->n_flows)
			f = 0;
	}
	rxq->next = f;
	port_counter_add(&rxq->packets, n);
	port_counter_add(&rxq->bytes, (uint64_t)n * size);
	return n;
}

static uint16_t null_tx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	struct null_txq *txq = q;
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->len;
	pkt_free_bulk(pkts, n);
	port_counter_add(&txq->packets, n);
	port_counter_add(&txq->bytes, bytes);
	return n;
}

// ---- setup ----

static uint16_t ip_csum(const uint8_t *hdr, unsigned size)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i + 1 < size; i += 2)
		sum += (uint32_t)hdr[i] << 8 | hdr[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

// Flow f: 198.18.0.1+f -> 198.19.255.254 (RFC 2544 benchmark range), UDP 1024+f%64512 -> 4000.
static void null_tmpl_fill(
	uint8_t *t, const struct port *port, const struct null_priv *np, uint32_t f)
{
	uint8_t *ip = t + 14, *udp = t + 34;
	uint16_t csum;

	memset(t, 0, NULL_TMPL_SIZE);
	memcpy(t, np->dst_mac, 6);
	memcpy(t + 6, port->mac, 6);
	put16(t + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(np->size - 14));
	put16(ip + 4, (uint16_t)f); // identification
	put16(ip + 6, 0x4000); // don't fragment
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, 0xc6120001u + f);
	put32(ip + 16, 0xc613fffeu);
	csum = ip_csum(ip, 20);
	put16(ip + 10, csum);
	put16(udp, (uint16_t)(1024 + f % 64512));
	put16(udp + 2, 4000);
	put16(udp + 4, (uint16_t)(np->size - 34));
	// UDP checksum 0 = none, valid over IPv4; the payload is zeros.
}

static int null_probe(struct port *port, struct port_args *args, struct err *err)
{
	struct null_priv *np = port->priv;
	unsigned room = port->pool ? pkt_pool_data_room(port->pool) : 0;
	unsigned rxq = 1, txq = 1;
	int ret;

	np->size = 64;
	np->flows = 1;
	np->rx = true;
	memset(np->dst_mac, 0xff, 6);
	// 02:6e:75 ("nu", locally administered) + the port id: distinct per port by default.
	port->mac[0] = 0x02;
	port->mac[1] = 0x6e;
	port->mac[2] = 0x75;
	port->mac[3] = 0x6c;
	port->mac[4] = (uint8_t)(port->id >> 8);
	port->mac[5] = (uint8_t)port->id;

	if ((ret = port_args_get_bool(args, "rx", &np->rx, err)) < 0 ||
		(ret = port_args_get_uint(args, "flows", 1, NULL_FLOWS_MAX, &np->flows, err)) < 0 ||
		(ret = port_args_get_uint(args, "rxq", 1, PORT_MAX_QUEUES, &rxq, err)) < 0 ||
		(ret = port_args_get_uint(args, "txq", 1, PORT_MAX_QUEUES, &txq, err)) < 0 ||
		(ret = port_args_get_uint(args, "rate", 0, NULL_RATE_MAX, &np->rate, err)) < 0 ||
		(ret = port_args_get_mac(args, "src-mac", port->mac, err)) < 0 ||
		(ret = port_args_get_mac(args, "dst-mac", np->dst_mac, err)) < 0)
		return ret;
	if (np->rx && room < NULL_TMPL_SIZE)
		return err_set(
			err, -EINVAL, "", "port %s: no packet pool to generate into", port->name);
	if ((ret = port_args_get_uint(
		     args, "size", NULL_SIZE_MIN, np->rx ? room : 65535, &np->size, err)) < 0)
		return ret;
	if (port->mac[0] & 1)
		return err_set(
			err, -EINVAL, "src-mac", "port %s: src-mac must be unicast", port->name);
	port->n_rxq = np->rx ? (uint16_t)rxq : 0;
	port->n_txq = (uint16_t)txq;
	port->mtu = 1500;
	return 0;
}

static int null_start(struct port *port, struct err *err)
{
	struct null_priv *np = port->priv;

	if (np->rx && np->tmpl == NULL) {
		np->tmpl = aligned_alloc(CACHE_LINE_SIZE, (size_t)np->flows * NULL_TMPL_SIZE);
		if (np->tmpl == NULL)
			return err_set(err, -ENOMEM, "flows", "port %s: no memory for %u flows",
				port->name, np->flows);
		for (uint32_t f = 0; f < np->flows; f++)
			null_tmpl_fill(np->tmpl + (size_t)f * NULL_TMPL_SIZE, port, np, f);
	}
	for (unsigned q = 0; q < port->n_rxq; q++) {
		struct null_rxq *rxq = &np->rxq[q];

		rxq->pool = port->pool;
		rxq->tmpl = np->tmpl;
		rxq->n_flows = np->flows;
		rxq->size = np->size;
		rxq->port_id = port->id;
		rxq->qid = (uint16_t)q;
		// Queues start at different flows so that several queues do not emit in lockstep.
		rxq->next = (uint32_t)((uint64_t)np->flows * q / port->n_rxq);
		rxq->rate_fp = ((uint64_t)np->rate << 32) / 1000000000ull;
		if (np->rate != 0 && rxq->rate_fp == 0)
			rxq->rate_fp = 1; // below ~0.25 packets/s: round up
		rxq->credit = 0;
		rxq->last_ns = null_now_ns();
		port->rxq[q] = rxq;
	}
	for (unsigned q = 0; q < port->n_txq; q++)
		port->txq[q] = &np->txq[q];
	return 0;
}

static void null_stop(struct port *port)
{
	// Nothing to quiesce: the queues hold no packets between bursts.
}

static void null_remove(struct port *port)
{
	struct null_priv *np = port->priv;

	if (np == NULL)
		return;
	free(np->tmpl);
	np->tmpl = NULL;
}

static int null_stats_get(struct port *port, struct port_stats *st)
{
	struct null_priv *np = port->priv;

	for (unsigned q = 0; q < port->n_rxq; q++) {
		struct null_rxq *rxq = &np->rxq[q];

		st->rxq[q].packets = port_counter_read(&rxq->packets);
		st->rxq[q].bytes = port_counter_read(&rxq->bytes);
		st->rxq[q].drops = port_counter_read(&rxq->nobuf);
		st->rx_packets += st->rxq[q].packets;
		st->rx_bytes += st->rxq[q].bytes;
		st->rx_drop_nobuf += st->rxq[q].drops;
	}
	for (unsigned q = 0; q < port->n_txq; q++) {
		st->txq[q].packets = port_counter_read(&np->txq[q].packets);
		st->txq[q].bytes = port_counter_read(&np->txq[q].bytes);
		st->tx_packets += st->txq[q].packets;
		st->tx_bytes += st->txq[q].bytes;
	}
	return 0;
}

static int null_mtu_set(struct port *port, unsigned mtu, struct err *err)
{
	if (mtu < 68 || mtu > 9000)
		return err_set(err, -EINVAL, "mtu", "port %s: mtu %u out of range 68..9000",
			port->name, mtu);
	port->mtu = mtu;
	return 0;
}

static bool null_link_get(struct port *port)
{
	return true;
}

static void null_status(struct port *port, port_status_emit_fn emit, void *ctx)
{
	struct null_priv *np = port->priv;
	char buf[32];

	emit(ctx, "rx", np->rx ? "true" : "false");
	if (!np->rx)
		return;
	snprintf(buf, sizeof(buf), "%u", np->size);
	emit(ctx, "size", buf);
	snprintf(buf, sizeof(buf), "%u", np->flows);
	emit(ctx, "flows", buf);
	if (np->rate != 0) {
		snprintf(buf, sizeof(buf), "%u", np->rate);
		emit(ctx, "rate", buf);
	}
}

const struct port_ops null_port_ops = {
	.type = "null",
	.priv_size = sizeof(struct null_priv),
	.help = "size=BYTES  frame size generated by rx, 60..data room (default: 64)\n"
		"flows=N  distinct IPv4/UDP flows, round robin (default: 1, max 65536)\n"
		"rxq=N  rx queues (default: 1)\n"
		"txq=N  tx queues (default: 1)\n"
		"src-mac=MAC  source MAC of generated frames (default: 02:6e:75:6c:ID)\n"
		"dst-mac=MAC  destination MAC of generated frames (default: ff:ff:ff:ff:ff:ff)\n"
		"rx=BOOL  generate frames; false makes a tx-only sink (default: true)\n"
		"rate=PPS  packets per second per rx queue (default: 0 = as fast as polled)",
	.probe = null_probe,
	.start = null_start,
	.stop = null_stop,
	.remove = null_remove,
	.rx_burst = null_rx_burst,
	.tx_burst = null_tx_burst,
	.stats_get = null_stats_get,
	.mtu_set = null_mtu_set,
	.link_get = null_link_get,
	.status = null_status,
};
