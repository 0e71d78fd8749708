// SPDX-License-Identifier: Apache-2.0
// vhost-user message framing and payload validation; see vhost_proto.h. No state, no I/O: the
// front-end is untrusted, so every size, index and count is checked before anyone uses it.
#include "drivers/vhost/vhost_proto.h"

#include <errno.h>
#include <string.h>

static const char *const req_names[] = {
	[VHOST_REQ_GET_FEATURES] = "GET_FEATURES",
	[VHOST_REQ_SET_FEATURES] = "SET_FEATURES",
	[VHOST_REQ_SET_OWNER] = "SET_OWNER",
	[VHOST_REQ_RESET_OWNER] = "RESET_OWNER",
	[VHOST_REQ_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VHOST_REQ_SET_LOG_BASE] = "SET_LOG_BASE",
	[VHOST_REQ_SET_LOG_FD] = "SET_LOG_FD",
	[VHOST_REQ_SET_VRING_NUM] = "SET_VRING_NUM",
	[VHOST_REQ_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VHOST_REQ_SET_VRING_BASE] = "SET_VRING_BASE",
	[VHOST_REQ_GET_VRING_BASE] = "GET_VRING_BASE",
	[VHOST_REQ_SET_VRING_KICK] = "SET_VRING_KICK",
	[VHOST_REQ_SET_VRING_CALL] = "SET_VRING_CALL",
	[VHOST_REQ_SET_VRING_ERR] = "SET_VRING_ERR",
	[VHOST_REQ_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VHOST_REQ_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VHOST_REQ_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VHOST_REQ_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VHOST_REQ_SEND_RARP] = "SEND_RARP",
	[VHOST_REQ_NET_SET_MTU] = "NET_SET_MTU",
	[VHOST_REQ_SET_SLAVE_REQ_FD] = "SET_SLAVE_REQ_FD",
	[VHOST_REQ_IOTLB_MSG] = "IOTLB_MSG",
	[VHOST_REQ_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VHOST_REQ_GET_CONFIG] = "GET_CONFIG",
	[VHOST_REQ_SET_CONFIG] = "SET_CONFIG",
	[VHOST_REQ_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VHOST_REQ_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VHOST_REQ_RESET_DEVICE] = "RESET_DEVICE",
	[VHOST_REQ_VRING_KICK] = "VRING_KICK",
	[VHOST_REQ_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VHOST_REQ_ADD_MEM_REG] = "ADD_MEM_REG",
	[VHOST_REQ_REM_MEM_REG] = "REM_MEM_REG",
	[VHOST_REQ_SET_STATUS] = "SET_STATUS",
	[VHOST_REQ_GET_STATUS] = "GET_STATUS",
};

const char *vhost_proto_req_name(uint32_t request)
{
	if (request < ARRAY_SIZE(req_names) && req_names[request] != NULL)
		return req_names[request];
	return "UNKNOWN";
}

bool vhost_proto_has_reply(uint32_t request)
{
	switch (request) {
	case VHOST_REQ_GET_FEATURES:
	case VHOST_REQ_GET_PROTOCOL_FEATURES:
	case VHOST_REQ_GET_VRING_BASE:
	case VHOST_REQ_GET_QUEUE_NUM:
	case VHOST_REQ_GET_CONFIG:
	case VHOST_REQ_GET_MAX_MEM_SLOTS:
	case VHOST_REQ_GET_STATUS:
	case VHOST_REQ_GET_INFLIGHT_FD:
	case VHOST_REQ_IOTLB_MSG:
		return true;
	default:
		return false;
	}
}

int vhost_proto_hdr_check(const void *hdr, uint32_t *size, struct err *err)
{
	uint32_t w[3];

	memcpy(w, hdr, sizeof(w));
	if ((w[1] & VHOST_FLAG_VERSION_MASK) != VHOST_FLAG_VERSION)
		return err_set(err, -EPROTO, "flags", "request %u: protocol version %u, expected 1",
			w[0], w[1] & VHOST_FLAG_VERSION_MASK);
	if (w[1] & VHOST_FLAG_REPLY)
		return err_set(
			err, -EPROTO, "flags", "request %u: reply flag set on a request", w[0]);
	if (w[2] > VHOST_PAYLOAD_MAX)
		return err_set(err, -EPROTO, "size",
			"request %u (%s): payload of %u bytes, limit %u", w[0],
			vhost_proto_req_name(w[0]), w[2], VHOST_PAYLOAD_MAX);
	*size = w[2];
	return 0;
}

// Expected payload shape per request.
enum payload_kind {
	PL_NONE, // any payload is ignored (GET_* requests and SET_OWNER carry none)
	PL_U64,
	PL_STATE,
	PL_ADDR,
	PL_MEM,
	PL_VRING_FD, // u64: ring index + NOFD flag, 0 or 1 fd
	PL_OTHER, // not interpreted: the device refuses it
};

