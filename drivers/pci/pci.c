// SPDX-License-Identifier: Apache-2.0
// PCI bus layer, sysfs side: addresses, device attributes, interfaces, IOMMU groups, routes and
// driver binding through driver_override; plus the opened-device helpers (config space,
// capabilities, bus mastering) shared by the VFIO and UIO backends.
#include "drivers/pci/pci.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/log.h"

LOG_MODULE("pci");

// Short enough that every path built from them fits a PATH_MAX buffer.
#define PCI_ROOT_MAX 256

static char pci_sys[PCI_ROOT_MAX] = "/sys";
static char pci_devr[PCI_ROOT_MAX] = "/dev";
static char pci_proc[PCI_ROOT_MAX] = "/proc";

void pci_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void pci_roots_set(const char *sys, const char *dev, const char *proc)
{
	if (sys != NULL)
		pci_strlcpy(pci_sys, sys, sizeof(pci_sys));
	if (dev != NULL)
		pci_strlcpy(pci_devr, dev, sizeof(pci_devr));
	if (proc != NULL)
		pci_strlcpy(pci_proc, proc, sizeof(pci_proc));
}

const char *pci_sys_root(void)
{
	return pci_sys;
}

const char *pci_dev_root(void)
{
	return pci_devr;
}

const char *pci_proc_root(void)
{
	return pci_proc;
}

