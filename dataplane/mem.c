// SPDX-License-Identifier: Apache-2.0
// Hugepage-backed segments (see mem.h): one memfd-backed mapping per allocation, bound to its NUMA
// node, prefaulted and locked; a fallback to normal pages with one warning that says what to
// reserve; and the IOVA (VA or cached physical addresses) of any byte of any segment.
//
// How lookups work. Segments are created and freed on the control path under mem_lock. For
// mem_virt2iova(), which any thread may call, each live segment is also published in a fixed
// slot table protected by a per-slot sequence counter (odd while a slot is rewritten): readers
// scan the slots without locks and retry a slot whose counter moved. A reader that finds its
// address in a slot owns memory inside that segment, so the segment cannot be freed under it.
#include "dataplane/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dataplane/compiler.h"
#include "dataplane/log.h"

LOG_MODULE("mem");

#define MEM_PAGE_2M (2ul << 20)
#define MEM_PAGE_1G (1ul << 30)
#define MEM_MAX_SEGMENTS 1024
// memfd_create encodes log2(huge page size) at this shift (linux/memfd.h MFD_HUGE_SHIFT; the
// kernel header clashes with glibc's sys/mman.h, so it is not included).
#define MEM_MFD_HUGE_SHIFT 26
#define MEM_SYSFS_NODE "/sys/devices/system/node"
#define MEM_SYSFS_HUGE "/sys/kernel/mm/hugepages"

struct mem_seg {
	struct mem_segment pub;
	void *user; // pointer returned by mem_alloc (pub.va unless align > page size)
	size_t n_pages;
	uint64_t *pa; // physical address of each page; NULL when unknown (no root, normal pages)
	unsigned slot; // index in mem_slots
	struct mem_seg *next;
};

// Lock-free lookup entry; see "How lookups work" above. Fields are atomics so that the seqlock
// reads are not data races.
struct mem_slot {
	_Atomic uint32_t seq; // odd: being written
	_Atomic uintptr_t start;
	_Atomic uintptr_t end;
	_Atomic(struct mem_seg *) seg;
};

// Lock order: mem_lock only (recursive so that a segment hook may call mem_segment_foreach).
static pthread_mutex_t mem_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static bool mem_initialized; // mem_lock
static struct mem_config mem_cfg; // mem_lock
static unsigned mem_n_nodes = 1; // mem_lock; set at init, then read-only
static size_t mem_default_page; // mem_lock: hugepage size new allocations prefer
static struct mem_seg *mem_segs; // mem_lock
static unsigned mem_n_segs; // mem_lock
static size_t mem_bytes[MEM_MAX_NUMA]; // mem_lock
static bool mem_fallback_warned; // mem_lock
static bool mem_mlock_warned; // mem_lock
static mem_segment_hook_fn mem_hook; // mem_lock
static void *mem_hook_arg; // mem_lock
// any thread: ro (acquire), control: rw under mem_lock (release). PA tables are complete
// before the release store that switches to PA.
static _Atomic int mem_mode = MEM_IOVA_AUTO;
static struct mem_slot mem_slots[MEM_MAX_SEGMENTS];
// any thread: ro (acquire), control: rw (release after the slot is written).
static _Atomic unsigned mem_slots_used;

const char *mem_iova_mode_name(enum mem_iova_mode mode)
{
	switch (mode) {
	case MEM_IOVA_AUTO:
		return "auto";
	case MEM_IOVA_VA:
		return "va";
	case MEM_IOVA_PA:
		return "pa";
	}
	return "?";
}

static void mem_size_str(size_t bytes, char *buf, size_t len)
{
	if (bytes >= MEM_PAGE_1G && bytes % MEM_PAGE_1G == 0)
		snprintf(buf, len, "%zu GiB", bytes >> 30);
	else if (bytes >= (1ul << 20))
		snprintf(buf, len, "%.1f MiB", (double)bytes / (1 << 20));
	else
		snprintf(buf, len, "%zu kB", bytes >> 10);
}

static long mem_sysfs_read(const char *path)
{
	char buf[32];
	long v = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		v = strtol(buf, NULL, 10);
	}
	close(fd);
	return v;
}

static bool mem_page_size_supported(size_t ps)
{
	char path[128];

	snprintf(path, sizeof(path), MEM_SYSFS_HUGE "/hugepages-%zukB/nr_hugepages", ps >> 10);
	return access(path, R_OK) == 0;
}

