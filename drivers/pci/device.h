// SPDX-License-Identifier: Apache-2.0
// Device management for userspace NIC drivers, the dpdk-devbind equivalent behind vsctl device:
// the network PCI devices with their drivers, and binding them to vfio-pci, uio_pci_generic or
// back to a kernel driver, refusing to take the interface that carries the default route.
// Control thread only (the RPC handlers in control/rpc_device.c).
#ifndef VSWITCH_DEVICE_H
#define VSWITCH_DEVICE_H

#include <stdbool.h>

#include "drivers/pci/pci.h"

enum device_kind {
	DEVICE_KERNEL, // a kernel network driver (e1000e, virtio-pci, ixgbe...)
	DEVICE_VFIO, // vfio-pci
	DEVICE_UIO, // uio_pci_generic
	DEVICE_UNUSED, // no driver
};

struct device_entry {
	struct pci_info info;
	const char *name; // known model, NULL if unknown
	enum device_kind kind;
	bool active; // an interface of it carries routes (dpdk-devbind "*Active*")
	bool default_route; // one of them is the default route
	const char *port; // vswitchd port using it, NULL if none
};

const char *device_kind_name(enum device_kind k);
// Calls cb for every network-class PCI device in address order; stops at a non-zero cb result.
int device_list(int (*cb)(const struct device_entry *e, void *arg), void *arg);
// Binds DEV (PCI address or interface name) to driver. Refuses (-EBUSY) a device a port uses,
// and one whose interface carries the default route unless force. *addr gets the address and
// *prev the driver it had. 0 or -errno with err filled.
int device_bind(const char *dev, const char *driver, bool force, char addr[PCI_ADDR_SIZE],
	char prev[PCI_DRIVER_SIZE], struct err *err);
// Leaves DEV without a driver (driver_override cleared); same refusals.
int device_unbind(const char *dev, bool force, char addr[PCI_ADDR_SIZE], char prev[PCI_DRIVER_SIZE],
	struct err *err);

#endif
