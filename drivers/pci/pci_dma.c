// SPDX-License-Identifier: Apache-2.0
// DMA addressing policy (which IOVA mode a device forces) and ring memory zones for the PCI
// drivers. The mode itself lives in dataplane/mem.c; this is where devices ask for it.
#include "drivers/pci/pci_dma.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "dataplane/pkt.h"
#include "drivers/pci/pci.h"

LOG_MODULE("pci");

int pci_dma_require_pa(const char *addr, const char *why, struct err *err)
{
	struct err e = {0};
	int ret;

	if (mem_iova_mode() == MEM_IOVA_PA)
		return 0;
	if ((ret = mem_iova_mode_set(MEM_IOVA_PA, &e)) < 0) {
		if (ret == -EBUSY)
			return err_set(err, ret, "pci",
				"%s needs IOVA as physical addresses (%s), but a VFIO device "
				"already DMAs with IOVA as virtual addresses; to mix them set "
				"memory.iova-mode: pa in vswitchd.yaml (VFIO then maps IOVA = PA) "
				"and restart",
				addr, why);
		return err_set(err, ret, "pci", "%s needs IOVA as physical addresses (%s): %s",
			addr, why, e.msg);
	}
	// Buffers created in auto/va mode carry their virtual address as IOVA.
	pkt_pools_refresh_iova();
	LOG(NOTICE, "IOVA mode pa for %s (%s)", addr, why);
	return 0;
}

size_t pci_dma_place(size_t *off, size_t size, size_t align)
{
	size_t o = ALIGN_UP(*off, align);

	if (size <= PCI_DMA_BLOCK_MAX &&
		o / PCI_DMA_BLOCK_MAX != (o + size - 1) / PCI_DMA_BLOCK_MAX)
		o = ALIGN_UP(o, (size_t)PCI_DMA_BLOCK_MAX);
	*off = o + size;
	return o;
}

int pci_dma_zone_create(
	struct pci_dma_zone *z, const char *name, size_t size, int numa_node, struct err *err)
{
	memset(z, 0, sizeof(*z));
	vfio_map_error_clear();
	// Aligned to at most a page: mem_alloc then returns the segment start, page-aligned.
	if ((z->va = mem_alloc(name, size, 4096, numa_node)) == NULL) {
		int e = errno ? errno : ENOMEM;

		if (vfio_map_error()[0] != '\0')
			return err_set(err, -e, "", "%s: cannot DMA-map the ring memory: %s", name,
				vfio_map_error());
		return err_set(err, -e, "",
			"%s: cannot allocate %zu bytes of DMA memory for the rings on node %d: "
			"%s%s",
			name, size, numa_node, strerror(e),
			mem_iova_mode() == MEM_IOVA_PA ? " (IOVA as PA needs free hugepages)" : "");
	}
	z->size = size;
	if (mem_virt2iova(z->va) == MEM_IOVA_BAD) {
		mem_free(z->va);
		z->va = NULL;
		return err_set(err, -EFAULT, "", "%s: ring memory has no IOVA in mode %s", name,
			mem_iova_mode_name(mem_iova_mode()));
	}
	return 0;
}

void pci_dma_zone_destroy(struct pci_dma_zone *z)
{
	if (z->va != NULL)
		mem_free(z->va);
	memset(z, 0, sizeof(*z));
}

uint64_t pci_dma_iova(const struct pci_dma_zone *z, size_t off)
{
	return mem_virt2iova(z->va + off);
}