// Hugepages of size ps free for a new mapping on node (unknown node layout: global count).
static unsigned mem_hugepages_free(int node, size_t ps)
{
	char path[160];
	long global, resv, local;

	snprintf(path, sizeof(path), MEM_SYSFS_HUGE "/hugepages-%zukB/free_hugepages", ps >> 10);
	global = mem_sysfs_read(path);
	snprintf(path, sizeof(path), MEM_SYSFS_HUGE "/hugepages-%zukB/resv_hugepages", ps >> 10);
	resv = mem_sysfs_read(path);
	if (global < 0)
		return 0;
	// Reserved pages are promised to existing mappings but not yet faulted in.
	if (resv > 0)
		global = global > resv ? global - resv : 0;
	snprintf(path, sizeof(path),
		MEM_SYSFS_NODE "/node%d/hugepages/hugepages-%zukB/free_hugepages", node, ps >> 10);
	local = mem_sysfs_read(path);
	if (local >= 0 && local < global)
		return (unsigned)local;
	return (unsigned)global;
}

// Path of the nr_hugepages knob to raise for node (the per-node one when the kernel has it).
static void mem_nr_hugepages_path(int node, size_t ps, char *buf, size_t len)
{
	snprintf(buf, len, MEM_SYSFS_NODE "/node%d/hugepages/hugepages-%zukB/nr_hugepages", node,
		ps >> 10);
	if (access(buf, R_OK) != 0)
		snprintf(buf, len, MEM_SYSFS_HUGE "/hugepages-%zukB/nr_hugepages", ps >> 10);
}

static int mem_current_node(void)
{
	int cpu = sched_getcpu();
	int node;

	if (numa_available() < 0 || cpu < 0)
		return 0;
	node = numa_node_of_cpu(cpu);
	return node >= 0 && (unsigned)node < mem_n_nodes ? node : 0;
}

uint64_t mem_virt2phys(const void *va)
{
	long pgsz = sysconf(_SC_PAGESIZE);
	uint64_t entry, pfn;
	int fd, saved;
	ssize_t n;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return MEM_IOVA_BAD;
	n = pread(fd, &entry, sizeof(entry), (off_t)((uintptr_t)va / pgsz) * sizeof(entry));
	saved = errno;
	close(fd);
	if (n != sizeof(entry)) {
		errno = n < 0 ? saved : EIO;
		return MEM_IOVA_BAD;
	}
	// Bit 63: present; bits 0-54: PFN, reported as 0 without CAP_SYS_ADMIN.
	if (!(entry & (1ull << 63))) {
		errno = EFAULT;
		return MEM_IOVA_BAD;
	}
	pfn = entry & ((1ull << 55) - 1);
	if (pfn == 0) {
		errno = EPERM;
		return MEM_IOVA_BAD;
	}
	return pfn * (uint64_t)pgsz + ((uintptr_t)va % (uintptr_t)pgsz);
}

// Fills seg->pa for a hugepage segment; -errno when the kernel does not give PFNs.
static int mem_seg_compute_pa(struct mem_seg *seg)
{
	uint64_t *pa;

	if (seg->pa)
		return 0;
	if (!seg->pub.hugepages)
		return -EPERM;
	pa = calloc(seg->n_pages, sizeof(*pa));
	if (pa == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < seg->n_pages; i++) {
		pa[i] = mem_virt2phys((char *)seg->pub.va + i * seg->pub.page_size);
		if (pa[i] == MEM_IOVA_BAD) {
			int ret = -errno;
			free(pa);
			return ret;
		}
	}
	seg->pa = pa;
	return 0;
}

