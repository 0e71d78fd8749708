// SPDX-License-Identifier: Apache-2.0
// A synthetic virtio guest for the vhost unit tests and fuzzers: guest memory made of memfd
// regions (mapped by vhost_mem_map() as a front-end's would be) or caller buffers, and a tiny
// driver side of a split virtqueue (descriptor table, avail ring, used ring) and of a packed
// virtqueue (descriptor ring, event suppression areas, wrap counters) to post buffers and read
// completions. Header-only: each test includes it once.
#ifndef VSWITCH_TEST_VHOST_GUEST_H
#define VSWITCH_TEST_VHOST_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drivers/vhost/vhost_mem.h"
#include "drivers/vhost/vhost_proto.h"
#include "drivers/vhost/virtq.h"

#define GUEST_REGIONS 2
#define GUEST_REGION_SIZE (1u << 20)
#define GUEST_GPA0 0x100000ull // region 1 follows directly: buffers may straddle them
#define GUEST_UVA_OFF 0x7f0000000000ull // front-end user address = gpa + this

struct guest {
	int fd[GUEST_REGIONS];
	uint8_t *base[GUEST_REGIONS]; // the "guest's" own view of each region
	struct vhost_memory table; // as SET_MEM_TABLE would carry it
	struct vhost_mem *mem; // the back-end's view
	uint64_t next_gpa; // bump allocator for rings and buffers
};

// Creates the memory; with memfd = false the regions are malloc'ed buffers (fuzzers: ASan sees
// every out-of-bounds access) and the back-end table is built with vhost_mem_create().
static inline int guest_create(struct guest *g, bool memfd)
{
	memset(g, 0, sizeof(*g));
	g->table.nregions = GUEST_REGIONS;
	for (unsigned i = 0; i < GUEST_REGIONS; i++) {
		struct vhost_mem_desc *d = &g->table.regions[i];

		d->gpa = GUEST_GPA0 + (uint64_t)i * GUEST_REGION_SIZE;
		d->size = GUEST_REGION_SIZE;
		d->uva = d->gpa + GUEST_UVA_OFF;
		d->mmap_offset = 0;
		g->fd[i] = -1;
		if (memfd) {
			g->fd[i] = memfd_create("vhost-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
			if (g->fd[i] < 0 || ftruncate(g->fd[i], GUEST_REGION_SIZE) < 0)
				return -1;
			g->base[i] = mmap(NULL, GUEST_REGION_SIZE, PROT_READ | PROT_WRITE,
				MAP_SHARED, g->fd[i], 0);
			if (g->base[i] == MAP_FAILED)
				return -1;
		} else {
			g->base[i] = aligned_alloc(4096, GUEST_REGION_SIZE);
			if (g->base[i] == NULL)
				return -1;
			memset(g->base[i], 0, GUEST_REGION_SIZE);
		}
	}
	if (memfd) {
		g->mem = vhost_mem_map(&g->table, g->fd, NULL);
	} else {
		struct vhost_mem_region r[GUEST_REGIONS];

		for (unsigned i = 0; i < GUEST_REGIONS; i++)
			r[i] = (struct vhost_mem_region){.gpa = g->table.regions[i].gpa,
				.size = GUEST_REGION_SIZE,
				.uva = g->table.regions[i].uva,
				.hva = g->base[i]};
		g->mem = vhost_mem_create(r, GUEST_REGIONS);
	}
	g->next_gpa = GUEST_GPA0;
	return g->mem != NULL ? 0 : -1;
}

static inline void guest_destroy(struct guest *g)
{
	vhost_mem_destroy(g->mem);
	for (unsigned i = 0; i < GUEST_REGIONS; i++) {
		if (g->fd[i] >= 0) {
			munmap(g->base[i], GUEST_REGION_SIZE);
			close(g->fd[i]);
		} else {
			free(g->base[i]);
		}
	}
}

// The guest's pointer to gpa (NULL outside its memory).
static inline void *guest_ptr(struct guest *g, uint64_t gpa)
{
	for (unsigned i = 0; i < GUEST_REGIONS; i++) {
		uint64_t off = gpa - g->table.regions[i].gpa;

		if (off < GUEST_REGION_SIZE)
			return g->base[i] + off;
	}
	return NULL;
}

static inline uint64_t guest_alloc(struct guest *g, uint64_t size, uint64_t align)
{
	uint64_t a = (g->next_gpa + align - 1) & ~(align - 1);

	g->next_gpa = a + size;
	return a;
}

// Driver side of one split virtqueue.
struct gq {
	struct guest *g;
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t avail_idx; // next avail idx the driver publishes
	uint16_t used_seen; // used entries consumed by the driver
	uint16_t free_desc; // bump index into the descriptor table (tests post few chains)
};

static inline void gq_init(struct gq *q, struct guest *g, uint16_t size)
{
	memset(q, 0, sizeof(*q));
	q->g = g;
	q->size = size;
	q->desc_gpa = guest_alloc(g, 16ull * size, 16);
	q->avail_gpa = guest_alloc(g, 6 + 2ull * size, 2);
	q->used_gpa = guest_alloc(g, 6 + 8ull * size, 4);
	q->desc = guest_ptr(g, q->desc_gpa);
	q->avail = guest_ptr(g, q->avail_gpa);
	q->used = guest_ptr(g, q->used_gpa);
}

// The virtq_config a front-end would give for this queue.
static inline struct virtq_config gq_config(
	const struct gq *q, uint64_t features, struct mempool *pool)
{
	return (struct virtq_config){.mem = q->g->mem,
		.desc = q->desc_gpa + GUEST_UVA_OFF,
		.avail = q->avail_gpa + GUEST_UVA_OFF,
		.used = q->used_gpa + GUEST_UVA_OFF,
		.size = q->size,
		.base = 0,
		.features = features,
		.callfd = -1,
		.pool = pool};
}

static inline void gq_set_desc(
	struct gq *q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	q->desc[i].addr = addr;
	q->desc[i].len = len;
	q->desc[i].flags = flags;
	q->desc[i].next = next;
}

// Makes head available (the descriptors are written already).
static inline void gq_push(struct gq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % q->size] = head;
	q->avail_idx++;
	atomic_store_explicit(&q->avail->idx, q->avail_idx, memory_order_release);
}

