// SPDX-License-Identifier: Apache-2.0
// Host checks for userspace NIC drivers (see pci_check.h), in the order a user fixes them:
// IOMMU, kernel modules, no-IOMMU mode, hugepages, locked memory, device node permissions, and
// the devices the configuration names.
#include "drivers/pci/pci_check.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "dataplane/compiler.h"
#include "drivers/pci/pci.h"

struct chk {
	pci_check_fn fn;
	void *ctx;
	unsigned failures;
};

static void __printf(4, 5)
	say(struct chk *c, enum pci_check_level lvl, const char *fix, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (lvl == PCI_CHECK_FAIL)
		c->failures++;
	c->fn(c->ctx, lvl, what, fix);
}

static int read_small(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	buf[0] = '\0';
	if (f == NULL)
		return -errno;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

// IOMMU groups made by a real IOMMU: VFIO no-IOMMU mode creates groups named "vfio-noiommu".
static int count_iommu_groups(void)
{
	char path[PATH_MAX + 300], name[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/kernel/iommu_groups", pci_sys_root());
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > 16)
			continue;
		snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%.16s/name", pci_sys_root(),
			de->d_name);
		if (read_small(path, name, sizeof(name)) > 0 && strcmp(name, "vfio-noiommu") == 0)
			continue;
		n++;
	}
	closedir(d);
	return n;
}

static bool cmdline_has(const char *cmdline, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = cmdline; (p = strstr(p, word)) != NULL; p += len) {
		if ((p == cmdline || p[-1] == ' ') &&
			(p[len] == '\0' || p[len] == ' ' || p[len] == '=' || word[len - 1] == '='))
			return true;
	}
	return false;
}

static void check_iommu(struct chk *c, bool *iommu)
{
	char path[PATH_MAX], cmdline[4096];
	bool dmar, ivrs, on;
	int groups;

	groups = count_iommu_groups();
	snprintf(path, sizeof(path), "%s/cmdline", pci_proc_root());
	read_small(path, cmdline, sizeof(cmdline));
	snprintf(path, sizeof(path), "%s/firmware/acpi/tables/DMAR", pci_sys_root());
	dmar = access(path, F_OK) == 0;
	snprintf(path, sizeof(path), "%s/firmware/acpi/tables/IVRS", pci_sys_root());
	ivrs = access(path, F_OK) == 0;
	on = cmdline_has(cmdline, "intel_iommu=on") || cmdline_has(cmdline, "amd_iommu=on") ||
		cmdline_has(cmdline, "iommu=pt") || cmdline_has(cmdline, "iommu=on");
	*iommu = groups > 0;
	if (groups > 0) {
		say(c, PCI_CHECK_OK, NULL, "IOMMU enabled: %d IOMMU groups%s", groups,
			cmdline_has(cmdline, "iommu=pt") ? " (iommu=pt: passthrough for the kernel)"
							 : "");
		return;
	}
	if (dmar || ivrs)
		say(c, PCI_CHECK_WARN,
			dmar ? "add intel_iommu=on iommu=pt to the kernel command line "
			       "(GRUB_CMDLINE_LINUX "
			       "in /etc/default/grub, then update-grub and reboot)"
			     : "add amd_iommu=on iommu=pt to the kernel command line and reboot",
			"IOMMU present (ACPI %s table) but not enabled: no IOMMU groups; vfio-pci "
			"probes fail with error -22 (no IOMMU support)%s",
			dmar ? "DMAR" : "IVRS", on ? " although the command line asks for it" : "");
	else
		say(c, PCI_CHECK_WARN,
			"enable VT-d / AMD-Vi in the firmware and boot with intel_iommu=on (or "
			"amd_iommu=on); in a VM give it a virtual IOMMU (QEMU: -device "
			"intel-iommu,caching-mode=on); otherwise use VFIO no-IOMMU mode or "
			"uio_pci_generic (no DMA protection, root only)",
			"no IOMMU: the platform describes none (no ACPI DMAR/IVRS table) and there "
			"are no IOMMU groups; vfio-pci refuses devices (probe error -22)");
}

