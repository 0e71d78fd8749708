// SPDX-License-Identifier: Apache-2.0
// Network PCI device listing and driver binding (see device.h): the logic of vsctl device
// status|bind|unbind, on top of the sysfs helpers of pci.c.
#include "drivers/pci/device.h"

#include <errno.h>
#include <string.h>

#include "dataplane/log.h"
#include "drivers/pci/pci_port.h"

LOG_MODULE("device");

const char *device_kind_name(enum device_kind k)
{
	switch (k) {
	case DEVICE_KERNEL:
		return "kernel";
	case DEVICE_VFIO:
		return "vfio-pci";
	case DEVICE_UIO:
		return "uio";
	case DEVICE_UNUSED:
		return "unused";
	}
	return "?";
}

static void device_fill(struct device_entry *e, const struct pci_info *info)
{
	char ifs[PCI_IFACES_SIZE], *save = NULL;

	memset(e, 0, sizeof(*e));
	e->info = *info;
	e->name = pci_device_name(info->vendor, info->device);
	if (info->driver[0] == '\0')
		e->kind = DEVICE_UNUSED;
	else if (strcmp(info->driver, "vfio-pci") == 0)
		e->kind = DEVICE_VFIO;
	else if (strcmp(info->driver, "uio_pci_generic") == 0 ||
		strcmp(info->driver, "igb_uio") == 0)
		e->kind = DEVICE_UIO;
	else
		e->kind = DEVICE_KERNEL;
	pci_strlcpy(ifs, info->ifaces, sizeof(ifs));
	for (char *i = strtok_r(ifs, ",", &save); i != NULL; i = strtok_r(NULL, ",", &save)) {
		bool dflt;

		if (pci_iface_routed(i, &dflt))
			e->active = true;
		if (dflt)
			e->default_route = true;
	}
	e->port = pci_port_user(info->addr);
}

struct device_list_ctx {
	int (*cb)(const struct device_entry *e, void *arg);
	void *arg;
};

static int device_list_cb(const struct pci_info *info, void *arg)
{
	struct device_list_ctx *c = arg;
	struct device_entry e;

	if ((info->class >> 16) != PCI_CLASS_NETWORK)
		return 0;
	device_fill(&e, info);
	return c->cb(&e, c->arg);
}

int device_list(int (*cb)(const struct device_entry *e, void *arg), void *arg)
{
	struct device_list_ctx c = {.cb = cb, .arg = arg};

	return pci_foreach(device_list_cb, &c);
}

// The checks shared by bind and unbind: a port's device, and the default route.
static int device_guard(const char *dev, bool force, const char *what, char addr[PCI_ADDR_SIZE],
	struct device_entry *e, struct err *err)
{
	struct pci_info info;
	int ret;

	if ((ret = pci_addr_resolve(dev, addr, "device", err)) < 0)
		return ret;
	if ((ret = pci_info_get(addr, &info)) < 0)
		return err_set(err, ret, "device", "no PCI device %s", addr);
	device_fill(e, &info);
	if (e->port != NULL)
		return err_set(err, -EBUSY, "device",
			"%s is used by port %s: delete the port first (vsctl del-port %s)", addr,
			e->port, e->port);
	if (e->default_route && !force)
		return err_set(err, -EBUSY, "device",
			"refusing to %s %s: its interface %s carries the default route, and taking "
			"it from the kernel would cut this host off (use --force if you are sure)",
			what, addr, info.ifaces);
	if (e->active && !force)
		LOG(WARN, "%s: interface %s has routes; they go away with the kernel driver", addr,
			info.ifaces);
	return 0;
}

int device_bind(const char *dev, const char *driver, bool force, char addr[PCI_ADDR_SIZE],
	char prev[PCI_DRIVER_SIZE], struct err *err)
{
	struct device_entry e;
	int ret;

	if (driver == NULL || *driver == '\0' || strchr(driver, '/') != NULL ||
		strlen(driver) >= PCI_DRIVER_SIZE)
		return err_set(err, -EINVAL, "driver",
			"driver must be vfio-pci, uio_pci_generic or a kernel driver name");
	if ((ret = device_guard(dev, force, "bind", addr, &e, err)) < 0)
		return ret;
	pci_strlcpy(prev, e.info.driver, PCI_DRIVER_SIZE);
	if (!pci_driver_exists(driver)) {
		if (strcmp(driver, "vfio-pci") == 0)
			return err_set(err, -ENOENT, "driver",
				"vfio-pci is not loaded: modprobe vfio-pci (and vfio_iommu_type1; "
				"for no-IOMMU mode: modprobe vfio enable_unsafe_noiommu_mode=1)");
		if (strcmp(driver, "uio_pci_generic") == 0)
			return err_set(err, -ENOENT, "driver",
				"uio_pci_generic is not loaded: modprobe uio_pci_generic");
	}
	return pci_bind(addr, driver, err);
}

int device_unbind(const char *dev, bool force, char addr[PCI_ADDR_SIZE], char prev[PCI_DRIVER_SIZE],
	struct err *err)
{
	struct device_entry e;
	int ret;

	if ((ret = device_guard(dev, force, "unbind", addr, &e, err)) < 0)
		return ret;
	pci_strlcpy(prev, e.info.driver, PCI_DRIVER_SIZE);
	if (e.info.driver[0] == '\0' && e.info.override[0] == '\0')
		return 0;
	return pci_bind(addr, NULL, err);
}
