// SPDX-License-Identifier: Apache-2.0
// af_packet port setup: attaches to an existing kernel interface with one TPACKET_V3 rx ring
// and one TPACKET_V2 tx ring per queue (rx queues spread by PACKET_FANOUT hash). The fast path
// is in af_packet_rxtx.c.
#include <arpa/inet.h>
#include <errno.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "drivers/af_packet/af_packet.h"
#include "drivers/netdev.h"

LOG_MODULE("af_packet");

#define AFP_RX_FRAME_SIZE 2048 // V3 nominal frame size (frames really vary in size)
#define AFP_BLOCK_MIN (128u << 10) // holds a 64 KiB GSO frame plus headers
#define AFP_BLOCK_MAX (64u << 20)
#define AFP_BLOCK_DEFAULT (256u << 10)
#define AFP_FRAMES_DEFAULT 2048
#define AFP_RETIRE_MS 1 // a partly filled rx block reaches us within 1 ms

// Interfaces attached by af_packet ports (control thread): two ports on one interface would
// each get every frame and loop them.
static struct {
	int ifindex;
	const struct port *port;
} afp_users[PORT_MAX];

static const struct port *afp_user_lookup(int ifindex)
{
	for (size_t i = 0; i < ARRAY_SIZE(afp_users); i++) {
		if (afp_users[i].port != NULL && afp_users[i].ifindex == ifindex)
			return afp_users[i].port;
	}
	return NULL;
}

static void afp_user_set(int ifindex, const struct port *port, const struct port *old)
{
	for (size_t i = 0; i < ARRAY_SIZE(afp_users); i++) {
		if (afp_users[i].port == old) {
			afp_users[i].ifindex = ifindex;
			afp_users[i].port = port;
			return;
		}
	}
}

static int afp_numa_node(const char *iface)
{
	char path[128];
	FILE *f;
	int node = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device/numa_node", iface);
	if ((f = fopen(path, "re")) == NULL)
		return -1; // virtual interface: no device
	if (fscanf(f, "%d", &node) != 1)
		node = -1;
	fclose(f);
	return node;
}

static int afp_probe(struct port *port, struct port_args *args, struct err *err)
{
	struct af_packet_priv *ap = port->priv;
	const char *iface = port_args_get(args, "iface");
	long page = sysconf(_SC_PAGESIZE);
	const struct port *user;
	unsigned room, hw_type, flags;
	int ret;

	// First, so that remove() after a failed probe closes nothing it does not own.
	ap->ctl_fd = -1;
	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
		ap->rxq[q].fd = -1;
		ap->txq[q].fd = -1;
	}
	ap->queues = 1;
	ap->block_size = AFP_BLOCK_DEFAULT;
	ap->frame_count = AFP_FRAMES_DEFAULT;
	ap->promisc = true;
	if ((ret = port_args_get_uint(args, "queues", 1, PORT_MAX_QUEUES, &ap->queues, err)) < 0 ||
		(ret = port_args_get_uint(args, "block-size", AFP_BLOCK_MIN, AFP_BLOCK_MAX,
			 &ap->block_size, err)) < 0 ||
		(ret = port_args_get_uint(
			 args, "frame-count", 64, 1u << 20, &ap->frame_count, err)) < 0 ||
		(ret = port_args_get_bool(args, "promisc", &ap->promisc, err)) < 0)
		return ret;
	if (ap->block_size % (unsigned)page != 0)
		return err_set(err, -EINVAL, "block-size",
			"port %s: block-size %u must be a multiple of the page size (%ld)",
			port->name, ap->block_size, page);
	if (iface == NULL || *iface == '\0')
		iface = port->name;
	if (strlen(iface) >= IF_NAMESIZE)
		return err_set(err, -EINVAL, "iface",
			"port %s: interface name '%s' is too long (max %d characters); set iface=",
			port->name, iface, IF_NAMESIZE - 1);
	snprintf(ap->iface, sizeof(ap->iface), "%s", iface);
	if (port->pool == NULL)
		return err_set(
			err, -EINVAL, "", "port %s: no packet pool to receive into", port->name);
	room = pkt_pool_data_room(port->pool);

	if ((ap->ifindex = netdev_ifindex_get(ap->iface)) <= 0)
		return err_set(err, -ENODEV, "iface", "port %s: interface %s does not exist",
			port->name, ap->iface);
	if ((user = afp_user_lookup(ap->ifindex)) != NULL)
		return err_set(err, -EBUSY, "iface",
			"port %s: interface %s is already used by port %s", port->name, ap->iface,
			user->name);
	if ((ret = netdev_open()) < 0)
		return err_set(err, ret, "", "port %s: cannot open a control socket: %s",
			port->name, strerror(-ret));
	ap->ctl_fd = ret;
	if ((ret = netdev_mac_get(ap->ctl_fd, ap->iface, port->mac, &hw_type)) < 0)
		return err_set(err, ret, "iface", "port %s: cannot read the address of %s: %s",
			port->name, ap->iface, strerror(-ret));
	if (hw_type != ARPHRD_ETHER)
		return err_set(err, -EINVAL, "iface",
			"port %s: interface %s is not an Ethernet interface (ARP type %u)",
			port->name, ap->iface, hw_type);
	if ((ret = netdev_mtu_get(ap->ctl_fd, ap->iface, &port->mtu)) < 0)
		return err_set(err, ret, "iface", "port %s: cannot read the MTU of %s: %s",
			port->name, ap->iface, strerror(-ret));
	if (port->mtu + 18 > room)
		LOG_OBJ(WARN, port->name,
			"MTU %u of %s exceeds the %u-byte packet buffers: longer "
			"frames will be dropped (raise max_mtu in the daemon configuration)",
			port->mtu, ap->iface, room);
	if ((ret = netdev_flags_get(ap->ctl_fd, ap->iface, &flags)) < 0)
		return err_set(err, ret, "iface", "port %s: cannot read the flags of %s: %s",
			port->name, ap->iface, strerror(-ret));
	if (!(flags & IFF_UP)) {
		// A switch port that is administratively down passes nothing: bring it up.
		if ((ret = netdev_up_set(ap->ctl_fd, ap->iface, true)) < 0)
			return err_set(err, ret, "iface", "port %s: cannot bring %s up: %s",
				port->name, ap->iface, strerror(-ret));
		LOG_OBJ(INFO, port->name, "brought %s up", ap->iface);
	}
	port->numa_node = afp_numa_node(ap->iface);
	port->n_rxq = (uint16_t)ap->queues;
	port->n_txq = (uint16_t)ap->queues;
	afp_user_set(ap->ifindex, port, NULL);
	return 0;
}

