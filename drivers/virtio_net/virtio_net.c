// SPDX-License-Identifier: Apache-2.0
// virtio-net poll-mode driver, setup side: the virtio 1.x PCI transport (vendor capabilities,
// common configuration, notification addresses), feature negotiation, rx/tx virtqueue pairs,
// the control virtqueue (queue pairs, promiscuous mode, MAC) and the device configuration (MAC,
// link status, MTU). Modern devices only (QEMU disable-legacy=on, the NIC of most clouds).
// The fast path is virtio_rxtx.c. Control thread only.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "drivers/pci/pci_dma.h"
#include "drivers/virtio_net/virtio_ring.h"

LOG_MODULE("virtio_net");

// Capability types (virtio 1.x 4.1.4).
#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_DEVICE 4

// Common configuration offsets (4.1.4.3).
#define VCC_DFSELECT 0
#define VCC_DF 4
#define VCC_GFSELECT 8
#define VCC_GF 12
#define VCC_MSIX 16
#define VCC_NUMQ 18
#define VCC_STATUS 20
#define VCC_Q_SELECT 22
#define VCC_Q_SIZE 24
#define VCC_Q_MSIX 26
#define VCC_Q_ENABLE 28
#define VCC_Q_NOFF 30
#define VCC_Q_DESC 32
#define VCC_Q_AVAIL 40
#define VCC_Q_USED 48
#define VCC_SIZE 56

#define VIRTIO_S_ACKNOWLEDGE 1
#define VIRTIO_S_DRIVER 2
#define VIRTIO_S_DRIVER_OK 4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 64
#define VIRTIO_S_FAILED 128
#define VIRTIO_MSI_NO_VECTOR 0xffff

// Feature bits (5.1.3, 6).
#define VF_MTU 3
#define VF_MAC 5
#define VF_MRG_RXBUF 15
#define VF_STATUS 16
#define VF_CTRL_VQ 17
#define VF_CTRL_RX 18
#define VF_MQ 22
#define VF_CTRL_MAC_ADDR 23
#define VF_VERSION_1 32
#define VF_ACCESS_PLATFORM 33
#define VBIT(b) (1ull << (b))
#define VIRTIO_WANTED \
	(VBIT(VF_MTU) | VBIT(VF_MAC) | VBIT(VF_MRG_RXBUF) | VBIT(VF_STATUS) | VBIT(VF_CTRL_VQ) | \
		VBIT(VF_CTRL_RX) | VBIT(VF_MQ) | VBIT(VF_CTRL_MAC_ADDR) | VBIT(VF_VERSION_1) | \
		VBIT(VF_ACCESS_PLATFORM))

// Device configuration (5.1.4).
#define VNC_MAC 0
#define VNC_STATUS 6
#define VNC_MAX_PAIRS 8
#define VNC_MTU 10
#define VIRTIO_NET_S_LINK_UP 1

// Control virtqueue classes and commands (5.1.6.5).
#define VIRTIO_NET_CTRL_RX 0
#define VIRTIO_NET_CTRL_RX_PROMISC 0
#define VIRTIO_NET_CTRL_RX_ALLMULTI 1
#define VIRTIO_NET_CTRL_MAC 1
#define VIRTIO_NET_CTRL_MAC_ADDR_SET 1
#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0
#define VIRTIO_NET_OK 0

#define VIRTIO_MAX_PAIRS PORT_MAX_QUEUES
#define VIRTIO_CTRL_SIZE 64

struct virtio_priv {
	struct virtio_vq rxq[VIRTIO_MAX_PAIRS];
	struct virtio_vq txq[VIRTIO_MAX_PAIRS];
	struct virtio_vq ctrl;
	volatile uint8_t *common; // NULL once released
	volatile uint8_t *notify_base;
	uint32_t notify_mult;
	uint32_t notify_len;
	volatile uint8_t *devcfg;
	uint32_t devcfg_len;
	uint64_t offered, features;
	unsigned max_pairs, pairs;
	unsigned num_queues;
	struct pci_dma_zone zone;
	size_t ctrl_buf; // zone offset of the control command buffer
	bool have_ctrl;
};

// Fields found while walking the capabilities.
struct virtio_caps {
	int bar[5];
	uint32_t off[5], len[5];
	uint32_t notify_mult;
};

static inline uint8_t vr8(volatile uint8_t *b, unsigned off)
{
	return b[off];
}

