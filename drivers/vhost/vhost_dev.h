// SPDX-License-Identifier: Apache-2.0
// vhost-user device state machine (back-end side): applies parsed front-end messages (feature
// negotiation, memory table, vring setup/enable/stop) to the device and its virtqueues, and
// decides which queues workers may use. No sockets here (vhost_port.c reads and writes them), so
// whole sessions can be replayed in unit tests. Control thread only.
#ifndef VSWITCH_VHOST_DEV_H
#define VSWITCH_VHOST_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/err.h"
#include "drivers/port.h"
#include "drivers/vhost/vhost_mem.h"
#include "drivers/vhost/vhost_proto.h"
#include "drivers/vhost/virtq.h"

#define VHOST_DEV_MAX_VRINGS (2 * PORT_MAX_QUEUES)

// What we offer. No LOG_ALL / LOG_SHMFD (no live-migration dirty log), no IOMMU. Split and
// packed rings (the front-end picks: RING_PACKED needs VERSION_1).
#define VHOST_DEV_FEATURES \
	(VHOST_BIT(VIRTIO_F_VERSION_1) | VHOST_BIT(VIRTIO_NET_F_MRG_RXBUF) | \
		VHOST_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VHOST_BIT(VIRTIO_RING_F_EVENT_IDX) | \
		VHOST_BIT(VIRTIO_NET_F_MQ) | VHOST_BIT(VIRTIO_F_ANY_LAYOUT) | \
		VHOST_BIT(VIRTIO_F_RING_PACKED) | VHOST_BIT(VHOST_USER_F_PROTOCOL_FEATURES))
#define VHOST_DEV_PROTOCOL_FEATURES \
	(VHOST_BIT(VHOST_PROTOCOL_F_MQ) | VHOST_BIT(VHOST_PROTOCOL_F_REPLY_ACK))

// Front-end view of one vring (virtqueue index i: even = guest RX, odd = guest TX).
struct vhost_vring {
	uint32_t num; // 0: not set
	bool addr_set;
	struct vhost_vring_addr addr;
	// Ring position (SET_VRING_BASE, or saved when the queue stopped), encoded as
	// virtq_config.base: split, next avail index; packed, avail and used halves with wrap bits.
	uint32_t base;
	int kickfd; // -1: none (drained only; we poll)
	int callfd; // -1: none
	int errfd; // front-end's error eventfd, -1: none
	bool started; // SET_VRING_KICK seen since the last GET_VRING_BASE
	bool enabled; // SET_VRING_ENABLE value
	bool running; // the virtq is published to workers
};

struct vhost_dev;

// Hooks into the port (all optional). kick_set: the kick fd of vring i changed (-1: gone);
// the port watches it to drain it. queues_changed: the number of active queue pairs changed.
struct vhost_dev_hooks {
	void (*kick_set)(struct vhost_dev *dev, unsigned i, int fd);
	void (*queues_changed)(struct vhost_dev *dev, unsigned n_pairs);
	void *arg;
};

struct vhost_dev {
	const char *name; // port name, for logs
	unsigned n_vrings; // 2 * queue pairs offered
	struct virtq *vqs; // [n_vrings], owned by the caller, never moved
	struct mempool *pool;
	struct vhost_dev_hooks hooks;

	uint64_t features; // acknowledged by SET_FEATURES
	uint64_t protocol_features;
	bool owner;
	bool broken; // a queue hit a guest error: nothing runs until reset
	struct vhost_mem *mem;
	unsigned n_pairs; // active queue pairs as last reported (>= 1)
	struct vhost_vring vr[VHOST_DEV_MAX_VRINGS];
};

// Sets dev up with no session. vqs[i] must be initialised (virtq_init) by the caller.
void vhost_dev_init(struct vhost_dev *dev, const char *name, struct virtq *vqs, unsigned n_pairs,
	struct mempool *pool, const struct vhost_dev_hooks *hooks);

// Ends the session: stops every queue (waiting for workers), closes the fds, unmaps guest
// memory and forgets the negotiation. dev is ready for a new session.
void vhost_dev_reset(struct vhost_dev *dev);

// Applies one message parsed by vhost_proto_parse(). Takes ownership of fds[0..n_fds) in all
// cases. Writes a reply into out (and sets *out_len > 0) when the front-end expects one: GET_*
// answers, and the REPLY_ACK status when the front-end asked for it (0 ok, 1 refused). Returns
// 0, or -errno with err filled when the request was refused; the session goes on.
int vhost_dev_handle(struct vhost_dev *dev, const struct vhost_msg *msg, int *fds, unsigned n_fds,
	uint8_t out[VHOST_REPLY_MAX], size_t *out_len, struct err *err);

// Stops every queue because one reported a guest error (called on the control thread after the
// errfd woke it). Returns the first (vring index, error) found via *vring/*error.
bool vhost_dev_collect_error(struct vhost_dev *dev, unsigned *vring, enum virtq_error *error);

// Number of vrings published to workers.
unsigned vhost_dev_n_running(const struct vhost_dev *dev);

#endif