static void mem_slot_write(unsigned i, uintptr_t start, uintptr_t end, struct mem_seg *seg)
{
	struct mem_slot *s = &mem_slots[i];
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	// release: each field store orders the odd counter before it; pairs with the reader's
	// acquire field loads, after which its second counter load sees the odd value (or later).
	atomic_store_explicit(&s->start, start, memory_order_release);
	atomic_store_explicit(&s->end, end, memory_order_release);
	atomic_store_explicit(&s->seg, seg, memory_order_release);
	// release: pairs with the reader's acquire load of seq; also publishes *seg.
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

static struct mem_seg *mem_lookup(const void *va)
{
	unsigned n = atomic_load_explicit(&mem_slots_used, memory_order_acquire);
	uintptr_t a = (uintptr_t)va;

	for (unsigned i = 0; i < n; i++) {
		struct mem_slot *s = &mem_slots[i];
		uint32_t seq1, seq2;
		uintptr_t start, end;
		struct mem_seg *seg;

		do {
			// acquire: pairs with the writer's final release store of seq.
			seq1 = atomic_load_explicit(&s->seq, memory_order_acquire);
			// acquire: pairs with the writer's release field stores, and keeps the
			// re-check below after these loads.
			start = atomic_load_explicit(&s->start, memory_order_acquire);
			end = atomic_load_explicit(&s->end, memory_order_acquire);
			seg = atomic_load_explicit(&s->seg, memory_order_acquire);
			seq2 = atomic_load_explicit(&s->seq, memory_order_relaxed);
		} while (seq1 != seq2);
		// Odd: the slot is being filled or emptied; no caller can own memory in it.
		if ((seq1 & 1) == 0 && seg != NULL && a >= start && a < end)
			return seg;
	}
	return NULL;
}

static int mem_slot_alloc(void)
{
	unsigned used = atomic_load_explicit(&mem_slots_used, memory_order_relaxed);

	for (unsigned i = 0; i < used; i++)
		if (atomic_load_explicit(&mem_slots[i].seg, memory_order_relaxed) == NULL)
			return (int)i;
	if (used == MEM_MAX_SEGMENTS)
		return -ENOSPC;
	return (int)used;
}

static void mem_publish(struct mem_seg *seg)
{
	unsigned used = atomic_load_explicit(&mem_slots_used, memory_order_relaxed);

	mem_slot_write(
		seg->slot, (uintptr_t)seg->pub.va, (uintptr_t)seg->pub.va + seg->pub.size, seg);
	// release: readers that see the new count also see the slot written above.
	if (seg->slot >= used)
		atomic_store_explicit(&mem_slots_used, seg->slot + 1, memory_order_release);
	seg->next = mem_segs;
	mem_segs = seg;
	mem_n_segs++;
	mem_bytes[seg->pub.numa_node] += seg->pub.size;
}

static void mem_unpublish(struct mem_seg *seg)
{
	for (struct mem_seg **pp = &mem_segs; *pp; pp = &(*pp)->next) {
		if (*pp == seg) {
			*pp = seg->next;
			break;
		}
	}
	mem_slot_write(seg->slot, 0, 0, NULL);
	mem_n_segs--;
	mem_bytes[seg->pub.numa_node] -= seg->pub.size;
}

static void mem_seg_unmap(struct mem_seg *seg)
{
	munmap(seg->pub.va, seg->pub.size);
	if (seg->pub.fd >= 0)
		close(seg->pub.fd);
	free(seg->pa);
	free(seg);
}

// Maps, binds, prefaults and locks one segment of map_size bytes. ps = 0: normal pages.
// Returns NULL + errno; ENOMEM for a hugepage shortage (the caller falls back).
static struct mem_seg *mem_seg_map(const char *name, size_t map_size, size_t ps, int node)
{
	char fdname[64];
	struct mem_seg *seg;
	unsigned flags = MFD_CLOEXEC;
	bool huge = ps != 0;
	int saved;

	seg = calloc(1, sizeof(*seg));
	if (seg == NULL)
		return NULL;
	if (huge)
		flags |= MFD_HUGETLB | ((unsigned)__builtin_ctzl(ps) << MEM_MFD_HUGE_SHIFT);
	else
		ps = (size_t)sysconf(_SC_PAGESIZE);
	snprintf(fdname, sizeof(fdname), "vswitch:%s", name);
	seg->pub.fd = memfd_create(fdname, flags);
	if (seg->pub.fd < 0)
		goto err_seg;
	if (ftruncate(seg->pub.fd, (off_t)map_size) < 0)
		goto err_fd;
	seg->pub.va = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, seg->pub.fd, 0);
	if (seg->pub.va == MAP_FAILED)
		goto err_fd;
	if (numa_available() >= 0) {
		unsigned long mask = 1ul << node;
		// Hugepages: strict, the free count on the node was checked. Normal pages:
		// preferred, a remote page is better than the OOM killer.
		if (mbind(seg->pub.va, map_size, huge ? MPOL_BIND : MPOL_PREFERRED, &mask,
			    sizeof(mask) * 8, 0) < 0)
			goto err_map;
	}
	// Prefault now, so that a hugepage shortage is an error here and not SIGBUS later (which
	// MAP_POPULATE would leave to the first touch). Fresh memfd pages are zeroed.
	if (madvise(seg->pub.va, map_size, MADV_POPULATE_WRITE) < 0) {
		if (errno != EINVAL)
			goto err_map;
		// Kernel < 5.14: touch every page; the free count was checked beforehand.
		for (size_t off = 0; off < map_size; off += ps)
			((volatile char *)seg->pub.va)[off] = 0;
	}
	if (mlock(seg->pub.va, map_size) < 0 && !huge && !mem_mlock_warned) {
		// Hugepages are never swapped, so only normal pages care about the lock limit.
		struct rlimit rl = {0};
		getrlimit(RLIMIT_MEMLOCK, &rl);
		LOG(WARN,
			"cannot lock %s of normal pages (%s; RLIMIT_MEMLOCK %llu bytes): they "
			"may be swapped out; raise LimitMEMLOCK or reserve hugepages, "
			"continuing unlocked",
			name, strerror(errno), (unsigned long long)rl.rlim_cur);
		mem_mlock_warned = true;
	}
	snprintf(seg->pub.name, sizeof(seg->pub.name), "%s", name);
	seg->pub.size = map_size;
	seg->pub.page_size = ps;
	seg->pub.numa_node = node;
	seg->pub.hugepages = huge;
	seg->n_pages = map_size / ps;
	return seg;

err_map:
	saved = errno;
	munmap(seg->pub.va, map_size);
	errno = saved;
err_fd:
	saved = errno;
	close(seg->pub.fd);
	errno = saved;
err_seg:
	saved = errno;
	free(seg);
	errno = saved;
	return NULL;
}

