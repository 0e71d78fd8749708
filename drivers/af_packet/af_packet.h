// SPDX-License-Identifier: Apache-2.0
// af_packet driver internals shared by the setup code (af_packet.c) and the fast path
// (af_packet_rxtx.c): queue layouts and ring geometry. Not a public interface.
#ifndef VSWITCH_AF_PACKET_H
#define VSWITCH_AF_PACKET_H

#include <linux/if_packet.h>
#include <net/if.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "drivers/port.h"

#define AFP_STASH 64 // buffers kept allocated per rx queue, refilled in bulk
#define AFP_GSO_MAX_SEGS 256 // a GSO frame cut into more segments is dropped
// V2 tx frames: the kernel takes the data right after the aligned header.
#define AFP_TX_DATA_OFF TPACKET_ALIGN(sizeof(struct tpacket2_hdr))
// V3 rx frames: the struct sockaddr_ll follows the aligned header.
#define AFP_RX_SLL_OFF TPACKET_ALIGN(sizeof(struct tpacket3_hdr))

// One TPACKET_V3 rx socket. Fields above `fd` are the worker's; the rest is control only.
struct af_packet_rxq {
	uint8_t *ring; // mmap of n_blocks blocks of block_size bytes
	uint32_t block_size;
	uint32_t n_blocks;
	uint32_t blk; // block being read, or next to open
	uint32_t left; // frames left in the open block
	uint8_t *cur; // next frame in the open block; NULL: no block open
	struct mempool *pool;
	uint16_t port_id;
	uint16_t qid;
	uint32_t room; // data room of pool
	bool vnet; // frames are preceded by a struct virtio_net_hdr
	bool skip_outgoing; // PACKET_IGNORE_OUTGOING missing: drop PACKET_OUTGOING frames here
	uint16_t n_stash;
	uint16_t n_pend; // segments of a cut GSO frame waiting for the next burst
	uint16_t pend_idx;
	_Atomic uint64_t packets, bytes, nobuf, invalid, gso; // worker: rw, control: ro
	struct pkt *stash[AFP_STASH];
	struct pkt *pend[AFP_GSO_MAX_SEGS];

	// Control thread only.
	int fd;
	size_t ring_size;
	uint64_t
		kernel_drops; // PACKET_STATISTICS tp_drops, accumulated (the kernel resets on read)
} __cache_aligned;

// One TPACKET_V2 tx socket.
struct af_packet_txq {
	uint8_t **frames; // n_frames frame addresses in the ring
	uint32_t n_frames;
	uint32_t head; // next frame to fill (worker-owned)
	uint32_t data_cap; // bytes a ring frame holds
	int fd;
	// Longest untagged frame: mtu + 14 (+4 when tagged, as the kernel allows). control: rw
	// (mtu_set), worker: ro.
	_Atomic uint32_t max_len;
	_Atomic uint64_t packets, bytes, drop_full, drop_mtu, drop_down, errors; // worker: rw

	// Control thread only.
	uint8_t *ring;
	size_t ring_size;
	uint32_t frame_size;
} __cache_aligned;

struct af_packet_priv {
	struct af_packet_rxq rxq[PORT_MAX_QUEUES];
	struct af_packet_txq txq[PORT_MAX_QUEUES];
	char iface[IF_NAMESIZE];
	int ifindex;
	int ctl_fd; // netdev_open() socket for the drivers/netdev.h calls
	unsigned queues;
	unsigned block_size;
	unsigned frame_count;
	bool promisc;
	bool vnet; // PACKET_VNET_HDR accepted by the kernel (probed at start)
	bool ignore_outgoing;
	uint16_t fanout_id;
};

uint16_t af_packet_rx_burst(void *rxq, struct pkt **pkts, uint16_t n);
uint16_t af_packet_tx_burst(void *txq, struct pkt **pkts, uint16_t n);
// Frees the buffers an rx queue holds (stash, pending segments). Control thread, queue stopped.
void af_packet_rxq_drain(struct af_packet_rxq *rxq);

#endif
