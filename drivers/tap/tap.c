// SPDX-License-Identifier: Apache-2.0
// The tap port ("internal port"): creates a Linux tap interface so the host's own stack can
// talk to the bridge. Frames move with read()/write() on the tap fd, one syscall per frame:
// inherent to tap (Open vSwitch's userspace datapath does the same); use af_packet or
// vhost-user where speed matters.
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "drivers/netdev.h"
#include "drivers/port.h"

LOG_MODULE("tap");

#define TAP_STASH 32

struct tap_rxq {
	int fd;
	struct mempool *pool;
	uint32_t room;
	uint16_t port_id;
	uint16_t n_stash;
	struct pkt *stash[TAP_STASH]; // buffers read into, refilled in bulk
	uint8_t spill[64]; // second iovec: a frame reaching it was longer than the data room
	_Atomic uint64_t packets, bytes, nobuf, invalid, errors; // worker: rw, control: ro
} __cache_aligned;

struct tap_txq {
	int fd;
	_Atomic uint32_t max_len; // mtu + 14 (+4 if tagged); control: rw (mtu_set), worker: ro
	_Atomic uint64_t packets, bytes, drop_full, drop_mtu, drop_down, errors; // worker: rw
} __cache_aligned;

struct tap_priv {
	struct tap_rxq rxq;
	struct tap_txq txq;
	int fd; // the tap; closing it deletes the interface unless it was persistent
	int ctl_fd; // netdev_open() socket for the drivers/netdev.h calls
	char iface[IF_NAMESIZE];
	bool existed; // attached to a persistent tap created outside the switch: left in place
};

// ---- fast path ----

static struct pkt *tap_stash_get(struct tap_rxq *rxq)
{
	if (unlikely(rxq->n_stash == 0)) {
		if (pkt_alloc_bulk(rxq->pool, rxq->stash, TAP_STASH) == 0)
			rxq->n_stash = TAP_STASH;
		else if ((rxq->stash[0] = pkt_alloc(rxq->pool)) != NULL)
			rxq->n_stash = 1;
		else
			return NULL;
	}
	return rxq->stash[--rxq->n_stash];
}

static uint16_t tap_rx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	struct tap_rxq *rxq = q;
	uint64_t bytes = 0;
	uint16_t cnt = 0;

	while (cnt < n) {
		struct pkt *p = tap_stash_get(rxq);
		struct iovec iov[2];
		ssize_t r;

		if (unlikely(p == NULL)) {
			// Frames wait in the tap's kernel queue until buffers come back.
			port_counter_add(&rxq->nobuf, 1);
			break;
		}
		iov[0] = (struct iovec){pkt_data(p), rxq->room};
		iov[1] = (struct iovec){rxq->spill, sizeof(rxq->spill)};
		r = readv(rxq->fd, iov, 2);
		if (r < 0 || (size_t)r > rxq->room || r < 14) {
			rxq->stash[rxq->n_stash++] = p; // unused: back where it came from
			if (r < 0) {
				if (errno != EAGAIN && errno != EINTR)
					port_counter_add(&rxq->errors, 1);
				break;
			}
			port_counter_add(&rxq->invalid, 1);
			continue;
		}
		p->len = (uint32_t)r;
		p->in_port = rxq->port_id;
		bytes += (uint64_t)r;
		pkts[cnt++] = p;
	}
	port_counter_add(&rxq->packets, cnt);
	port_counter_add(&rxq->bytes, bytes);
	return cnt;
}

static uint16_t tap_tx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	struct tap_txq *txq = q;
	const uint32_t max_len = atomic_load_explicit(&txq->max_len, memory_order_relaxed);
	uint64_t bytes = 0;
	uint16_t sent = 0, i;

	for (i = 0; i < n; i++) {
		struct pkt *p = pkts[i];

		if (unlikely(p->len > max_len) && !port_len_ok_tagged(p, max_len)) {
			port_counter_add(&txq->drop_mtu, 1);
			continue;
		}
		if (unlikely(p->flags & PKT_F_L4_CSUM_PARTIAL) && port_csum_finalize(p) < 0) {
			port_counter_add(&txq->errors, 1);
			continue;
		}
		if (write(txq->fd, pkt_data(p), p->len) < 0) {
			if (errno == EAGAIN) {
				port_counter_add(&txq->drop_full, n - i);
				break;
			}
			if (errno == EIO || errno == ENETDOWN) {
				port_counter_add(&txq->drop_down, n - i); // interface down
				break;
			}
			port_counter_add(&txq->errors, 1);
			continue;
		}
		sent++;
		bytes += p->len;
	}
	pkt_free_bulk(pkts, n);
	port_counter_add(&txq->packets, sent);
	port_counter_add(&txq->bytes, bytes);
	return sent;
}

