// SPDX-License-Identifier: Apache-2.0
// uio_pci_generic backend of the PCI bus layer: /dev/uioN claims the device (and would carry its
// INTx interrupt), config space is the sysfs `config` file and BARs are the sysfs `resourceN`
// files mapped into the process. There is no IOMMU protection: the device DMAs to physical
// addresses (IOVA as PA, from /proc/self/pagemap), which needs root and hugepages.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "drivers/pci/pci.h"
#include "drivers/pci/pci_dma.h"

LOG_MODULE("uio");

struct uio_dev {
	int uio_fd; // /dev/uioN, held while the port lives
	int cfg_fd; // sysfs config
	char uio_name[32];
};

static int uio_cfg_read(struct pci_dev *dev, unsigned off, void *buf, size_t len)
{
	struct uio_dev *ud = dev->backend;

	return pread(ud->cfg_fd, buf, len, off) == (ssize_t)len ? 0 : -EIO;
}

static int uio_cfg_write(struct pci_dev *dev, unsigned off, const void *buf, size_t len)
{
	struct uio_dev *ud = dev->backend;

	return pwrite(ud->cfg_fd, buf, len, off) == (ssize_t)len ? 0 : -EIO;
}

static int uio_reset(struct pci_dev *dev)
{
	char path[PATH_MAX];
	int fd, ret = 0;

	// The kernel's function-level reset, when the device has one.
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/reset", pci_sys_root(), dev->addr);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? -ENOTSUP : -errno;
	if (write(fd, "1", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

static int uio_bar_map(struct pci_dev *dev, unsigned i, struct err *err)
{
	char path[PATH_MAX];
	struct stat st;
	void *va;
	int fd;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/resource%u", pci_sys_root(), dev->addr,
		i);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return err_set(err, -errno, "pci", "%s: cannot open %s: %s%s", dev->addr, path,
			strerror(errno),
			errno == ENOENT ? " (BAR not implemented, or an I/O port BAR)" : "");
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return err_set(err, -ENODEV, "pci", "%s: BAR %u has no size", dev->addr, i);
	}
	va = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd); // the mapping keeps the resource
	if (va == MAP_FAILED)
		return err_set(
			err, -errno, "pci", "%s: mmap of %s: %s", dev->addr, path, strerror(errno));
	dev->bar[i].va = va;
	dev->bar[i].size = (size_t)st.st_size;
	return 0;
}

static void uio_close(struct pci_dev *dev)
{
	struct uio_dev *ud = dev->backend;

	if (ud == NULL)
		return;
	for (unsigned i = 0; i < PCI_MAX_BARS; i++) {
		if (dev->bar[i].va != NULL)
			munmap((void *)dev->bar[i].va, dev->bar[i].size);
		dev->bar[i].va = NULL;
	}
	if (ud->cfg_fd >= 0)
		close(ud->cfg_fd);
	if (ud->uio_fd >= 0)
		close(ud->uio_fd);
	free(ud);
	dev->backend = NULL;
}

static const struct pci_dev_ops uio_ops = {
	.cfg_read = uio_cfg_read,
	.cfg_write = uio_cfg_write,
	.reset = uio_reset,
	.bar_map = uio_bar_map,
	.close = uio_close,
};

// The uioN child of the PCI device.
static int uio_find(const char *addr, char *name, size_t size)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/uio", pci_sys_root(), addr);
	if ((d = opendir(path)) == NULL)
		return -errno;
	name[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "uio", 3) == 0) {
			pci_strlcpy(name, de->d_name, size);
			break;
		}
	}
	closedir(d);
	return name[0] ? 0 : -ENOENT;
}

int uio_dev_open(struct pci_dev *dev, const struct pci_info *info, struct err *err)
{
	struct uio_dev *ud;
	char path[PATH_MAX];
	int ret;

	if (geteuid() != 0)
		return err_set(err, -EPERM, "pci",
			"%s: uio_pci_generic needs root: without an IOMMU the device DMAs to "
			"physical addresses, which only root can read from /proc/self/pagemap "
			"(bind it to vfio-pci to run without root)",
			dev->addr);
	if ((ud = calloc(1, sizeof(*ud))) == NULL)
		return err_set(err, -ENOMEM, "pci", "%s: out of memory", dev->addr);
	ud->uio_fd = -1;
	ud->cfg_fd = -1;
	dev->backend = ud;
	dev->ops = &uio_ops;
	dev->access = PCI_ACCESS_UIO;
	if (info->iommu_group >= 0)
		LOG(WARN,
			"%s: the device is in IOMMU group %d: with the IOMMU translating, uio DMA "
			"to physical addresses fails unless the IOMMU is off or in passthrough "
			"(iommu=pt); prefer vfio-pci",
			dev->addr, info->iommu_group);
	if ((ret = pci_dma_require_pa(dev->addr, "uio_pci_generic has no IOMMU", err)) < 0)
		goto fail;
	if ((ret = uio_find(dev->addr, ud->uio_name, sizeof(ud->uio_name))) < 0) {
		err_set(err, ret, "pci", "%s: bound to uio_pci_generic but no uio device found: %s",
			dev->addr, strerror(-ret));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/%s", pci_dev_root(), ud->uio_name);
	if ((ud->uio_fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		ret = err_set(err, -errno, "pci", "%s: cannot open %s: %s", dev->addr, path,
			strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/config", pci_sys_root(), dev->addr);
	if ((ud->cfg_fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		ret = err_set(err, -errno, "pci", "%s: cannot open %s: %s", dev->addr, path,
			strerror(errno));
		goto fail;
	}
	LOG(WARN,
		"%s opened through uio_pci_generic (%s): no IOMMU, nothing protects memory from "
		"the device's DMA",
		dev->addr, ud->uio_name);
	return 0;
fail:
	uio_close(dev);
	dev->ops = NULL;
	return ret;
}
