// SPDX-License-Identifier: Apache-2.0
// vhost-user wire format (QEMU docs/interop/vhost-user.rst) and its validation. Everything here is
// a pure function of (bytes, length, fd count) so the parser can be unit-tested and fuzzed; the
// state machine that applies messages is vhost_dev.c, the socket handling vhost_port.c.
#ifndef VSWITCH_VHOST_PROTO_H
#define VSWITCH_VHOST_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/compiler.h"
#include "dataplane/err.h"

// Front-end requests we know by name (ids from the spec). Unknown ids still parse, so that the
// session can answer "unsupported" and stay in sync.
enum vhost_req {
	VHOST_REQ_GET_FEATURES = 1,
	VHOST_REQ_SET_FEATURES = 2,
	VHOST_REQ_SET_OWNER = 3,
	VHOST_REQ_RESET_OWNER = 4,
	VHOST_REQ_SET_MEM_TABLE = 5,
	VHOST_REQ_SET_LOG_BASE = 6,
	VHOST_REQ_SET_LOG_FD = 7,
	VHOST_REQ_SET_VRING_NUM = 8,
	VHOST_REQ_SET_VRING_ADDR = 9,
	VHOST_REQ_SET_VRING_BASE = 10,
	VHOST_REQ_GET_VRING_BASE = 11,
	VHOST_REQ_SET_VRING_KICK = 12,
	VHOST_REQ_SET_VRING_CALL = 13,
	VHOST_REQ_SET_VRING_ERR = 14,
	VHOST_REQ_GET_PROTOCOL_FEATURES = 15,
	VHOST_REQ_SET_PROTOCOL_FEATURES = 16,
	VHOST_REQ_GET_QUEUE_NUM = 17,
	VHOST_REQ_SET_VRING_ENABLE = 18,
	VHOST_REQ_SEND_RARP = 19,
	VHOST_REQ_NET_SET_MTU = 20,
	VHOST_REQ_SET_SLAVE_REQ_FD = 21,
	VHOST_REQ_IOTLB_MSG = 22,
	VHOST_REQ_SET_VRING_ENDIAN = 23,
	VHOST_REQ_GET_CONFIG = 24,
	VHOST_REQ_SET_CONFIG = 25,
	VHOST_REQ_GET_INFLIGHT_FD = 31,
	VHOST_REQ_SET_INFLIGHT_FD = 32,
	VHOST_REQ_RESET_DEVICE = 34,
	VHOST_REQ_VRING_KICK = 35,
	VHOST_REQ_GET_MAX_MEM_SLOTS = 36,
	VHOST_REQ_ADD_MEM_REG = 37,
	VHOST_REQ_REM_MEM_REG = 38,
	VHOST_REQ_SET_STATUS = 39,
	VHOST_REQ_GET_STATUS = 40,
};

// Header flags.
#define VHOST_FLAG_VERSION 0x1u // the only protocol version
#define VHOST_FLAG_VERSION_MASK 0x3u
#define VHOST_FLAG_REPLY 0x4u
#define VHOST_FLAG_NEED_REPLY 0x8u

// Virtio / vhost feature bits (virtio 1.x spec section 5.1.3 and 6).
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_F_MQ 22
#define VIRTIO_F_NOTIFY_ON_EMPTY 24
#define VHOST_F_LOG_ALL 26
#define VIRTIO_F_ANY_LAYOUT 27
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34

// vhost-user protocol feature bits.
#define VHOST_PROTOCOL_F_MQ 0
#define VHOST_PROTOCOL_F_LOG_SHMFD 1
#define VHOST_PROTOCOL_F_RARP 2
#define VHOST_PROTOCOL_F_REPLY_ACK 3
#define VHOST_PROTOCOL_F_MTU 4
#define VHOST_PROTOCOL_F_CONFIG 9

#define VHOST_BIT(b) (1ULL << (b))

