// SPDX-License-Identifier: Apache-2.0
// e1000e poll-mode driver (Intel 82574, QEMU's `e1000e`): device reset and initialisation,
// link, MAC, RSS over its two rx queues, ring programming and the hardware counters. The fast
// path is the shared Intel descriptor layer (drivers/intel/intel_rxtx.c). Control thread only.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "drivers/e1000e/e1000e_regs.h"
#include "drivers/intel/intel_ring.h"
#include "drivers/pci/pci_dma.h"

LOG_MODULE("e1000e");

#define E1000E_MAX_QUEUES 2
#define E1000E_BAR_MIN 0x10000

// Hardware counters kept as 64-bit totals (the registers clear on read).
#define E1000E_COUNTERS(X) \
	X(rx_good, E1000E_GPRC) \
	X(rx_broadcast, E1000E_BPRC) \
	X(rx_multicast, E1000E_MPRC) \
	X(rx_total, E1000E_TPR) \
	X(rx_missed, E1000E_MPC) \
	X(rx_no_buffer, E1000E_RNBC) \
	X(rx_crc_errors, E1000E_CRCERRS) \
	X(rx_align_errors, E1000E_ALGNERRC) \
	X(rx_symbol_errors, E1000E_RXERRC) \
	X(rx_length_errors, E1000E_RLEC) \
	X(rx_undersize, E1000E_RUC) \
	X(rx_oversize, E1000E_ROC) \
	X(tx_good, E1000E_GPTC) \
	X(tx_total, E1000E_TPT) \
	X(tx_broadcast, E1000E_BPTC) \
	X(tx_multicast, E1000E_MPTC) \
	X(collisions, E1000E_COLC)

enum {
#define E1000E_ENUM(name, reg) E1000E_C_##name,
	E1000E_COUNTERS(E1000E_ENUM)
#undef E1000E_ENUM
		E1000E_C_rx_bytes,
	E1000E_C_tx_bytes,
	E1000E_N_COUNTERS,
};

struct e1000e_priv {
	struct intel_rxq rxq[E1000E_MAX_QUEUES];
	struct intel_txq txq[E1000E_MAX_QUEUES];
	volatile uint8_t *bar; // NULL once the device is released
	struct pci_dma_zone zone;
	unsigned n_rxq, n_txq;
	uint32_t rctl;
	uint64_t hw[E1000E_N_COUNTERS];
};

static inline uint32_t e1000e_rd(const struct e1000e_priv *hw, uint32_t reg)
{
	return *(volatile const uint32_t *)(hw->bar + reg);
}

static inline void e1000e_wr(struct e1000e_priv *hw, uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(hw->bar + reg) = v;
}

// Polls until (reg & mask) == want, at most ms milliseconds. true when reached.
static bool e1000e_wait(
	struct e1000e_priv *hw, uint32_t reg, uint32_t mask, uint32_t want, unsigned ms)
{
	for (unsigned i = 0; i <= ms * 10; i++) {
		if ((e1000e_rd(hw, reg) & mask) == want)
			return true;
		usleep(100);
	}
	return false;
}

static void e1000e_counters_update(struct e1000e_priv *hw)
{
	if (hw->bar == NULL)
		return;
#define E1000E_ACC(name, reg) hw->hw[E1000E_C_##name] += e1000e_rd(hw, reg);
	E1000E_COUNTERS(E1000E_ACC)
#undef E1000E_ACC
	// 64-bit octet counters: low then high (reading the high half clears both).
	hw->hw[E1000E_C_rx_bytes] +=
		e1000e_rd(hw, E1000E_GORCL) | (uint64_t)e1000e_rd(hw, E1000E_GORCH) << 32;
	hw->hw[E1000E_C_tx_bytes] +=
		e1000e_rd(hw, E1000E_GOTCL) | (uint64_t)e1000e_rd(hw, E1000E_GOTCH) << 32;
}

