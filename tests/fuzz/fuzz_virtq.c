// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for the virtqueue device side: the input is a guest's ring memory
// (descriptor table, avail ring or packed descriptor ring and event areas, indirect tables,
// buffers) over two adjacent regions allocated with malloc, so AddressSanitizer sees any access
// outside guest memory. Each input runs the chain walker on every chain, a dequeue burst and an
// enqueue burst, on a split or (feature byte bit 0x20) a packed ring.
//
// Input: [features][log2 ring size][avail idx][enqueue lengths x4 (u16)] then guest memory.
// Packed: the avail byte gives the start position (low 7 bits, modulo the size) and wrap counter
// (bit 7 clear: 1); with bit 0x40 of the feature byte the first two length bytes are the base's
// used half. Rings at the start of region 0: descriptors, then the driver and device areas.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "drivers/vhost/vhost_mem.h"
#include "drivers/vhost/vhost_proto.h"
#include "drivers/vhost/virtq.h"
#include "drivers/vhost/virtq_packed.h"

#define REG_SIZE 16384u
#define UVA_BASE 0x10000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *reg[2];
static struct vhost_mem *mem;
static struct mempool *pool;
static int errfd, callfd;
static volatile uint8_t sink;

static void touch(const struct virtq_seg *s)
{
	for (uint32_t k = 0; k < s->len; k++)
		sink ^= s->p[k];
}

// The packed walker on each chain from the start position until one is not available or
// breaks a rule; every other chain is left through walk_finish after its first piece.
static void walk_packed(const struct virtq *vq, bool write)
{
	uint16_t pos = vq->last_avail_idx;
	bool wrap = vq->avail_wrap;

	for (unsigned i = 0; i < vq->size; i++) {
		struct virtq_packed_walk w;
		struct virtq_seg s;
		int r;

		virtq_packed_walk_init(&w, vq, pos, wrap, write);
		while ((r = virtq_packed_walk_next(&w, &s)) > 0) {
			touch(&s);
			if (i & 1) {
				r = virtq_packed_walk_finish(&w);
				break;
			}
		}
		if (r < 0 || w.ndesc == 0)
			return;
		if (w.id >= vq->size)
			abort(); // a finished chain has a valid buffer id
		pos = w.pos;
		wrap = w.wrap;
	}
}

// Refused input is the point of the exercise: keep its (rate-limited) logs out of the output.
static void log_discard(enum log_level lvl, const char *module, const char *func,
	const char *object, const char *msg)
{
}