static int afp_sockopt(int fd, int name, int val)
{
	return setsockopt(fd, SOL_PACKET, name, &val, sizeof(val)) < 0 ? -errno : 0;
}

static int afp_socket(struct port *port, const char *what, struct err *err)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return err_set(err, -errno, "", "port %s: cannot open the %s packet socket: %s%s",
			port->name, what, strerror(errno),
			errno == EPERM ? " (needs CAP_NET_RAW)" : "");
	return fd;
}

// Binds to the interface; protocol 0 receives nothing (tx sockets).
static int afp_bind(struct af_packet_priv *ap, int fd, uint16_t proto)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(proto),
		.sll_ifindex = ap->ifindex,
	};

	return bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ? -errno : 0;
}

static void afp_rxq_close(struct af_packet_priv *ap, struct af_packet_rxq *rxq)
{
	if (rxq->fd >= 0) {
		struct tpacket_stats_v3 st;
		socklen_t len = sizeof(st);

		if (getsockopt(rxq->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
			rxq->kernel_drops += st.tp_drops;
	}
	af_packet_rxq_drain(rxq);
	if (rxq->ring != NULL)
		munmap(rxq->ring, rxq->ring_size);
	if (rxq->fd >= 0)
		close(rxq->fd);
	rxq->ring = NULL;
	rxq->fd = -1;
	rxq->cur = NULL;
	rxq->left = 0;
	rxq->blk = 0;
}

static void afp_txq_close(struct af_packet_txq *txq)
{
	if (txq->ring != NULL)
		munmap(txq->ring, txq->ring_size);
	if (txq->fd >= 0)
		close(txq->fd);
	free(txq->frames);
	txq->frames = NULL;
	txq->ring = NULL;
	txq->fd = -1;
	txq->head = 0;
}

static int afp_rxq_open(struct port *port, struct af_packet_priv *ap, unsigned q, struct err *err)
{
	struct af_packet_rxq *rxq = &ap->rxq[q];
	unsigned n_blocks =
		(unsigned)(((uint64_t)ap->frame_count * AFP_RX_FRAME_SIZE + ap->block_size - 1) /
			ap->block_size);
	struct tpacket_req3 req;
	const char *step;
	int ret;

	if ((rxq->fd = afp_socket(port, "rx", err)) < 0)
		return rxq->fd;
	step = "PACKET_VERSION";
	if ((ret = afp_sockopt(rxq->fd, PACKET_VERSION, TPACKET_V3)) < 0)
		goto fail;
	// Offload metadata (partial checksums, GSO): must precede the ring. Old kernels lack it
	// for rings; then checksums left to hardware by veth senders are passed on unfinished.
	ap->vnet = afp_sockopt(rxq->fd, PACKET_VNET_HDR, 1) == 0;
	ap->ignore_outgoing = afp_sockopt(rxq->fd, PACKET_IGNORE_OUTGOING, 1) == 0;
	n_blocks = MAX(n_blocks, 4u);
	req = (struct tpacket_req3){
		.tp_block_size = ap->block_size,
		.tp_block_nr = n_blocks,
		.tp_frame_size = AFP_RX_FRAME_SIZE,
		.tp_frame_nr = n_blocks * (ap->block_size / AFP_RX_FRAME_SIZE),
		.tp_retire_blk_tov = AFP_RETIRE_MS,
	};
	step = "PACKET_RX_RING";
	if (setsockopt(rxq->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		ret = -errno;
		goto fail;
	}
	rxq->ring_size = (size_t)n_blocks * ap->block_size;
	rxq->ring = mmap(NULL, rxq->ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		rxq->fd, 0);
	if (rxq->ring == MAP_FAILED) {
		rxq->ring = NULL;
		ret = -errno;
		step = "mmap of the rx ring";
		goto fail;
	}
	step = "bind";
	if ((ret = afp_bind(ap, rxq->fd, ETH_P_ALL)) < 0)
		goto fail;
	if (q == 0 && ap->promisc) {
		// Membership is dropped by the kernel when the socket closes.
		struct packet_mreq mr = {.mr_ifindex = ap->ifindex, .mr_type = PACKET_MR_PROMISC};

		step = "PACKET_ADD_MEMBERSHIP (promiscuous)";
		if (setsockopt(rxq->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
			ret = -errno;
			goto fail;
		}
	}
	if (ap->queues > 1) {
		int arg, val;
		socklen_t len = sizeof(val);

		step = "PACKET_FANOUT";
		if (q == 0) {
			// The kernel picks a group id unused in this namespace.
			arg = (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
			if ((ret = afp_sockopt(rxq->fd, PACKET_FANOUT, arg)) < 0)
				goto fail;
			if (getsockopt(rxq->fd, SOL_PACKET, PACKET_FANOUT, &val, &len) < 0) {
				ret = -errno;
				goto fail;
			}
			ap->fanout_id = (uint16_t)val;
		} else {
			// UNIQUEID only creates the group; members join by its id.
			arg = ap->fanout_id | PACKET_FANOUT_HASH << 16;
			if ((ret = afp_sockopt(rxq->fd, PACKET_FANOUT, arg)) < 0)
				goto fail;
		}
	}
	rxq->block_size = ap->block_size;
	rxq->n_blocks = n_blocks;
	rxq->blk = 0;
	rxq->cur = NULL;
	rxq->left = 0;
	rxq->pool = port->pool;
	rxq->port_id = port->id;
	rxq->qid = (uint16_t)q;
	rxq->room = pkt_pool_data_room(port->pool);
	rxq->vnet = ap->vnet;
	rxq->skip_outgoing = !ap->ignore_outgoing;
	rxq->n_stash = 0;
	rxq->n_pend = 0;
	rxq->pend_idx = 0;
	port->rxq[q] = rxq;
	return 0;
fail:
	return err_set(err, ret, "", "port %s: rx queue %u on %s: %s failed: %s", port->name, q,
		ap->iface, step, strerror(-ret));
}

static int afp_txq_open(struct port *port, struct af_packet_priv *ap, unsigned q, struct err *err)
{
	struct af_packet_txq *txq = &ap->txq[q];
	unsigned room = pkt_pool_data_room(port->pool);
	unsigned page = (unsigned)sysconf(_SC_PAGESIZE);
	unsigned frame = ALIGN_UP((unsigned)AFP_TX_DATA_OFF + room, (unsigned)TPACKET_ALIGNMENT);
	unsigned block = ALIGN_UP(MAX(frame, 65536u), page);
	unsigned fpb = block / frame;
	unsigned n_blocks = (ap->frame_count + fpb - 1) / fpb;
	struct tpacket_req req = {
		.tp_block_size = block,
		.tp_block_nr = n_blocks,
		.tp_frame_size = frame,
		.tp_frame_nr = n_blocks * fpb,
	};
	const char *step;
	int ret;

	if ((txq->fd = afp_socket(port, "tx", err)) < 0)
		return txq->fd;
	step = "PACKET_VERSION";
	if ((ret = afp_sockopt(txq->fd, PACKET_VERSION, TPACKET_V2)) < 0)
		goto fail;
	// Straight to the driver: no qdisc between our ring and the interface.
	afp_sockopt(txq->fd, PACKET_QDISC_BYPASS, 1);
	// A malformed frame is skipped by the kernel instead of stopping the ring.
	step = "PACKET_LOSS";
	if ((ret = afp_sockopt(txq->fd, PACKET_LOSS, 1)) < 0)
		goto fail;
	step = "PACKET_TX_RING";
	if (setsockopt(txq->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0) {
		ret = -errno;
		goto fail;
	}
	txq->ring_size = (size_t)block * n_blocks;
	txq->ring = mmap(NULL, txq->ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		txq->fd, 0);
	if (txq->ring == MAP_FAILED) {
		txq->ring = NULL;
		ret = -errno;
		step = "mmap of the tx ring";
		goto fail;
	}
	txq->n_frames = req.tp_frame_nr;
	if ((txq->frames = calloc(txq->n_frames, sizeof(*txq->frames))) == NULL) {
		ret = -ENOMEM;
		step = "frame table allocation";
		goto fail;
	}
	// Frames never straddle blocks: precompute their addresses (no division per packet).
	for (unsigned i = 0; i < txq->n_frames; i++)
		txq->frames[i] = txq->ring + (size_t)(i / fpb) * block + (size_t)(i % fpb) * frame;
	step = "bind";
	if ((ret = afp_bind(ap, txq->fd, 0)) < 0)
		goto fail;
	txq->frame_size = frame;
	txq->head = 0;
	txq->data_cap = room;
	atomic_store_explicit(&txq->max_len, port->mtu + 14, memory_order_relaxed);
	port->txq[q] = txq;
	return 0;
fail:
	return err_set(err, ret, "", "port %s: tx queue %u on %s: %s failed: %s", port->name, q,
		ap->iface, step, strerror(-ret));
}

static void afp_close_all(struct port *port)
{
	struct af_packet_priv *ap = port->priv;

	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
		afp_rxq_close(ap, &ap->rxq[q]);
		afp_txq_close(&ap->txq[q]);
		port->rxq[q] = NULL;
		port->txq[q] = NULL;
	}
}

static int afp_start(struct port *port, struct err *err)
{
	struct af_packet_priv *ap = port->priv;
	int ret;

	for (unsigned q = 0; q < ap->queues; q++) {
		if ((ret = afp_rxq_open(port, ap, q, err)) < 0 ||
			(ret = afp_txq_open(port, ap, q, err)) < 0) {
			afp_close_all(port);
			return ret;
		}
	}
	if (!ap->vnet)
		LOG_OBJ(WARN, port->name,
			"kernel refused PACKET_VNET_HDR on %s: frames whose "
			"checksum was left to offload pass unfinished and GSO frames are dropped; "
			"disable offloads on the peer (ethtool -K IF tx off tso off gso off)",
			ap->iface);
	LOG_OBJ(DEBUG, port->name, "attached to %s (ifindex %d), %u queue(s)", ap->iface,
		ap->ifindex, ap->queues);
	return 0;
}

static void afp_stop(struct port *port)
{
	afp_close_all(port);
}

static void afp_remove(struct port *port)
{
	struct af_packet_priv *ap = port->priv;

	if (ap == NULL)
		return;
	afp_close_all(port);
	if (ap->ctl_fd >= 0)
		close(ap->ctl_fd);
	ap->ctl_fd = -1;
	afp_user_set(0, NULL, port);
}

static int afp_stats_get(struct port *port, struct port_stats *st)
{
	struct af_packet_priv *ap = port->priv;

	for (unsigned q = 0; q < ap->queues; q++) {
		struct af_packet_rxq *rxq = &ap->rxq[q];
		struct af_packet_txq *txq = &ap->txq[q];
		struct port_queue_stats *r = &st->rxq[q], *t = &st->txq[q];
		uint64_t nobuf, invalid;

		if (rxq->fd >= 0) {
			struct tpacket_stats_v3 ks;
			socklen_t len = sizeof(ks);

			// The kernel resets its counters on every read: accumulate.
			if (getsockopt(rxq->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0)
				rxq->kernel_drops += ks.tp_drops;
		}
		r->packets = port_counter_read(&rxq->packets);
		r->bytes = port_counter_read(&rxq->bytes);
		nobuf = port_counter_read(&rxq->nobuf) + rxq->kernel_drops; // ring full = no buffer
		invalid = port_counter_read(&rxq->invalid);
		r->drops = nobuf + invalid;
		st->rx_packets += r->packets;
		st->rx_bytes += r->bytes;
		st->rx_drop_nobuf += nobuf;
		st->rx_drop_invalid += invalid;

		t->packets = port_counter_read(&txq->packets);
		t->bytes = port_counter_read(&txq->bytes);
		t->drops = port_counter_read(&txq->drop_full) + port_counter_read(&txq->drop_mtu) +
			port_counter_read(&txq->drop_down);
		t->errors = port_counter_read(&txq->errors);
		st->tx_packets += t->packets;
		st->tx_bytes += t->bytes;
		st->tx_drop_full += port_counter_read(&txq->drop_full);
		st->tx_drop_mtu += port_counter_read(&txq->drop_mtu);
		st->tx_drop_down += port_counter_read(&txq->drop_down);
		st->tx_errors += t->errors;
	}
	st->n_rxq = st->n_txq = ap->queues;
	return 0;
}

static int afp_mtu_set(struct port *port, unsigned mtu, struct err *err)
{
	struct af_packet_priv *ap = port->priv;
	unsigned room = pkt_pool_data_room(port->pool);
	int ret;

	if (mtu < 68 || mtu + 18 > room)
		return err_set(err, -EINVAL, "mtu", "port %s: mtu %u out of range 68..%u",
			port->name, mtu, room - 18);
	if ((ret = netdev_mtu_set(ap->ctl_fd, ap->iface, mtu)) < 0)
		return err_set(err, ret, "mtu", "port %s: cannot set the MTU of %s to %u: %s",
			port->name, ap->iface, mtu, strerror(-ret));
	port->mtu = mtu;
	for (unsigned q = 0; q < ap->queues; q++)
		atomic_store_explicit(&ap->txq[q].max_len, mtu + 14, memory_order_relaxed);
	return 0;
}

static bool afp_link_get(struct port *port)
{
	struct af_packet_priv *ap = port->priv;

	return netdev_link_get(ap->ctl_fd, ap->iface) == 1;
}

static void afp_status(struct port *port, port_status_emit_fn emit, void *ctx)
{
	struct af_packet_priv *ap = port->priv;
	uint64_t drops = 0;
	char buf[32];

	emit(ctx, "iface", ap->iface);
	snprintf(buf, sizeof(buf), "%d", ap->ifindex);
	emit(ctx, "ifindex", buf);
	emit(ctx, "vnet_hdr", ap->vnet ? "true" : "false");
	emit(ctx, "ignore_outgoing", ap->ignore_outgoing ? "true" : "false");
	for (unsigned q = 0; q < ap->queues; q++)
		drops += ap->rxq[q].kernel_drops;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)drops);
	emit(ctx, "kernel_drops", buf);
	if (ap->queues > 1) {
		snprintf(buf, sizeof(buf), "%u", ap->fanout_id);
		emit(ctx, "fanout_group", buf);
	}
}

const struct port_ops af_packet_port_ops = {
	.type = "af_packet",
	.priv_size = sizeof(struct af_packet_priv),
	.help = "iface=IFNAME  kernel interface to attach to (default: port name)\n"
		"queues=N  rx/tx queue pairs; rx spread by PACKET_FANOUT hash (default: 1)\n"
		"block-size=BYTES  rx ring block, multiple of the page size (default: 262144)\n"
		"frame-count=N  ring size in 2 KiB frames per queue and direction (default: 2048)\n"
		"promisc=BOOL  put the interface in promiscuous mode (default: true)",
	.probe = afp_probe,
	.start = afp_start,
	.stop = afp_stop,
	.remove = afp_remove,
	.rx_burst = af_packet_rx_burst,
	.tx_burst = af_packet_tx_burst,
	.stats_get = afp_stats_get,
	.mtu_set = afp_mtu_set,
	.link_get = afp_link_get,
	.status = afp_status,
};