static void check_modules(struct chk *c, bool iommu)
{
	char path[PATH_MAX], val[16], kcfg[PATH_MAX], line[256];
	struct utsname u;
	bool vfio = pci_module_loaded("vfio");
	bool vfio_pci = pci_driver_exists("vfio-pci");
	bool type1 = pci_module_loaded("vfio_iommu_type1");
	bool uio = pci_driver_exists("uio_pci_generic");
	int noiommu = -1; // -1 unknown, 0 off, 1 on
	int kconfig = -1; // CONFIG_VFIO_NOIOMMU from /boot/config: -1 unknown
	FILE *f;

	if (vfio && vfio_pci)
		say(c, PCI_CHECK_OK, NULL, "vfio and vfio-pci are loaded");
	else
		say(c, PCI_CHECK_WARN,
			"modprobe vfio-pci (and list it in /etc/modules-load.d/vswitch.conf to "
			"load "
			"it at boot)",
			"vfio-pci is not loaded: devices cannot be bound to it");
	if (vfio && iommu && !type1)
		say(c, PCI_CHECK_WARN, "modprobe vfio_iommu_type1",
			"vfio_iommu_type1 is not loaded: VFIO has no IOMMU backend for its "
			"containers");
	if (uname(&u) == 0) {
		snprintf(kcfg, sizeof(kcfg), "/boot/config-%s", u.release);
		if ((f = fopen(kcfg, "re")) != NULL) {
			kconfig = 0;
			while (fgets(line, sizeof(line), f) != NULL) {
				if (strncmp(line, "CONFIG_VFIO_NOIOMMU=y", 21) == 0)
					kconfig = 1;
			}
			fclose(f);
		}
	}
	snprintf(path, sizeof(path), "%s/module/vfio/parameters/enable_unsafe_noiommu_mode",
		pci_sys_root());
	if (read_small(path, val, sizeof(val)) > 0)
		noiommu = val[0] == 'Y' || val[0] == '1';
	if (noiommu == 1)
		say(c, PCI_CHECK_WARN, NULL,
			"VFIO no-IOMMU mode is enabled: devices bound to vfio-pci without an IOMMU "
			"are usable (no DMA protection: a device can write anywhere in memory; "
			"root only, IOVA as PA)");
	else if (noiommu == 0 && iommu)
		say(c, PCI_CHECK_OK, NULL, "VFIO no-IOMMU mode is available but off (not needed)");
	else if (noiommu == 0)
		say(c, PCI_CHECK_WARN,
			"echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode (unsafe: "
			"no "
			"DMA protection), or use uio_pci_generic",
			"VFIO no-IOMMU mode is available but off: without an IOMMU vfio-pci needs "
			"it");
	else if (!vfio && kconfig < 0)
		say(c, iommu ? PCI_CHECK_OK : PCI_CHECK_WARN,
			iommu ? NULL : "modprobe vfio-pci, then check again",
			"VFIO no-IOMMU mode: unknown until vfio is loaded (no /boot/config to "
			"read)");
	else
		say(c, iommu ? PCI_CHECK_OK : PCI_CHECK_WARN,
			iommu ? NULL
			      : "use uio_pci_generic (modprobe uio_pci_generic), or a kernel built "
				"with CONFIG_VFIO_NOIOMMU=y",
			"VFIO no-IOMMU mode is not available: the kernel is built without "
			"CONFIG_VFIO_NOIOMMU%s",
			kconfig == 0 ? " (per /boot/config)"
				     : " (vfio has no enable_unsafe_noiommu_mode)");
	if (uio)
		say(c, PCI_CHECK_OK, NULL,
			"uio_pci_generic is loaded (no IOMMU protection, root and hugepages only)");
	else if (!iommu)
		say(c, PCI_CHECK_WARN, "modprobe uio_pci_generic",
			"uio_pci_generic is not loaded (the fallback without an IOMMU)");
}

