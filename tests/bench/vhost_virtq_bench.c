// SPDX-License-Identifier: Apache-2.0
// Micro-benchmark of the vhost-user copy path alone (built and run by vhost_bench.sh -u): one
// thread plays the guest (posts 32 TX chains and 32 RX buffers per round, single descriptors,
// as virtio-user and Linux do) and the switch (dequeue burst, enqueue burst, free). No second
// core, no pipeline: the cycles per packet of virtq.c itself, caches warm.
// usage: vhost_virtq_bench FRAME_SIZE [ROUNDS]
#include <stdio.h>
#include <stdlib.h>

#include "dataplane/compiler.h"
#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "drivers/vhost/virtq.h"
#include "tests/unit/vhost_guest.h"

#define RING 256
#define FEATURES \
	(VHOST_BIT(VIRTIO_F_VERSION_1) | VHOST_BIT(VIRTIO_NET_F_MRG_RXBUF) | \
		VHOST_BIT(VIRTIO_RING_F_INDIRECT_DESC))

int main(int argc, char **argv)
{
	unsigned size = argc > 1 ? (unsigned)atoi(argv[1]) : 64;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 200000;
	struct mempool *pool = pkt_pool_create("bench", 4096, PKT_DATA_ROOM_DEFAULT, 256, -1);
	struct virtq_config ctx, crx;
	struct virtq vtx, vrx;
	struct err err = {0};
	struct gq tx, rx;
	struct guest g;
	uint64_t n = 0, t0;
	bool fixed;

	if (pool == NULL || size < 14 || size > 2000 || guest_create(&g, true) < 0) {
		fprintf(stderr, "usage: vhost_virtq_bench FRAME_SIZE(14..2000) [ROUNDS]\n");
		return 2;
	}
	virtq_init(&vtx, 0, 0, -1);
	virtq_init(&vrx, 0, 0, -1);
	gq_init(&tx, &g, RING);
	gq_init(&rx, &g, RING);
	ctx = gq_config(&tx, FEATURES, pool);
	crx = gq_config(&rx, FEATURES, pool);
	if (virtq_start(&vtx, &ctx, &fixed, &err) < 0 ||
		virtq_start(&vrx, &crx, &fixed, &err) < 0) {
		fprintf(stderr, "virtq_start: %s\n", err.msg);
		return 1;
	}
	mempool_thread_register(0);
	for (uint16_t i = 0; i < RING; i++) {
		gq_set_desc(&tx, i, guest_alloc(&g, 2048, 64), 12 + size, 0, 0);
		gq_set_desc(&rx, i, guest_alloc(&g, 2048, 64), 2048, VIRTQ_DESC_F_WRITE, 0);
	}
	t0 = rdtsc();
	for (unsigned r = 0; r < rounds; r++) {
		struct pkt *pkts[PKT_BURST];
		uint16_t got;

		for (int k = 0; k < PKT_BURST; k++) {
			tx.avail->ring[tx.avail_idx % RING] = tx.avail_idx % RING;
			rx.avail->ring[rx.avail_idx % RING] = rx.avail_idx % RING;
			tx.avail_idx++;
			rx.avail_idx++;
		}
		atomic_store_explicit(&tx.avail->idx, tx.avail_idx, memory_order_release);
		atomic_store_explicit(&rx.avail->idx, rx.avail_idx, memory_order_release);
		got = virtq_dequeue_burst(&vtx, pkts, PKT_BURST);
		virtq_enqueue_burst(&vrx, pkts, got);
		pkt_free_bulk(pkts, got);
		n += got;
	}
	printf("{\"frame_size\": %u, \"packets\": %llu, \"cycles_per_packet\": %.1f}\n", size,
		(unsigned long long)n, (double)(rdtsc() - t0) / (double)n);
	virtq_quiesce(&vtx);
	virtq_quiesce(&vrx);
	guest_destroy(&g);
	return n == (uint64_t)rounds * PKT_BURST ? 0 : 1;
}