// Global reset (datasheet 4.6): stop DMA mastering, CTRL.RST, wait for the EEPROM auto-read,
// interrupts masked before and after.
static int e1000e_reset(struct e1000e_priv *hw, const char *name)
{
	e1000e_wr(hw, E1000E_IMC, 0xffffffff);
	e1000e_wr(hw, E1000E_RCTL, 0);
	e1000e_wr(hw, E1000E_TCTL, 0);
	e1000e_wr(hw, E1000E_CTRL, e1000e_rd(hw, E1000E_CTRL) | E1000E_CTRL_GIO_MASTER_DISABLE);
	if (!e1000e_wait(hw, E1000E_STATUS, E1000E_STATUS_GIO_MASTER_EN, 0, 10))
		LOG_OBJ(WARN, name, "DMA master did not stop within 10 ms, resetting anyway");
	e1000e_wr(hw, E1000E_CTRL, e1000e_rd(hw, E1000E_CTRL) | E1000E_CTRL_RST);
	usleep(1000);
	if (!e1000e_wait(hw, E1000E_CTRL, E1000E_CTRL_RST, 0, 50))
		return -ETIMEDOUT;
	// The NVM auto-read loads the MAC address; QEMU's model has it done at once.
	e1000e_wait(hw, E1000E_EECD, E1000E_EECD_AUTO_RD, E1000E_EECD_AUTO_RD, 10);
	e1000e_wr(hw, E1000E_IMC, 0xffffffff);
	(void)e1000e_rd(hw, E1000E_ICR);
	return 0;
}

static void e1000e_mac_write(struct e1000e_priv *hw, const uint8_t m[6])
{
	e1000e_wr(hw, E1000E_RAL0,
		(uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24);
	e1000e_wr(hw, E1000E_RAH0, (uint32_t)m[4] | (uint32_t)m[5] << 8 | E1000E_RAH_AV);
}

// Bytes the NIC may write into one buffer: 2048 (BSIZE 00), or 8192 with jumbo buffers.
static unsigned e1000e_buf_len(const struct port *port)
{
	return pkt_pool_data_room(port->pool) >= 8192 ? 8192 : 2048;
}

static int e1000e_init(struct pci_port *pp, struct err *err)
{
	struct port *port = pp->port;
	struct e1000e_priv *hw;
	uint32_t ral, rah;
	int ret;

	if ((ret = pci_bar_map(pp->dev, 0, err)) < 0)
		return ret;
	if (pp->dev->bar[0].size < E1000E_BAR_MIN)
		return err_set(err, -ENODEV, "pci", "%s: BAR0 is %zu bytes, too small for an 82574",
			pp->addr, pp->dev->bar[0].size);
	if ((hw = aligned_alloc(CACHE_LINE_SIZE, sizeof(*hw))) == NULL)
		return err_set(err, -ENOMEM, "", "%s: out of memory", pp->addr);
	memset(hw, 0, sizeof(*hw));
	hw->bar = pp->dev->bar[0].va;
	pp->pmd_priv = hw;
	if ((ret = e1000e_reset(hw, port->name)) < 0)
		return err_set(err, ret, "pci",
			"%s: the 82574 did not come out of reset (CTRL.RST)", pp->addr);
	// Link: auto speed detection and "set link up"; the PHY negotiates.
	e1000e_wr(hw, E1000E_CTRL,
		(e1000e_rd(hw, E1000E_CTRL) | E1000E_CTRL_SLU | E1000E_CTRL_ASDE) &
			~(E1000E_CTRL_FRCSPD | E1000E_CTRL_FRCDPX | E1000E_CTRL_PHY_RST |
				E1000E_CTRL_VME));
	if ((ret = pci_set_master(pp->dev, true)) < 0)
		return err_set(err, ret, "pci", "%s: cannot enable bus mastering: %s", pp->addr,
			strerror(-ret));
	ral = e1000e_rd(hw, E1000E_RAL0);
	rah = e1000e_rd(hw, E1000E_RAH0);
	if (!pp->mac_given) {
		if (!(rah & E1000E_RAH_AV) || (ral == 0 && (rah & 0xffff) == 0))
			return err_set(err, -ENODATA, "mac",
				"%s: the NIC has no MAC address in its NVM; give one with mac=",
				pp->addr);
		for (int i = 0; i < 4; i++)
			port->mac[i] = (uint8_t)(ral >> (8 * i));
		port->mac[4] = (uint8_t)rah;
		port->mac[5] = (uint8_t)(rah >> 8);
	}
	e1000e_mac_write(hw, port->mac);
	e1000e_counters_update(hw); // clear what the registers counted before us
	memset(hw->hw, 0, sizeof(hw->hw));
	pp->max_rxq = E1000E_MAX_QUEUES;
	pp->max_txq = E1000E_MAX_QUEUES;
	pp->max_mtu = e1000e_buf_len(port) - 18;
	return 0;
}

// RSS over both rx queues: the hash of IPv4/IPv6 (and TCP ports) selects the queue through
// the redirection table; half the entries point to each queue.
static void e1000e_rss_setup(struct e1000e_priv *hw)
{
	// The well-known default Toeplitz key (Microsoft RSS specification).
	static const uint8_t key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
		0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
		0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac,
		0x01, 0xfa};

	for (unsigned i = 0; i < 10; i++)
		e1000e_wr(hw, E1000E_RSSRK(i),
			(uint32_t)key[4 * i] | (uint32_t)key[4 * i + 1] << 8 |
				(uint32_t)key[4 * i + 2] << 16 | (uint32_t)key[4 * i + 3] << 24);
	// Bit 7 of each 8-bit entry is the queue: entries alternate 0, 1.
	for (unsigned i = 0; i < 32; i++)
		e1000e_wr(hw, E1000E_RETA(i), 0x80008000);
	e1000e_wr(hw, E1000E_MRQC,
		E1000E_MRQC_RSS | E1000E_MRQC_TCPIPV4 | E1000E_MRQC_IPV4 | E1000E_MRQC_TCPIPV6 |
			E1000E_MRQC_IPV6);
}

