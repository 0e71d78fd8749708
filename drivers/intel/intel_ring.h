// SPDX-License-Identifier: Apache-2.0
// Descriptor rings shared by Intel NIC poll-mode drivers (e1000e now; igb and ixgbe use the same
// model): 16-byte descriptors in DMA memory, a software ring of packet pointers, head owned by
// the NIC and tail (RDT/TDT) written by us, completion seen through the DD bit written back by
// the device. Rx uses the extended/advanced descriptor format (82574 with RFCTL.EXSTEN, igb and
// ixgbe advanced), whose write-back layout is the same on the three; tx uses legacy descriptors
// (e1000e) or advanced data descriptors (igb/ixgbe), which differ only in the command bits.
// Fast path in intel_rxtx.c, setup helpers in intel_ring.c.
#ifndef VSWITCH_INTEL_RING_H
#define VSWITCH_INTEL_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/pci_port.h"

// Rx descriptor: read format (what we post) and write-back format (what the NIC returns).
union intel_rx_desc {
	struct {
		uint64_t addr; // buffer IOVA
		uint64_t hdr_addr; // 0: also clears the write-back status (DD)
	} read;
	struct {
		uint32_t info; // bits 3:0: RSS type (0: no hash)
		uint32_t rss; // RSS hash
		uint32_t status_error; // bits 19:0 status, 31:20 errors
		uint16_t length;
		uint16_t vlan;
	} wb;
};

#define INTEL_RXD_STAT_DD 0x1u
#define INTEL_RXD_STAT_EOP 0x2u
#define INTEL_RXD_RSS_TYPE_MASK 0xfu

// Tx descriptor, legacy (e1000/e1000e) or advanced data (igb/ixgbe): the status byte with DD is
// the low byte of `upper` in both.
struct intel_tx_desc {
	uint64_t addr;
	uint32_t lower; // legacy: length | cso << 16 | cmd << 24; advanced: cmd_type_len
	uint32_t upper; // legacy: status | css << 8 | special << 16; advanced: olinfo_status
};

#define INTEL_TXD_STAT_DD 0x1u

struct intel_rxq {
	struct pci_fp fp; // must stay first
	volatile union intel_rx_desc *ring;
	struct pkt **sw; // buffer posted in each slot, NULL when empty
	volatile uint32_t *tail_reg; // RDT in the mapped BAR
	uint16_t n; // ring size (power of two)
	uint16_t mask;
	uint16_t next; // next slot to check for DD
	uint16_t tail; // first empty slot = value of RDT
	uint16_t empty; // empty slots from tail on (>= 1: one always stays empty)
	uint16_t free_thresh; // refill once this many slots are empty
	uint16_t port_id;
	uint16_t qid;
	bool hash; // RSS is on: wb.rss is valid when the RSS type is not 0
	bool discard; // dropping the rest of a frame that spans descriptors
	uint32_t err_mask; // frame error bits of wb.status_error
	uint32_t buf_len; // bytes the NIC may write per buffer
	struct mempool *pool;
	_Atomic uint64_t packets, bytes, nobuf, invalid; // worker: rw, control: ro
} __cache_aligned;

struct intel_txq {
	struct pci_fp fp; // must stay first
	volatile struct intel_tx_desc *ring;
	struct pkt **sw; // packet sent from each slot until its block is cleaned
	volatile uint32_t *tail_reg; // TDT in the mapped BAR
	uint16_t n;
	uint16_t mask;
	uint16_t tail; // next free slot = value of TDT
	uint16_t clean; // first slot not yet cleaned; multiple of rs_thresh
	uint16_t rs_thresh; // RS (report status) on the last descriptor of each block this long
	bool adv; // advanced descriptors (igb/ixgbe): PAYLEN in upper
	uint32_t cmd; // command bits of every descriptor (EOP, IFCS, DEXT/DTYP for advanced)
	uint32_t cmd_rs; // the RS bit in `lower`
	uint32_t data_cap; // longest frame a buffer holds
	_Atomic uint32_t max_len; // longest untagged frame (MTU + 14); control: rw, worker: ro
	_Atomic uint64_t packets, bytes, drop_full, drop_mtu, errors; // worker: rw, control: ro
} __cache_aligned;

uint16_t intel_rx_burst(void *rxq, struct pkt **pkts, uint16_t n);
uint16_t intel_tx_burst(void *txq, struct pkt **pkts, uint16_t n);

// Control thread, queue not polled. Sets up the software state of an rx ring whose descriptors
// are at `ring` (n entries, power of two) and posts n - 1 buffers from pool; the caller writes
// the returned tail to RDT once the NIC is ready. -ENOMEM (software ring), -ENOBUFS (pool).
int intel_rxq_setup(struct intel_rxq *q, volatile union intel_rx_desc *ring, uint16_t n,
	struct mempool *pool, volatile uint32_t *tail_reg);
int intel_txq_setup(struct intel_txq *q, volatile struct intel_tx_desc *ring, uint16_t n,
	volatile uint32_t *tail_reg);
// Frees every buffer the ring holds and the software ring (DMA stopped first). Idempotent.
void intel_rxq_release(struct intel_rxq *q);
void intel_txq_release(struct intel_txq *q);
// Adds the queue counters to st (queue index qid).
void intel_rxq_stats(const struct intel_rxq *q, unsigned qid, struct port_stats *st);
void intel_txq_stats(const struct intel_txq *q, unsigned qid, struct port_stats *st);

#endif
