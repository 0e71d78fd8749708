// SPDX-License-Identifier: Apache-2.0
// The pcap port: replays a classic pcap file as received traffic and/or records transmitted
// frames into one, for offline tests and debugging. Own reader/writer (no libpcap): Ethernet
// link type, both byte orders, microsecond and nanosecond timestamps.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "drivers/port.h"

LOG_MODULE("pcap");

#define PCAP_FILE_MAX (256u << 20) // rx files are loaded whole: bound the memory
#define PCAP_HDR_SIZE 24
#define PCAP_REC_HDR_SIZE 16
#define PCAP_REC_MAX (256u << 10) // no capture tool writes records longer than this
#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_MAGIC_NG 0x0a0d0d0au // pcapng section header
#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_LINKTYPE_FCS 0x10000000u // "F" bit: frames end with an FCS
#define PCAP_SNAPLEN 262144
#define PCAP_TX_BUF_SIZE (1u << 20)
#define PCAP_FLUSH_NS 1000000000ull // buffered tx data reaches the file within ~1 s

struct pcap_rec {
	uint32_t off; // of the frame data in the file
	uint32_t len;
};

struct pcap_rxq {
	struct mempool *pool;
	const uint8_t *data; // whole file, read-only
	const struct pcap_rec *recs; // frames that fit the data room, in file order
	uint32_t n_recs;
	uint32_t next; // worker-owned replay position
	uint32_t n_invalid; // records skipped per pass (too long / too short)
	bool loop;
	bool empty_counted; // no valid record: the invalid ones were counted once
	bool replaying; // start_ns has passed
	uint64_t start_ns; // CLOCK_MONOTONIC time the replay begins
	uint16_t port_id;
	_Atomic uint64_t packets, bytes, invalid, nobuf; // worker: rw, control: ro
} __cache_aligned;

// The tx buffer is filled by the worker and written to the file when full or older than
// PCAP_FLUSH_NS. write() on a worker is a syscall in the fast path: accepted because pcap is a
// debugging port, never on a production path. When traffic stops, the control thread writes the
// tail (timer); `busy` keeps the two apart without blocking the worker.
struct pcap_txq {
	_Atomic bool busy; // acquire by exchange, release by store; pairs between worker and timer
	int fd; // -1: no tx file, frames are dropped (tx_drop_down)
	uint8_t *buf;
	size_t used;
	uint64_t last_flush_ns; // CLOCK_MONOTONIC
	_Atomic uint64_t packets, bytes, drop_down, drop_busy, errors; // worker: rw, control: ro
} __cache_aligned;

struct pcap_priv {
	struct pcap_rxq rxq;
	struct pcap_txq txq;
	uint8_t *file; // rx file contents
	size_t file_size;
	struct pcap_rec *recs;
	uint32_t n_records; // all records in the rx file
	char rx_path[256];
	char tx_path[256];
	unsigned start_delay_ms;
	void *timer; // periodic tail flush (port_env), NULL if none
	bool have_rx;
};