static uint32_t e1000e_rctl(const struct pci_port *pp, unsigned buf_len)
{
	uint32_t rctl = E1000E_RCTL_EN | E1000E_RCTL_BAM | E1000E_RCTL_SECRC;

	if (pp->promisc)
		rctl |= E1000E_RCTL_UPE | E1000E_RCTL_MPE;
	if (pp->port->mtu > 1500)
		rctl |= E1000E_RCTL_LPE;
	if (buf_len == 8192)
		rctl |= E1000E_RCTL_BSEX | E1000E_RCTL_BSIZE_8192;
	return rctl;
}

static void e1000e_stop(struct pci_port *pp)
{
	struct e1000e_priv *hw = pp->pmd_priv;

	if (hw == NULL)
		return;
	if (hw->bar != NULL) {
		e1000e_wr(hw, E1000E_RCTL, 0);
		e1000e_wr(hw, E1000E_TCTL, 0);
		(void)e1000e_rd(hw, E1000E_STATUS); // flush the posted writes
		// A frame being written when RCTL.EN dropped completes within microseconds.
		usleep(2000);
		for (unsigned q = 0; q < E1000E_MAX_QUEUES; q++) {
			e1000e_wr(hw, E1000E_RDLEN(q), 0);
			e1000e_wr(hw, E1000E_TDLEN(q), 0);
		}
	}
	for (unsigned q = 0; q < E1000E_MAX_QUEUES; q++) {
		intel_rxq_release(&hw->rxq[q]);
		intel_txq_release(&hw->txq[q]);
		pp->port->rxq[q] = NULL;
		pp->port->txq[q] = NULL;
	}
	pci_dma_zone_destroy(&hw->zone);
}