// Posts one buffer of len bytes (allocated in guest memory) as a single-descriptor chain.
// Returns the head; *gpa gets the buffer address.
static inline uint16_t gq_post(struct gq *q, uint32_t len, bool write, uint64_t *gpa)
{
	uint16_t head = q->free_desc++ % q->size;
	uint64_t buf = guest_alloc(q->g, len, 64);

	gq_set_desc(q, head, buf, len, write ? VIRTQ_DESC_F_WRITE : 0, 0);
	gq_push(q, head);
	if (gpa)
		*gpa = buf;
	return head;
}

static inline uint16_t gq_used_idx(const struct gq *q)
{
	return atomic_load_explicit(&q->used->idx, memory_order_acquire);
}

// Driver side of one packed virtqueue, as the spec's example driver (virtio 1.1+ 2.8.21): the
// first descriptor of a chain is made available last, the buffer id goes in the last one.
#define PGQ_SIZE_MAX 1024

struct pgq_elem {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; // VIRTQ_DESC_F_WRITE / INDIRECT (NEXT is added along the chain)
};

struct pgq {
	struct guest *g;
	uint16_t size;
	uint64_t desc_gpa, driver_gpa, device_gpa;
	struct virtq_pdesc *desc;
	struct virtq_event *driver; // ours (the guest's wishes for interrupts)
	struct virtq_event *device; // the device's
	uint16_t avail_pos; // next descriptor the driver fills
	bool avail_wrap; // Driver Ring Wrap Counter
	uint16_t used_pos; // next used descriptor the driver reads
	bool used_wrap;
	uint16_t next_id; // buffer ids handed out round robin
	uint16_t ndesc[PGQ_SIZE_MAX]; // chain length per buffer id (to skip over used chains)
};