// Hugepage sizes to try for an allocation, best first. Auto: 1 GiB pages only for allocations
// of at least half a gigabyte (a ring or a small pool would waste most of the page), else 2 MiB;
// 1 GiB still serves when no 2 MiB page is free.
static unsigned mem_page_candidates(size_t size, int node, size_t out[2])
{
	bool has2m = mem_page_size_supported(MEM_PAGE_2M);
	bool has1g = mem_page_size_supported(MEM_PAGE_1G);
	unsigned n = 0;

	if (mem_cfg.page_size) {
		out[n++] = mem_cfg.page_size;
		return n;
	}
	if (has1g && size >= MEM_PAGE_1G / 2)
		out[n++] = MEM_PAGE_1G;
	if (has2m)
		out[n++] = MEM_PAGE_2M;
	if (has1g && size < MEM_PAGE_1G / 2 && mem_hugepages_free(node, MEM_PAGE_2M) == 0)
		out[n++] = MEM_PAGE_1G;
	return n;
}

static void mem_warn_fallback(const char *name, size_t size, int node)
{
	size_t ps = mem_default_page ? mem_default_page : MEM_PAGE_2M;
	size_t need = ALIGN_UP(size, ps) / ps;
	unsigned avail = mem_hugepages_free(node, ps);
	char path[160];
	long nr;

	mem_nr_hugepages_path(node, ps, path, sizeof(path));
	nr = mem_sysfs_read(path);
	if (nr < 0)
		nr = 0;
	LOG(WARN,
		"not enough hugepages for %s on node %d: needs %zu x %zu kB hugepages, %u free; "
		"falling back to normal pages (more TLB misses, no IOVA-as-PA DMA). Reserve them "
		"with: echo %ld > %s (later pools may need more; see memory.show)",
		name, node, need, ps >> 10, avail, nr + (long)(need > avail ? need - avail : 0),
		path);
}

// The budget counts every segment on the node, hugepages or fallback pages.
static int mem_budget_check(const char *name, int node, size_t map_size)
{
	char sz[32], used[32], budget[32];

	if (mem_cfg.budget[node] == 0 || mem_bytes[node] + map_size <= mem_cfg.budget[node])
		return 0;
	mem_size_str(map_size, sz, sizeof(sz));
	mem_size_str(mem_bytes[node], used, sizeof(used));
	mem_size_str(mem_cfg.budget[node], budget, sizeof(budget));
	LOG(ERR,
		"%s: %s more on node %d exceeds the memory budget (%s used of %s); raise the "
		"budget or lower the number of packet buffers",
		name, sz, node, used, budget);
	return -ENOMEM;
}