static int e1000e_start(struct pci_port *pp, struct err *err)
{
	struct e1000e_priv *hw = pp->pmd_priv;
	struct port *port = pp->port;
	unsigned buf_len = e1000e_buf_len(port);
	size_t off = 0, roff[E1000E_MAX_QUEUES], toff[E1000E_MAX_QUEUES];
	char name[PORT_NAME_MAX + 8];
	int ret;

	if (hw == NULL || hw->bar == NULL)
		return err_set(err, -ENODEV, "pci", "%s: device released", pp->addr);
	hw->n_rxq = pp->n_rxq;
	hw->n_txq = pp->n_txq;
	for (unsigned q = 0; q < hw->n_rxq; q++)
		roff[q] = pci_dma_place(&off, pp->rxd * sizeof(union intel_rx_desc), 4096);
	for (unsigned q = 0; q < hw->n_txq; q++)
		toff[q] = pci_dma_place(&off, pp->txd * sizeof(struct intel_tx_desc), 4096);
	snprintf(name, sizeof(name), "rings-%s", port->name);
	if ((ret = pci_dma_zone_create(&hw->zone, name, off, port->numa_node, err)) < 0)
		return ret;

	e1000e_wr(hw, E1000E_RCTL, 0);
	e1000e_wr(hw, E1000E_TCTL, 0);
	e1000e_wr(hw, E1000E_IMC, 0xffffffff);
	for (unsigned q = 0; q < hw->n_rxq; q++) {
		struct intel_rxq *rxq = &hw->rxq[q];
		uint64_t iova = pci_dma_iova(&hw->zone, roff[q]);

		memset(rxq, 0, sizeof(*rxq));
		e1000e_wr(hw, E1000E_RDBAL(q), (uint32_t)iova);
		e1000e_wr(hw, E1000E_RDBAH(q), (uint32_t)(iova >> 32));
		e1000e_wr(hw, E1000E_RDLEN(q), pp->rxd * (uint32_t)sizeof(union intel_rx_desc));
		e1000e_wr(hw, E1000E_RDH(q), 0);
		e1000e_wr(hw, E1000E_RDT(q), 0);
		rxq->fp.burst = intel_rx_burst;
		rxq->port_id = port->id;
		rxq->qid = (uint16_t)q;
		rxq->err_mask = E1000E_RXD_ERR_FRAME;
		rxq->hash = hw->n_rxq > 1;
		ret = intel_rxq_setup(rxq, (volatile void *)(hw->zone.va + roff[q]),
			(uint16_t)pp->rxd, port->pool,
			(volatile uint32_t *)(hw->bar + E1000E_RDT(q)));
		if (ret < 0) {
			err_set(err, ret, "rxd", "port %s: rx queue %u: %s%s", port->name, q,
				strerror(-ret),
				ret == -ENOBUFS ? " (not enough packet buffers for the rx rings: "
						  "lower rxd or raise memory.packet-buffers)"
						: "");
			goto fail;
		}
		rxq->buf_len = MIN(rxq->buf_len, buf_len);
		port->rxq[q] = rxq;
	}
	for (unsigned q = 0; q < hw->n_txq; q++) {
		struct intel_txq *txq = &hw->txq[q];
		uint64_t iova = pci_dma_iova(&hw->zone, toff[q]);

		memset(txq, 0, sizeof(*txq));
		e1000e_wr(hw, E1000E_TDBAL(q), (uint32_t)iova);
		e1000e_wr(hw, E1000E_TDBAH(q), (uint32_t)(iova >> 32));
		e1000e_wr(hw, E1000E_TDLEN(q), pp->txd * (uint32_t)sizeof(struct intel_tx_desc));
		e1000e_wr(hw, E1000E_TDH(q), 0);
		e1000e_wr(hw, E1000E_TDT(q), 0);
		txq->fp.burst = intel_tx_burst;
		txq->cmd = E1000E_TXD_CMD_EOP | E1000E_TXD_CMD_IFCS;
		txq->cmd_rs = E1000E_TXD_CMD_RS;
		txq->data_cap = buf_len;
		atomic_store_explicit(&txq->max_len, port->mtu + 14, memory_order_relaxed);
		if ((ret = intel_txq_setup(txq, (volatile void *)(hw->zone.va + toff[q]),
			     (uint16_t)pp->txd, (volatile uint32_t *)(hw->bar + E1000E_TDT(q)))) <
			0) {
			err_set(err, ret, "txd", "port %s: tx queue %u: %s", port->name, q,
				strerror(-ret));
			goto fail;
		}
		port->txq[q] = txq;
	}
	e1000e_wr(hw, E1000E_RFCTL, e1000e_rd(hw, E1000E_RFCTL) | E1000E_RFCTL_EXSTEN);
	e1000e_wr(hw, E1000E_RXCSUM, E1000E_RXCSUM_PCSD);
	if (hw->n_rxq > 1)
		e1000e_rss_setup(hw);
	else
		e1000e_wr(hw, E1000E_MRQC, 0);
	for (unsigned i = 0; i < 128; i++)
		e1000e_wr(hw, E1000E_MTA(i), 0);
	e1000e_mac_write(hw, port->mac);
	hw->rctl = e1000e_rctl(pp, buf_len);
	e1000e_wr(hw, E1000E_RCTL, hw->rctl);
	// Buffers are handed over last: the NIC receives from the moment RDT moves.
	for (unsigned q = 0; q < hw->n_rxq; q++)
		e1000e_wr(hw, E1000E_RDT(q), hw->rxq[q].tail);
	// IEEE 802.3 inter-packet gap for copper: IPGT 8, IPGR1 8, IPGR2 6.
	e1000e_wr(hw, E1000E_TIPG, 8 | 8u << 10 | 6u << 20);
	e1000e_wr(hw, E1000E_TCTL,
		E1000E_TCTL_EN | E1000E_TCTL_PSP | E1000E_TCTL_CT(0x0fu) | E1000E_TCTL_COLD(0x3fu) |
			E1000E_TCTL_RTLC | (hw->n_txq > 1 ? E1000E_TCTL_MULR : 0));
	LOG_OBJ(INFO, port->name, "%s: %u rxq x %u, %u txq x %u descriptors%s, link %s", pp->addr,
		hw->n_rxq, pp->rxd, hw->n_txq, pp->txd, hw->n_rxq > 1 ? ", RSS" : "",
		(e1000e_rd(hw, E1000E_STATUS) & E1000E_STATUS_LU) ? "up" : "down");
	return 0;
fail:
	e1000e_stop(pp);
	return ret;
}

