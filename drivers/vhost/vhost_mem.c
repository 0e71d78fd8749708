// SPDX-License-Identifier: Apache-2.0
// Guest memory table: mapping SET_MEM_TABLE regions from their fds; see vhost_mem.h.
#include "drivers/vhost/vhost_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static bool regions_overlap(const struct vhost_mem_region *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (r[i].gpa < r[j].gpa + r[j].size && r[j].gpa < r[i].gpa + r[i].size)
				return true;
	return false;
}

struct vhost_mem *vhost_mem_create(const struct vhost_mem_region *regions, unsigned n)
{
	struct vhost_mem *mem;

	if (n == 0 || n > VHOST_MEM_REGIONS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (regions[i].size == 0 || regions[i].hva == NULL ||
			regions[i].gpa > UINT64_MAX - regions[i].size ||
			regions[i].uva > UINT64_MAX - regions[i].size) {
			errno = EINVAL;
			return NULL;
		}
	}
	if (regions_overlap(regions, n)) {
		errno = EINVAL;
		return NULL;
	}
	if ((mem = calloc(1, sizeof(*mem))) == NULL)
		return NULL;
	mem->n = n;
	for (unsigned i = 0; i < n; i++) {
		mem->r[i] = regions[i];
		mem->r[i].map_base = NULL;
		mem->r[i].map_size = 0;
	}
	return mem;
}

// Maps one region. The mapping starts at file offset 0 (mmap offsets must be page aligned,
// the region's offset need not be) and covers offset + size rounded up to the file's block
// size, which is the huge page size on hugetlbfs.
static int map_region(const struct vhost_mem_desc *d, int fd, unsigned i,
	struct vhost_mem_region *r, struct err *err)
{
	struct stat st;
	uint64_t end = d->mmap_offset + d->size; // no overflow: checked by the parser
	size_t align, map_size;
	void *p;

	if (fstat(fd, &st) < 0)
		return err_set(err, -errno, "fds", "SET_MEM_TABLE: region %u: fstat: %s", i,
			strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(err, -EINVAL, "fds",
			"SET_MEM_TABLE: region %u: fd is not a memory file (mode 0%o)", i,
			(unsigned)st.st_mode);
	if (st.st_size < 0 || end > (uint64_t)st.st_size)
		return err_set(err, -EINVAL, "regions",
			"SET_MEM_TABLE: region %u ends at file offset 0x%llx past the file size "
			"0x%llx",
			i, (unsigned long long)end, (unsigned long long)st.st_size);
	align = st.st_blksize > 0 ? (size_t)st.st_blksize : 4096;
	if ((align & (align - 1)) != 0)
		align = 4096;
	if (end > SIZE_MAX - align)
		return err_set(err, -EINVAL, "regions", "SET_MEM_TABLE: region %u too large", i);
	map_size = ALIGN_UP((size_t)end, align);
	// A file shorter than the aligned size is fine for hugetlbfs (its size is page aligned)
	// and for memfd: only [0, end) is ever accessed and that was checked above.
	p = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return err_set(err, -errno, "regions",
			"SET_MEM_TABLE: region %u: mmap of 0x%zx bytes: %s", i, map_size,
			strerror(errno));
	// Guest memory has no place in our core dumps (size, and the guest's secrets).
	(void)madvise(p, map_size, MADV_DONTDUMP);
	// Where the file supports seals, forbid shrinking it under us: a shrunk file would turn
	// our accesses into SIGBUS. Failure (no sealing support) is expected for hugetlbfs files.
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
	r->gpa = d->gpa;
	r->size = d->size;
	r->uva = d->uva;
	r->hva = (uint8_t *)p + d->mmap_offset;
	r->map_base = p;
	r->map_size = map_size;
	return 0;
}

struct vhost_mem *vhost_mem_map(const struct vhost_memory *m, const int *fds, struct err *err)
{
	struct vhost_mem *mem;
	int ret;

	if (m->nregions == 0 || m->nregions > VHOST_MEM_REGIONS_MAX) {
		err_set(err, -EINVAL, "nregions", "SET_MEM_TABLE: %u regions", m->nregions);
		errno = EINVAL;
		return NULL;
	}
	if ((mem = calloc(1, sizeof(*mem))) == NULL) {
		err_set(err, -ENOMEM, NULL, "SET_MEM_TABLE: out of memory");
		return NULL;
	}
	for (unsigned i = 0; i < m->nregions; i++) {
		if ((ret = map_region(&m->regions[i], fds[i], i, &mem->r[i], err)) < 0) {
			vhost_mem_destroy(mem);
			errno = -ret;
			return NULL;
		}
		mem->n = i + 1;
	}
	return mem;
}

void vhost_mem_destroy(struct vhost_mem *mem)
{
	if (mem == NULL)
		return;
	for (unsigned i = 0; i < mem->n; i++)
		if (mem->r[i].map_base != NULL)
			munmap(mem->r[i].map_base, mem->r[i].map_size);
	free(mem);
}

uint64_t vhost_mem_size(const struct vhost_mem *mem)
{
	uint64_t total = 0;

	for (unsigned i = 0; mem != NULL && i < mem->n; i++)
		total += mem->r[i].size;
	return total;
}