#define VHOST_HDR_SIZE 12u
#define VHOST_PAYLOAD_MAX 4096u // larger declared payloads cannot be resynchronised: disconnect
#define VHOST_MSG_MAX (VHOST_HDR_SIZE + VHOST_PAYLOAD_MAX)
#define VHOST_MEM_REGIONS_MAX 8u // SET_MEM_TABLE limit (we do not offer CONFIGURE_MEM_SLOTS)
#define VHOST_FDS_MAX VHOST_MEM_REGIONS_MAX // most fds one message may carry
#define VHOST_VRING_SIZE_MAX 32768u // split ring limit
#define VHOST_VRING_IDX_MASK 0xffu // SET_VRING_KICK/CALL/ERR payload: ring index bits
#define VHOST_VRING_NOFD 0x100u // ... and the "no fd attached" flag
#define VHOST_VRING_F_LOG 0x1u // SET_VRING_ADDR flags: log used ring writes

struct vhost_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhost_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc; // front-end user addresses (no IOMMU is offered)
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vhost_mem_desc {
	uint64_t gpa; // guest physical address
	uint64_t size;
	uint64_t uva; // front-end user address
	uint64_t mmap_offset; // where the region starts in the fd
};

struct vhost_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_mem_desc regions[VHOST_MEM_REGIONS_MAX];
};

// A parsed message (not the wire layout: on the wire the payload starts at byte 12). The payload
// union member that is valid depends on `request`; the parser guarantees its size and field
// ranges (see vhost_proto_parse()).
struct vhost_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size; // payload bytes
	union {
		uint64_t u64;
		struct vhost_vring_state state;
		struct vhost_vring_addr addr;
		struct vhost_memory mem;
		uint8_t raw[VHOST_PAYLOAD_MAX];
	};
};

STATIC_ASSERT(sizeof(struct vhost_vring_addr) == 40, "vring addr wire size");
STATIC_ASSERT(sizeof(struct vhost_mem_desc) == 32, "memory region wire size");

// Checks the 12-byte header at `hdr`: version, reply bit, payload size <= VHOST_PAYLOAD_MAX.
// Returns 0 and *size = payload bytes to read next, or -EPROTO with err filled (the stream cannot
// be resynchronised: the caller disconnects).
int vhost_proto_hdr_check(const void *hdr, uint32_t *size, struct err *err);

// Parses one complete message (header + payload, `len` bytes) that arrived with `n_fds` file
// descriptors, for a device with `max_vrings` virtqueues. On success fills *msg (which may alias
// nothing in buf) and returns 0; the fd count then matches what the request carries. Returns
// -EPROTO (framing: disconnect) or -EINVAL (bad payload: the request is refused) with err filled.
// Checks: payload size per request, fd count, vring index < max_vrings, ring size a power of two
// <= 32768, kick/call/err reserved bits, memory regions (1..8, non-empty, no 64-bit overflow of
// gpa/uva/offset + size, no overlap in gpa or uva). The ring base depends on the negotiated
// ring layout: vhost_dev.c checks it.
int vhost_proto_parse(const void *buf, size_t len, unsigned n_fds, unsigned max_vrings,
	struct vhost_msg *msg, struct err *err);

// Name of a request for logs ("SET_VRING_ADDR"), "UNKNOWN" if not known.
const char *vhost_proto_req_name(uint32_t request);

// Whether `request` expects an answer even without NEED_REPLY (GET_* requests).
bool vhost_proto_has_reply(uint32_t request);

#define VHOST_REPLY_MAX (VHOST_HDR_SIZE + 8u)

// Writes the wire bytes of a reply to `request` carrying a u64 / a vring state into out.
// Returns the number of bytes to send.
size_t vhost_proto_reply_u64(uint8_t out[VHOST_REPLY_MAX], uint32_t request, uint64_t v);
size_t vhost_proto_reply_state(
	uint8_t out[VHOST_REPLY_MAX], uint32_t request, uint32_t index, uint32_t num);

#endif