static void e1000e_detach(struct pci_port *pp)
{
	struct e1000e_priv *hw = pp->pmd_priv;

	if (hw == NULL)
		return;
	e1000e_stop(pp);
	if (hw->bar != NULL) {
		e1000e_counters_update(hw);
		e1000e_reset(hw, pp->port->name);
		if (pp->dev != NULL)
			pci_set_master(pp->dev, false);
	}
	hw->bar = NULL;
}

static void e1000e_fini(struct pci_port *pp)
{
	e1000e_detach(pp);
	free(pp->pmd_priv);
	pp->pmd_priv = NULL;
}

static int e1000e_stats_get(struct pci_port *pp, struct port_stats *st)
{
	struct e1000e_priv *hw = pp->pmd_priv;

	for (unsigned q = 0; q < hw->n_rxq; q++)
		intel_rxq_stats(&hw->rxq[q], q, st);
	for (unsigned q = 0; q < hw->n_txq; q++)
		intel_txq_stats(&hw->txq[q], q, st);
	e1000e_counters_update(hw);
	// Frames the NIC dropped for lack of posted buffers, and bad frames it never handed up.
	st->rx_drop_nobuf += hw->hw[E1000E_C_rx_missed];
	st->rx_errors += hw->hw[E1000E_C_rx_crc_errors] + hw->hw[E1000E_C_rx_align_errors] +
		hw->hw[E1000E_C_rx_symbol_errors] + hw->hw[E1000E_C_rx_length_errors] +
		hw->hw[E1000E_C_rx_undersize] + hw->hw[E1000E_C_rx_oversize];
	st->n_rxq = hw->n_rxq;
	st->n_txq = hw->n_txq;
	return 0;
}

static bool e1000e_link_get(struct pci_port *pp)
{
	struct e1000e_priv *hw = pp->pmd_priv;

	return hw != NULL && hw->bar != NULL && (e1000e_rd(hw, E1000E_STATUS) & E1000E_STATUS_LU);
}