static int mem_init_locked(const struct mem_config *cfg, struct err *err);

void *mem_alloc(const char *name, size_t size, size_t align, int numa_node)
{
	size_t cands[2], map_size = 0;
	struct mem_seg *seg = NULL;
	unsigned n_cands;
	int ret, slot;
	char sz[32], total[32];

	if (name == NULL || size == 0 || align == 0 || (align & (align - 1)) != 0 ||
		numa_node < -1 || numa_node >= MEM_MAX_NUMA) {
		errno = EINVAL;
		return NULL;
	}
	if (align < CACHE_LINE_SIZE)
		align = CACHE_LINE_SIZE;
	pthread_mutex_lock(&mem_lock);
	// Unit tests and tools may allocate without configuring memory: defaults apply.
	if (!mem_initialized && (ret = mem_init_locked(NULL, NULL)) < 0)
		goto err;
	if (numa_node == -1)
		numa_node = mem_current_node();
	if ((unsigned)numa_node >= mem_n_nodes) {
		ret = -EINVAL;
		goto err;
	}
	if ((slot = mem_slot_alloc()) < 0) {
		LOG(ERR, "%s: too many memory segments (%u)", name, MEM_MAX_SEGMENTS);
		ret = slot;
		goto err;
	}

	n_cands = mem_page_candidates(size, numa_node, cands);
	for (unsigned i = 0; i < n_cands && seg == NULL; i++) {
		size_t ps = cands[i];
		map_size = ALIGN_UP(size + (align > ps ? align : 0), ps);
		if (mem_hugepages_free(numa_node, ps) < map_size / ps)
			continue;
		if ((ret = mem_budget_check(name, numa_node, map_size)) < 0)
			goto err;
		seg = mem_seg_map(name, map_size, ps, numa_node);
		if (seg == NULL)
			LOG(DEBUG, "%s: %zu kB hugepages on node %d failed (%s), trying next", name,
				ps >> 10, numa_node, strerror(errno));
	}
	if (seg == NULL) {
		size_t ps = (size_t)sysconf(_SC_PAGESIZE);
		map_size = ALIGN_UP(size + (align > ps ? align : 0), ps);
		if ((ret = mem_budget_check(name, numa_node, map_size)) < 0)
			goto err;
		if (mem_cfg.require_hugepages ||
			atomic_load_explicit(&mem_mode, memory_order_relaxed) == MEM_IOVA_PA) {
			char path[160];
			size_t hps = mem_default_page ? mem_default_page : MEM_PAGE_2M;
			mem_nr_hugepages_path(numa_node, hps, path, sizeof(path));
			LOG(ERR,
				"%s: not enough free %zu kB hugepages on node %d for %zu bytes "
				"(%u free) and %s; reserve more in %s",
				name, hps >> 10, numa_node, size,
				mem_hugepages_free(numa_node, hps),
				mem_cfg.require_hugepages ? "hugepages are required"
							  : "IOVA mode pa cannot use normal pages",
				path);
			ret = -ENOMEM;
			goto err;
		}
		if (!mem_fallback_warned) {
			mem_warn_fallback(name, size, numa_node);
			mem_fallback_warned = true;
		}
		seg = mem_seg_map(name, map_size, 0, numa_node);
		if (seg == NULL) {
			ret = -errno;
			LOG(ERR, "%s: cannot map %zu bytes on node %d: %s", name, map_size,
				numa_node, strerror(errno));
			goto err;
		}
	}
	seg->slot = (unsigned)slot;
	seg->user = (void *)ALIGN_UP((uintptr_t)seg->pub.va, align);
	// PAs are cached whenever the kernel gives them (root + hugepages), so that PA mode can
	// be entered later without re-reading pagemap; in PA mode they are mandatory.
	if (seg->pub.hugepages && (ret = mem_seg_compute_pa(seg)) < 0 &&
		atomic_load_explicit(&mem_mode, memory_order_relaxed) == MEM_IOVA_PA) {
		LOG(ERR, "%s: no physical addresses for IOVA mode pa: %s", name, strerror(-ret));
		mem_seg_unmap(seg);
		goto err;
	}
	mem_publish(seg);
	if (mem_hook && (ret = mem_hook(&seg->pub, true, mem_hook_arg)) < 0) {
		LOG(ERR, "%s: segment hook refused the segment: %s", name, strerror(-ret));
		mem_unpublish(seg);
		mem_seg_unmap(seg);
		goto err;
	}
	mem_size_str(map_size, sz, sizeof(sz));
	mem_size_str(mem_bytes[numa_node], total, sizeof(total));
	LOG(INFO, "segment %s: %s on node %d, %zu x %zu kB %s (node total %s)", name, sz, numa_node,
		seg->n_pages, seg->pub.page_size >> 10,
		seg->pub.hugepages ? "hugepages" : "normal pages (fallback)", total);
	pthread_mutex_unlock(&mem_lock);
	return seg->user;

err:
	pthread_mutex_unlock(&mem_lock);
	errno = -ret;
	return NULL;
}

