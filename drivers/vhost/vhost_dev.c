// SPDX-License-Identifier: Apache-2.0
// vhost-user device state machine; see vhost_dev.h. A vring runs (is published to workers) when
// the front-end gave it a size, addresses, a kick (started) and, with protocol features, an
// enable; memory is mapped; and no guest error stopped the device. Every change to a running
// vring or to the memory table stops the affected queues first (virtq_quiesce), so workers never
// see a half-updated ring or an unmapped table.
#include "drivers/vhost/vhost_dev.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/log.h"

LOG_MODULE("vhost");

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void vring_clear(struct vhost_vring *vr)
{
	memset(vr, 0, sizeof(*vr));
	vr->kickfd = -1;
	vr->callfd = -1;
	vr->errfd = -1;
}

void vhost_dev_init(struct vhost_dev *dev, const char *name, struct virtq *vqs, unsigned n_pairs,
	struct mempool *pool, const struct vhost_dev_hooks *hooks)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	dev->vqs = vqs;
	dev->n_vrings = 2 * MIN(MAX(n_pairs, 1u), (unsigned)PORT_MAX_QUEUES);
	dev->pool = pool;
	if (hooks != NULL)
		dev->hooks = *hooks;
	dev->n_pairs = 1;
	for (unsigned i = 0; i < VHOST_DEV_MAX_VRINGS; i++)
		vring_clear(&dev->vr[i]);
}

static bool vring_enabled(const struct vhost_dev *dev, const struct vhost_vring *vr)
{
	// Without protocol features a started ring is enabled at once (vhost-user "Ring states").
	if (!(dev->features & VHOST_BIT(VHOST_USER_F_PROTOCOL_FEATURES)))
		return true;
	return vr->enabled;
}

static bool vring_wanted(const struct vhost_dev *dev, unsigned i)
{
	const struct vhost_vring *vr = &dev->vr[i];

	return !dev->broken && dev->mem != NULL && vr->num != 0 && vr->addr_set && vr->started &&
		vring_enabled(dev, vr);
}

// Takes vring i away from the workers, keeping its position for a later restart.
static void vring_stop(struct vhost_dev *dev, unsigned i)
{
	struct vhost_vring *vr = &dev->vr[i];

	if (!vr->running)
		return;
	virtq_quiesce(&dev->vqs[i]);
	vr->base = virtq_base(&dev->vqs[i]);
	vr->running = false;
}

static void stop_all(struct vhost_dev *dev)
{
	for (unsigned i = 0; i < dev->n_vrings; i++)
		vring_stop(dev, i);
}

static int vring_start(struct vhost_dev *dev, unsigned i, struct err *err)
{
	struct vhost_vring *vr = &dev->vr[i];
	struct virtq_config cfg = {
		.mem = dev->mem,
		.desc = vr->addr.desc,
		.avail = vr->addr.avail,
		.used = vr->addr.used,
		.size = (uint16_t)vr->num,
		.base = vr->base,
		.features = dev->features,
		.callfd = vr->callfd,
		.pool = dev->pool,
	};
	bool fixed;
	int ret;

	if ((ret = virtq_start(&dev->vqs[i], &cfg, &fixed, err)) < 0)
		return ret;
	if (fixed)
		LOG_OBJ(NOTICE, dev->name,
			"vring %u: used position differs from base 0x%x (buffers in flight from "
			"the previous back-end are lost); continuing from the used position 0x%x",
			i, vr->base, virtq_base(&dev->vqs[i]));
	vr->running = true;
	return 0;
}

static unsigned active_pairs(const struct vhost_dev *dev)
{
	unsigned n = 1;

	for (unsigned i = 0; i < dev->n_vrings; i++)
		if (dev->vr[i].running)
			n = MAX(n, i / 2 + 1);
	return n;
}

// Brings the published state in line with the configuration (after any change).
static void refresh(struct vhost_dev *dev)
{
	unsigned n;

	for (unsigned i = 0; i < dev->n_vrings; i++) {
		struct vhost_vring *vr = &dev->vr[i];
		bool want = vring_wanted(dev, i);

		if (want && !vr->running) {
			struct err e = {0};

			if (vring_start(dev, i, &e) < 0)
				LOG_RL(ERR, dev->name,
					"cannot start vring %u (guest %s): %s, ignoring", i,
					(i & 1) ? "TX" : "RX", e.msg);
		} else if (!want && vr->running) {
			vring_stop(dev, i);
		}
	}
	n = active_pairs(dev);
	if (n != dev->n_pairs) {
		dev->n_pairs = n;
		if (dev->hooks.queues_changed)
			dev->hooks.queues_changed(dev, n);
	}
}

