// SPDX-License-Identifier: Apache-2.0
// Packed virtqueues seen from the device side (virtio 1.1+ section 2.8). virtq.c starts a queue
// here when VIRTIO_F_RING_PACKED was negotiated and, inside its bursts (after the quiescence
// handshake of virtq.h), dispatches to the functions below. The chain walker is exposed for
// tests and fuzzing.
#ifndef VSWITCH_VIRTQ_PACKED_H
#define VSWITCH_VIRTQ_PACKED_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/err.h"
#include "dataplane/pkt.h"
#include "drivers/vhost/virtq.h"

// Ring part of virtq_start() for a packed queue: translates the descriptor ring and the two
// event suppression areas (cfg->desc, cfg->avail = driver area, cfg->used = device area),
// decodes cfg->base (avail position < size; a used half that is behind it by less than a ring
// is adopted, setting *base_fixed) and asks the guest not to kick. Control thread, queue
// quiesced. Returns 0, or -EINVAL with err filled and the queue unchanged.
int virtq_packed_start(
	struct virtq *vq, const struct virtq_config *cfg, bool *base_fixed, struct err *err);

// virtq_base() of a packed queue.
uint32_t virtq_packed_base(const struct virtq *vq);

// Bursts of a packed queue, called by virtq_dequeue_burst()/virtq_enqueue_burst() once they
// entered the queue; same contracts (counts, ownership, counters), worker thread.
uint16_t virtq_packed_dequeue(struct virtq *vq, struct pkt **pkts, uint16_t n);
uint16_t virtq_packed_enqueue(struct virtq *vq, struct pkt *const *pkts, uint16_t n);

// Where a running packed ring stands, for status: descriptors taken so far (*consumed, 16-bit
// free-running) and descriptors the guest made available that we have not taken yet (*pending,
// read from the ring). Control thread, queue running or quiesced; racy but memory-safe.
void virtq_packed_ring_state(const struct virtq *vq, uint16_t *consumed, uint16_t *pending);

// Walks one descriptor chain of the ring: its descriptors follow each other in ring order (NEXT
// set on all but the last), each must be available in the current lap, the buffer id comes
// from the last one; one indirect descriptor may stand alone for the chain.
struct virtq_packed_walk {
	const struct vhost_mem *mem;
	const struct virtq_pdesc *ring;
	const struct virtq_pdesc *table; // indirect table being walked, NULL: the ring
	uint32_t table_len; // entries in table
	uint32_t tidx; // next entry of table
	uint16_t size; // ring size
	uint16_t pos; // next ring descriptor (after the walk: the next chain's first)
	bool wrap; // wrap counter pos must be available for
	bool more; // a ring descriptor of the chain is pending at pos
	bool allow_indirect;
	bool write; // expected direction: device-writable (RX) or readable (TX)
	uint16_t ndesc; // ring descriptors taken (the chain's length in the ring)
	uint16_t id; // buffer id, valid (< size) once the last descriptor was taken
	uint64_t cur_addr; // remainder of the current descriptor (region splitting)
	uint64_t cur_len;
};

// Starts walking the chain whose first descriptor is at ring position pos (< vq->size) in the
// lap of wrap counter `wrap`. write: the chain must be device-writable (guest RX).
void virtq_packed_walk_init(
	struct virtq_packed_walk *w, const struct virtq *vq, uint16_t pos, bool wrap, bool write);

// Next contiguous piece of the chain's buffers: 1 with *seg filled (len > 0), 0 at the end of
// the chain (w->id, w->ndesc, w->pos final), -VIRTQ_ERR_* on a rule violation.
int virtq_packed_walk_next(struct virtq_packed_walk *w, struct virtq_seg *seg);

// Takes the rest of the chain without handing out its buffers (their descriptors are still
// checked: availability, direction, flags, id), so that w->id, w->ndesc and w->pos are final.
// Returns 0 or -VIRTQ_ERR_*.
int virtq_packed_walk_finish(struct virtq_packed_walk *w);

#endif