static inline uint16_t vr16(volatile uint8_t *b, unsigned off)
{
	return *(volatile uint16_t *)(b + off);
}

static inline uint32_t vr32(volatile uint8_t *b, unsigned off)
{
	return *(volatile uint32_t *)(b + off);
}

static inline void vw8(volatile uint8_t *b, unsigned off, uint8_t v)
{
	b[off] = v;
}

static inline void vw16(volatile uint8_t *b, unsigned off, uint16_t v)
{
	*(volatile uint16_t *)(b + off) = v;
}

static inline void vw32(volatile uint8_t *b, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(b + off) = v;
}

static inline void vw64(volatile uint8_t *b, unsigned off, uint64_t v)
{
	vw32(b, off, (uint32_t)v);
	vw32(b, off + 4, (uint32_t)(v >> 32));
}

static int virtio_cap_cb(struct pci_dev *dev, unsigned off, uint8_t id, void *arg)
{
	struct virtio_caps *c = arg;
	uint8_t type, bar;
	uint32_t o, l;

	if (id != PCI_CAP_ID_VNDR)
		return 0;
	if (pci_cfg_read8(dev, off + 3, &type) < 0 || pci_cfg_read8(dev, off + 4, &bar) < 0 ||
		pci_cfg_read32(dev, off + 8, &o) < 0 || pci_cfg_read32(dev, off + 12, &l) < 0)
		return -EIO;
	if (type >= ARRAY_SIZE(c->bar) || bar >= PCI_MAX_BARS || c->bar[type] >= 0)
		return 0; // unknown type, or not the first of its type
	c->bar[type] = bar;
	c->off[type] = o;
	c->len[type] = l;
	if (type == VIRTIO_PCI_CAP_NOTIFY && pci_cfg_read32(dev, off + 16, &c->notify_mult) < 0)
		return -EIO;
	return 0;
}

// Maps the BAR holding capability `type` and sets *out to the region, checked against the BAR.
static int virtio_region(struct pci_port *pp, const struct virtio_caps *c, unsigned type,
	uint32_t min_len, volatile uint8_t **out, struct err *err)
{
	static const char *const names[] = {"", "common", "notify", "isr", "device"};
	struct pci_dev *dev = pp->dev;
	int bar = c->bar[type], ret;

	if (bar < 0)
		return err_set(err, -ENODEV, "pci", "%s: no virtio %s configuration capability",
			pp->addr, names[type]);
	if ((ret = pci_bar_map(dev, (unsigned)bar, err)) < 0)
		return ret;
	if (c->len[type] < min_len || (uint64_t)c->off[type] + c->len[type] > dev->bar[bar].size)
		return err_set(err, -EINVAL, "pci",
			"%s: virtio %s region (BAR%d+%#x, %u bytes) is malformed for BAR of %zu "
			"bytes",
			pp->addr, names[type], bar, c->off[type], c->len[type], dev->bar[bar].size);
	*out = dev->bar[bar].va + c->off[type];
	return 0;
}

static void virtio_status_set(struct virtio_priv *vp, uint8_t bits)
{
	vw8(vp->common, VCC_STATUS, (uint8_t)(vr8(vp->common, VCC_STATUS) | bits));
}

static int virtio_reset(struct virtio_priv *vp)
{
	vw8(vp->common, VCC_STATUS, 0);
	// The device finishes the reset when the status reads back 0 (4.1.4.3.2).
	for (int i = 0; i < 1000; i++) {
		if (vr8(vp->common, VCC_STATUS) == 0)
			return 0;
		usleep(100);
	}
	return -ETIMEDOUT;
}

static uint64_t virtio_features_read(struct virtio_priv *vp)
{
	uint64_t f;

	vw32(vp->common, VCC_DFSELECT, 0);
	f = vr32(vp->common, VCC_DF);
	vw32(vp->common, VCC_DFSELECT, 1);
	return f | (uint64_t)vr32(vp->common, VCC_DF) << 32;
}

// reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (3.1.1).
static int virtio_negotiate(struct pci_port *pp, struct err *err)
{
	struct virtio_priv *vp = pp->pmd_priv;
	uint64_t f;

	if (virtio_reset(vp) < 0)
		return err_set(err, -ETIMEDOUT, "pci", "%s: virtio device did not reset", pp->addr);
	virtio_status_set(vp, VIRTIO_S_ACKNOWLEDGE);
	virtio_status_set(vp, VIRTIO_S_DRIVER);
	vp->offered = virtio_features_read(vp);
	if (!(vp->offered & VBIT(VF_VERSION_1))) {
		virtio_status_set(vp, VIRTIO_S_FAILED);
		return err_set(err, -ENOTSUP, "pci",
			"%s: legacy-only virtio device (no VIRTIO_F_VERSION_1); use a modern "
			"device "
			"(QEMU: disable-legacy=on)",
			pp->addr);
	}
	// Without ACCESS_PLATFORM the device ignores the IOMMU: its DMA uses physical addresses,
	// which only IOVA as PA gives.
	if (!(vp->offered & VBIT(VF_ACCESS_PLATFORM)) && pp->dev->access == PCI_ACCESS_VFIO &&
		mem_iova_mode() != MEM_IOVA_PA) {
		virtio_status_set(vp, VIRTIO_S_FAILED);
		return err_set(err, -ENOTSUP, "pci",
			"%s: the virtio device does not offer VIRTIO_F_ACCESS_PLATFORM, so its DMA "
			"bypasses the IOMMU while IOVA is VA; enable it on the device (QEMU: "
			"iommu_platform=on) or set memory.iova-mode: pa",
			pp->addr);
	}
	f = vp->offered & VIRTIO_WANTED;
	vw32(vp->common, VCC_GFSELECT, 0);
	vw32(vp->common, VCC_GF, (uint32_t)f);
	vw32(vp->common, VCC_GFSELECT, 1);
	vw32(vp->common, VCC_GF, (uint32_t)(f >> 32));
	virtio_status_set(vp, VIRTIO_S_FEATURES_OK);
	if (!(vr8(vp->common, VCC_STATUS) & VIRTIO_S_FEATURES_OK)) {
		virtio_status_set(vp, VIRTIO_S_FAILED);
		return err_set(err, -ENOTSUP, "pci", "%s: the virtio device refused features %#llx",
			pp->addr, (unsigned long long)f);
	}
	vp->features = f;
	return 0;
}

static int virtio_init(struct pci_port *pp, struct err *err)
{
	struct virtio_caps c;
	struct virtio_priv *vp;
	int ret;

	if ((vp = aligned_alloc(CACHE_LINE_SIZE, sizeof(*vp))) == NULL)
		return err_set(err, -ENOMEM, "", "%s: out of memory", pp->addr);
	memset(vp, 0, sizeof(*vp));
	pp->pmd_priv = vp;
	memset(&c, 0, sizeof(c));
	for (unsigned i = 0; i < ARRAY_SIZE(c.bar); i++)
		c.bar[i] = -1;
	if ((ret = pci_cap_foreach(pp->dev, virtio_cap_cb, &c)) < 0)
		return err_set(err, ret, "pci", "%s: cannot read the capability list: %s", pp->addr,
			strerror(-ret));
	if ((ret = virtio_region(pp, &c, VIRTIO_PCI_CAP_NOTIFY, 2, &vp->notify_base, err)) < 0 ||
		(ret = virtio_region(pp, &c, VIRTIO_PCI_CAP_DEVICE, 6, &vp->devcfg, err)) < 0 ||
		(ret = virtio_region(pp, &c, VIRTIO_PCI_CAP_COMMON, VCC_SIZE, &vp->common, err)) <
			0)
		return ret;
	vp->notify_mult = c.notify_mult;
	vp->notify_len = c.len[VIRTIO_PCI_CAP_NOTIFY];
	vp->devcfg_len = c.len[VIRTIO_PCI_CAP_DEVICE];
	if ((ret = pci_set_master(pp->dev, true)) < 0)
		return err_set(err, ret, "pci", "%s: cannot enable bus mastering: %s", pp->addr,
			strerror(-ret));
	if ((ret = virtio_negotiate(pp, err)) < 0)
		return ret;
	vp->num_queues = vr16(vp->common, VCC_NUMQ);
	vp->max_pairs = 1;
	if ((vp->features & VBIT(VF_MQ)) && vp->devcfg_len >= VNC_MAX_PAIRS + 2)
		vp->max_pairs =
			MAX(1u, MIN((unsigned)vr16(vp->devcfg, VNC_MAX_PAIRS), VIRTIO_MAX_PAIRS));
	vp->have_ctrl = (vp->features & VBIT(VF_CTRL_VQ)) && vp->num_queues > 2 * vp->max_pairs;
	if (vp->num_queues < 2)
		return err_set(err, -ENODEV, "pci", "%s: virtio-net device with %u queues",
			pp->addr, vp->num_queues);
	if (!pp->mac_given) {
		if (!(vp->features & VBIT(VF_MAC)))
			return err_set(err, -ENODATA, "mac",
				"%s: the virtio device has no MAC address; give one with mac=",
				pp->addr);
		for (unsigned i = 0; i < 6; i++)
			pp->port->mac[i] = vr8(vp->devcfg, VNC_MAC + i);
	}
	pp->max_rxq = vp->max_pairs;
	pp->max_txq = vp->max_pairs;
	pp->max_mtu = pkt_pool_data_room(pp->port->pool) - 18;
	if ((vp->features & VBIT(VF_MTU)) && vp->devcfg_len >= VNC_MTU + 2)
		pp->max_mtu = MIN(pp->max_mtu, (unsigned)vr16(vp->devcfg, VNC_MTU));
	// Quiet until start().
	virtio_reset(vp);
	return 0;
}