// ---- setup ----

static int tap_probe(struct port *port, struct port_args *args, struct err *err)
{
	struct tap_priv *tp = port->priv;
	const char *iface = port_args_get(args, "iface");
	uint8_t mac[6];
	bool set_mac = port_args_get(args, "mac") != NULL;
	struct ifreq ifr;
	unsigned room;
	int ret;

	tp->fd = -1;
	tp->ctl_fd = -1;
	if ((ret = port_args_get_mac(args, "mac", mac, err)) < 0)
		return ret;
	if (set_mac && (mac[0] & 1))
		return err_set(err, -EINVAL, "mac", "port %s: mac must be unicast", port->name);
	if (iface == NULL || *iface == '\0')
		iface = port->name;
	if (strlen(iface) >= IF_NAMESIZE)
		return err_set(err, -EINVAL, "iface",
			"port %s: interface name '%s' is too long (max %d characters); set iface=",
			port->name, iface, IF_NAMESIZE - 1);
	snprintf(tp->iface, sizeof(tp->iface), "%s", iface);
	if (port->pool == NULL)
		return err_set(
			err, -EINVAL, "", "port %s: no packet pool to receive into", port->name);
	room = pkt_pool_data_room(port->pool);

	tp->existed = netdev_ifindex_get(tp->iface) > 0;
	if ((tp->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		return err_set(err, -errno, "", "port %s: cannot open /dev/net/tun: %s%s",
			port->name, strerror(errno),
			errno == ENOENT ? " (load the tun module)" : "");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tp->iface);
	if (ioctl(tp->fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		return err_set(err, ret, "iface", "port %s: cannot create tap interface %s: %s%s",
			port->name, tp->iface, strerror(-ret),
			tp->existed ? " (an interface with that name exists and is not a free tap)"
				    : "");
	}
	if (tp->existed)
		LOG_OBJ(INFO, port->name,
			"attached to the existing tap %s; it stays when the port "
			"is removed",
			tp->iface);
	if ((ret = netdev_open()) < 0)
		return err_set(err, ret, "", "port %s: cannot open a control socket: %s",
			port->name, strerror(-ret));
	tp->ctl_fd = ret;
	if (set_mac && (ret = netdev_mac_set(tp->ctl_fd, tp->iface, mac)) < 0)
		return err_set(err, ret, "mac", "port %s: cannot set the MAC of %s: %s", port->name,
			tp->iface, strerror(-ret));
	if ((ret = netdev_mac_get(tp->ctl_fd, tp->iface, port->mac, NULL)) < 0)
		return err_set(err, ret, "", "port %s: cannot read the MAC of %s: %s", port->name,
			tp->iface, strerror(-ret));
	if ((ret = netdev_mtu_get(tp->ctl_fd, tp->iface, &port->mtu)) < 0)
		return err_set(err, ret, "", "port %s: cannot read the MTU of %s: %s", port->name,
			tp->iface, strerror(-ret));
	if (port->mtu + 18 > room) {
		// The host must not send frames our buffers cannot hold.
		if ((ret = netdev_mtu_set(tp->ctl_fd, tp->iface, room - 18)) < 0)
			return err_set(err, ret, "", "port %s: cannot set the MTU of %s: %s",
				port->name, tp->iface, strerror(-ret));
		port->mtu = room - 18;
	}
	if ((ret = netdev_up_set(tp->ctl_fd, tp->iface, true)) < 0)
		return err_set(err, ret, "", "port %s: cannot bring %s up: %s", port->name,
			tp->iface, strerror(-ret));
	port->n_rxq = 1;
	port->n_txq = 1;
	return 0;
}

static int tap_start(struct port *port, struct err *err)
{
	struct tap_priv *tp = port->priv;

	tp->rxq.fd = tp->fd;
	tp->rxq.pool = port->pool;
	tp->rxq.room = pkt_pool_data_room(port->pool);
	tp->rxq.port_id = port->id;
	tp->txq.fd = tp->fd;
	atomic_store_explicit(&tp->txq.max_len, port->mtu + 14, memory_order_relaxed);
	port->rxq[0] = &tp->rxq;
	port->txq[0] = &tp->txq;
	return 0;
}

static void tap_stop(struct port *port)
{
	struct tap_priv *tp = port->priv;

	pkt_free_bulk(tp->rxq.stash, tp->rxq.n_stash);
	tp->rxq.n_stash = 0;
}

static void tap_remove(struct port *port)
{
	struct tap_priv *tp = port->priv;

	if (tp == NULL)
		return;
	tap_stop(port);
	if (tp->fd >= 0)
		close(tp->fd);
	if (tp->ctl_fd >= 0)
		close(tp->ctl_fd);
	tp->fd = -1;
	tp->ctl_fd = -1;
}

static int tap_stats_get(struct port *port, struct port_stats *st)
{
	struct tap_priv *tp = port->priv;
	struct tap_rxq *rxq = &tp->rxq;
	struct tap_txq *txq = &tp->txq;

	st->rxq[0].packets = st->rx_packets = port_counter_read(&rxq->packets);
	st->rxq[0].bytes = st->rx_bytes = port_counter_read(&rxq->bytes);
	st->rx_drop_nobuf = port_counter_read(&rxq->nobuf);
	st->rx_drop_invalid = port_counter_read(&rxq->invalid);
	st->rxq[0].errors = st->rx_errors = port_counter_read(&rxq->errors);
	st->rxq[0].drops = st->rx_drop_nobuf + st->rx_drop_invalid;
	st->txq[0].packets = st->tx_packets = port_counter_read(&txq->packets);
	st->txq[0].bytes = st->tx_bytes = port_counter_read(&txq->bytes);
	st->tx_drop_full = port_counter_read(&txq->drop_full);
	st->tx_drop_mtu = port_counter_read(&txq->drop_mtu);
	st->tx_drop_down = port_counter_read(&txq->drop_down);
	st->txq[0].drops = st->tx_drop_full + st->tx_drop_mtu + st->tx_drop_down;
	st->txq[0].errors = st->tx_errors = port_counter_read(&txq->errors);
	return 0;
}

static int tap_mtu_set(struct port *port, unsigned mtu, struct err *err)
{
	struct tap_priv *tp = port->priv;
	unsigned room = pkt_pool_data_room(port->pool);
	int ret;

	if (mtu < 68 || mtu + 18 > room)
		return err_set(err, -EINVAL, "mtu", "port %s: mtu %u out of range 68..%u",
			port->name, mtu, room - 18);
	if ((ret = netdev_mtu_set(tp->ctl_fd, tp->iface, mtu)) < 0)
		return err_set(err, ret, "mtu", "port %s: cannot set the MTU of %s to %u: %s",
			port->name, tp->iface, mtu, strerror(-ret));
	port->mtu = mtu;
	atomic_store_explicit(&tp->txq.max_len, mtu + 14, memory_order_relaxed);
	return 0;
}

static bool tap_link_get(struct port *port)
{
	struct tap_priv *tp = port->priv;

	return netdev_link_get(tp->ctl_fd, tp->iface) == 1;
}

static void tap_status(struct port *port, port_status_emit_fn emit, void *ctx)
{
	struct tap_priv *tp = port->priv;

	emit(ctx, "iface", tp->iface);
	emit(ctx, "persistent", tp->existed ? "true" : "false");
}

const struct port_ops tap_port_ops = {
	.type = "tap",
	.priv_size = sizeof(struct tap_priv),
	.help = "iface=IFNAME  tap interface to create (default: port name, max 15 characters)\n"
		"mac=MAC  MAC address of the interface (default: random from the kernel)",
	.probe = tap_probe,
	.start = tap_start,
	.stop = tap_stop,
	.remove = tap_remove,
	.rx_burst = tap_rx_burst,
	.tx_burst = tap_tx_burst,
	.stats_get = tap_stats_get,
	.mtu_set = tap_mtu_set,
	.link_get = tap_link_get,
	.status = tap_status,
};