static inline void pgq_init(struct pgq *q, struct guest *g, uint16_t size)
{
	memset(q, 0, sizeof(*q));
	q->g = g;
	q->size = size;
	q->desc_gpa = guest_alloc(g, 16ull * size, 16);
	q->driver_gpa = guest_alloc(g, 4, 4);
	q->device_gpa = guest_alloc(g, 4, 4);
	q->desc = guest_ptr(g, q->desc_gpa);
	q->driver = guest_ptr(g, q->driver_gpa);
	q->device = guest_ptr(g, q->device_gpa);
	memset(q->desc, 0, 16ull * size);
	memset(q->driver, 0, 4);
	memset(q->device, 0, 4);
	q->avail_wrap = true;
	q->used_wrap = true;
}

// The virtq_config a front-end would give: avail and used halves of the base at 0, wrap 1.
static inline struct virtq_config pgq_config(
	const struct pgq *q, uint64_t features, struct mempool *pool)
{
	return (struct virtq_config){.mem = q->g->mem,
		.desc = q->desc_gpa + GUEST_UVA_OFF,
		.avail = q->driver_gpa + GUEST_UVA_OFF,
		.used = q->device_gpa + GUEST_UVA_OFF,
		.size = q->size,
		.base = VIRTQ_PACKED_WRAP | (uint32_t)VIRTQ_PACKED_WRAP << 16,
		.features = features | VHOST_BIT(VIRTIO_F_RING_PACKED),
		.callfd = -1,
		.pool = pool};
}

static inline uint16_t pgq_wrap_bits(bool wrap)
{
	return wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
}

// Makes a chain of n elements available with buffer id `id` (written in every descriptor, as
// Linux does; the device reads the last one). Returns the position of its first descriptor.
static inline uint16_t pgq_add_id(struct pgq *q, const struct pgq_elem *e, unsigned n, uint16_t id)
{
	uint16_t first = q->avail_pos, head_flags = 0;

	for (unsigned i = 0; i < n; i++) {
		struct virtq_pdesc *d = &q->desc[q->avail_pos];
		uint16_t f = e[i].flags | pgq_wrap_bits(q->avail_wrap) |
			(i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);

		d->addr = e[i].addr;
		d->len = e[i].len;
		d->id = id;
		if (i == 0)
			head_flags = f;
		else
			atomic_store_explicit(&d->flags, f, memory_order_release);
		if (++q->avail_pos == q->size) {
			q->avail_pos = 0;
			q->avail_wrap = !q->avail_wrap;
		}
	}
	if (id < PGQ_SIZE_MAX)
		q->ndesc[id] = (uint16_t)n;
	atomic_store_explicit(&q->desc[first].flags, head_flags, memory_order_release);
	return first;
}

static inline uint16_t pgq_add(struct pgq *q, const struct pgq_elem *e, unsigned n)
{
	uint16_t id = q->next_id;

	q->next_id = (uint16_t)((q->next_id + 1) % q->size);
	pgq_add_id(q, e, n, id);
	return id;
}

// Posts one buffer of len bytes (allocated in guest memory) as a single descriptor. Returns its
// buffer id; *gpa gets the buffer address.
static inline uint16_t pgq_post(struct pgq *q, uint32_t len, bool write, uint64_t *gpa)
{
	struct pgq_elem e = {.addr = guest_alloc(q->g, len, 64),
		.len = len,
		.flags = write ? VIRTQ_DESC_F_WRITE : 0};

	if (gpa)
		*gpa = e.addr;
	return pgq_add(q, &e, 1);
}

// Takes the next used descriptor if the device wrote it: true with *id, *len, *flags filled,
// the read position skipped over the buffer's chain.
static inline bool pgq_get(struct pgq *q, uint16_t *id, uint32_t *len, uint16_t *flags)
{
	struct virtq_pdesc *d = &q->desc[q->used_pos];
	uint16_t f = atomic_load_explicit(&d->flags, memory_order_acquire);
	uint16_t want = q->used_wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0;

	if ((f & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED)) != want)
		return false;
	*id = d->id;
	*len = d->len;
	if (flags)
		*flags = f;
	q->used_pos += *id < PGQ_SIZE_MAX && q->ndesc[*id] ? q->ndesc[*id] : 1;
	if (q->used_pos >= q->size) {
		q->used_pos -= q->size;
		q->used_wrap = !q->used_wrap;
	}
	return true;
}

#endif
