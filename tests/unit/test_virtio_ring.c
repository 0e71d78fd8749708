// SPDX-License-Identifier: Apache-2.0
// virtio-net PMD on memory: the test plays the device on split virtqueues (reads the avail
// ring, writes used entries) and checks rx hand-up with the 12-byte header, bulk refill and
// doorbell suppression, mergeable buffers, bad used entries, tx descriptors and reclaim, full
// rings; then the virtio 1.x PCI transport (capabilities, common config, negotiation, queue
// setup, reset on stop) against a fake config space and BAR.
#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "drivers/virtio_net/virtio_ring.h"

#define QSIZE 64

static struct mempool *pool;
static void *desc, *avail, *used;
static uint16_t doorbell;
static uint16_t dev_avail; // next avail entry the fake device reads
static uint16_t dev_used; // next used entry it writes
static uint16_t dev_last_id; // id of the last tx buffer the device returned

static void setup(void)
{
	pool = pkt_pool_create("test_virtio", 512, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
	desc = aligned_alloc(4096, 4096 * 4);
	avail = aligned_alloc(4096, 4096);
	used = aligned_alloc(4096, 4096);
	doorbell = 0xffff;
	dev_avail = dev_used = 0;
}

static void teardown(void)
{
	free(desc);
	free(avail);
	free(used);
	ck_assert_uint_eq(mempool_destroy(pool), 0);
}

static struct virtq_avail *av(void)
{
	return avail;
}

static struct virtq_used *us(void)
{
	return used;
}

// The device takes the next posted rx buffer and returns it holding a header + frame of len
// bytes (len includes the header); returns its descriptor id.
static uint16_t dev_rx(uint32_t len, uint16_t num_buffers, uint8_t fill)
{
	uint16_t id = av()->ring[dev_avail++ % QSIZE];
	struct virtq_desc *d = (struct virtq_desc *)desc + id;
	uint8_t *buf = (uint8_t *)(uintptr_t)d->addr;

	ck_assert_uint_eq(d->flags, VIRTQ_DESC_F_WRITE);
	ck_assert_uint_ge(d->len, MIN(len, d->len));
	memset(buf, 0, VIRTIO_NET_HDR_LEN);
	buf[VIRTIO_NET_HDR_NUM_BUFFERS] = (uint8_t)num_buffers;
	memset(buf + VIRTIO_NET_HDR_LEN, fill, MIN(len, d->len) - VIRTIO_NET_HDR_LEN);
	us()->ring[dev_used % QSIZE] = (struct virtq_used_elem){.id = id, .len = len};
	dev_used++;
	return id;
}

static void dev_publish(void)
{
	__atomic_store_n(&us()->idx, dev_used, __ATOMIC_RELEASE);
}

static void rxq_init(struct virtio_vq *q)
{
	memset(q, 0, sizeof(*q));
	q->fp.burst = virtio_rx_burst;
	q->notify = &doorbell;
	q->qidx = 4;
	q->port_id = 2;
	q->qid = 0;
	ck_assert_int_eq(virtio_vq_setup(q, true, QSIZE, desc, avail, used, pool), 0);
}

START_TEST(test_rx_setup_kick)
{
	struct virtio_vq q;

	rxq_init(&q);
	ck_assert_uint_eq(av()->flags, VIRTQ_AVAIL_F_NO_INTERRUPT); // we poll
	ck_assert_uint_eq(av()->idx, 0); // posted, not published before the device runs
	ck_assert_uint_eq(mempool_in_use(pool), QSIZE);
	ck_assert_uint_eq(q.buf_len, VIRTIO_NET_HDR_LEN + PKT_DATA_ROOM_DEFAULT);
	virtio_vq_kick(&q);
	ck_assert_uint_eq(av()->idx, QSIZE);
	ck_assert_uint_eq(doorbell, 4);
	for (unsigned i = 0; i < QSIZE; i++) {
		uint16_t id = av()->ring[i];
		struct virtq_desc *d = (struct virtq_desc *)desc + id;

		ck_assert_uint_lt(id, QSIZE);
		ck_assert_uint_eq(d->addr, pkt_data_iova(q.sw[id]) - VIRTIO_NET_HDR_LEN);
		ck_assert_uint_eq(d->len, q.buf_len);
	}
	ck_assert_int_eq(virtio_vq_setup(&q, true, 48, desc, avail, used, pool), -EINVAL);
	virtio_vq_release(&q);
	virtio_vq_release(&q);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_rx_burst_refill)
{
	struct pkt *pkts[PKT_BURST];
	struct virtio_vq q;
	uint16_t n;

	rxq_init(&q);
	virtio_vq_kick(&q);
	doorbell = 0xffff;
	ck_assert_uint_eq(virtio_rx_burst(&q, pkts, PKT_BURST), 0);
	for (unsigned i = 0; i < 10; i++)
		dev_rx(VIRTIO_NET_HDR_LEN + 60 + i, 1, (uint8_t)i);
	dev_publish();
	n = virtio_rx_burst(&q, pkts, PKT_BURST);
	ck_assert_uint_eq(n, 10);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_uint_eq(pkts[i]->len, 60 + i);
		ck_assert_uint_eq(pkt_data(pkts[i])[0], i);
		ck_assert_uint_eq(pkts[i]->in_port, 2);
	}
	pkt_free_bulk(pkts, n);
	ck_assert_uint_eq(av()->idx, QSIZE); // 10 < refill threshold 16
	ck_assert_uint_eq(doorbell, 0xffff);
	// The device says it needs no notification: refill publishes but does not ring.
	us()->flags = VIRTQ_USED_F_NO_NOTIFY;
	for (unsigned i = 0; i < 10; i++)
		dev_rx(VIRTIO_NET_HDR_LEN + 100, 1, 0x22);
	dev_publish();
	n = virtio_rx_burst(&q, pkts, PKT_BURST);
	ck_assert_uint_eq(n, 10);
	pkt_free_bulk(pkts, n);
	ck_assert_uint_eq(av()->idx, QSIZE + 20); // all 20 re-posted in one publish
	ck_assert_uint_eq(doorbell, 0xffff);
	us()->flags = 0;
	for (unsigned i = 0; i < 20; i++)
		dev_rx(VIRTIO_NET_HDR_LEN + 64, 1, 0x33);
	dev_publish();
	n = virtio_rx_burst(&q, pkts, PKT_BURST);
	ck_assert_uint_eq(n, 20);
	pkt_free_bulk(pkts, n);
	ck_assert_uint_eq(doorbell, 4);
	ck_assert_uint_eq(mempool_in_use(pool), QSIZE);
	ck_assert_uint_eq(port_counter_read(&q.packets), 40);
	virtio_vq_release(&q);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_rx_mergeable_and_bad)
{
	struct pkt *pkts[PKT_BURST];
	struct virtio_vq q;
	uint16_t n;

	rxq_init(&q);
	q.mrg = true;
	virtio_vq_kick(&q);
	// A frame in two buffers: 1000 bytes in the first, 500 in the second.
	dev_rx(VIRTIO_NET_HDR_LEN + 1000, 2, 0x44);
	dev_rx(500, 0, 0x55);
	dev_publish();
	n = virtio_rx_burst(&q, pkts, PKT_BURST);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(pkts[0]->len, 1500);
	ck_assert_uint_eq(pkt_data(pkts[0])[999], 0x44);
	// The second buffer's bytes start where the device wrote, at the header position.
	ck_assert_uint_eq(pkt_data(pkts[0])[1000], 0x00);
	pkt_free(pkts[0]);
	// The second buffer of a frame not used yet: wait for it.
	dev_rx(VIRTIO_NET_HDR_LEN + 100, 2, 0x66);
	dev_publish();
	ck_assert_uint_eq(virtio_rx_burst(&q, pkts, PKT_BURST), 0);
	dev_rx(100, 0, 0x66);
	dev_publish();
	ck_assert_uint_eq(virtio_rx_burst(&q, pkts, PKT_BURST), 1);
	ck_assert_uint_eq(pkts[0]->len, 200);
	pkt_free(pkts[0]);
	// Bad entries: runt, longer than posted, an id never posted, num_buffers 0; then a good
	// one.
	dev_rx(VIRTIO_NET_HDR_LEN + 4, 1, 0);
	dev_rx(q.buf_len + 1, 1, 0);
	us()->ring[dev_used++ % QSIZE] = (struct virtq_used_elem){.id = 999, .len = 100};
	dev_rx(VIRTIO_NET_HDR_LEN + 60, 0, 0);
	dev_rx(VIRTIO_NET_HDR_LEN + 60, 1, 0x77);
	dev_publish();
	n = virtio_rx_burst(&q, pkts, PKT_BURST);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(pkt_data(pkts[0])[0], 0x77);
	pkt_free(pkts[0]);
	ck_assert_uint_eq(port_counter_read(&q.invalid), 4);
	// Spanning more than the data room: dropped, both buffers recycled.
	dev_rx(q.buf_len, 2, 0x88);
	dev_rx(600, 0, 0x88);
	dev_publish();
	ck_assert_uint_eq(virtio_rx_burst(&q, pkts, PKT_BURST), 0);
	ck_assert_uint_eq(port_counter_read(&q.invalid), 5);
	virtio_rx_burst(&q, pkts, PKT_BURST);
	virtio_vq_release(&q);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

static void txq_init(struct virtio_vq *q)
{
	memset(q, 0, sizeof(*q));
	q->fp.burst = virtio_tx_burst;
	q->notify = &doorbell;
	q->qidx = 1;
	q->data_cap = PKT_DATA_ROOM_DEFAULT;
	atomic_store(&q->max_len, 1514);
	ck_assert_int_eq(virtio_vq_setup(q, false, QSIZE, desc, avail, used, NULL), 0);
}

static void mk(struct pkt **pkts, unsigned n, unsigned len)
{
	ck_assert_int_eq(pkt_alloc_bulk(pool, pkts, n), 0);
	for (unsigned i = 0; i < n; i++) {
		pkts[i]->len = len;
		memset(pkt_data(pkts[i]) - VIRTIO_NET_HDR_LEN, 0xee, VIRTIO_NET_HDR_LEN);
		memset(pkt_data(pkts[i]), 0, 14);
	}
}

// The device consumes k posted tx buffers and returns them.
static void dev_tx_done(unsigned k)
{
	for (unsigned i = 0; i < k; i++) {
		uint16_t id = av()->ring[dev_avail++ % QSIZE];

		us()->ring[dev_used++ % QSIZE] = (struct virtq_used_elem){.id = id, .len = 0};
		dev_last_id = id;
	}
	dev_publish();
}

START_TEST(test_tx)
{
	struct pkt *pkts[PKT_BURST];
	struct virtio_vq q;
	unsigned sent = 0;

	txq_init(&q);
	mk(pkts, 5, 100);
	ck_assert_uint_eq(virtio_tx_burst(&q, pkts, 5), 5);
	ck_assert_uint_eq(av()->idx, 5);
	ck_assert_uint_eq(doorbell, 1); // one doorbell for the burst
	for (unsigned i = 0; i < 5; i++) {
		uint16_t id = av()->ring[i];
		struct virtq_desc *d = (struct virtq_desc *)desc + id;
		const uint8_t *h = (const uint8_t *)(uintptr_t)d->addr;

		ck_assert_uint_eq(d->len, 100 + VIRTIO_NET_HDR_LEN);
		ck_assert_uint_eq(d->flags, 0);
		for (unsigned b = 0; b < VIRTIO_NET_HDR_LEN; b++)
			ck_assert_uint_eq(h[b], 0); // header zeroed: no offloads
	}
	ck_assert_uint_eq(mempool_in_use(pool), 5);
	dev_tx_done(5);
	doorbell = 0xffff;
	us()->flags = VIRTQ_USED_F_NO_NOTIFY;
	mk(pkts, 2, 60);
	ck_assert_uint_eq(virtio_tx_burst(&q, pkts, 2), 2);
	ck_assert_uint_eq(doorbell, 0xffff); // suppressed
	ck_assert_uint_eq(mempool_in_use(pool), 2); // the 5 completed were reclaimed
	// Fill the ring: the device completes nothing, the rest is dropped as "queue full".
	for (unsigned b = 0; b < 3; b++) {
		mk(pkts, 32, 60);
		sent += virtio_tx_burst(&q, pkts, 32);
	}
	ck_assert_uint_eq(sent, QSIZE - 2);
	ck_assert_uint_eq(port_counter_read(&q.drop_full), 96 - (QSIZE - 2));
	// Bad frames: runt, no headroom for the header, oversize.
	mk(pkts, 3, 60);
	pkts[0]->len = 8;
	pkts[1]->data_off = 4;
	pkts[2]->len = 1600;
	dev_tx_done(3);
	ck_assert_uint_eq(virtio_tx_burst(&q, pkts, 3), 0);
	ck_assert_uint_eq(port_counter_read(&q.errors), 2);
	ck_assert_uint_eq(port_counter_read(&q.drop_mtu), 1);
	// A used id the device returns twice is counted, not freed twice.
	us()->ring[dev_used++ % QSIZE] = (struct virtq_used_elem){.id = dev_last_id, .len = 0};
	dev_publish();
	mk(pkts, 1, 60);
	ck_assert_uint_eq(virtio_tx_burst(&q, pkts, 1), 1);
	ck_assert_uint_eq(port_counter_read(&q.errors), 3);
	virtio_vq_release(&q);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

// ---- the PCI transport on a fake config space and BAR4 ----

static uint8_t cfg[256];
static uint8_t *bar4;

static int fake_cfg_read(struct pci_dev *dev, unsigned off, void *buf, size_t len)
{
	if (off + len > sizeof(cfg))
		return -EINVAL;
	memcpy(buf, cfg + off, len);
	return 0;
}

static int fake_cfg_write(struct pci_dev *dev, unsigned off, const void *buf, size_t len)
{
	memcpy(cfg + off, buf, len);
	return 0;
}

static int fake_bar_map(struct pci_dev *dev, unsigned i, struct err *err)
{
	if (i != 4)
		return err_set(err, -ENODEV, "pci", "BAR %u not implemented", i);
	dev->bar[i].va = bar4;
	dev->bar[i].size = 0x4000;
	return 0;
}

static const struct pci_dev_ops fake_ops = {
	.cfg_read = fake_cfg_read,
	.cfg_write = fake_cfg_write,
	.bar_map = fake_bar_map,
};

static void cap(unsigned off, unsigned next, uint8_t type, uint32_t boff, uint32_t len)
{
	cfg[off] = PCI_CAP_ID_VNDR;
	cfg[off + 1] = (uint8_t)next;
	cfg[off + 2] = type == 2 ? 20 : 16;
	cfg[off + 3] = type;
	cfg[off + 4] = 4; // BAR4
	memcpy(cfg + off + 8, &boff, 4);
	memcpy(cfg + off + 12, &len, 4);
}

static void fake_virtio(uint32_t features_word, uint16_t qsize)
{
	uint32_t mult = 4;

	memset(cfg, 0, sizeof(cfg));
	cfg[PCI_CFG_STATUS] = PCI_STATUS_CAP_LIST;
	cfg[PCI_CFG_CAP_PTR] = 0x40;
	cap(0x48, 0x60, 1, 0x0000, 0x1000); // common
	cap(0x60, 0x78, 2, 0x3000, 0x1000); // notify
	memcpy(cfg + 0x60 + 16, &mult, 4);
	cap(0x78, 0x00, 4, 0x2000, 0x100); // device
	cfg[0x40] = 0x01; // a power-management capability first: skipped
	cfg[0x41] = 0x48;
	bar4 = aligned_alloc(4096, 0x4000);
	memset(bar4, 0, 0x4000);
	// Plain memory has no select registers: the feature word reads the same for both halves.
	memcpy(bar4 + 4, &features_word, 4);
	bar4[18] = 2; // num_queues: one pair, no control queue
	memcpy(bar4 + 24, &qsize, 2);
	memcpy(bar4 + 0x2000, "\x52\x54\x00\xaa\xbb\xcc", 6);
}

START_TEST(test_pci_transport)
{
	struct pci_dev dev = {
		.addr = "0000:00:03.0", .access = PCI_ACCESS_TEST, .ops = &fake_ops, .req_fd = -1};
	struct port port = {.name = "v0", .id = 5, .pool = pool, .mtu = 1500, .numa_node = -1};
	struct pci_port pp = {.port = &port,
		.dev = &dev,
		.pmd = &virtio_net_pmd,
		.n_rxq = 1,
		.n_txq = 1,
		.rxd = 256,
		.txd = 256,
		.promisc = true,
		.addr = "0000:00:03.0"};
	struct pkt *pkts[PKT_BURST];
	struct err err = {0};
	struct virtio_vq *rx, *tx;
	uint64_t a;

	// VERSION_1 (bit 32) and MAC (bit 5) offered; queues of 128 entries.
	fake_virtio(1u | 1u << 5, 128);
	ck_assert_int_eq(virtio_net_pmd.init(&pp, &err), 0);
	ck_assert_uint_eq(port.mac[3], 0xaa);
	ck_assert_uint_eq(pp.max_rxq, 1);
	ck_assert_uint_eq(bar4[20], 0); // reset until start
	ck_assert(cfg[PCI_CFG_COMMAND] & PCI_CMD_MASTER);
	ck_assert_int_eq(virtio_net_pmd.start(&pp, &err), 0);
	ck_assert_uint_eq(bar4[20], 1 | 2 | 8 | 4); // ACK, DRIVER, FEATURES_OK, DRIVER_OK
	rx = port.rxq[0];
	tx = port.txq[0];
	ck_assert_uint_eq(rx->size, 128); // the device's 128 caps our 256
	ck_assert_uint_eq(tx->qidx, 1);
	// The last queue programmed (tx, queue 1): its three addresses and enable.
	memcpy(&a, bar4 + 32, 8);
	ck_assert_uint_eq(a, mem_virt2iova((void *)tx->desc));
	memcpy(&a, bar4 + 48, 8);
	ck_assert_uint_eq(a, mem_virt2iova((void *)tx->used));
	ck_assert_uint_eq(bar4[28], 1);
	ck_assert_ptr_eq((void *)(uintptr_t)rx->notify, (void *)(bar4 + 0x3000));
	ck_assert_uint_eq(rx->avail->idx, 128); // buffers published at start
	ck_assert_uint_eq(mempool_in_use(pool), 128);
	// Negotiated: VERSION_1 and MAC only (CSUM offered but not wanted).
	ck_assert_uint_eq(*(uint32_t *)(bar4 + 12), 1); // high half written last
	ck_assert(virtio_net_pmd.link_get(&pp)); // no STATUS feature: always up

	// One frame through the real queue objects.
	{
		uint16_t id = rx->avail->ring[0];
		uint8_t *b = (uint8_t *)(uintptr_t)rx->desc[id].addr;

		memset(b, 0, 12);
		b[10] = 1;
		memset(b + 12, 0x5a, 64);
		rx->used->ring[0] = (struct virtq_used_elem){.id = id, .len = 76};
		__atomic_store_n(&rx->used->idx, 1, __ATOMIC_RELEASE);
	}
	ck_assert_uint_eq(rx->fp.burst(rx, pkts, PKT_BURST), 1);
	ck_assert_uint_eq(pkts[0]->len, 64);
	ck_assert_uint_eq(pkts[0]->in_port, 5);
	ck_assert_uint_eq(tx->fp.burst(tx, pkts, 1), 1);

	virtio_net_pmd.stop(&pp);
	ck_assert_uint_eq(bar4[20], 0); // reset before the buffers are freed
	ck_assert_uint_eq(mempool_in_use(pool), 0);
	virtio_net_pmd.fini(&pp);
	free(bar4);
	memset(dev.bar, 0, sizeof(dev.bar)); // the next fake device has a new BAR

	// A legacy-only device is refused with the reason.
	fake_virtio(1u << 5 | 1u << 0, 128);
	*(uint32_t *)(bar4 + 4) = 0x20; // no VERSION_1 in either half
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(virtio_net_pmd.init(&pp, &err), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err.msg, "VIRTIO_F_VERSION_1"));
	virtio_net_pmd.fini(&pp);
	free(bar4);
	memset(dev.bar, 0, sizeof(dev.bar)); // the next fake device has a new BAR

	// Behind an IOMMU with IOVA as VA, a device without ACCESS_PLATFORM would bypass it.
	fake_virtio(1u | 1u << 5, 128);
	dev.access = PCI_ACCESS_VFIO;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(virtio_net_pmd.init(&pp, &err), -ENOTSUP);
	ck_assert_msg(strstr(err.msg, "VIRTIO_F_ACCESS_PLATFORM") != NULL, "%s", err.msg);
	virtio_net_pmd.fini(&pp);
	free(bar4);
	memset(dev.bar, 0, sizeof(dev.bar)); // the next fake device has a new BAR

	// Capabilities pointing outside the BAR are rejected.
	fake_virtio(1u | 1u << 5, 128);
	dev.access = PCI_ACCESS_TEST;
	*(uint32_t *)(cfg + 0x48 + 12) = 0x10000;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(virtio_net_pmd.init(&pp, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "malformed"));
	virtio_net_pmd.fini(&pp);
	free(bar4);
	memset(dev.bar, 0, sizeof(dev.bar)); // the next fake device has a new BAR
}
END_TEST

static Suite *virtio_suite(void)
{
	Suite *s = suite_create("virtio_ring");
	TCase *tc = tcase_create("rings");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rx_setup_kick);
	tcase_add_test(tc, test_rx_burst_refill);
	tcase_add_test(tc, test_rx_mergeable_and_bad);
	tcase_add_test(tc, test_tx);
	tcase_add_test(tc, test_pci_transport);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(virtio_suite());
	int failed;

	log_set_level(LOG_LVL_ERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
