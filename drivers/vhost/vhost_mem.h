// SPDX-License-Identifier: Apache-2.0
// Guest memory table of a vhost-user device: the regions the front-end shared with
// SET_MEM_TABLE, mapped into our address space, and bounds-checked translation of guest
// physical addresses (descriptor buffers) and front-end user addresses (ring addresses) to our
// pointers. A table is immutable once built; a new SET_MEM_TABLE builds a new table and the old
// one is destroyed only after every worker stopped using it (vhost_dev.c quiesces the queues).
#ifndef VSWITCH_VHOST_MEM_H
#define VSWITCH_VHOST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/compiler.h"
#include "dataplane/err.h"
#include "drivers/vhost/vhost_proto.h"

struct vhost_mem_region {
	uint64_t gpa; // first guest physical address
	uint64_t size; // bytes, > 0
	uint64_t uva; // first front-end user address
	uint8_t *hva; // our pointer to gpa
	void *map_base; // mmap() base to unmap, NULL if the memory belongs to the caller
	size_t map_size;
};

struct vhost_mem {
	unsigned n;
	struct vhost_mem_region r[VHOST_MEM_REGIONS_MAX];
};

// Maps the regions of a validated SET_MEM_TABLE (vhost_proto_parse()) from their fds. Each
// region must lie inside its file (fstat; mapping past the end would SIGBUS on access); the fds
// stay owned by the caller (the mappings survive their close). Returns the table or NULL with
// err filled (-EINVAL bad region, -errno from mmap).
struct vhost_mem *vhost_mem_map(const struct vhost_memory *m, const int *fds, struct err *err);

// Builds a table over memory the caller owns (tests, fuzzing): regions[i].hva must point at
// regions[i].size bytes. Regions must not overlap. NULL + errno (EINVAL, ENOMEM).
struct vhost_mem *vhost_mem_create(const struct vhost_mem_region *regions, unsigned n);

// Unmaps what vhost_mem_map() mapped and frees the table. NULL is a no-op. The caller
// guarantees no worker uses the table any more.
void vhost_mem_destroy(struct vhost_mem *mem);

// Total bytes of guest memory in the table.
uint64_t vhost_mem_size(const struct vhost_mem *mem);

// Translates guest physical [gpa, gpa + len) when it lies entirely inside one region; NULL
// otherwise (also when len overflows). len 0 translates to the region pointer if gpa is mapped.
static inline void *vhost_mem_gpa(const struct vhost_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < mem->n; i++) {
		const struct vhost_mem_region *r = &mem->r[i];
		uint64_t off = gpa - r->gpa; // wraps when gpa < r->gpa, then fails below

		if (off < r->size && len <= r->size - off)
			return r->hva + off;
	}
	return NULL;
}

// Translates the first part of [gpa, gpa + len) that is contiguous in one region: returns the
// pointer and sets *seg to min(len, bytes left in that region). NULL if gpa is not mapped.
// Callers walk buffers that straddle regions by calling again with gpa + *seg.
static inline void *vhost_mem_gpa_seg(
	const struct vhost_mem *mem, uint64_t gpa, uint64_t len, uint64_t *seg)
{
	for (unsigned i = 0; i < mem->n; i++) {
		const struct vhost_mem_region *r = &mem->r[i];
		uint64_t off = gpa - r->gpa;

		if (off < r->size) {
			*seg = MIN(len, r->size - off);
			return r->hva + off;
		}
	}
	return NULL;
}

// Same as vhost_mem_gpa() for front-end user addresses (ring addresses of SET_VRING_ADDR).
static inline void *vhost_mem_uva(const struct vhost_mem *mem, uint64_t uva, uint64_t len)
{
	for (unsigned i = 0; i < mem->n; i++) {
		const struct vhost_mem_region *r = &mem->r[i];
		uint64_t off = uva - r->uva;

		if (off < r->size && len <= r->size - off)
			return r->hva + off;
	}
	return NULL;
}

#endif