static void set_kick(struct vhost_dev *dev, unsigned i, int fd)
{
	struct vhost_vring *vr = &dev->vr[i];

	if (vr->kickfd >= 0 && dev->hooks.kick_set)
		dev->hooks.kick_set(dev, i, -1);
	close_fd(&vr->kickfd);
	vr->kickfd = fd;
	if (fd >= 0 && dev->hooks.kick_set)
		dev->hooks.kick_set(dev, i, fd);
}

void vhost_dev_reset(struct vhost_dev *dev)
{
	stop_all(dev);
	for (unsigned i = 0; i < VHOST_DEV_MAX_VRINGS; i++) {
		struct vhost_vring *vr = &dev->vr[i];

		if (i < dev->n_vrings)
			virtq_clear_error(&dev->vqs[i]);
		set_kick(dev, i, -1);
		close_fd(&vr->callfd);
		close_fd(&vr->errfd);
		vring_clear(vr);
	}
	vhost_mem_destroy(dev->mem);
	dev->mem = NULL;
	dev->features = 0;
	dev->protocol_features = 0;
	dev->owner = false;
	dev->broken = false;
	refresh(dev);
}

unsigned vhost_dev_n_running(const struct vhost_dev *dev)
{
	unsigned n = 0;

	for (unsigned i = 0; i < dev->n_vrings; i++)
		n += dev->vr[i].running;
	return n;
}

bool vhost_dev_collect_error(struct vhost_dev *dev, unsigned *vring, enum virtq_error *error)
{
	bool found = false;

	for (unsigned i = 0; i < dev->n_vrings; i++) {
		enum virtq_error e = virtq_get_error(&dev->vqs[i]);

		if (e != VIRTQ_ERR_NONE && !found) {
			*vring = i;
			*error = e;
			found = true;
		}
	}
	if (!found)
		return false;
	// One bad ring stops the device: the guest is not to be trusted with the others either.
	dev->broken = true;
	refresh(dev);
	return true;
}

// A stopped device (no ring started) is the front-end's reset: a broken device may run again.
static void maybe_unbreak(struct vhost_dev *dev)
{
	if (!dev->broken)
		return;
	for (unsigned i = 0; i < dev->n_vrings; i++)
		if (dev->vr[i].started)
			return;
	for (unsigned i = 0; i < dev->n_vrings; i++)
		virtq_clear_error(&dev->vqs[i]);
	dev->broken = false;
	LOG_OBJ(NOTICE, dev->name, "front-end reset the device; queues may run again");
}

static int handle_set_mem_table(
	struct vhost_dev *dev, const struct vhost_msg *msg, const int *fds, struct err *err)
{
	struct vhost_mem *mem, *old;

	if ((mem = vhost_mem_map(&msg->mem, fds, err)) == NULL)
		return -errno;
	// Workers must be out of every queue before the old table goes away.
	stop_all(dev);
	old = dev->mem;
	dev->mem = mem;
	vhost_mem_destroy(old);
	LOG_OBJ(INFO, dev->name, "memory table: %u regions, %" PRIu64 " MiB", mem->n,
		vhost_mem_size(mem) >> 20);
	refresh(dev);
	return 0;
}