void mem_free(void *va)
{
	struct mem_seg *seg;
	int ret;

	if (va == NULL)
		return;
	pthread_mutex_lock(&mem_lock);
	for (seg = mem_segs; seg; seg = seg->next)
		if (seg->user == va)
			break;
	if (seg == NULL) {
		LOG(ERR, "%p is not a mem_alloc allocation, ignoring", va);
		goto out;
	}
	// The hook (VFIO DMA unmap) runs while the memory is still mapped.
	if (mem_hook && (ret = mem_hook(&seg->pub, false, mem_hook_arg)) < 0)
		LOG(WARN, "segment %s: hook failed on removal: %s, ignoring", seg->pub.name,
			strerror(-ret));
	mem_unpublish(seg);
	LOG(DEBUG, "segment %s freed (%zu bytes on node %d)", seg->pub.name, seg->pub.size,
		seg->pub.numa_node);
	mem_seg_unmap(seg);
out:
	pthread_mutex_unlock(&mem_lock);
}

size_t mem_page_size(const void *va)
{
	struct mem_seg *seg = mem_lookup(va);

	return seg ? seg->pub.page_size : 0;
}

enum mem_iova_mode mem_iova_mode(void)
{
	return atomic_load_explicit(&mem_mode, memory_order_acquire);
}

uint64_t mem_virt2iova(const void *va)
{
	// acquire: pairs with the release store in mem_iova_mode_set (PA tables complete).
	int mode = atomic_load_explicit(&mem_mode, memory_order_acquire);
	struct mem_seg *seg = mem_lookup(va);
	size_t off;

	if (seg == NULL)
		return MEM_IOVA_BAD;
	if (mode != MEM_IOVA_PA)
		return (uint64_t)(uintptr_t)va;
	if (seg->pa == NULL)
		return MEM_IOVA_BAD;
	off = (uintptr_t)va - (uintptr_t)seg->pub.va;
	return seg->pa[off / seg->pub.page_size] + off % seg->pub.page_size;
}

int mem_iova_mode_set(enum mem_iova_mode mode, struct err *err)
{
	struct mem_seg *seg;
	int probe = 0, ret = 0;

	if (mode != MEM_IOVA_AUTO && mode != MEM_IOVA_VA && mode != MEM_IOVA_PA)
		return err_set(err, -EINVAL, "iova_mode", "invalid IOVA mode %d", (int)mode);
	pthread_mutex_lock(&mem_lock);
	if (atomic_load_explicit(&mem_mode, memory_order_relaxed) == (int)mode)
		goto out;
	// A hook consumer (VFIO) has DMA-mapped the segments with the current IOVAs.
	if (mem_hook && mem_n_segs > 0) {
		ret = err_set(err, -EBUSY, "iova_mode",
			"IOVA mode cannot change to %s: %u memory segments are already DMA-mapped",
			mem_iova_mode_name(mode), mem_n_segs);
		goto out;
	}
	if (mode == MEM_IOVA_PA) {
		if (mem_virt2phys(&probe) == MEM_IOVA_BAD) {
			ret = err_set(err, -EPERM, "iova_mode",
				"IOVA mode pa needs physical addresses from /proc/self/pagemap, "
				"which the kernel gives only to root (CAP_SYS_ADMIN): %s",
				strerror(errno));
			goto out;
		}
		for (seg = mem_segs; seg; seg = seg->next) {
			if (!seg->pub.hugepages) {
				ret = err_set(err, -EPERM, "iova_mode",
					"IOVA mode pa needs hugepages, but segment %s is on normal "
					"pages, which the kernel may move and which are not "
					"physically contiguous; reserve hugepages and restart",
					seg->pub.name);
				goto out;
			}
			if ((ret = mem_seg_compute_pa(seg)) < 0) {
				ret = err_set(err, ret, "iova_mode",
					"segment %s: cannot read physical addresses: %s",
					seg->pub.name, strerror(-ret));
				goto out;
			}
		}
	}
	// release: pairs with the acquire in mem_virt2iova; PA tables above are visible first.
	atomic_store_explicit(&mem_mode, mode, memory_order_release);
	mem_cfg.iova_mode = mode;
	LOG(NOTICE, "IOVA mode %s", mem_iova_mode_name(mode));
out:
	pthread_mutex_unlock(&mem_lock);
	return ret;
}