static enum payload_kind payload_kind(uint32_t request)
{
	switch (request) {
	case VHOST_REQ_GET_FEATURES:
	case VHOST_REQ_SET_OWNER:
	case VHOST_REQ_RESET_OWNER:
	case VHOST_REQ_GET_PROTOCOL_FEATURES:
	case VHOST_REQ_GET_QUEUE_NUM:
	case VHOST_REQ_GET_MAX_MEM_SLOTS:
	case VHOST_REQ_GET_STATUS:
	case VHOST_REQ_RESET_DEVICE:
		return PL_NONE;
	case VHOST_REQ_SET_FEATURES:
	case VHOST_REQ_SET_PROTOCOL_FEATURES:
		return PL_U64;
	case VHOST_REQ_SET_VRING_NUM:
	case VHOST_REQ_SET_VRING_BASE:
	case VHOST_REQ_GET_VRING_BASE:
	case VHOST_REQ_SET_VRING_ENABLE:
		return PL_STATE;
	case VHOST_REQ_SET_VRING_ADDR:
		return PL_ADDR;
	case VHOST_REQ_SET_MEM_TABLE:
		return PL_MEM;
	case VHOST_REQ_SET_VRING_KICK:
	case VHOST_REQ_SET_VRING_CALL:
	case VHOST_REQ_SET_VRING_ERR:
		return PL_VRING_FD;
	default:
		return PL_OTHER;
	}
}

// [a, a+as) and [b, b+bs) intersect; both sizes non-zero and non-overflowing.
static bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

static int parse_mem(struct vhost_msg *msg, unsigned n_fds, struct err *err)
{
	const struct vhost_memory *m = &msg->mem;
	uint32_t n;

	if (msg->size < 8)
		return err_set(err, -EINVAL, "size", "SET_MEM_TABLE: payload of %u bytes, need 8",
			msg->size);
	n = m->nregions;
	if (n == 0 || n > VHOST_MEM_REGIONS_MAX)
		return err_set(err, -EINVAL, "nregions",
			"SET_MEM_TABLE: %u regions, expected 1..%u", n, VHOST_MEM_REGIONS_MAX);
	if (msg->size < 8 + n * sizeof(struct vhost_mem_desc) ||
		msg->size > sizeof(struct vhost_memory))
		return err_set(err, -EINVAL, "size",
			"SET_MEM_TABLE: payload of %u bytes does not hold %u regions", msg->size,
			n);
	if (n_fds != n)
		return err_set(
			err, -EINVAL, "fds", "SET_MEM_TABLE: %u regions but %u fds", n, n_fds);
	for (uint32_t i = 0; i < n; i++) {
		const struct vhost_mem_desc *r = &m->regions[i];

		if (r->size == 0)
			return err_set(
				err, -EINVAL, "regions", "SET_MEM_TABLE: region %u is empty", i);
		if (r->gpa > UINT64_MAX - r->size || r->uva > UINT64_MAX - r->size ||
			r->mmap_offset > UINT64_MAX - r->size)
			return err_set(err, -EINVAL, "regions",
				"SET_MEM_TABLE: region %u (gpa 0x%llx size 0x%llx uva 0x%llx "
				"offset "
				"0x%llx) overflows 64 bits",
				i, (unsigned long long)r->gpa, (unsigned long long)r->size,
				(unsigned long long)r->uva, (unsigned long long)r->mmap_offset);
		for (uint32_t j = 0; j < i; j++) {
			const struct vhost_mem_desc *o = &m->regions[j];

			if (ranges_overlap(r->gpa, r->size, o->gpa, o->size) ||
				ranges_overlap(r->uva, r->size, o->uva, o->size))
				return err_set(err, -EINVAL, "regions",
					"SET_MEM_TABLE: regions %u and %u overlap", j, i);
		}
	}
	return 0;
}

static int check_index(
	const struct vhost_msg *msg, uint32_t index, unsigned max_vrings, struct err *err)
{
	if (index >= max_vrings)
		return err_set(err, -EINVAL, "index", "%s: vring index %u, device has %u",
			vhost_proto_req_name(msg->request), index, max_vrings);
	return 0;
}

static int check_fds(const struct vhost_msg *msg, unsigned n_fds, unsigned want, struct err *err)
{
	if (n_fds != want)
		return err_set(err, -EINVAL, "fds", "%s: %u fds attached, expected %u",
			vhost_proto_req_name(msg->request), n_fds, want);
	return 0;
}

static int check_size(const struct vhost_msg *msg, uint32_t want, struct err *err)
{
	if (msg->size != want)
		return err_set(err, -EINVAL, "size", "%s: payload of %u bytes, expected %u",
			vhost_proto_req_name(msg->request), msg->size, want);
	return 0;
}

int vhost_proto_parse(const void *buf, size_t len, unsigned n_fds, unsigned max_vrings,
	struct vhost_msg *msg, struct err *err)
{
	uint32_t size = 0;
	int ret;