static int handle_vring(struct vhost_dev *dev, const struct vhost_msg *msg, int *fds, uint8_t *out,
	size_t *out_len, struct err *err)
{
	unsigned i;
	struct vhost_vring *vr;
	int fd = -1;

	switch (msg->request) {
	case VHOST_REQ_SET_VRING_ADDR:
		i = msg->addr.index;
		break;
	case VHOST_REQ_SET_VRING_KICK:
	case VHOST_REQ_SET_VRING_CALL:
	case VHOST_REQ_SET_VRING_ERR:
		i = msg->u64 & VHOST_VRING_IDX_MASK;
		if (!(msg->u64 & VHOST_VRING_NOFD)) {
			fd = fds[0];
			fds[0] = -1;
		}
		break;
	default:
		i = msg->state.index;
		break;
	}
	if (i >= dev->n_vrings) { // the parser checked VHOST_DEV_MAX_VRINGS; we may offer fewer
		if (fd >= 0)
			close(fd);
		return err_set(err, -EINVAL, "index", "%s: vring %u, device has %u",
			vhost_proto_req_name(msg->request), i, dev->n_vrings);
	}
	vr = &dev->vr[i];

	switch (msg->request) {
	case VHOST_REQ_SET_VRING_NUM:
		vring_stop(dev, i);
		vr->num = msg->state.num;
		break;
	case VHOST_REQ_SET_VRING_ADDR:
		if ((msg->addr.flags & VHOST_VRING_F_LOG) &&
			!(dev->features & VHOST_BIT(VHOST_F_LOG_ALL)))
			return err_set(err, -EINVAL, "flags",
				"SET_VRING_ADDR: vring %u asks for used-ring logging, which was "
				"not "
				"negotiated",
				i);
		vring_stop(dev, i);
		vr->addr = msg->addr;
		vr->addr_set = true;
		break;
	case VHOST_REQ_SET_VRING_BASE:
		// Packed rings carry two 15-bit positions and their wrap counters (checked against
		// the ring size at start); a split ring base is one 16-bit index.
		if (!(dev->features & VHOST_BIT(VIRTIO_F_RING_PACKED)) &&
			msg->state.num > UINT16_MAX)
			return err_set(err, -EINVAL, "num",
				"SET_VRING_BASE: base %u does not fit a split ring index",
				msg->state.num);
		vring_stop(dev, i);
		vr->base = msg->state.num;
		break;
	case VHOST_REQ_GET_VRING_BASE:
		vring_stop(dev, i);
		virtq_clear_error(&dev->vqs[i]);
		vr->started = false;
		set_kick(dev, i, -1);
		*out_len = vhost_proto_reply_state(out, msg->request, i, vr->base);
		refresh(dev);
		maybe_unbreak(dev);
		return 0;
	case VHOST_REQ_SET_VRING_KICK:
		set_kick(dev, i, fd);
		vr->started = true;
		break;
	case VHOST_REQ_SET_VRING_CALL:
		vring_stop(dev, i);
		close_fd(&vr->callfd);
		vr->callfd = fd;
		break;
	case VHOST_REQ_SET_VRING_ERR:
		close_fd(&vr->errfd);
		vr->errfd = fd;
		return 0;
	case VHOST_REQ_SET_VRING_ENABLE:
		vr->enabled = msg->state.num != 0;
		break;
	}
	refresh(dev);
	return 0;
}