static int e1000e_mtu_set(struct pci_port *pp, unsigned mtu, struct err *err)
{
	struct e1000e_priv *hw = pp->pmd_priv;

	pp->port->mtu = mtu;
	if (hw->bar != NULL && (e1000e_rd(hw, E1000E_RCTL) & E1000E_RCTL_EN)) {
		hw->rctl = e1000e_rctl(pp, e1000e_buf_len(pp->port));
		e1000e_wr(hw, E1000E_RCTL, hw->rctl);
	}
	for (unsigned q = 0; q < E1000E_MAX_QUEUES; q++)
		atomic_store_explicit(&hw->txq[q].max_len, mtu + 14, memory_order_relaxed);
	return 0;
}

static int e1000e_promisc_set(struct pci_port *pp, bool on, struct err *err)
{
	struct e1000e_priv *hw = pp->pmd_priv;

	pp->promisc = on;
	if (hw->bar != NULL && (e1000e_rd(hw, E1000E_RCTL) & E1000E_RCTL_EN)) {
		hw->rctl = e1000e_rctl(pp, e1000e_buf_len(pp->port));
		e1000e_wr(hw, E1000E_RCTL, hw->rctl);
	}
	return 0;
}

static int e1000e_mac_set(struct pci_port *pp, const uint8_t mac[6], struct err *err)
{
	struct e1000e_priv *hw = pp->pmd_priv;

	if (hw->bar == NULL)
		return err_set(err, -ENODEV, "mac", "%s: device released", pp->addr);
	memcpy(pp->port->mac, mac, 6);
	e1000e_mac_write(hw, mac);
	return 0;
}

static void e1000e_status(struct pci_port *pp, port_status_emit_fn emit, void *ctx)
{
	static const char *const names[] = {
#define E1000E_NAME(name, reg) "hw_" #name,
		E1000E_COUNTERS(E1000E_NAME)
#undef E1000E_NAME
			"hw_rx_bytes",
		"hw_tx_bytes",
	};
	static const unsigned speeds[] = {10, 100, 1000, 1000};
	struct e1000e_priv *hw = pp->pmd_priv;
	char buf[32];

	STATIC_ASSERT(ARRAY_SIZE(names) == E1000E_N_COUNTERS, "one name per counter");
	if (hw->bar != NULL) {
		uint32_t st = e1000e_rd(hw, E1000E_STATUS);

		if (st & E1000E_STATUS_LU) {
			snprintf(buf, sizeof(buf), "%u Mb/s %s",
				speeds[(st >> E1000E_STATUS_SPEED_SHIFT) & 3],
				(st & E1000E_STATUS_FD) ? "full duplex" : "half duplex");
			emit(ctx, "speed", buf);
		}
		e1000e_counters_update(hw);
	}
	emit(ctx, "rss", hw->n_rxq > 1 ? "on (2 queues)" : "off");
	for (unsigned i = 0; i < E1000E_N_COUNTERS; i++) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)hw->hw[i]);
		emit(ctx, names[i], buf);
	}
}

static void e1000e_periodic(struct pci_port *pp)
{
	e1000e_counters_update(pp->pmd_priv);
}

static const uint16_t e1000e_ids[][2] = {
	{0x8086, 0x10d3}, // 82574L
	{0x8086, 0x10f6}, // 82574LA
	{0, 0},
};

const struct pci_pmd e1000e_pmd = {
	.name = "e1000e",
	.ids = e1000e_ids,
	.init = e1000e_init,
	.start = e1000e_start,
	.stop = e1000e_stop,
	.detach = e1000e_detach,
	.fini = e1000e_fini,
	.stats_get = e1000e_stats_get,
	.link_get = e1000e_link_get,
	.mtu_set = e1000e_mtu_set,
	.promisc_set = e1000e_promisc_set,
	.mac_set = e1000e_mac_set,
	.status = e1000e_status,
	.periodic = e1000e_periodic,
};
