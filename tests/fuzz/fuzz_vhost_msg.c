// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for the vhost-user message parser and the device state machine behind it.
// The input is a sequence of records, each one of:
//   control byte C with C & 0x80 == 0: a front-end message follows in wire format (12-byte
//     header + payload of the size it declares); C & 0x0f = number of fds attached (memfd of the
//     guest memory for SET_MEM_TABLE, eventfds otherwise; more than 8 are refused like the socket
//     code would);
//   C & 0x80: a guest write: u16 offset, u8 length, bytes, copied into guest memory, then a
//     dequeue and an enqueue burst on every running queue.
// A framing error ends the session (vhost_dev_reset), as the socket code does.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "drivers/vhost/vhost_dev.h"
#include "drivers/vhost/vhost_proto.h"
#include "drivers/vhost/virtq.h"

#define GUEST_SIZE 65536u
#define NPAIRS 2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd, errfd;
static uint8_t *guest;
static struct mempool *pool;
static struct virtq vqs[2 * NPAIRS];
static struct vhost_dev dev;

// Refused input is the point of the exercise: keep its (rate-limited) logs out of the output.
static void log_discard(enum log_level lvl, const char *module, const char *func,
	const char *object, const char *msg)
{
}

static void init_once(void)
{
	log_set_sink(log_discard);
	memfd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, GUEST_SIZE) < 0)
		abort();
	guest = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	pool = pkt_pool_create("fuzz_msg", 128, PKT_DATA_ROOM_DEFAULT, 0, -1);
	errfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (guest == MAP_FAILED || pool == NULL || errfd < 0)
		abort();
}

static void run_queues(void)
{
	struct pkt *pkts[PKT_BURST];

	for (unsigned i = 0; i < dev.n_vrings; i++) {
		uint16_t n;

		if (!virtq_is_ready(&vqs[i]))
			continue;
		if (i & 1) {
			n = virtq_dequeue_burst(&vqs[i], pkts, PKT_BURST);
			pkt_free_bulk(pkts, n);
		} else {
			if (pkt_alloc_bulk(pool, pkts, 2) < 0)
				abort();
			pkt_append(pkts[0], 60);
			pkt_append(pkts[1], 1500);
			(void)virtq_enqueue_burst(&vqs[i], pkts, 2);
			pkt_free_bulk(pkts, 2);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	uint8_t out[VHOST_REPLY_MAX];
	struct vhost_msg *msg;
	uint64_t v;

	if (!ready) {
		init_once();
		ready = true;
	}
	if ((msg = malloc(sizeof(*msg))) == NULL)
		abort();
	memset(guest, 0, GUEST_SIZE);
	for (unsigned i = 0; i < 2 * NPAIRS; i++)
		virtq_init(&vqs[i], 0, (uint16_t)(i / 2), errfd);
	vhost_dev_init(&dev, "fuzz", vqs, NPAIRS, pool, NULL);

	while (size > 0) {
		uint8_t c = data[0];

		data++;
		size--;
		if (c & 0x80) {
			uint16_t off;
			uint8_t len;

			if (size < 3)
				break;
			memcpy(&off, data, 2);
			len = data[2];
			data += 3;
			size -= 3;
			len = (uint8_t)MIN((size_t)len, size);
			if ((size_t)off + len <= GUEST_SIZE)
				memcpy(guest + off, data, len);
			data += len;
			size -= len;
			run_queues();
			continue;
		}

		struct err err = {0};
		unsigned n_fds = c & 0x0f;
		int fds[16];
		uint32_t psize;
		size_t out_len;
		size_t mlen;

		if (size < VHOST_HDR_SIZE)
			break;
		if (vhost_proto_hdr_check(data, &psize, &err) < 0) {
			vhost_dev_reset(&dev);
			break;
		}
		mlen = VHOST_HDR_SIZE + (size_t)psize;
		if (mlen > size)
			break;
		if (n_fds > VHOST_FDS_MAX) {
			// The socket code refuses such a message before parsing it.
			data += mlen;
			size -= mlen;
			continue;
		}
		for (unsigned i = 0; i < n_fds; i++) {
			uint32_t req;

			memcpy(&req, data, 4);
			fds[i] = req == VHOST_REQ_SET_MEM_TABLE
				? dup(memfd)
				: eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (fds[i] < 0)
				abort();
		}
		if (vhost_proto_parse(data, mlen, n_fds, dev.n_vrings, msg, &err) < 0) {
			for (unsigned i = 0; i < n_fds; i++)
				close(fds[i]);
		} else {
			(void)vhost_dev_handle(&dev, msg, fds, n_fds, out, &out_len, &err);
			if (out_len > VHOST_REPLY_MAX)
				abort();
		}
		data += mlen;
		size -= mlen;
		while (read(errfd, &v, sizeof(v)) > 0) {
			unsigned vring;
			enum virtq_error e;

			(void)vhost_dev_collect_error(&dev, &vring, &e);
		}
	}
	run_queues();
	vhost_dev_reset(&dev);
	while (read(errfd, &v, sizeof(v)) > 0)
		;
	free(msg);
	if (mempool_in_use(pool) != 0)
		abort(); // a leaked packet buffer
	return 0;
}