static bool virtio_link(struct virtio_priv *vp)
{
	if (vp->common == NULL)
		return false;
	if (!(vp->features & VBIT(VF_STATUS)))
		return true;
	return vr16(vp->devcfg, VNC_STATUS) & VIRTIO_NET_S_LINK_UP;
}

// Sets up virtqueue qidx with q; returns the queue size used or -errno.
static int virtio_queue_setup(struct pci_port *pp, struct virtio_vq *q, unsigned qidx,
	unsigned want, bool rx, size_t *off_desc, size_t *off_avail, size_t *off_used,
	struct mempool *pool, struct err *err)
{
	struct virtio_priv *vp = pp->pmd_priv;
	uint16_t size, noff;
	uint64_t notify_off;
	int ret;

	vw16(vp->common, VCC_Q_SELECT, (uint16_t)qidx);
	size = vr16(vp->common, VCC_Q_SIZE);
	if (size == 0)
		return err_set(
			err, -ENODEV, "pci", "%s: virtqueue %u does not exist", pp->addr, qidx);
	// The device's size is a maximum; ours is a power of two no larger.
	while (size > want && size > 1)
		size >>= 1;
	if ((size & (size - 1)) != 0) {
		uint16_t p = 1;
		while ((unsigned)p * 2 <= size)
			p *= 2;
		size = p;
	}
	noff = vr16(vp->common, VCC_Q_NOFF);
	notify_off = (uint64_t)noff * vp->notify_mult;
	if (notify_off + 2 > vp->notify_len)
		return err_set(err, -EINVAL, "pci",
			"%s: virtqueue %u notify offset %#llx is outside the notify region",
			pp->addr, qidx, (unsigned long long)notify_off);
	memset(q, 0, sizeof(*q));
	q->qidx = (uint16_t)qidx;
	q->notify = (volatile uint16_t *)(vp->notify_base + notify_off);
	q->fp.burst = rx ? virtio_rx_burst : virtio_tx_burst;
	q->mrg = rx && (vp->features & VBIT(VF_MRG_RXBUF));
	ret = virtio_vq_setup(q, rx, size, vp->zone.va + *off_desc, vp->zone.va + *off_avail,
		vp->zone.va + *off_used, pool);
	if (ret < 0)
		return err_set(err, ret, rx ? "rxd" : "txd", "port %s: virtqueue %u: %s%s",
			pp->port->name, qidx, strerror(-ret),
			ret == -ENOBUFS ? " (not enough packet buffers for the rx rings: lower rxd "
					  "or raise memory.packet-buffers)"
					: "");
	vw16(vp->common, VCC_Q_SIZE, size);
	vw16(vp->common, VCC_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
	vw64(vp->common, VCC_Q_DESC, pci_dma_iova(&vp->zone, *off_desc));
	vw64(vp->common, VCC_Q_AVAIL, pci_dma_iova(&vp->zone, *off_avail));
	vw64(vp->common, VCC_Q_USED, pci_dma_iova(&vp->zone, *off_used));
	vw16(vp->common, VCC_Q_ENABLE, 1);
	return size;
}

// Sends one control command and waits for the device's answer (the device handles the control
// queue synchronously in practice; bounded by 1 s).
static int virtio_ctrl(struct pci_port *pp, uint8_t cls, uint8_t cmd, const void *data, size_t len,
	struct err *err)
{
	struct virtio_priv *vp = pp->pmd_priv;
	struct virtio_vq *q = &vp->ctrl;
	uint8_t *buf = vp->zone.va + vp->ctrl_buf;
	uint64_t iova = pci_dma_iova(&vp->zone, vp->ctrl_buf);
	volatile uint8_t *ack = buf + 64;
	uint16_t used;

