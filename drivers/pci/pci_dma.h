// SPDX-License-Identifier: Apache-2.0
// DMA addressing for the userspace NIC drivers: the IOVA mode a device needs (VA behind an IOMMU,
// PA for uio and VFIO no-IOMMU) and the hugepage zone holding a port's descriptor rings. Control
// thread only.
#ifndef VSWITCH_PCI_DMA_H
#define VSWITCH_PCI_DMA_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/err.h"

// Largest block a zone places without crossing a page: hugepages are physically contiguous
// within one page only, which is what IOVA as PA needs.
#define PCI_DMA_BLOCK_MAX (2u << 20)

// Makes sure the IOVA mode is PA for device `addr` (uio, VFIO no-IOMMU): switches from auto or
// va when nothing is DMA-mapped yet and refreshes the packet buffers' IOVAs. `why` says which
// access method needs it. -EBUSY when a VFIO device already works with IOVA as VA, -EPERM without
// root or hugepages; err says what to change.
int pci_dma_require_pa(const char *addr, const char *why, struct err *err);

// Places a block of `size` bytes aligned to `align` (power of two) at or after *off so that it
// does not cross a PCI_DMA_BLOCK_MAX boundary; returns its offset and advances *off past it.
size_t pci_dma_place(size_t *off, size_t size, size_t align);

// Hugepage memory for rings: mem_alloc'ed, zeroed, with the IOVA of its start.
struct pci_dma_zone {
	uint8_t *va;
	size_t size;
};
// 0 or -errno with err filled (no memory, or no IOVA for it in the current mode).
int pci_dma_zone_create(
	struct pci_dma_zone *z, const char *name, size_t size, int numa_node, struct err *err);
void pci_dma_zone_destroy(struct pci_dma_zone *z); // zone zeroed; no-op when empty
// IOVA of zone byte `off`, MEM_IOVA_BAD if unknown.
uint64_t pci_dma_iova(const struct pci_dma_zone *z, size_t off);

#endif