static void check_hugepages(struct chk *c)
{
	char path[PATH_MAX + 300], val[32];
	unsigned total_free = 0;
	bool any = false;
	DIR *nodes, *sizes;
	struct dirent *n, *s;

	snprintf(path, sizeof(path), "%s/devices/system/node", pci_sys_root());
	if ((nodes = opendir(path)) == NULL)
		return;
	while ((n = readdir(nodes)) != NULL) {
		char nodepath[PATH_MAX];

		if (strncmp(n->d_name, "node", 4) != 0 || n->d_name[4] < '0' ||
			n->d_name[4] > '9' || strlen(n->d_name) > 16)
			continue;
		snprintf(nodepath, sizeof(nodepath), "%s/devices/system/node/%.16s/hugepages",
			pci_sys_root(), n->d_name);
		if ((sizes = opendir(nodepath)) == NULL)
			continue;
		while ((s = readdir(sizes)) != NULL) {
			unsigned nr, fr;

			if (strncmp(s->d_name, "hugepages-", 10) != 0 || strlen(s->d_name) > 40)
				continue;
			snprintf(path, sizeof(path), "%s/%.40s/nr_hugepages", nodepath, s->d_name);
			if (read_small(path, val, sizeof(val)) <= 0)
				continue;
			nr = (unsigned)strtoul(val, NULL, 10);
			snprintf(
				path, sizeof(path), "%s/%.40s/free_hugepages", nodepath, s->d_name);
			fr = read_small(path, val, sizeof(val)) > 0
				? (unsigned)strtoul(val, NULL, 10)
				: 0;
			if (nr == 0)
				continue;
			any = true;
			total_free += fr;
			say(c, PCI_CHECK_OK, NULL, "hugepages %s on %s: %u reserved, %u free",
				s->d_name + 10, n->d_name, nr, fr);
		}
		closedir(sizes);
	}
	closedir(nodes);
	if (!any)
		say(c, PCI_CHECK_WARN,
			"echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages (or "
			"vm.nr_hugepages in /etc/sysctl.d/; per node: "
			"/sys/devices/system/node/nodeN/hugepages/...)",
			"no hugepages reserved: DMA memory falls back to normal pages, and IOVA as "
			"PA "
			"(uio, VFIO no-IOMMU) is impossible");
	else if (total_free == 0)
		say(c, PCI_CHECK_WARN, "reserve more hugepages (nr_hugepages)",
			"every hugepage is in use");
}

static void check_memlock(struct chk *c)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		return;
	if (rl.rlim_cur == RLIM_INFINITY || geteuid() == 0)
		say(c, PCI_CHECK_OK, NULL, "RLIMIT_MEMLOCK: %s (VFIO pins DMA memory against it)",
			rl.rlim_cur == RLIM_INFINITY ? "unlimited" : "ignored for root");
	else
		say(c, PCI_CHECK_WARN,
			"LimitMEMLOCK=infinity in the systemd unit, or ulimit -l unlimited",
			"RLIMIT_MEMLOCK is %llu KiB: VFIO pins every DMA-mapped byte against it, "
			"and "
			"mapping fails (ENOMEM) past it",
			(unsigned long long)rl.rlim_cur / 1024);
}

