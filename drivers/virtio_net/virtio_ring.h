// SPDX-License-Identifier: Apache-2.0
// virtio-net poll-mode driver internals shared by the setup code (virtio_net.c: virtio 1.x PCI
// transport, feature negotiation, control virtqueue) and the fast path (virtio_rxtx.c: split
// virtqueues, mergeable rx buffers). Layouts from the virtio 1.x specification, section 2.7
// (split virtqueues) and 5.1 (network device). Little-endian host assumed (x86).
#ifndef VSWITCH_VIRTIO_RING_H
#define VSWITCH_VIRTIO_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/pci_port.h"

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; // size entries, then used_event (unused: no EVENT_IDX)
};

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

#define VIRTQ_USED_F_NO_NOTIFY 1

// struct virtio_net_hdr_mrg_rxbuf: always 12 bytes with VIRTIO_F_VERSION_1.
#define VIRTIO_NET_HDR_LEN 12
#define VIRTIO_NET_HDR_NUM_BUFFERS 10 // offset of le16 num_buffers

// Bytes of DMA memory a queue of `size` entries needs for each part.
#define VIRTQ_DESC_SIZE(n) ((size_t)(n) * sizeof(struct virtq_desc))
#define VIRTQ_AVAIL_SIZE(n) (6 + 2 * (size_t)(n))
#define VIRTQ_USED_SIZE(n) (6 + 8 * (size_t)(n))

struct virtio_vq {
	struct pci_fp fp; // must stay first
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	volatile uint16_t *notify; // doorbell in the notify BAR region
	struct pkt **sw; // buffer behind each descriptor id, NULL when free
	uint16_t *ids; // rx: ids waiting for a new buffer; tx: free ids (a stack)
	uint16_t n_ids;
	uint16_t size;
	uint16_t mask;
	uint16_t avail_idx; // next avail->idx to publish
	uint16_t used_idx; // next used entry to read
	uint16_t qidx; // virtqueue index (written to the doorbell)
	uint16_t port_id;
	uint16_t qid; // rx or tx queue number of the port
	bool mrg; // VIRTIO_NET_F_MRG_RXBUF: a frame may span several rx buffers
	uint32_t buf_len; // rx: bytes posted per buffer (header + data room)
	struct mempool *pool;
	uint32_t data_cap; // tx: longest frame a buffer holds
	_Atomic uint32_t max_len; // tx: longest untagged frame; control: rw, worker: ro
	_Atomic uint64_t packets, bytes, nobuf, invalid; // rx; worker: rw, control: ro
	_Atomic uint64_t drop_full, drop_mtu, errors; // tx; worker: rw, control: ro
} __cache_aligned;

uint16_t virtio_rx_burst(void *rxq, struct pkt **pkts, uint16_t n);
uint16_t virtio_tx_burst(void *txq, struct pkt **pkts, uint16_t n);

// Control thread, queue not in use by the device yet. Points the queue at its three parts
// (zeroed here) and allocates the software state; rx queues get size buffers posted (all
// descriptors: split rings need no spare slot). -EINVAL (size), -ENOMEM, -ENOBUFS.
int virtio_vq_setup(struct virtio_vq *q, bool rx, uint16_t size, volatile void *desc,
	volatile void *avail, volatile void *used, struct mempool *pool);
// Publishes what setup posted (rx) and rings the doorbell if the device wants it.
void virtio_vq_kick(struct virtio_vq *q);
// Frees buffers and software state (device reset first). Idempotent.
void virtio_vq_release(struct virtio_vq *q);

#endif