	if (len < VHOST_HDR_SIZE)
		return err_set(err, -EPROTO, "size", "message of %zu bytes, header needs %u", len,
			VHOST_HDR_SIZE);
	if ((ret = vhost_proto_hdr_check(buf, &size, err)) < 0)
		return ret;
	if (len != VHOST_HDR_SIZE + (size_t)size)
		return err_set(err, -EPROTO, "size", "message of %zu bytes, header says %u + %u",
			len, VHOST_HDR_SIZE, size);
	memset(msg, 0, offsetof(struct vhost_msg, raw) + sizeof(struct vhost_memory));
	memcpy(&msg->request, buf, 4);
	memcpy(&msg->flags, (const uint8_t *)buf + 4, 4);
	msg->size = size;
	memcpy(msg->raw, (const uint8_t *)buf + VHOST_HDR_SIZE, size);
	if (n_fds > VHOST_FDS_MAX)
		return err_set(err, -EINVAL, "fds", "%s: %u fds attached, limit %u",
			vhost_proto_req_name(msg->request), n_fds, VHOST_FDS_MAX);

	switch (payload_kind(msg->request)) {
	case PL_NONE:
		return check_fds(msg, n_fds, 0, err);
	case PL_U64:
		if ((ret = check_size(msg, 8, err)) < 0)
			return ret;
		return check_fds(msg, n_fds, 0, err);
	case PL_STATE:
		if ((ret = check_size(msg, sizeof(struct vhost_vring_state), err)) < 0 ||
			(ret = check_fds(msg, n_fds, 0, err)) < 0 ||
			(ret = check_index(msg, msg->state.index, max_vrings, err)) < 0)
			return ret;
		if (msg->request == VHOST_REQ_SET_VRING_NUM &&
			(msg->state.num == 0 || msg->state.num > VHOST_VRING_SIZE_MAX ||
				(msg->state.num & (msg->state.num - 1)) != 0))
			return err_set(err, -EINVAL, "num",
				"SET_VRING_NUM: ring size %u is not a power of two in 1..%u",
				msg->state.num, VHOST_VRING_SIZE_MAX);
		if (msg->request == VHOST_REQ_SET_VRING_ENABLE && msg->state.num > 1)
			return err_set(err, -EINVAL, "num",
				"SET_VRING_ENABLE: value %u, expected 0/1", msg->state.num);
		return 0;
	case PL_ADDR:
		if ((ret = check_size(msg, sizeof(struct vhost_vring_addr), err)) < 0 ||
			(ret = check_fds(msg, n_fds, 0, err)) < 0 ||
			(ret = check_index(msg, msg->addr.index, max_vrings, err)) < 0)
			return ret;
		if (msg->addr.flags & ~VHOST_VRING_F_LOG)
			return err_set(err, -EINVAL, "flags", "SET_VRING_ADDR: unknown flags 0x%x",
				msg->addr.flags);
		// Alignments required by the virtio spec for split rings.
		if ((msg->addr.desc & 15) || (msg->addr.avail & 1) || (msg->addr.used & 3))
			return err_set(err, -EINVAL, "addr",
				"SET_VRING_ADDR: vring %u misaligned (desc 0x%llx avail 0x%llx "
				"used "
				"0x%llx)",
				msg->addr.index, (unsigned long long)msg->addr.desc,
				(unsigned long long)msg->addr.avail,
				(unsigned long long)msg->addr.used);
		return 0;
	case PL_MEM:
		return parse_mem(msg, n_fds, err);
	case PL_VRING_FD:
		if ((ret = check_size(msg, 8, err)) < 0)
			return ret;
		if (msg->u64 & ~(uint64_t)(VHOST_VRING_IDX_MASK | VHOST_VRING_NOFD))
			return err_set(err, -EINVAL, "u64", "%s: reserved bits set in 0x%llx",
				vhost_proto_req_name(msg->request), (unsigned long long)msg->u64);
		if ((ret = check_index(msg, msg->u64 & VHOST_VRING_IDX_MASK, max_vrings, err)) < 0)
			return ret;
		return check_fds(msg, n_fds, (msg->u64 & VHOST_VRING_NOFD) ? 0 : 1, err);
	case PL_OTHER:
		break;
	}
	return 0;
}

size_t vhost_proto_reply_u64(uint8_t out[VHOST_REPLY_MAX], uint32_t request, uint64_t v)
{
	uint32_t hdr[3] = {request, VHOST_FLAG_VERSION | VHOST_FLAG_REPLY, 8};

	memcpy(out, hdr, sizeof(hdr));
	memcpy(out + VHOST_HDR_SIZE, &v, 8);
	return VHOST_HDR_SIZE + 8;
}

size_t vhost_proto_reply_state(
	uint8_t out[VHOST_REPLY_MAX], uint32_t request, uint32_t index, uint32_t num)
{
	uint32_t w[5] = {request, VHOST_FLAG_VERSION | VHOST_FLAG_REPLY, 8, index, num};

	memcpy(out, w, sizeof(w));
	return VHOST_HDR_SIZE + 8;
}