// ---- reader ----

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static int pcap_load(struct port *port, struct pcap_priv *pp, unsigned room, struct err *err)
{
	const char *path = pp->rx_path;
	uint32_t magic, link, n = 0, n_valid = 0;
	struct stat st;
	size_t off;
	bool swap;
	int fd, ret = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(err, -errno, "rx", "port %s: cannot open pcap file %s: %s",
			port->name, path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = err_set(err, -errno, "rx", "port %s: cannot stat pcap file %s: %s",
			port->name, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = err_set(err, -EINVAL, "rx", "port %s: pcap file %s is not a regular file",
			port->name, path);
		goto out;
	}
	if ((uint64_t)st.st_size > PCAP_FILE_MAX) {
		ret = err_set(err, -EFBIG, "rx",
			"port %s: pcap file %s is %lld bytes, larger than the %u MiB limit",
			port->name, path, (long long)st.st_size, PCAP_FILE_MAX >> 20);
		goto out;
	}
	pp->file_size = (size_t)st.st_size;
	if ((pp->file = malloc(pp->file_size ? pp->file_size : 1)) == NULL) {
		ret = err_set(err, -ENOMEM, "rx", "port %s: no memory to load pcap file %s",
			port->name, path);
		goto out;
	}
	for (off = 0; off < pp->file_size;) {
		ssize_t r = read(fd, pp->file + off, pp->file_size - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = err_set(err, r < 0 ? -errno : -EIO, "rx",
				"port %s: cannot read pcap file %s: %s", port->name, path,
				r < 0 ? strerror(errno) : "file shrank while reading");
			goto out;
		}
		off += (size_t)r;
	}

	if (pp->file_size < PCAP_HDR_SIZE) {
		ret = err_set(err, -EINVAL, "rx",
			"port %s: pcap file %s is truncated (%zu bytes, no complete file header)",
			port->name, path, pp->file_size);
		goto out;
	}
	memcpy(&magic, pp->file, 4);
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS) {
		swap = false;
	} else if (magic == __builtin_bswap32(PCAP_MAGIC_US) ||
		magic == __builtin_bswap32(PCAP_MAGIC_NS)) {
		swap = true;
	} else if (magic == PCAP_MAGIC_NG) {
		ret = err_set(err, -EINVAL, "rx",
			"port %s: %s is a pcapng file; only classic pcap is supported (convert it "
			"with: editcap -F pcap IN OUT)",
			port->name, path);
		goto out;
	} else {
		ret = err_set(err, -EINVAL, "rx", "port %s: %s is not a pcap file (magic 0x%08x)",
			port->name, path, magic);
		goto out;
	}
	link = rd32(pp->file + 20, swap);
	if ((link & 0xffff) != PCAP_LINKTYPE_ETHERNET || (link & PCAP_LINKTYPE_FCS)) {
		ret = err_set(err, -EINVAL, "rx",
			"port %s: pcap file %s has link type %u%s; only Ethernet (1) without FCS "
			"is supported",
			port->name, path, link & 0xffff,
			link & PCAP_LINKTYPE_FCS ? " with FCS" : "");
		goto out;
	}

	// First pass: validate the record chain and count; the second fills the index.
	for (int pass = 0; pass < 2; pass++) {
		for (off = PCAP_HDR_SIZE, n = 0; off < pp->file_size; n++) {
			uint32_t incl;

			if (pp->file_size - off < PCAP_REC_HDR_SIZE) {
				ret = err_set(err, -EINVAL, "rx",
					"port %s: pcap file %s is truncated: record %u at "
					"offset %zu has an incomplete header",
					port->name, path, n + 1, off);
				goto out;
			}
			incl = rd32(pp->file + off + 8, swap);
			if (incl > PCAP_REC_MAX) {
				ret = err_set(err, -EINVAL, "rx",
					"port %s: pcap file %s is corrupt: record %u at offset %zu "
					"claims %u bytes",
					port->name, path, n + 1, off, incl);
				goto out;
			}
			if (pp->file_size - off - PCAP_REC_HDR_SIZE < incl) {
				ret = err_set(err, -EINVAL, "rx",
					"port %s: pcap file %s is truncated: record %u at "
					"offset %zu needs %u bytes, %zu left",
					port->name, path, n + 1, off, incl,
					pp->file_size - off - PCAP_REC_HDR_SIZE);
				goto out;
			}
			off += PCAP_REC_HDR_SIZE;
			// Runts and frames beyond the data room are skipped (rx_drop_invalid).
			if (incl >= 14 && incl <= room) {
				if (pass == 1)
					pp->recs[n_valid] = (struct pcap_rec){(uint32_t)off, incl};
				n_valid += pass;
			}
			off += incl;
		}
		if (pass == 0 && (pp->recs = calloc(n ? n : 1, sizeof(*pp->recs))) == NULL) {
			ret = err_set(err, -ENOMEM, "rx", "port %s: no memory to index %s",
				port->name, path);
			goto out;
		}
	}
	pp->n_records = n;
	pp->rxq.n_recs = n_valid;
	pp->rxq.n_invalid = n - n_valid;
	if (n - n_valid > 0)
		LOG_OBJ(INFO, port->name,
			"%s: %u of %u records are shorter than 14 bytes or longer "
			"than the %u-byte data room; they will be skipped",
			path, n - n_valid, n, room);
out:
	close(fd);
	return ret;
}