static void init_once(void)
{
	struct vhost_mem_region r[2];

	log_set_sink(log_discard);
	for (int i = 0; i < 2; i++) {
		reg[i] = malloc(REG_SIZE);
		r[i] = (struct vhost_mem_region){.gpa = (uint64_t)i * REG_SIZE,
			.size = REG_SIZE,
			.uva = UVA_BASE + (uint64_t)i * REG_SIZE,
			.hva = reg[i]};
	}
	mem = vhost_mem_create(r, 2);
	pool = pkt_pool_create("fuzz_virtq", 128, PKT_DATA_ROOM_DEFAULT, 0, -1);
	errfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	callfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mem == NULL || pool == NULL || errfd < 0 || callfd < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static struct virtq vq;
	struct virtq_config cfg;
	struct pkt *pkts[PKT_BURST];
	struct err err = {0};
	uint16_t qsize, lens[4], n;
	uint8_t flags, avail_n;
	uint64_t v;
	bool fixed, packed;

	if (!ready) {
		init_once();
		ready = true;
	}
	if (size < 11)
		return 0;
	flags = data[0];
	avail_n = data[2];
	cfg = (struct virtq_config){.mem = mem, .pool = pool, .callfd = callfd};
	cfg.features = 0;
	if (flags & 1)
		cfg.features |= VHOST_BIT(VIRTIO_F_VERSION_1);
	if (flags & 2)
		cfg.features |= VHOST_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (flags & 4)
		cfg.features |= VHOST_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (flags & 8)
		cfg.features |= VHOST_BIT(VIRTIO_RING_F_EVENT_IDX);
	packed = flags & 0x20;
	if (packed)
		cfg.features |= VHOST_BIT(VIRTIO_F_RING_PACKED);
	qsize = (uint16_t)(1u << (data[1] % 9));
	memcpy(lens, data + 3, sizeof(lens));
	// Rings at the start of region 0: desc, avail (+ used_event), used (+ avail_event); or
	// packed: desc, driver area, device area.
	cfg.size = qsize;
	cfg.desc = UVA_BASE;
	cfg.avail = UVA_BASE + 16u * qsize;
	cfg.used = packed ? cfg.avail + 4 : ALIGN_UP(cfg.avail + 6 + 2u * qsize, 4);
	memset(reg[0], 0, REG_SIZE);
	memset(reg[1], 0, REG_SIZE);
	data += 11;
	size -= 11;
	memcpy(reg[0], data, MIN(size, (size_t)REG_SIZE));
	if (size > REG_SIZE)
		memcpy(reg[1], data + REG_SIZE, MIN(size - REG_SIZE, (size_t)REG_SIZE));
	if (packed) {
		cfg.base = (avail_n & 0x7f) % qsize | ((avail_n & 0x80) ? 0 : VIRTQ_PACKED_WRAP);
		if (flags & 0x40)
			cfg.base |= (uint32_t)lens[0] << 16;
	} else {
		// The avail idx comes from the header byte so short inputs still carry work.
		memcpy(reg[0] + 16u * qsize + 2, &(uint16_t){avail_n}, 2);
		cfg.base = 0;
	}

	virtq_init(&vq, 0, 0, errfd);
	if (virtq_start(&vq, &cfg, &fixed, &err) < 0)
		return 0;

	// The walker on each head, touching every byte it hands out.
	if (packed)
		walk_packed(&vq, (flags & 0x10) != 0);
	for (uint16_t i = 0; !packed && i < MIN((uint16_t)avail_n, qsize); i++) {
		uint16_t head;
		struct virtq_walk w;
		struct virtq_seg s;
		int r;

		memcpy(&head, reg[0] + 16u * qsize + 4 + 2u * i, 2);
		if (virtq_walk_init(&w, &vq, head, (flags & 0x10) != 0) < 0)
			continue;
		while ((r = virtq_walk_next(&w, &s)) > 0)
			touch(&s);
	}

	n = virtq_dequeue_burst(&vq, pkts, PKT_BURST);
	for (uint16_t i = 0; i < n; i++)
		if (pkts[i]->len > 0)
			sink ^= pkt_data(pkts[i])[pkts[i]->len - 1];
	pkt_free_bulk(pkts, n);
	if (packed) {
		uint16_t consumed, pending;

		// The status view reads the ring the guest keeps writing.
		virtq_packed_ring_state(&vq, &consumed, &pending);
		if (pending > qsize || (virtq_base(&vq) & 0x7fff) >= qsize)
			abort();
	}

	// Enqueue needs a fresh start: dequeue may have stopped the queue on an error.
	virtq_quiesce(&vq);
	virtq_init(&vq, 0, 0, errfd);
	if (virtq_start(&vq, &cfg, &fixed, &err) == 0) {
		for (int i = 0; i < 4; i++) {
			pkts[i] = pkt_alloc(pool);
			if (pkts[i] == NULL)
				abort();
			pkt_append(pkts[i], lens[i] % PKT_DATA_ROOM_DEFAULT);
		}
		(void)virtq_enqueue_burst(&vq, pkts, 4);
		pkt_free_bulk(pkts, 4);
		virtq_quiesce(&vq);
	}
	while (read(errfd, &v, sizeof(v)) > 0 || read(callfd, &v, sizeof(v)) > 0)
		;
	if (mempool_in_use(pool) != 0)
		abort(); // a leaked packet buffer
	return 0;
}
