// SPDX-License-Identifier: Apache-2.0
// Host checks for the userspace NIC drivers, each failure with its exact fix: the
// troubleshooting steps of the DPDK Linux drivers guide, automated. Used by `vswitchd --check`
// (daemon/check.c) and by doctor.run (vsctl doctor) inside a running daemon.
#ifndef VSWITCH_PCI_CHECK_H
#define VSWITCH_PCI_CHECK_H

#include <stddef.h>

enum pci_check_level {
	PCI_CHECK_OK,
	PCI_CHECK_WARN, // works, degraded, or only some setups are possible
	PCI_CHECK_FAIL, // a configured PCI port cannot work as things are
};

// `fix` may be NULL.
typedef void (*pci_check_fn)(
	void *ctx, enum pci_check_level lvl, const char *what, const char *fix);

// Runs every check and reports through fn: IOMMU (groups, kernel command line, ACPI tables),
// vfio/vfio-pci/vfio_iommu_type1/uio_pci_generic modules, no-IOMMU availability, hugepages per
// size and NUMA node, RLIMIT_MEMLOCK, /dev/vfio permissions, VFIO's dma_entry_limit, and for
// each device in devs (PCI addresses or interface names the configuration uses) its driver and
// IOMMU group viability. Returns the number of failures.
unsigned pci_check_run(const char *const *devs, size_t n_devs, pci_check_fn fn, void *ctx);

#endif