// ---- fast path ----

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); // vDSO: no syscall
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint16_t pcap_rx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	struct pcap_rxq *rxq = q;
	uint32_t k;

	if (unlikely(!rxq->replaying)) {
		if (mono_ns() < rxq->start_ns)
			return 0;
		rxq->replaying = true;
	}
	if (unlikely(rxq->n_recs == 0)) {
		if (!rxq->empty_counted) {
			port_counter_add(&rxq->invalid, rxq->n_invalid);
			rxq->empty_counted = true;
		}
		return 0;
	}
	if (rxq->next >= rxq->n_recs) {
		if (!rxq->loop)
			return 0;
		rxq->next = 0;
	}
	k = MIN((uint32_t)n, rxq->n_recs - rxq->next);
	if (unlikely(k == 0))
		return 0;
	// Kept in the file until buffers are back: a replay loses nothing to a slow consumer.
	if (unlikely(pkt_alloc_bulk(rxq->pool, pkts, k) < 0)) {
		port_counter_add(&rxq->nobuf, k);
		return 0;
	}
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < k; i++) {
		const struct pcap_rec *r = &rxq->recs[rxq->next + i];
		struct pkt *p = pkts[i];

		memcpy(pkt_data(p), rxq->data + r->off, r->len);
		p->len = r->len;
		p->in_port = rxq->port_id;
		bytes += r->len;
	}
	rxq->next += k;
	if (rxq->next == rxq->n_recs)
		port_counter_add(&rxq->invalid, rxq->n_invalid); // one pass done
	port_counter_add(&rxq->packets, k);
	port_counter_add(&rxq->bytes, bytes);
	return (uint16_t)k;
}

// Writes the buffer out (caller holds `busy`). A failed write drops the buffered records and
// counts one error per failure; the port keeps running.
static void pcap_flush(struct pcap_txq *txq)
{
	size_t off = 0;

	while (off < txq->used) {
		ssize_t r = write(txq->fd, txq->buf + off, txq->used - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			port_counter_add(&txq->errors, 1);
			break;
		}
		off += (size_t)r;
	}
	txq->used = 0;
	txq->last_flush_ns = mono_ns();
}

static uint16_t pcap_tx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	struct pcap_txq *txq = q;
	uint64_t bytes = 0;
	uint16_t sent = 0;
	struct timespec now;

	if (unlikely(txq->fd < 0)) {
		port_counter_add(&txq->drop_down, n);
		pkt_free_bulk(pkts, n);
		return 0;
	}
	if (unlikely(atomic_exchange_explicit(&txq->busy, true, memory_order_acquire))) {
		// The control thread is writing an idle tail out (rare): drop rather than wait.
		port_counter_add(&txq->drop_busy, n);
		pkt_free_bulk(pkts, n);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	for (uint16_t i = 0; i < n; i++) {
		struct pkt *p = pkts[i];
		uint32_t hdr[4];

		if ((p->flags & PKT_F_L4_CSUM_PARTIAL) && port_csum_finalize(p) < 0) {
			port_counter_add(&txq->errors, 1);
			continue;
		}
		if (txq->used + PCAP_REC_HDR_SIZE + p->len > PCAP_TX_BUF_SIZE)
			pcap_flush(txq);
		hdr[0] = (uint32_t)now.tv_sec;
		hdr[1] = (uint32_t)(now.tv_nsec / 1000);
		hdr[2] = p->len;
		hdr[3] = p->len;
		memcpy(txq->buf + txq->used, hdr, sizeof(hdr));
		memcpy(txq->buf + txq->used + sizeof(hdr), pkt_data(p), p->len);
		txq->used += sizeof(hdr) + p->len;
		bytes += p->len;
		sent++;
	}
	if (txq->used > 0 && mono_ns() - txq->last_flush_ns >= PCAP_FLUSH_NS)
		pcap_flush(txq);
	atomic_store_explicit(&txq->busy, false, memory_order_release);
	pkt_free_bulk(pkts, n);
	port_counter_add(&txq->packets, sent);
	port_counter_add(&txq->bytes, bytes);
	return sent;
}

// ---- setup ----

static void pcap_timer_arm(struct port *port);

// Control thread, every second: writes out records buffered by a worker that went quiet.
static void pcap_timer_cb(void *arg)
{
	struct port *port = arg;
	struct pcap_priv *pp = port->priv;
	struct pcap_txq *txq = &pp->txq;

	pp->timer = NULL;
	if (!atomic_exchange_explicit(&txq->busy, true, memory_order_acquire)) {
		if (txq->used > 0 && mono_ns() - txq->last_flush_ns >= PCAP_FLUSH_NS)
			pcap_flush(txq);
		atomic_store_explicit(&txq->busy, false, memory_order_release);
	}
	pcap_timer_arm(port);
}

