// SPDX-License-Identifier: Apache-2.0
// Hugepage-backed memory for packet buffers and rings: segments per NUMA node (2 MiB or 1 GiB
// pages via memfd MFD_HUGETLB, locked), a fallback to normal locked pages with one warning, and
// IOVA resolution for DMA: IOVA = VA (VFIO with an IOMMU) or the physical address (VFIO
// no-IOMMU, UIO). Control thread only, except mem_virt2iova() which is thread-safe.
#ifndef VSWITCH_MEM_H
#define VSWITCH_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/err.h"

enum mem_iova_mode {
	MEM_IOVA_AUTO = 0, // VA unless a device needs PA (decided when the first PCI port probes)
	MEM_IOVA_VA,
	MEM_IOVA_PA,
};

#define MEM_IOVA_BAD UINT64_MAX
#define MEM_MAX_NUMA 8

struct mem_config {
	enum mem_iova_mode iova_mode;
	size_t page_size; // 0: best available (1G, then 2M); else 2M or 1G
	size_t budget[MEM_MAX_NUMA]; // bytes of hugepage memory allowed per NUMA node, 0 = no limit
	bool require_hugepages; // fail instead of falling back to normal pages
};

// A contiguous virtual range backed by pages of one size on one node. In PA mode every page is
// physically contiguous within itself, never across pages.
struct mem_segment {
	char name[32];
	void *va;
	size_t size;
	size_t page_size;
	int numa_node;
	bool hugepages; // false: normal locked pages (fallback)
	int fd; // memfd backing the segment (-1 if none)
};

struct mem_stats {
	enum mem_iova_mode iova_mode;
	size_t page_size;
	bool hugepages; // all segments on hugepages
	unsigned n_segments;
	size_t bytes[MEM_MAX_NUMA]; // reserved per node
	size_t budget[MEM_MAX_NUMA];
	unsigned hugepages_free[MEM_MAX_NUMA]; // of page_size, from sysfs
	size_t fallback_bytes[MEM_MAX_NUMA]; // part of bytes[] on normal pages (fallback)
	unsigned n_nodes; // NUMA nodes known (entries valid in the arrays above)
};

// cfg NULL = defaults (auto IOVA, auto page size, no budget, fallback allowed). May be called
// again (new config) while no segment exists; -EBUSY otherwise. -EINVAL (bad page_size or mode),
// -EPERM (pa without root), -ENOMEM (require_hugepages or pa with no free hugepage at all).
int mem_init(const struct mem_config *cfg, struct err *err);
// Frees every segment (hook called for each) and returns to the uninitialised state.
void mem_fini(void);

// Allocates `size` bytes aligned to `align` (power of two, >= cache line) on `numa_node` (-1:
// the caller's node) in a new segment, zeroed and locked. NULL + errno (ENOMEM, EINVAL).
// Page size: the configured one; auto = 2 MiB, 1 GiB for allocations >= 512 MiB (or when no
// 2 MiB page is free); normal pages when hugepages are short (one warning per run, unless
// require_hugepages or IOVA mode pa: then ENOMEM). The budget of the node counts every segment.
// When align <= the page size the result is the segment start, so it is page-aligned.
// Calling mem_alloc before mem_init initialises with defaults (unit tests, tools).
void *mem_alloc(const char *name, size_t size, size_t align, int numa_node);
void mem_free(void *va); // NULL is a no-op
// Page size of the segment holding va (objects must not straddle pages in PA mode); 0 when va
// is in no segment. Thread-safe.
size_t mem_page_size(const void *va);

enum mem_iova_mode mem_iova_mode(void);
// Switches between VA and PA while no DMA mapping exists; -EBUSY otherwise, -EPERM for PA without
// root or without hugepages (pagemap gives no PFNs / pages may move).
// -EBUSY applies while a segment hook is set and segments exist (they may be DMA-mapped). Packet
// pools created earlier keep stale buf_iova: call pkt_pools_refresh_iova() after a change.
int mem_iova_mode_set(enum mem_iova_mode mode, struct err *err);
const char *mem_iova_mode_name(enum mem_iova_mode mode);
// IOVA of va under the current mode; MEM_IOVA_BAD when va is not in a segment or PA is unknown.
uint64_t mem_virt2iova(const void *va);
// Physical address from /proc/self/pagemap (needs root); MEM_IOVA_BAD on failure with errno
// EPERM (no PFNs without CAP_SYS_ADMIN), EFAULT (page not present) or the read error.
uint64_t mem_virt2phys(const void *va);

// Calls cb for every segment; stops and returns cb's value when it is non-zero. Used by VFIO to
// DMA-map all memory, and by memory.show.
int mem_segment_foreach(int (*cb)(const struct mem_segment *seg, void *arg), void *arg);
void mem_stats_get(struct mem_stats *st);

// Segment-created hook (VFIO maps new segments for DMA); NULL to clear. Returns cb's error.
typedef int (*mem_segment_hook_fn)(const struct mem_segment *seg, bool added, void *arg);
void mem_set_segment_hook(mem_segment_hook_fn fn, void *arg);

#endif