static void check_vfio_nodes(struct chk *c, enum pci_check_level bad_lvl)
{
	char path[PATH_MAX + 300], fix[PATH_MAX + 600];
	struct dirent *de;
	unsigned bad = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/vfio/vfio", pci_dev_root());
	if (access(path, F_OK) != 0)
		return; // vfio not loaded: said above
	if (access(path, R_OK | W_OK) != 0) {
		snprintf(fix, sizeof(fix), "chmod 0666 %s (the container node is safe to share)",
			path);
		say(c, bad_lvl, fix, "%s is not readable and writable by uid %u", path,
			(unsigned)geteuid());
	}
	snprintf(path, sizeof(path), "%s/vfio", pci_dev_root());
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "vfio") == 0 ||
			strlen(de->d_name) > 64)
			continue;
		snprintf(path, sizeof(path), "%s/vfio/%.64s", pci_dev_root(), de->d_name);
		if (access(path, R_OK | W_OK) != 0) {
			snprintf(fix, sizeof(fix),
				"chown the group node to the user running vswitchd (chown vswitch "
				"%s, "
				"or a udev rule: SUBSYSTEM==\"vfio\", OWNER=\"vswitch\")",
				path);
			say(c, bad_lvl, fix, "%s is not accessible to uid %u", path,
				(unsigned)geteuid());
			bad++;
		}
	}
	closedir(d);
	if (bad == 0)
		say(c, PCI_CHECK_OK, NULL, "/dev/vfio nodes are accessible to uid %u",
			(unsigned)geteuid());
}

static void check_dma_limit(struct chk *c)
{
	char path[PATH_MAX], val[32];

	snprintf(path, sizeof(path), "%s/module/vfio_iommu_type1/parameters/dma_entry_limit",
		pci_sys_root());
	if (read_small(path, val, sizeof(val)) > 0)
		say(c, PCI_CHECK_OK, NULL,
			"VFIO dma_entry_limit: %s mappings per container (vswitchd maps one per "
			"memory segment)",
			val);
}

static void check_device(struct chk *c, const char *dev)
{
	char addr[PCI_ADDR_SIZE], fix[512], blockers[512];
	struct err e = {0};
	struct pci_info info;

	if (pci_addr_resolve(dev, addr, "pci", &e) < 0) {
		say(c, PCI_CHECK_FAIL, "check the pci= option (lspci -D lists the devices)",
			"PCI port device %s: %s", dev, e.msg);
		return;
	}
	if (pci_info_get(addr, &info) < 0)
		return;
	if (strcmp(info.driver, "vfio-pci") == 0) {
		if (info.iommu_group >= 0 &&
			pci_group_blockers(info.iommu_group, addr, blockers, sizeof(blockers)) >
				0) {
			snprintf(fix, sizeof(fix),
				"unbind them (vsctl device unbind DEV) or bind them to vfio-pci");
			say(c, PCI_CHECK_FAIL, fix, "%s: IOMMU group %d is not viable: %s", addr,
				info.iommu_group, blockers);
		} else {
			say(c, PCI_CHECK_OK, NULL, "%s is bound to vfio-pci (IOMMU group %d)", addr,
				info.iommu_group);
		}
	} else if (strcmp(info.driver, "uio_pci_generic") == 0) {
		say(c, geteuid() == 0 ? PCI_CHECK_OK : PCI_CHECK_FAIL,
			geteuid() == 0 ? NULL : "run vswitchd as root, or use vfio-pci",
			"%s is bound to uio_pci_generic (IOVA as PA: needs root and hugepages)",
			addr);
	} else {
		snprintf(fix, sizeof(fix), "vsctl device bind %s vfio-pci", addr);
		say(c, PCI_CHECK_FAIL, fix, "%s is %s%s%s", addr,
			info.driver[0] ? "bound to kernel driver " : "not bound to any driver",
			info.driver, info.ifaces[0] ? " (in use by the kernel)" : "");
	}
}

unsigned pci_check_run(const char *const *devs, size_t n_devs, pci_check_fn fn, void *ctx)
{
	struct chk c = {.fn = fn, .ctx = ctx};
	bool iommu;

	check_iommu(&c, &iommu);
	check_modules(&c, iommu);
	check_hugepages(&c);
	check_memlock(&c);
	// Without pci ports nothing fails: the host just is not ready for them.
	check_vfio_nodes(&c, n_devs > 0 ? PCI_CHECK_FAIL : PCI_CHECK_WARN);
	check_dma_limit(&c);
	for (size_t i = 0; i < n_devs; i++)
		check_device(&c, devs[i]);
	return c.failures;
}