static void pcap_timer_arm(struct port *port)
{
	const struct port_env *env = port_env_get();
	struct pcap_priv *pp = port->priv;

	if (env == NULL || env->timer_add == NULL || pp->txq.fd < 0)
		return;
	pp->timer = env->timer_add(1000, pcap_timer_cb, port);
	if (pp->timer == NULL)
		LOG_OBJ(WARN, port->name,
			"no flush timer (%s): %s is written when the buffer fills "
			"or the port stops",
			strerror(errno), pp->tx_path);
}

static void pcap_timer_cancel(struct port *port)
{
	const struct port_env *env = port_env_get();
	struct pcap_priv *pp = port->priv;

	if (pp->timer != NULL && env != NULL && env->timer_del != NULL)
		env->timer_del(pp->timer);
	pp->timer = NULL;
}

static int pcap_open_tx(struct port *port, struct pcap_priv *pp, struct err *err)
{
	struct pcap_txq *txq = &pp->txq;
	// Native byte order, microsecond timestamps: what tcpdump writes.
	uint32_t hdr[6] = {PCAP_MAGIC_US, 2 | 4u << 16, 0, 0, PCAP_SNAPLEN, PCAP_LINKTYPE_ETHERNET};

	if ((txq->buf = malloc(PCAP_TX_BUF_SIZE)) == NULL)
		return err_set(
			err, -ENOMEM, "tx", "port %s: no memory for the tx buffer", port->name);
	txq->fd = open(pp->tx_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (txq->fd < 0)
		return err_set(err, -errno, "tx", "port %s: cannot create pcap file %s: %s",
			port->name, pp->tx_path, strerror(errno));
	// Version 2.4 as two host-order 16-bit fields.
	memcpy(txq->buf, hdr, PCAP_HDR_SIZE);
	txq->used = PCAP_HDR_SIZE;
	pcap_flush(txq);
	if (port_counter_read(&txq->errors) != 0)
		return err_set(err, -EIO, "tx", "port %s: cannot write pcap file %s", port->name,
			pp->tx_path);
	return 0;
}

static int pcap_probe(struct port *port, struct port_args *args, struct err *err)
{
	struct pcap_priv *pp = port->priv;
	const char *rx = port_args_get(args, "rx");
	const char *tx = port_args_get(args, "tx");
	bool loop = false;
	int ret;

	pp->txq.fd = -1;
	pp->start_delay_ms = 1000;
	if ((ret = port_args_get_bool(args, "loop", &loop, err)) < 0 ||
		(ret = port_args_get_uint(
			 args, "start-delay", 0, 3600000, &pp->start_delay_ms, err)) < 0)
		return ret;
	if ((rx == NULL || *rx == '\0') && (tx == NULL || *tx == '\0'))
		return err_set(err, -EINVAL, "rx",
			"port %s: type pcap needs rx=FILE and/or tx=FILE", port->name);
	if ((rx && strlen(rx) >= sizeof(pp->rx_path)) || (tx && strlen(tx) >= sizeof(pp->tx_path)))
		return err_set(err, -ENAMETOOLONG, rx ? "rx" : "tx",
			"port %s: pcap file name too long (max %zu)", port->name,
			sizeof(pp->rx_path) - 1);
	if (rx && *rx) {
		unsigned room;

		if (port->pool == NULL)
			return err_set(err, -EINVAL, "rx",
				"port %s: no packet pool to receive into", port->name);
		room = pkt_pool_data_room(port->pool);
		snprintf(pp->rx_path, sizeof(pp->rx_path), "%s", rx);
		if ((ret = pcap_load(port, pp, room, err)) < 0)
			return ret;
		pp->have_rx = true;
		pp->rxq.loop = loop;
		port->n_rxq = 1;
	}
	// Loaded before the tx file is truncated, so rx and tx may name the same file.
	if (tx && *tx) {
		snprintf(pp->tx_path, sizeof(pp->tx_path), "%s", tx);
		if ((ret = pcap_open_tx(port, pp, err)) < 0)
			return ret;
	}
	port->n_txq = 1;
	port->mtu = 1500;
	// 02:70:63 ("pc", locally administered) + the port id.
	memcpy(port->mac,
		(uint8_t[6]){0x02, 0x70, 0x63, 0x00, (uint8_t)(port->id >> 8), (uint8_t)port->id},
		6);
	return 0;
}

static int pcap_start(struct port *port, struct err *err)
{
	struct pcap_priv *pp = port->priv;

	if (pp->have_rx) {
		pp->rxq.pool = port->pool;
		pp->rxq.data = pp->file;
		pp->rxq.recs = pp->recs;
		pp->rxq.port_id = port->id;
		// Replay from the start of the file, once the ports added next are there too.
		pp->rxq.next = 0;
		pp->rxq.replaying = false;
		pp->rxq.start_ns = mono_ns() + pp->start_delay_ms * 1000000ull;
		port->rxq[0] = &pp->rxq;
	}
	pp->txq.last_flush_ns = mono_ns();
	port->txq[0] = &pp->txq;
	pcap_timer_arm(port);
	return 0;
}

static void pcap_stop(struct port *port)
{
	struct pcap_priv *pp = port->priv;

	pcap_timer_cancel(port);
	if (pp->txq.fd >= 0 && pp->txq.used > 0)
		pcap_flush(&pp->txq);
}

static void pcap_remove(struct port *port)
{
	struct pcap_priv *pp = port->priv;

	if (pp == NULL)
		return;
	pcap_timer_cancel(port);
	if (pp->txq.fd >= 0) {
		if (pp->txq.used > 0)
			pcap_flush(&pp->txq);
		close(pp->txq.fd);
		pp->txq.fd = -1;
	}
	free(pp->txq.buf);
	free(pp->recs);
	free(pp->file);
	pp->txq.buf = NULL;
	pp->recs = NULL;
	pp->file = NULL;
}

static int pcap_stats_get(struct port *port, struct port_stats *st)
{
	struct pcap_priv *pp = port->priv;
	struct pcap_txq *txq = &pp->txq;

	if (pp->have_rx) {
		struct pcap_rxq *rxq = &pp->rxq;

		st->rxq[0].packets = st->rx_packets = port_counter_read(&rxq->packets);
		st->rxq[0].bytes = st->rx_bytes = port_counter_read(&rxq->bytes);
		st->rx_drop_invalid = port_counter_read(&rxq->invalid);
		st->rx_drop_nobuf = port_counter_read(&rxq->nobuf);
		st->rxq[0].drops = st->rx_drop_invalid + st->rx_drop_nobuf;
	}
	st->txq[0].packets = st->tx_packets = port_counter_read(&txq->packets);
	st->txq[0].bytes = st->tx_bytes = port_counter_read(&txq->bytes);
	st->tx_drop_down = port_counter_read(&txq->drop_down);
	st->tx_drop_full = port_counter_read(&txq->drop_busy);
	st->txq[0].drops = st->tx_drop_down + st->tx_drop_full;
	st->txq[0].errors = st->tx_errors = port_counter_read(&txq->errors);
	return 0;
}

static int pcap_mtu_set(struct port *port, unsigned mtu, struct err *err)
{
	if (mtu < 68 || mtu > 9000)
		return err_set(err, -EINVAL, "mtu", "port %s: mtu %u out of range 68..9000",
			port->name, mtu);
	port->mtu = mtu;
	return 0;
}

static bool pcap_link_get(struct port *port)
{
	return true;
}

static void pcap_status(struct port *port, port_status_emit_fn emit, void *ctx)
{
	struct pcap_priv *pp = port->priv;
	char buf[64];

	if (pp->have_rx) {
		emit(ctx, "rx", pp->rx_path);
		snprintf(buf, sizeof(buf), "%u", pp->n_records);
		emit(ctx, "records", buf);
		emit(ctx, "loop", pp->rxq.loop ? "true" : "false");
	}
	if (pp->txq.fd >= 0)
		emit(ctx, "tx", pp->tx_path);
}

const struct port_ops pcap_port_ops = {
	.type = "pcap",
	.priv_size = sizeof(struct pcap_priv),
	.help = "rx=FILE  pcap file replayed as received frames (loaded at add, max 256 MiB)\n"
		"tx=FILE  pcap file written with transmitted frames (truncated at add)\n"
		"loop=BOOL  replay rx forever (default: false: rx stops at the end of the file)\n"
		"start-delay=MS  wait before replaying, so that ports added right after this one "
		"see every frame (default: 1000)",
	.probe = pcap_probe,
	.start = pcap_start,
	.stop = pcap_stop,
	.remove = pcap_remove,
	.rx_burst = pcap_rx_burst,
	.tx_burst = pcap_tx_burst,
	.stats_get = pcap_stats_get,
	.mtu_set = pcap_mtu_set,
	.link_get = pcap_link_get,
	.status = pcap_status,
};