const char *pci_access_name(enum pci_access a)
{
	switch (a) {
	case PCI_ACCESS_VFIO:
		return "vfio";
	case PCI_ACCESS_VFIO_NOIOMMU:
		return "vfio-noiommu";
	case PCI_ACCESS_UIO:
		return "uio";
	case PCI_ACCESS_TEST:
		return "test";
	}
	return "?";
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

// Reads exactly `digits` hex digits from *s; -1 if they are not there.
static long hex_field(const char **s, int digits)
{
	long v = 0;

	for (int i = 0; i < digits; i++) {
		int d = hexval((*s)[i]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	*s += digits;
	return v;
}

int pci_addr_parse(const char *s, char out[PCI_ADDR_SIZE])
{
	long dom = 0, bus, dev, fn;
	const char *p = s;

	if (s == NULL)
		return -EINVAL;
	// "DDDD:BB:DD.F" or "BB:DD.F".
	if (strlen(s) == 12) {
		if ((dom = hex_field(&p, 4)) < 0 || *p++ != ':')
			return -EINVAL;
	} else if (strlen(s) != 7) {
		return -EINVAL;
	}
	if ((bus = hex_field(&p, 2)) < 0 || *p++ != ':' || (dev = hex_field(&p, 2)) < 0 ||
		*p++ != '.' || (fn = hex_field(&p, 1)) < 0 || *p != '\0')
		return -EINVAL;
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, PCI_ADDR_SIZE, "%04x:%02x:%02x.%x", (unsigned)dom & 0xffff,
		(unsigned)bus & 0xff, (unsigned)dev & 0x1f, (unsigned)fn & 7);
	return 0;
}

static void dev_path(char *buf, size_t size, const char *addr, const char *attr)
{
	snprintf(buf, size, "%s/bus/pci/devices/%s%s%s", pci_sys, addr, attr ? "/" : "",
		attr ? attr : "");
}

// Reads a small sysfs attribute, trailing newline stripped. Returns length or -errno.
static int read_attr(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

static int write_attr(const char *path, const char *val)
{
	// O_TRUNC as the shell's `echo >` does: harmless on sysfs, right on plain files (tests).
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t len = strlen(val);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

static long read_num(const char *path, int base, long dflt)
{
	char buf[64], *end;
	long v;

	if (read_attr(path, buf, sizeof(buf)) <= 0)
		return dflt;
	errno = 0;
	v = strtol(buf, &end, base);
	return errno != 0 || end == buf ? dflt : v;
}

// Basename of a symlink's target ("../../bus/pci/drivers/e1000e" -> "e1000e"); "" when absent.
static int link_base(const char *path, char *out, size_t size)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *b;

	out[0] = '\0';
	if (n < 0)
		return -errno;
	target[n] = '\0';
	b = strrchr(target, '/');
	pci_strlcpy(out, b ? b + 1 : target, size);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

// Sorted entry names of a directory (no dot entries); *out malloc'ed array of strdup'ed names.
static int dir_list(const char *path, char ***out)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **v = NULL;
	int n = 0, cap = 0;

	*out = NULL;
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nv = realloc(v, (size_t)(cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (nv == NULL)
				goto nomem;
			v = nv;
		}
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto nomem;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, (size_t)n, sizeof(*v), name_cmp);
	*out = v;
	return n;
nomem:
	closedir(d);
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

static void dir_list_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

// Appends the entries of dir to a comma-separated list.
static void append_names(const char *dir, char *buf, size_t size)
{
	char **names;
	int n = dir_list(dir, &names);
	size_t off = strlen(buf);

	for (int i = 0; i < n; i++) {
		int w = snprintf(buf + off, size - off, "%s%s", off ? "," : "", names[i]);
		if (w < 0 || (size_t)w >= size - off)
			break;
		off += (size_t)w;
	}
	if (n > 0)
		dir_list_free(names, n);
}

static void ifaces_of(const char *addr, char *buf, size_t size)
{
	char path[PATH_MAX], **names;
	int n;

	buf[0] = '\0';
	dev_path(path, sizeof(path), addr, "net");
	append_names(path, buf, size);
	// virtio-net: the interface hangs off the virtioN child device.
	dev_path(path, sizeof(path), addr, NULL);
	if ((n = dir_list(path, &names)) <= 0)
		return;
	for (int i = 0; i < n; i++) {
		if (strncmp(names[i], "virtio", 6) == 0 && strlen(names[i]) < 32) {
			char sub[PATH_MAX + 64];

			snprintf(sub, sizeof(sub), "%s/%.32s/net", path, names[i]);
			append_names(sub, buf, size);
		}
	}
	dir_list_free(names, n);
}

int pci_info_get(const char *addr, struct pci_info *info)
{
	char path[PATH_MAX], grp[32];
	long v;

	memset(info, 0, sizeof(*info));
	snprintf(info->addr, sizeof(info->addr), "%s", addr);
	dev_path(path, sizeof(path), addr, "vendor");
	if ((v = read_num(path, 16, -1)) < 0)
		return access(path, F_OK) == 0 ? -EIO : -ENODEV;
	info->vendor = (uint16_t)v;
	dev_path(path, sizeof(path), addr, "device");
	info->device = (uint16_t)read_num(path, 16, 0);
	dev_path(path, sizeof(path), addr, "subsystem_vendor");
	info->subsys_vendor = (uint16_t)read_num(path, 16, 0);
	dev_path(path, sizeof(path), addr, "subsystem_device");
	info->subsys_device = (uint16_t)read_num(path, 16, 0);
	dev_path(path, sizeof(path), addr, "class");
	info->class = (uint32_t)read_num(path, 16, 0);
	dev_path(path, sizeof(path), addr, "numa_node");
	info->numa_node = (int)read_num(path, 10, -1);
	dev_path(path, sizeof(path), addr, "driver");
	link_base(path, info->driver, sizeof(info->driver));
	dev_path(path, sizeof(path), addr, "driver_override");
	if (read_attr(path, info->override, sizeof(info->override)) < 0 ||
		strcmp(info->override, "(null)") == 0)
		info->override[0] = '\0';
	dev_path(path, sizeof(path), addr, "iommu_group");
	info->iommu_group = -1;
	if (link_base(path, grp, sizeof(grp)) == 0 && grp[0] >= '0' && grp[0] <= '9')
		info->iommu_group = atoi(grp);
	dev_path(path, sizeof(path), addr, "physfn");
	info->is_vf = access(path, F_OK) == 0;
	dev_path(path, sizeof(path), addr, "sriov_numvfs");
	info->sriov_numvfs = (unsigned)MAX(read_num(path, 10, 0), 0);
	ifaces_of(addr, info->ifaces, sizeof(info->ifaces));
	return 0;
}

int pci_foreach(int (*cb)(const struct pci_info *info, void *arg), void *arg)
{
	char path[PATH_MAX], **names;
	struct pci_info info;
	int n, ret = 0;

	snprintf(path, sizeof(path), "%s/bus/pci/devices", pci_sys);
	if ((n = dir_list(path, &names)) < 0)
		return n;
	for (int i = 0; i < n && ret == 0; i++) {
		if (pci_info_get(names[i], &info) == 0)
			ret = cb(&info, arg);
	}
	dir_list_free(names, n);
	return ret;
}

int pci_iface_addr(const char *ifname, char addr[PCI_ADDR_SIZE])
{
	char path[PATH_MAX + 16], real[PATH_MAX], sub[64];
	char *slash;

	if (ifname == NULL || *ifname == '\0' || strchr(ifname, '/') != NULL ||
		strlen(ifname) >= 16)
		return -ENODEV;
	snprintf(path, sizeof(path), "%s/class/net/%s", pci_sys, ifname);
	if (access(path, F_OK) != 0)
		return -ENODEV;
	snprintf(path, sizeof(path), "%s/class/net/%s/device", pci_sys, ifname);
	if (realpath(path, real) == NULL)
		return -ENOTSUP; // virtual interface (veth, bridge, tap)
	for (int depth = 0; depth < 2; depth++) {
		snprintf(path, sizeof(path), "%s/subsystem", real);
		if (link_base(path, sub, sizeof(sub)) < 0)
			return -ENOTSUP;
		if (strcmp(sub, "pci") == 0) {
			slash = strrchr(real, '/');
			return pci_addr_parse(slash ? slash + 1 : real, addr) < 0 ? -ENOTSUP : 0;
		}
		if (strcmp(sub, "virtio") != 0)
			return -ENOTSUP;
		// virtio-net: the PCI function is the parent of the virtioN device.
		if ((slash = strrchr(real, '/')) == NULL)
			return -ENOTSUP;
		*slash = '\0';
	}
	return -ENOTSUP;
}

int pci_addr_resolve(const char *dev, char addr[PCI_ADDR_SIZE], const char *field, struct err *err)
{
	char path[PATH_MAX];
	int ret;

	if (dev == NULL || *dev == '\0')
		return err_set(err, -EINVAL, field,
			"PCI device missing (give 0000:BB:DD.F or an "
			"interface name)");
	if (pci_addr_parse(dev, addr) == 0) {
		dev_path(path, sizeof(path), addr, NULL);
		if (access(path, F_OK) != 0)
			return err_set(err, -ENODEV, field, "no PCI device %s", addr);
		return 0;
	}
	if ((ret = pci_iface_addr(dev, addr)) == 0)
		return 0;
	if (ret == -ENOTSUP)
		return err_set(err, ret, field, "interface %s is not a PCI device", dev);
	return err_set(err, -ENODEV, field,
		"'%s' is neither a PCI address (0000:BB:DD.F) nor a network interface", dev);
}

const char *pci_device_name(uint16_t vendor, uint16_t device)
{
	static const struct {
		uint16_t vendor, device;
		const char *name;
	} known[] = {
		{0x8086, 0x10d3, "82574L Gigabit Network Connection (e1000e)"},
		{0x8086, 0x100e, "82540EM Gigabit Ethernet Controller (e1000)"},
		{0x8086, 0x10c9, "82576 Gigabit Network Connection (igb)"},
		{0x8086, 0x10fb, "82599ES 10-Gigabit SFI/SFP+ (ixgbe)"},
		{0x1af4, 0x1041, "Virtio 1.0 network device"},
		{0x1af4, 0x1000, "Virtio network device (transitional)"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		if (known[i].vendor == vendor && known[i].device == device)
			return known[i].name;
	}
	return NULL;
}

// /proc/net/route: "Iface Destination Gateway ..." in hex; ipv6_route: dest, plen, ..., iface.
bool pci_iface_routed(const char *ifname, bool *dflt)
{
	char path[PATH_MAX], line[512];
	bool routed = false;
	FILE *f;

	*dflt = false;
	snprintf(path, sizeof(path), "%s/net/route", pci_proc);
	if ((f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char ifn[64];
			unsigned long dst, gw, flags, refcnt, use, metric, mask;

			if (sscanf(line, "%63s %lx %lx %lx %lu %lu %lu %lx", ifn, &dst, &gw, &flags,
				    &refcnt, &use, &metric, &mask) != 8)
				continue; // header line
			if (strcmp(ifn, ifname) != 0)
				continue;
			routed = true;
			if (dst == 0 && mask == 0)
				*dflt = true;
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/net/ipv6_route", pci_proc);
	if ((f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char dst[40], ifn[64];
			unsigned plen;

			if (sscanf(line, "%39s %x %*s %*s %*s %*s %*s %*s %*s %63s", dst, &plen,
				    ifn) != 3 ||
				strcmp(ifn, ifname) != 0)
				continue;
			// Link-local and multicast routes exist on every up interface: not
			// "routed".
			if (strncmp(dst, "fe80", 4) == 0 || strncmp(dst, "ff", 2) == 0)
				continue;
			routed = true;
			if (plen == 0)
				*dflt = true;
		}
		fclose(f);
	}
	return routed;
}

bool pci_module_loaded(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/module/%s", pci_sys, name);
	return access(path, F_OK) == 0;
}

bool pci_driver_exists(const char *driver)
{
	char path[PATH_MAX];

	if (driver == NULL || *driver == '\0' || strchr(driver, '/') != NULL)
		return false;
	snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s", pci_sys, driver);
	return access(path, F_OK) == 0;
}

int pci_group_devices(int group, char (*addrs)[PCI_ADDR_SIZE], unsigned max)
{
	char path[PATH_MAX], **names;
	int n;

	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices", pci_sys, group);
	if ((n = dir_list(path, &names)) < 0)
		return n;
	for (int i = 0; i < n && (unsigned)i < max; i++)
		snprintf(addrs[i], PCI_ADDR_SIZE, "%s", names[i]);
	dir_list_free(names, n);
	return n;
}

unsigned pci_group_blockers(int group, const char *self, char *msg, size_t size)
{
	char addrs[64][PCI_ADDR_SIZE];
	int n = pci_group_devices(group, addrs, ARRAY_SIZE(addrs));
	unsigned found = 0;
	size_t off = 0;

	msg[0] = '\0';
	for (int i = 0; i < n && (unsigned)i < ARRAY_SIZE(addrs); i++) {
		char path[PATH_MAX], drv[PCI_DRIVER_SIZE];
		int w;

		if (strcmp(addrs[i], self) == 0)
			continue;
		dev_path(path, sizeof(path), addrs[i], "driver");
		if (link_base(path, drv, sizeof(drv)) < 0 || strcmp(drv, "vfio-pci") == 0)
			continue; // unbound or vfio-pci: fine for viability
		// PCIe ports of the group do not count: the kernel exempts bridge drivers.
		if (strcmp(drv, "pcieport") == 0)
			continue;
		found++;
		w = snprintf(msg + off, size - off, "%s%s (bound to %s)", off ? ", " : "", addrs[i],
			drv);
		if (w > 0 && (size_t)w < size - off)
			off += (size_t)w;
	}
	return found;
}

int pci_bind(const char *addr, const char *driver, struct err *err)
{
	char path[PATH_MAX];
	struct pci_info info;
	int ret;

	if ((ret = pci_info_get(addr, &info)) < 0)
		return err_set(err, ret, "device", "no PCI device %s", addr);
	if (driver != NULL && *driver != '\0' && strcmp(info.driver, driver) == 0)
		return 0;
	if (driver != NULL && *driver != '\0' && !pci_driver_exists(driver))
		return err_set(err, -ENOENT, "driver",
			"kernel driver %s is not loaded (no %s/bus/pci/drivers/%s): modprobe %s",
			driver, pci_sys, driver, driver);
	if (info.driver[0] != '\0') {
		dev_path(path, sizeof(path), addr, "driver/unbind");
		if ((ret = write_attr(path, addr)) < 0)
			return err_set(err, ret, "device", "cannot unbind %s from %s: %s", addr,
				info.driver, strerror(-ret));
		LOG(NOTICE, "%s unbound from %s", addr, info.driver);
	}
	dev_path(path, sizeof(path), addr, "driver_override");
	// "\n" clears the override: the kernel matches by ID table again.
	if ((ret = write_attr(path, driver != NULL && *driver ? driver : "\n")) < 0)
		return err_set(err, ret, "device", "cannot set driver_override of %s: %s", addr,
			strerror(-ret));
	if (driver == NULL || *driver == '\0')
		return 0;
	snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe", pci_sys);
	// The write fails (EINVAL, ENODEV...) when the driver's probe refused the device.
	ret = write_attr(path, addr);
	if ((pci_info_get(addr, &info)) < 0 || strcmp(info.driver, driver) != 0) {
		if (strcmp(driver, "vfio-pci") == 0 && info.iommu_group < 0)
			return err_set(err, ret < 0 ? ret : -EINVAL, "driver",
				"vfio-pci refused %s: the device has no IOMMU group (probe error "
				"-22 "
				"means no IOMMU support): enable the IOMMU (intel_iommu=on or "
				"amd_iommu=on on the kernel command line, VT-d/AMD-Vi in the "
				"firmware), or load vfio with enable_unsafe_noiommu_mode=1 (kernel "
				"built with CONFIG_VFIO_NOIOMMU), or use uio_pci_generic",
				addr);
		return err_set(err, ret < 0 ? ret : -EINVAL, "driver",
			"%s did not bind to %s%s%s (see the kernel log: dmesg | tail)", addr,
			driver, ret < 0 ? ": " : "", ret < 0 ? strerror(-ret) : "");
	}
	LOG(NOTICE, "%s bound to %s", addr, driver);
	return 0;
}

// ---- opened devices ----

struct pci_dev *pci_dev_open(const char *addr, const char *vf_token, struct err *err)
{
	struct pci_info info;
	struct pci_dev *dev;
	int ret;

	if ((ret = pci_info_get(addr, &info)) < 0) {
		err_set(err, ret, "pci", "no PCI device %s", addr);
		goto fail;
	}
	if ((dev = calloc(1, sizeof(*dev))) == NULL) {
		ret = err_set(err, -ENOMEM, "pci", "%s: out of memory", addr);
		goto fail;
	}
	snprintf(dev->addr, sizeof(dev->addr), "%s", addr);
	dev->vendor = info.vendor;
	dev->device = info.device;
	dev->numa_node = info.numa_node;
	dev->iommu_group = info.iommu_group;
	dev->req_fd = -1;
	if (strcmp(info.driver, "vfio-pci") == 0) {
		ret = vfio_dev_open(dev, &info, vf_token, err);
	} else if (strcmp(info.driver, "uio_pci_generic") == 0) {
		if (vf_token != NULL)
			ret = err_set(err, -EINVAL, "vf-token",
				"%s: vf-token only applies to devices bound to vfio-pci", addr);
		else
			ret = uio_dev_open(dev, &info, err);
	} else if (info.driver[0] == '\0') {
		ret = err_set(err, -ENODEV, "pci",
			"%s is not bound to any driver: bind it to vfio-pci (vsctl device bind %s "
			"vfio-pci) or uio_pci_generic",
			addr, addr);
	} else {
		ret = err_set(err, -EBUSY, "pci",
			"%s is in use by kernel driver %s%s%s%s: bind it to vfio-pci first (vsctl "
			"device bind %s vfio-pci)",
			addr, info.driver, info.ifaces[0] ? " (interface " : "", info.ifaces,
			info.ifaces[0] ? ")" : "", addr);
	}
	if (ret < 0) {
		free(dev);
		goto fail;
	}
	return dev;
fail:
	errno = -ret;
	return NULL;
}

void pci_dev_close(struct pci_dev *dev)
{
	if (dev == NULL)
		return;
	if (dev->ops != NULL && dev->ops->close != NULL)
		dev->ops->close(dev);
	free(dev);
}

int pci_cfg_read8(struct pci_dev *dev, unsigned off, uint8_t *v)
{
	return dev->ops->cfg_read(dev, off, v, 1);
}

int pci_cfg_read16(struct pci_dev *dev, unsigned off, uint16_t *v)
{
	uint8_t b[2];
	int ret = dev->ops->cfg_read(dev, off, b, 2);

	// Config space is little-endian.
	*v = (uint16_t)(b[0] | b[1] << 8);
	return ret;
}

int pci_cfg_read32(struct pci_dev *dev, unsigned off, uint32_t *v)
{
	uint8_t b[4];
	int ret = dev->ops->cfg_read(dev, off, b, 4);

	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return ret;
}

int pci_cfg_write16(struct pci_dev *dev, unsigned off, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

	return dev->ops->cfg_write(dev, off, b, 2);
}

int pci_set_master(struct pci_dev *dev, bool on)
{
	uint16_t cmd;
	int ret;

	if ((ret = pci_cfg_read16(dev, PCI_CFG_COMMAND, &cmd)) < 0)
		return ret;
	if (on)
		cmd |= PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE;
	else
		cmd &= (uint16_t)~PCI_CMD_MASTER;
	return pci_cfg_write16(dev, PCI_CFG_COMMAND, cmd);
}

int pci_cap_foreach(struct pci_dev *dev,
	int (*cb)(struct pci_dev *dev, unsigned off, uint8_t id, void *arg), void *arg)
{
	uint16_t status;
	uint8_t pos, id;
	int ret;

	if ((ret = pci_cfg_read16(dev, PCI_CFG_STATUS, &status)) < 0)
		return ret;
	if (!(status & PCI_STATUS_CAP_LIST))
		return 0;
	if ((ret = pci_cfg_read8(dev, PCI_CFG_CAP_PTR, &pos)) < 0)
		return ret;
	// 48 capabilities fit in the 192 bytes after the header: more means a loop.
	for (int hops = 0; pos >= 0x40 && hops < 48; hops++) {
		pos &= (uint8_t)~3u;
		if ((ret = pci_cfg_read8(dev, pos, &id)) < 0)
			return ret;
		if ((ret = cb(dev, pos, id, arg)) != 0)
			return ret;
		if ((ret = pci_cfg_read8(dev, pos + 1u, &pos)) < 0)
			return ret;
	}
	return 0;
}

int pci_bar_map(struct pci_dev *dev, unsigned i, struct err *err)
{
	if (i >= PCI_MAX_BARS)
		return err_set(err, -EINVAL, "pci", "%s: BAR %u does not exist", dev->addr, i);
	if (dev->bar[i].va != NULL)
		return 0;
	return dev->ops->bar_map(dev, i, err);
}