static int handle(struct vhost_dev *dev, const struct vhost_msg *msg, int *fds, uint8_t *out,
	size_t *out_len, struct err *err)
{
	uint64_t v;

	switch (msg->request) {
	case VHOST_REQ_GET_FEATURES:
		*out_len = vhost_proto_reply_u64(out, msg->request, VHOST_DEV_FEATURES);
		return 0;
	case VHOST_REQ_SET_FEATURES:
		v = msg->u64;
		if (v & ~VHOST_DEV_FEATURES)
			return err_set(err, -EINVAL, "features",
				"SET_FEATURES: bits 0x%" PRIx64
				" were not offered (offered 0x%" PRIx64 ")",
				(uint64_t)(v & ~VHOST_DEV_FEATURES), (uint64_t)VHOST_DEV_FEATURES);
		if ((v & VHOST_BIT(VIRTIO_F_RING_PACKED)) &&
			!(v & VHOST_BIT(VIRTIO_F_VERSION_1)))
			return err_set(err, -EINVAL, "features",
				"SET_FEATURES: VIRTIO_F_RING_PACKED (bit %d) needs "
				"VIRTIO_F_VERSION_1 (bit %d)",
				VIRTIO_F_RING_PACKED, VIRTIO_F_VERSION_1);
		if (v != dev->features) {
			// Header size and ring options change under running queues: restart them.
			stop_all(dev);
			dev->features = v;
			LOG_OBJ(INFO, dev->name, "features 0x%" PRIx64 "%s%s%s%s%s", v,
				(v & VHOST_BIT(VIRTIO_F_RING_PACKED)) ? " packed" : "",
				(v & VHOST_BIT(VIRTIO_NET_F_MRG_RXBUF)) ? " mrg_rxbuf" : "",
				(v & VHOST_BIT(VIRTIO_RING_F_EVENT_IDX)) ? " event_idx" : "",
				(v & VHOST_BIT(VIRTIO_RING_F_INDIRECT_DESC)) ? " indirect" : "",
				(v & VHOST_BIT(VIRTIO_NET_F_MQ)) ? " mq" : "");
			refresh(dev);
		}
		return 0;
	case VHOST_REQ_GET_PROTOCOL_FEATURES:
		*out_len = vhost_proto_reply_u64(out, msg->request, VHOST_DEV_PROTOCOL_FEATURES);
		return 0;
	case VHOST_REQ_SET_PROTOCOL_FEATURES:
		v = msg->u64;
		if (v & ~VHOST_DEV_PROTOCOL_FEATURES)
			return err_set(err, -EINVAL, "protocol_features",
				"SET_PROTOCOL_FEATURES: bits 0x%" PRIx64 " were not offered",
				(uint64_t)(v & ~VHOST_DEV_PROTOCOL_FEATURES));
		dev->protocol_features = v;
		return 0;
	case VHOST_REQ_GET_QUEUE_NUM:
		*out_len = vhost_proto_reply_u64(out, msg->request, dev->n_vrings / 2);
		return 0;
	case VHOST_REQ_SET_OWNER:
		dev->owner = true;
		return 0;
	case VHOST_REQ_RESET_OWNER:
		// Deprecated; the spec recommends treating it as "disable all rings".
		for (unsigned i = 0; i < dev->n_vrings; i++) {
			vring_stop(dev, i);
			dev->vr[i].started = false;
			set_kick(dev, i, -1);
		}
		refresh(dev);
		maybe_unbreak(dev);
		return 0;
	case VHOST_REQ_SET_MEM_TABLE:
		return handle_set_mem_table(dev, msg, fds, err);
	case VHOST_REQ_SET_VRING_NUM:
	case VHOST_REQ_SET_VRING_ADDR:
	case VHOST_REQ_SET_VRING_BASE:
	case VHOST_REQ_GET_VRING_BASE:
	case VHOST_REQ_SET_VRING_KICK:
	case VHOST_REQ_SET_VRING_CALL:
	case VHOST_REQ_SET_VRING_ERR:
	case VHOST_REQ_SET_VRING_ENABLE:
		return handle_vring(dev, msg, fds, out, out_len, err);
	case VHOST_REQ_SET_LOG_BASE:
	case VHOST_REQ_SET_LOG_FD:
		return err_set(err, -EOPNOTSUPP, "request",
			"%s: dirty logging (live migration) is not supported",
			vhost_proto_req_name(msg->request));
	default:
		if (vhost_proto_has_reply(msg->request)) {
			// Keep the front-end in sync: an empty payload means "failed" for
			// GET_CONFIG and is a short reply it rejects for the others.
			uint32_t hdr[3] = {msg->request, VHOST_FLAG_VERSION | VHOST_FLAG_REPLY, 0};

			memcpy(out, hdr, sizeof(hdr));
			*out_len = VHOST_HDR_SIZE;
		}
		return err_set(err, -EOPNOTSUPP, "request", "request %u (%s) is not supported",
			msg->request, vhost_proto_req_name(msg->request));
	}
}

int vhost_dev_handle(struct vhost_dev *dev, const struct vhost_msg *msg, int *fds, unsigned n_fds,
	uint8_t out[VHOST_REPLY_MAX], size_t *out_len, struct err *err)
{
	int ret;

	*out_len = 0;
	ret = handle(dev, msg, fds, out, out_len, err);
	// Whatever the handler did not take is ours to close (mem table fds: mapped, not kept).
	for (unsigned i = 0; i < n_fds; i++)
		close_fd(&fds[i]);
	if (*out_len == 0 && (msg->flags & VHOST_FLAG_NEED_REPLY) &&
		(dev->protocol_features & VHOST_BIT(VHOST_PROTOCOL_F_REPLY_ACK)))
		*out_len = vhost_proto_reply_u64(out, msg->request, ret < 0 ? 1 : 0);
	return ret;
}