int mem_segment_foreach(int (*cb)(const struct mem_segment *seg, void *arg), void *arg)
{
	int ret = 0;

	pthread_mutex_lock(&mem_lock);
	for (struct mem_seg *seg = mem_segs; seg && ret == 0; seg = seg->next)
		ret = cb(&seg->pub, arg);
	pthread_mutex_unlock(&mem_lock);
	return ret;
}

void mem_set_segment_hook(mem_segment_hook_fn fn, void *arg)
{
	pthread_mutex_lock(&mem_lock);
	mem_hook = fn;
	mem_hook_arg = arg;
	pthread_mutex_unlock(&mem_lock);
}

void mem_stats_get(struct mem_stats *st)
{
	bool all_huge = true;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&mem_lock);
	st->iova_mode = atomic_load_explicit(&mem_mode, memory_order_relaxed);
	st->page_size = mem_default_page ? mem_default_page : (size_t)sysconf(_SC_PAGESIZE);
	st->n_segments = mem_n_segs;
	for (struct mem_seg *seg = mem_segs; seg; seg = seg->next) {
		if (!seg->pub.hugepages) {
			all_huge = false;
			st->fallback_bytes[seg->pub.numa_node] += seg->pub.size;
		}
	}
	for (unsigned n = 0; n < mem_n_nodes; n++) {
		st->bytes[n] = mem_bytes[n];
		st->budget[n] = mem_cfg.budget[n];
		st->hugepages_free[n] =
			mem_default_page ? mem_hugepages_free((int)n, mem_default_page) : 0;
	}
	st->n_nodes = mem_n_nodes;
	// No segment yet: report whether new ones would get hugepages.
	if (mem_n_segs == 0) {
		all_huge = false;
		for (unsigned n = 0; n < mem_n_nodes; n++)
			all_huge = all_huge || st->hugepages_free[n] > 0;
	}
	st->hugepages = all_huge;
	pthread_mutex_unlock(&mem_lock);
}