	if (!vp->have_ctrl)
		return err_set(err, -EOPNOTSUPP, "", "%s: no control virtqueue", pp->addr);
	if (len > 62)
		return -EINVAL;
	buf[0] = cls;
	buf[1] = cmd;
	memcpy(buf + 2, data, len);
	*ack = 0xff;
	q->desc[0] = (struct virtq_desc){
		.addr = iova, .len = (uint32_t)(2 + len), .flags = VIRTQ_DESC_F_NEXT, .next = 1};
	q->desc[1] = (struct virtq_desc){.addr = iova + 64, .len = 1, .flags = VIRTQ_DESC_F_WRITE};
	q->avail->ring[q->avail_idx & q->mask] = 0;
	q->avail_idx++;
	virtio_vq_kick(q);
	for (int i = 0; i < 10000; i++) {
		used = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
		if (used != q->used_idx)
			break;
		usleep(100);
	}
	if (used == q->used_idx)
		return err_set(err, -ETIMEDOUT, "",
			"%s: no answer on the control virtqueue (class "
			"%u command %u)",
			pp->addr, cls, cmd);
	q->used_idx = used;
	if (*ack != VIRTIO_NET_OK)
		return err_set(err, -EIO, "", "%s: the device refused control class %u command %u",
			pp->addr, cls, cmd);
	return 0;
}

static void virtio_stop(struct pci_port *pp)
{
	struct virtio_priv *vp = pp->pmd_priv;

	if (vp == NULL)
		return;
	// Reset: the device stops using every ring before we free the buffers.
	if (vp->common != NULL)
		virtio_reset(vp);
	for (unsigned i = 0; i < VIRTIO_MAX_PAIRS; i++) {
		virtio_vq_release(&vp->rxq[i]);
		virtio_vq_release(&vp->txq[i]);
		pp->port->rxq[i] = NULL;
		pp->port->txq[i] = NULL;
	}
	virtio_vq_release(&vp->ctrl);
	pci_dma_zone_destroy(&vp->zone);
}

static int virtio_start(struct pci_port *pp, struct err *err)
{
	struct virtio_priv *vp = pp->pmd_priv;
	struct port *port = pp->port;
	unsigned pairs = MAX(pp->n_rxq, pp->n_txq);
	size_t off = 0, d[2 * VIRTIO_MAX_PAIRS + 1], a[2 * VIRTIO_MAX_PAIRS + 1],
	       u[2 * VIRTIO_MAX_PAIRS + 1];
	char name[PORT_NAME_MAX + 8];
	unsigned nq = 2 * pairs;
	int ret;

	if (vp == NULL || vp->common == NULL)
		return err_set(err, -ENODEV, "pci", "%s: device released", pp->addr);
	if ((ret = virtio_negotiate(pp, err)) < 0)
		return ret;
	// Room for the largest sizes; the device may pick smaller ones.
	for (unsigned i = 0; i < nq + 1; i++) {
		unsigned n = i == nq ? VIRTIO_CTRL_SIZE : (i % 2 == 0 ? pp->rxd : pp->txd);

		d[i] = pci_dma_place(&off, VIRTQ_DESC_SIZE(n), 4096);
		a[i] = pci_dma_place(&off, VIRTQ_AVAIL_SIZE(n), 64);
		u[i] = pci_dma_place(&off, VIRTQ_USED_SIZE(n), 4096);
	}
	vp->ctrl_buf = pci_dma_place(&off, 128, 64);
	snprintf(name, sizeof(name), "rings-%s", port->name);
	if ((ret = pci_dma_zone_create(&vp->zone, name, off, port->numa_node, err)) < 0)
		goto fail_reset;
	vw16(vp->common, VCC_MSIX, VIRTIO_MSI_NO_VECTOR);
	for (unsigned p = 0; p < pairs; p++) {
		ret = virtio_queue_setup(pp, &vp->rxq[p], 2 * p, pp->rxd, true, &d[2 * p],
			&a[2 * p], &u[2 * p], port->pool, err);
		if (ret < 0)
			goto fail;
		ret = virtio_queue_setup(pp, &vp->txq[p], 2 * p + 1, pp->txd, false, &d[2 * p + 1],
			&a[2 * p + 1], &u[2 * p + 1], NULL, err);
		if (ret < 0)
			goto fail;
		vp->rxq[p].port_id = vp->txq[p].port_id = port->id;
		vp->rxq[p].qid = vp->txq[p].qid = (uint16_t)p;
		vp->txq[p].data_cap = pkt_pool_data_room(port->pool);
		atomic_store_explicit(&vp->txq[p].max_len, port->mtu + 14, memory_order_relaxed);
	}
	if (vp->have_ctrl &&
		(ret = virtio_queue_setup(pp, &vp->ctrl, 2 * vp->max_pairs, VIRTIO_CTRL_SIZE, false,
			 &d[nq], &a[nq], &u[nq], NULL, err)) < 0)
		goto fail;
	virtio_status_set(vp, VIRTIO_S_DRIVER_OK);
	if (vr8(vp->common, VCC_STATUS) & (VIRTIO_S_NEEDS_RESET | VIRTIO_S_FAILED)) {
		ret = err_set(
			err, -EIO, "pci", "%s: the virtio device failed at DRIVER_OK", pp->addr);
		goto fail;
	}
	if (pairs > 1) {
		uint16_t n = (uint16_t)pairs;

		if ((ret = virtio_ctrl(pp, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &n,
			     sizeof(n), err)) < 0)
			goto fail;
	}
	if (vp->have_ctrl && (vp->features & VBIT(VF_CTRL_RX))) {
		uint8_t on = pp->promisc;

		if ((ret = virtio_ctrl(pp, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1,
			     err)) < 0 ||
			(ret = virtio_ctrl(pp, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on,
				 1, err)) < 0)
			goto fail;
	} else if (!pp->promisc) {
		LOG_OBJ(WARN, port->name,
			"%s: no VIRTIO_NET_F_CTRL_RX: the device stays in its "
			"default receive mode",
			pp->addr);
	}
	if (pp->mac_given && vp->have_ctrl && (vp->features & VBIT(VF_CTRL_MAC_ADDR)) &&
		(ret = virtio_ctrl(pp, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, port->mac,
			 6, err)) < 0)
		goto fail;
	vp->pairs = pairs;
	// Post the rx buffers now that the device runs.
	for (unsigned p = 0; p < pairs; p++) {
		virtio_vq_kick(&vp->rxq[p]);
		if (p < pp->n_rxq)
			port->rxq[p] = &vp->rxq[p];
		if (p < pp->n_txq)
			port->txq[p] = &vp->txq[p];
	}
	LOG_OBJ(INFO, port->name,
		"%s: %u queue pair(s) of %u/%u descriptors, features %#llx (offered %#llx), "
		"link %s",
		pp->addr, pairs, vp->rxq[0].size, vp->txq[0].size, (unsigned long long)vp->features,
		(unsigned long long)vp->offered, virtio_link(vp) ? "up" : "down");
	return 0;
fail:
	virtio_stop(pp);
	return ret;
fail_reset:
	virtio_reset(vp);
	return ret;
}

static void virtio_detach(struct pci_port *pp)
{
	struct virtio_priv *vp = pp->pmd_priv;

	if (vp == NULL)
		return;
	virtio_stop(pp);
	vp->common = NULL;
	vp->devcfg = NULL;
	vp->notify_base = NULL;
	if (pp->dev != NULL)
		pci_set_master(pp->dev, false);
}

static void virtio_fini(struct pci_port *pp)
{
	virtio_detach(pp);
	free(pp->pmd_priv);
	pp->pmd_priv = NULL;
}

static int virtio_stats_get(struct pci_port *pp, struct port_stats *st)
{
	struct virtio_priv *vp = pp->pmd_priv;

	for (unsigned q = 0; q < pp->n_rxq; q++) {
		const struct virtio_vq *r = &vp->rxq[q];
		struct port_queue_stats *s = &st->rxq[q];
		uint64_t nobuf = port_counter_read(&r->nobuf);
		uint64_t invalid = port_counter_read(&r->invalid);

		s->packets = port_counter_read(&r->packets);
		s->bytes = port_counter_read(&r->bytes);
		s->drops = nobuf;
		s->errors = invalid;
		st->rx_packets += s->packets;
		st->rx_bytes += s->bytes;
		st->rx_drop_nobuf += nobuf;
		st->rx_drop_invalid += invalid;
	}
	for (unsigned q = 0; q < pp->n_txq; q++) {
		const struct virtio_vq *t = &vp->txq[q];
		struct port_queue_stats *s = &st->txq[q];
		uint64_t full = port_counter_read(&t->drop_full);
		uint64_t mtu = port_counter_read(&t->drop_mtu);

		s->packets = port_counter_read(&t->packets);
		s->bytes = port_counter_read(&t->bytes);
		s->drops = full + mtu;
		s->errors = port_counter_read(&t->errors);
		st->tx_packets += s->packets;
		st->tx_bytes += s->bytes;
		st->tx_drop_full += full;
		st->tx_drop_mtu += mtu;
		st->tx_errors += s->errors;
	}
	return 0;
}

static bool virtio_link_get(struct pci_port *pp)
{
	return virtio_link(pp->pmd_priv);
}

static int virtio_mtu_set(struct pci_port *pp, unsigned mtu, struct err *err)
{
	struct virtio_priv *vp = pp->pmd_priv;

	pp->port->mtu = mtu;
	for (unsigned q = 0; q < VIRTIO_MAX_PAIRS; q++)
		atomic_store_explicit(&vp->txq[q].max_len, mtu + 14, memory_order_relaxed);
	return 0;
}

static int virtio_promisc_set(struct pci_port *pp, bool on, struct err *err)
{
	struct virtio_priv *vp = pp->pmd_priv;
	uint8_t v = on;
	int ret;

	if (!pp->started) {
		pp->promisc = on;
		return 0;
	}
	if (!vp->have_ctrl || !(vp->features & VBIT(VF_CTRL_RX)))
		return err_set(err, -EOPNOTSUPP, "promisc",
			"%s: the device has no VIRTIO_NET_F_CTRL_RX", pp->addr);
	if ((ret = virtio_ctrl(pp, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &v, 1, err)) <
			0 ||
		(ret = virtio_ctrl(
			 pp, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &v, 1, err)) < 0)
		return ret;
	pp->promisc = on;
	return 0;
}

static int virtio_mac_set(struct pci_port *pp, const uint8_t mac[6], struct err *err)
{
	struct virtio_priv *vp = pp->pmd_priv;
	int ret;

	if (pp->started) {
		if (!vp->have_ctrl || !(vp->features & VBIT(VF_CTRL_MAC_ADDR)))
			return err_set(err, -EOPNOTSUPP, "mac",
				"%s: the device has no VIRTIO_NET_F_CTRL_MAC_ADDR", pp->addr);
		if ((ret = virtio_ctrl(pp, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac,
			     6, err)) < 0)
			return ret;
	}
	memcpy(pp->port->mac, mac, 6);
	return 0;
}

static void virtio_status(struct pci_port *pp, port_status_emit_fn emit, void *ctx)
{
	struct virtio_priv *vp = pp->pmd_priv;
	char buf[32];

	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)vp->features);
	emit(ctx, "features", buf);
	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)vp->offered);
	emit(ctx, "features_offered", buf);
	snprintf(buf, sizeof(buf), "%u", vp->pairs);
	emit(ctx, "queue_pairs", buf);
	snprintf(buf, sizeof(buf), "%u", vp->max_pairs);
	emit(ctx, "max_queue_pairs", buf);
	emit(ctx, "mergeable_rx_buffers", (vp->features & VBIT(VF_MRG_RXBUF)) ? "true" : "false");
	emit(ctx, "control_queue", vp->have_ctrl ? "true" : "false");
	emit(ctx, "access_platform", (vp->features & VBIT(VF_ACCESS_PLATFORM)) ? "true" : "false");
}

static const uint16_t virtio_ids[][2] = {
	{0x1af4, 0x1041}, // virtio 1.x network device (modern only)
	{0, 0},
};

const struct pci_pmd virtio_net_pmd = {
	.name = "virtio-net",
	.ids = virtio_ids,
	.init = virtio_init,
	.start = virtio_start,
	.stop = virtio_stop,
	.detach = virtio_detach,
	.fini = virtio_fini,
	.stats_get = virtio_stats_get,
	.link_get = virtio_link_get,
	.mtu_set = virtio_mtu_set,
	.promisc_set = virtio_promisc_set,
	.mac_set = virtio_mac_set,
	.status = virtio_status,
};
