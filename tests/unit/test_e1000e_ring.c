// SPDX-License-Identifier: Apache-2.0
// e1000e PMD and the shared Intel descriptor rings on memory-backed fake BARs: the test plays
// the NIC (reads tail registers, writes back descriptors with DD), checks rx hand-up, refill and
// RDT moves, drops of bad write-backs, tx descriptors, RS blocks and cleaning, full rings, and
// the 82574 reset/init/start/stop sequence against a fake register file.
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "drivers/e1000e/e1000e_regs.h"
#include "drivers/intel/intel_ring.h"

#define RING 64

static struct mempool *pool;
static union intel_rx_desc *rxring;
static struct intel_tx_desc *txring;
static uint32_t tail_reg;

static void setup(void)
{
	pool = pkt_pool_create("test_e1000e", 512, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
	rxring = aligned_alloc(4096, 4096 * 4);
	txring = aligned_alloc(4096, 4096 * 4);
	ck_assert_ptr_nonnull(rxring);
	ck_assert_ptr_nonnull(txring);
	memset(rxring, 0xaa, 4096 * 4);
	memset(txring, 0xaa, 4096 * 4);
	tail_reg = 0;
}

static void teardown(void)
{
	free(rxring);
	free(txring);
	ck_assert_uint_eq(mempool_destroy(pool), 0);
}

// The NIC writes back slot i: a frame of len bytes.
static void nic_rx(unsigned i, uint16_t len, uint32_t status_error)
{
	uint8_t *data = (uint8_t *)(uintptr_t)rxring[i].read.addr; // IOVA = VA here

	memset(data, 0x11, MIN(len, (uint16_t)PKT_DATA_ROOM_DEFAULT));
	rxring[i].wb.info = 0;
	rxring[i].wb.rss = 0;
	rxring[i].wb.length = len;
	rxring[i].wb.vlan = 0;
	rxring[i].wb.status_error = status_error;
}

static void rxq_init(struct intel_rxq *q)
{
	memset(q, 0, sizeof(*q));
	q->fp.burst = intel_rx_burst;
	q->port_id = 7;
	q->qid = 1;
	q->err_mask = E1000E_RXD_ERR_FRAME;
	ck_assert_int_eq(intel_rxq_setup(q, rxring, RING, pool, &tail_reg), 0);
}

START_TEST(test_rx_setup)
{
	struct intel_rxq q;

	rxq_init(&q);
	ck_assert_uint_eq(q.tail, RING - 1);
	ck_assert_uint_eq(q.empty, 1);
	ck_assert_uint_eq(mempool_in_use(pool), RING - 1);
	for (unsigned i = 0; i < RING - 1; i++) {
		ck_assert_ptr_nonnull(q.sw[i]);
		ck_assert_uint_eq(rxring[i].read.addr, pkt_data_iova(q.sw[i]));
		ck_assert_uint_eq(rxring[i].read.hdr_addr, 0); // DD clear
	}
	ck_assert_ptr_null(q.sw[RING - 1]);
	ck_assert_int_eq(intel_rxq_setup(&q, rxring, 48, pool, &tail_reg), -EINVAL);
	intel_rxq_release(&q);
	intel_rxq_release(&q); // idempotent
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_rx_burst_and_refill)
{
	struct pkt *pkts[PKT_BURST];
	struct port_stats st = {0};
	struct intel_rxq q;
	uint16_t n;

	rxq_init(&q);
	ck_assert_uint_eq(intel_rx_burst(&q, pkts, PKT_BURST), 0); // nothing written back
	for (unsigned i = 0; i < 10; i++)
		nic_rx(i, (uint16_t)(60 + i), INTEL_RXD_STAT_DD | INTEL_RXD_STAT_EOP);
	n = intel_rx_burst(&q, pkts, PKT_BURST);
	ck_assert_uint_eq(n, 10);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_uint_eq(pkts[i]->len, 60 + i);
		ck_assert_uint_eq(pkts[i]->in_port, 7);
		ck_assert_uint_eq(pkts[i]->rxq, 1);
		ck_assert_uint_eq(pkt_data(pkts[i])[0], 0x11);
	}
	// 11 empty slots, below the refill threshold (16): RDT not moved yet.
	ck_assert_uint_eq(q.empty, 11);
	ck_assert_uint_eq(tail_reg, 0);
	pkt_free_bulk(pkts, n);
	for (unsigned i = 10; i < 20; i++)
		nic_rx(i, 100, INTEL_RXD_STAT_DD | INTEL_RXD_STAT_EOP);
	// A burst smaller than what is ready takes only n.
	ck_assert_uint_eq(intel_rx_burst(&q, pkts, 4), 4);
	pkt_free_bulk(pkts, 4);
	ck_assert_uint_eq(intel_rx_burst(&q, pkts, PKT_BURST), 6);
	pkt_free_bulk(pkts, 6);
	// 21 empty > 16: refilled in bulk, one RDT write, one slot left empty.
	ck_assert_uint_eq(q.empty, 1);
	ck_assert_uint_eq(tail_reg, 19);
	ck_assert_uint_eq(q.tail, 19);
	for (unsigned i = 0; i < 19; i++) {
		ck_assert_ptr_nonnull(q.sw[(RING - 1 + i) % RING]);
		ck_assert_uint_eq(rxring[(RING - 1 + i) % RING].read.hdr_addr, 0);
	}
	ck_assert_uint_eq(mempool_in_use(pool), RING - 1);
	intel_rxq_stats(&q, 1, &st);
	ck_assert_uint_eq(st.rx_packets, 20);
	ck_assert_uint_eq(st.rxq[1].packets, 20);
	ck_assert_uint_eq(st.rx_bytes, 10 * 60 + 45 + 10 * 100);
	intel_rxq_release(&q);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_rx_bad_writebacks)
{
	struct pkt *pkts[PKT_BURST];
	struct port_stats st = {0};
	struct intel_rxq q;

	rxq_init(&q);
	nic_rx(0, 60, INTEL_RXD_STAT_DD | INTEL_RXD_STAT_EOP | 0x01000000); // CRC error
	nic_rx(1, 10, INTEL_RXD_STAT_DD | INTEL_RXD_STAT_EOP); // runt
	nic_rx(2, 3000, INTEL_RXD_STAT_DD | INTEL_RXD_STAT_EOP); // longer than the buffer
	nic_rx(3, 2048, INTEL_RXD_STAT_DD); // first half of a long frame
	nic_rx(4, 500, INTEL_RXD_STAT_DD | INTEL_RXD_STAT_EOP); // its end: dropped too
	nic_rx(5, 64, INTEL_RXD_STAT_DD | INTEL_RXD_STAT_EOP); // fine
	ck_assert_uint_eq(intel_rx_burst(&q, pkts, PKT_BURST), 1);
	ck_assert_uint_eq(pkts[0]->len, 64);
	pkt_free(pkts[0]);
	intel_rxq_stats(&q, 0, &st);
	ck_assert_uint_eq(st.rx_drop_invalid, 5);
	ck_assert_uint_eq(st.rx_packets, 1);
	// The dropped buffers went back to the pool (none leaked).
	ck_assert_uint_eq(mempool_in_use(pool), RING - 1 - 6);
	intel_rxq_release(&q);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_rx_wrap_and_nobuf)
{
	struct pkt *pkts[PKT_BURST], *hold[512];
	struct port_stats st = {0};
	struct intel_rxq q;
	unsigned slot = 0, got = 0, held = 0;

	rxq_init(&q);
	// 10 laps of the ring: the NIC writes back what RDT gave it, we receive and free.
	for (unsigned round = 0; round < 40; round++) {
		uint32_t posted = (tail_reg - slot + RING) % RING;

		if (round == 0)
			posted = RING - 1;
		for (unsigned k = 0; k < MIN(posted, 16u); k++) {
			nic_rx(slot, 64, INTEL_RXD_STAT_DD | INTEL_RXD_STAT_EOP);
			slot = (slot + 1) % RING;
		}
		uint16_t n = intel_rx_burst(&q, pkts, PKT_BURST);
		got += n;
		pkt_free_bulk(pkts, n);
	}
	ck_assert_uint_ge(got, 400);
	ck_assert_uint_eq(mempool_in_use(pool), RING - 1 - (q.empty - 1));
	// Exhaust the pool: refills fail and are counted, the ring drains, then recovers.
	while (held < 512 && (hold[held] = pkt_alloc(pool)) != NULL)
		held++;
	for (unsigned k = 0; k < 40; k++) {
		if (q.sw[slot] == NULL)
			break;
		nic_rx(slot, 64, INTEL_RXD_STAT_DD | INTEL_RXD_STAT_EOP);
		slot = (slot + 1) % RING;
	}
	uint16_t n = intel_rx_burst(&q, pkts, PKT_BURST);
	ck_assert_uint_gt(n, 0);
	pkt_free_bulk(pkts, n);
	intel_rxq_stats(&q, 0, &st);
	ck_assert_uint_gt(st.rx_drop_nobuf, 0);
	pkt_free_bulk(hold, held);
	// The ring may still hold written-back frames: drain them; the refill then succeeds.
	while ((n = intel_rx_burst(&q, pkts, PKT_BURST)) > 0)
		pkt_free_bulk(pkts, n);
	ck_assert_uint_eq(q.empty, 1);
	intel_rxq_release(&q);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

static void txq_init(struct intel_txq *q, unsigned n)
{
	memset(q, 0, sizeof(*q));
	q->fp.burst = intel_tx_burst;
	q->cmd = E1000E_TXD_CMD_EOP | E1000E_TXD_CMD_IFCS;
	q->cmd_rs = E1000E_TXD_CMD_RS;
	q->data_cap = PKT_DATA_ROOM_DEFAULT;
	atomic_store(&q->max_len, 1514);
	ck_assert_int_eq(intel_txq_setup(q, txring, (uint16_t)n, &tail_reg), 0);
}

static unsigned mk_pkts(struct pkt **pkts, unsigned n, unsigned len)
{
	ck_assert_int_eq(pkt_alloc_bulk(pool, pkts, n), 0);
	for (unsigned i = 0; i < n; i++) {
		pkts[i]->len = len;
		memset(pkt_data(pkts[i]), 0, 14);
	}
	return n;
}

START_TEST(test_tx_descriptors)
{
	struct pkt *pkts[PKT_BURST];
	struct port_stats st = {0};
	struct intel_txq q;

	txq_init(&q, 128);
	mk_pkts(pkts, 10, 100);
	ck_assert_uint_eq(intel_tx_burst(&q, pkts, 10), 10);
	ck_assert_uint_eq(tail_reg, 10); // one doorbell for the burst
	for (unsigned i = 0; i < 10; i++) {
		ck_assert_uint_eq(txring[i].addr, pkt_data_iova(q.sw[i]));
		ck_assert_uint_eq(txring[i].lower & 0xffff, 100);
		ck_assert_uint_eq(
			txring[i].lower & ~0xffffu, E1000E_TXD_CMD_EOP | E1000E_TXD_CMD_IFCS);
		ck_assert_uint_eq(txring[i].upper, 0);
	}
	mk_pkts(pkts, 30, 60);
	ck_assert_uint_eq(intel_tx_burst(&q, pkts, 30), 30);
	// RS only on the last slot of each 32-descriptor block.
	ck_assert(txring[31].lower & E1000E_TXD_CMD_RS);
	ck_assert(!(txring[30].lower & E1000E_TXD_CMD_RS));
	ck_assert(!(txring[32].lower & E1000E_TXD_CMD_RS));
	ck_assert_uint_eq(tail_reg, 40);
	intel_txq_stats(&q, 0, &st);
	ck_assert_uint_eq(st.tx_packets, 40);
	ck_assert_uint_eq(st.tx_bytes, 10 * 100 + 30 * 60);
	ck_assert_uint_eq(mempool_in_use(pool), 40); // held until cleaned
	intel_txq_release(&q);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_tx_clean_and_full)
{
	struct pkt *pkts[PKT_BURST];
	struct port_stats st = {0};
	struct intel_txq q;
	unsigned sent = 0;

	txq_init(&q, 64);
	// 63 usable slots; nothing completes: the 64th packet is dropped as "queue full".
	for (unsigned b = 0; b < 2; b++) {
		mk_pkts(pkts, 32, 64);
		sent += intel_tx_burst(&q, pkts, 32);
	}
	ck_assert_uint_eq(sent, 63);
	intel_txq_stats(&q, 0, &st);
	ck_assert_uint_eq(st.tx_drop_full, 1);
	ck_assert_uint_eq(mempool_in_use(pool), 63);
	// The NIC completes the first block (DD in its RS descriptor): the next burst frees it.
	txring[31].upper |= INTEL_TXD_STAT_DD;
	mk_pkts(pkts, 8, 64);
	ck_assert_uint_eq(intel_tx_burst(&q, pkts, 8), 8);
	ck_assert_uint_eq(q.clean, 32);
	ck_assert_uint_eq(mempool_in_use(pool), 63 - 32 + 8);
	ck_assert_uint_eq(tail_reg, (63 + 8) % 64);
	intel_txq_release(&q);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_tx_bad_frames)
{
	struct pkt *pkts[3];
	struct port_stats st = {0};
	struct intel_txq q;

	txq_init(&q, 64);
	mk_pkts(pkts, 3, 64);
	pkts[0]->len = 1600; // above MTU and untagged
	pkts[1]->len = 10; // runt
	ck_assert_uint_eq(intel_tx_burst(&q, pkts, 3), 1);
	intel_txq_stats(&q, 0, &st);
	ck_assert_uint_eq(st.tx_drop_mtu, 1);
	ck_assert_uint_eq(st.tx_errors, 1);
	ck_assert_uint_eq(mempool_in_use(pool), 1);
	ck_assert_int_eq(intel_txq_setup(&q, txring, 32, &tail_reg), -EINVAL);
	intel_txq_release(&q);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

// ---- the 82574 setup sequence on a fake register file ----

static uint8_t *fake_bar;
static _Atomic bool nic_run;

static uint32_t reg(uint32_t off)
{
	return __atomic_load_n((uint32_t *)(fake_bar + off), __ATOMIC_ACQUIRE);
}

// The fake NIC completes resets (CTRL.RST self-clears) like the real one.
static void *nic_thread(void *arg)
{
	while (atomic_load(&nic_run)) {
		uint32_t *ctrl = (uint32_t *)(fake_bar + E1000E_CTRL);
		uint32_t v = __atomic_load_n(ctrl, __ATOMIC_ACQUIRE);

		if (v & E1000E_CTRL_RST)
			__atomic_store_n(ctrl, v & ~E1000E_CTRL_RST, __ATOMIC_RELEASE);
		usleep(200);
	}
	return NULL;
}

static int fake_cfg_read(struct pci_dev *dev, unsigned off, void *buf, size_t len)
{
	memcpy(buf, (uint8_t *)dev->backend + off, len);
	return 0;
}

static int fake_cfg_write(struct pci_dev *dev, unsigned off, const void *buf, size_t len)
{
	memcpy((uint8_t *)dev->backend + off, buf, len);
	return 0;
}

static int fake_bar_map(struct pci_dev *dev, unsigned i, struct err *err)
{
	dev->bar[i].va = fake_bar;
	dev->bar[i].size = 0x20000;
	return 0;
}

static const struct pci_dev_ops fake_ops = {
	.cfg_read = fake_cfg_read,
	.cfg_write = fake_cfg_write,
	.bar_map = fake_bar_map,
};

START_TEST(test_e1000e_setup)
{
	static uint8_t cfg[256];
	struct pci_dev dev = {.addr = "0000:00:04.0",
		.access = PCI_ACCESS_TEST,
		.ops = &fake_ops,
		.backend = cfg,
		.req_fd = -1};
	struct port port = {.name = "nic0", .id = 3, .pool = pool, .mtu = 1500, .numa_node = -1};
	struct pci_port pp = {.port = &port,
		.dev = &dev,
		.pmd = &e1000e_pmd,
		.n_rxq = 2,
		.n_txq = 2,
		.rxd = 256,
		.txd = 128,
		.promisc = true,
		.addr = "0000:00:04.0"};
	struct port_stats st = {0};
	struct err err = {0};
	pthread_t th;

	fake_bar = aligned_alloc(4096, 0x20000);
	memset(fake_bar, 0, 0x20000);
	// The NVM loaded MAC 52:54:00:12:34:56 into RAL0/RAH0 (address valid).
	*(uint32_t *)(fake_bar + E1000E_RAL0) = 0x12005452;
	*(uint32_t *)(fake_bar + E1000E_RAH0) = 0x5634 | E1000E_RAH_AV;
	*(uint32_t *)(fake_bar + E1000E_STATUS) = E1000E_STATUS_LU | E1000E_STATUS_FD | 2u << 6;
	*(uint32_t *)(fake_bar + E1000E_GPRC) = 1234; // counted before us: cleared by init
	atomic_store(&nic_run, true);
	ck_assert_int_eq(pthread_create(&th, NULL, nic_thread, NULL), 0);

	ck_assert_int_eq(e1000e_pmd.init(&pp, &err), 0);
	ck_assert_uint_eq(port.mac[0], 0x52);
	ck_assert_uint_eq(port.mac[5], 0x56);
	ck_assert_uint_eq(pp.max_rxq, 2);
	ck_assert_uint_eq(pp.max_mtu, 2048 - 18);
	ck_assert(reg(E1000E_CTRL) & E1000E_CTRL_SLU);
	ck_assert_uint_eq(reg(E1000E_IMC), 0xffffffff);
	ck_assert(cfg[PCI_CFG_COMMAND] & PCI_CMD_MASTER); // bus mastering for DMA
	ck_assert(e1000e_pmd.link_get(&pp));

	ck_assert_int_eq(e1000e_pmd.start(&pp, &err), 0);
	for (unsigned q = 0; q < 2; q++) {
		struct intel_rxq *rxq = port.rxq[q];
		struct intel_txq *txq = port.txq[q];
		uint64_t rdba = reg(E1000E_RDBAL(q)) | (uint64_t)reg(E1000E_RDBAH(q)) << 32;

		ck_assert_ptr_nonnull(rxq);
		ck_assert_ptr_nonnull(txq);
		ck_assert_uint_eq(rdba, mem_virt2iova((void *)rxq->ring));
		ck_assert_uint_eq(reg(E1000E_RDLEN(q)), 256 * 16);
		ck_assert_uint_eq(reg(E1000E_RDT(q)), 255); // all buffers but one posted
		ck_assert_uint_eq(reg(E1000E_TDLEN(q)), 128 * 16);
		ck_assert_uint_eq(reg(E1000E_TDT(q)), 0);
		ck_assert(rxq->hash);
		ck_assert_uint_eq(rxq->port_id, 3);
	}
	ck_assert_uint_eq(reg(E1000E_RCTL),
		E1000E_RCTL_EN | E1000E_RCTL_BAM | E1000E_RCTL_SECRC | E1000E_RCTL_UPE |
			E1000E_RCTL_MPE);
	ck_assert(reg(E1000E_TCTL) & E1000E_TCTL_EN);
	ck_assert(reg(E1000E_TCTL) & E1000E_TCTL_MULR);
	ck_assert(reg(E1000E_RFCTL) & E1000E_RFCTL_EXSTEN); // extended descriptors
	ck_assert_uint_eq(reg(E1000E_MRQC) & 3, E1000E_MRQC_RSS);
	ck_assert_uint_eq(reg(E1000E_RXCSUM), E1000E_RXCSUM_PCSD);
	ck_assert_uint_eq(reg(E1000E_RETA(5)), 0x80008000); // queues alternate
	ck_assert_uint_eq(mempool_in_use(pool), 2 * 255);

	// Promiscuous off at run time, MTU up: RCTL follows.
	ck_assert_int_eq(e1000e_pmd.promisc_set(&pp, false, &err), 0);
	ck_assert(!(reg(E1000E_RCTL) & E1000E_RCTL_UPE));
	ck_assert_int_eq(e1000e_pmd.mtu_set(&pp, 2000, &err), 0);
	ck_assert(reg(E1000E_RCTL) & E1000E_RCTL_LPE);

	// Hardware counters accumulate across clear-on-read reads.
	*(uint32_t *)(fake_bar + E1000E_MPC) = 5;
	e1000e_pmd.periodic(&pp);
	*(uint32_t *)(fake_bar + E1000E_MPC) = 2;
	ck_assert_int_eq(e1000e_pmd.stats_get(&pp, &st), 0);
	ck_assert_uint_eq(st.rx_drop_nobuf, 7);
	ck_assert_uint_eq(st.n_rxq, 2);

	e1000e_pmd.stop(&pp);
	ck_assert_uint_eq(reg(E1000E_RCTL) & E1000E_RCTL_EN, 0);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
	ck_assert_ptr_null(port.rxq[0]);
	// Restart after stop, then tear down.
	ck_assert_int_eq(e1000e_pmd.start(&pp, &err), 0);
	e1000e_pmd.fini(&pp);
	ck_assert_ptr_null(pp.pmd_priv);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
	ck_assert(!(cfg[PCI_CFG_COMMAND] & PCI_CMD_MASTER));
	atomic_store(&nic_run, false);
	pthread_join(th, NULL);
	free(fake_bar);
}
END_TEST

START_TEST(test_e1000e_no_mac)
{
	static uint8_t cfg[256];
	struct pci_dev dev = {.addr = "0000:00:04.0",
		.access = PCI_ACCESS_TEST,
		.ops = &fake_ops,
		.backend = cfg,
		.req_fd = -1};
	struct port port = {.name = "nic0", .pool = pool, .mtu = 1500};
	struct pci_port pp = {.port = &port,
		.dev = &dev,
		.pmd = &e1000e_pmd,
		.n_rxq = 1,
		.n_txq = 1,
		.rxd = 64,
		.txd = 64,
		.addr = "0000:00:04.0"};
	struct err err = {0};
	pthread_t th;

	fake_bar = aligned_alloc(4096, 0x20000);
	memset(fake_bar, 0, 0x20000); // RAH0.AV clear: no address in the NVM
	atomic_store(&nic_run, true);
	ck_assert_int_eq(pthread_create(&th, NULL, nic_thread, NULL), 0);
	ck_assert_int_eq(e1000e_pmd.init(&pp, &err), -ENODATA);
	ck_assert_str_eq(err.field, "mac");
	ck_assert_ptr_nonnull(strstr(err.msg, "give one with mac="));
	e1000e_pmd.fini(&pp);
	// With mac= the NIC is programmed with it.
	memset(&err, 0, sizeof(err));
	pp.mac_given = true;
	memcpy(port.mac, "\x02\x00\x00\x00\x00\x09", 6);
	ck_assert_int_eq(e1000e_pmd.init(&pp, &err), 0);
	ck_assert_uint_eq(reg(E1000E_RAH0), 0x0900 | E1000E_RAH_AV);
	e1000e_pmd.fini(&pp);
	atomic_store(&nic_run, false);
	pthread_join(th, NULL);
	free(fake_bar);
}
END_TEST

static Suite *e1000e_suite(void)
{
	Suite *s = suite_create("e1000e_ring");
	TCase *tc = tcase_create("rings");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rx_setup);
	tcase_add_test(tc, test_rx_burst_and_refill);
	tcase_add_test(tc, test_rx_bad_writebacks);
	tcase_add_test(tc, test_rx_wrap_and_nobuf);
	tcase_add_test(tc, test_tx_descriptors);
	tcase_add_test(tc, test_tx_clean_and_full);
	tcase_add_test(tc, test_tx_bad_frames);
	tcase_add_test(tc, test_e1000e_setup);
	tcase_add_test(tc, test_e1000e_no_mac);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(e1000e_suite());
	int failed;

	log_set_level(LOG_LVL_ERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