static int mem_init_locked(const struct mem_config *cfg, struct err *err)
{
	static const struct mem_config defaults = {0};
	char line[512];
	size_t off = 0;
	int probe = 0;

	if (cfg == NULL)
		cfg = &defaults;
	if (mem_n_segs > 0)
		return err_set(err, -EBUSY, "memory",
			"memory already in use (%u segments); mem_init must come first",
			mem_n_segs);
	if (cfg->iova_mode != MEM_IOVA_AUTO && cfg->iova_mode != MEM_IOVA_VA &&
		cfg->iova_mode != MEM_IOVA_PA)
		return err_set(
			err, -EINVAL, "iova_mode", "invalid IOVA mode %d", (int)cfg->iova_mode);
	if (cfg->page_size != 0 && cfg->page_size != MEM_PAGE_2M && cfg->page_size != MEM_PAGE_1G)
		return err_set(err, -EINVAL, "page_size",
			"page size %zu is not supported: use 2M, 1G or 0 (auto)", cfg->page_size);
	if (cfg->page_size != 0 && !mem_page_size_supported(cfg->page_size))
		return err_set(err, -EINVAL, "page_size",
			"this kernel has no %zu kB hugepages (no %s/hugepages-%zukB)",
			cfg->page_size >> 10, MEM_SYSFS_HUGE, cfg->page_size >> 10);
	if (cfg->iova_mode == MEM_IOVA_PA && mem_virt2phys(&probe) == MEM_IOVA_BAD)
		return err_set(err, -EPERM, "iova_mode",
			"IOVA mode pa needs physical addresses from /proc/self/pagemap, which the "
			"kernel gives only to root (CAP_SYS_ADMIN): %s",
			strerror(errno));

	mem_cfg = *cfg;
	mem_n_nodes = 1;
	if (numa_available() >= 0)
		mem_n_nodes = (unsigned)MIN(numa_max_node() + 1, MEM_MAX_NUMA);
	// Auto: 2 MiB, unless only 1 GiB pages are reserved (see mem_page_candidates).
	mem_default_page = cfg->page_size;
	if (mem_default_page == 0) {
		unsigned free2m = 0, free1g = 0;
		for (unsigned n = 0; n < mem_n_nodes; n++) {
			free2m += mem_hugepages_free((int)n, MEM_PAGE_2M);
			free1g += mem_hugepages_free((int)n, MEM_PAGE_1G);
		}
		if (mem_page_size_supported(MEM_PAGE_2M) && (free2m > 0 || free1g == 0))
			mem_default_page = MEM_PAGE_2M;
		else if (mem_page_size_supported(MEM_PAGE_1G))
			mem_default_page = MEM_PAGE_1G;
	}

	if ((cfg->require_hugepages || cfg->iova_mode == MEM_IOVA_PA) && mem_default_page) {
		unsigned total = 0;
		for (unsigned n = 0; n < mem_n_nodes; n++)
			total += mem_hugepages_free((int)n, mem_default_page);
		if (total == 0) {
			char path[160];
			mem_nr_hugepages_path(0, mem_default_page, path, sizeof(path));
			return err_set(err, -ENOMEM,
				cfg->require_hugepages ? "require_hugepages" : "iova_mode",
				"no free %zu kB hugepages and %s; reserve them first, e.g. "
				"echo 512 > %s",
				mem_default_page >> 10,
				cfg->require_hugepages ? "hugepages are required"
						       : "IOVA mode pa cannot use normal pages",
				path);
		}
	} else if (cfg->require_hugepages || cfg->iova_mode == MEM_IOVA_PA) {
		return err_set(err, -ENOMEM, "page_size", "this kernel has no hugepage support");
	}

	atomic_store_explicit(&mem_mode, cfg->iova_mode, memory_order_release);
	memset(mem_bytes, 0, sizeof(mem_bytes));
	mem_fallback_warned = false;
	mem_mlock_warned = false;
	mem_initialized = true;

	for (unsigned n = 0; n < mem_n_nodes && off < sizeof(line); n++) {
		char budget[32] = "unlimited";
		if (cfg->budget[n])
			mem_size_str(cfg->budget[n], budget, sizeof(budget));
		off += (size_t)snprintf(line + off, sizeof(line) - off,
			"%snode%u: %u free, budget %s", n ? "; " : "", n,
			mem_default_page ? mem_hugepages_free((int)n, mem_default_page) : 0,
			budget);
	}
	LOG(INFO, "IOVA mode %s%s, page size %zu kB%s, %s%s", mem_iova_mode_name(cfg->iova_mode),
		cfg->iova_mode == MEM_IOVA_AUTO ? " (va until a device needs pa)" : "",
		mem_default_page >> 10, cfg->page_size ? "" : " (auto)", line,
		cfg->require_hugepages ? ", hugepages required" : "");
	return 0;
}

int mem_init(const struct mem_config *cfg, struct err *err)
{
	int ret;

	pthread_mutex_lock(&mem_lock);
	ret = mem_init_locked(cfg, err);
	pthread_mutex_unlock(&mem_lock);
	return ret;
}

void mem_fini(void)
{
	unsigned n = 0;

	pthread_mutex_lock(&mem_lock);
	while (mem_segs) {
		struct mem_seg *seg = mem_segs;
		if (mem_hook)
			mem_hook(&seg->pub, false, mem_hook_arg);
		mem_unpublish(seg);
		mem_seg_unmap(seg);
		n++;
	}
	if (n)
		LOG(INFO, "released %u memory segments still allocated", n);
	atomic_store_explicit(&mem_mode, MEM_IOVA_AUTO, memory_order_release);
	mem_initialized = false;
	pthread_mutex_unlock(&mem_lock);
}
