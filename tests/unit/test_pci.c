// SPDX-License-Identifier: Apache-2.0
// PCI bus layer on a fake sysfs/procfs tree: address parsing, device attributes, interface to
// address (incl. virtio-net's parent), routes, IOMMU group blockers, device listing and the
// bind/unbind guards and sysfs writes, the host checks (IOMMU, modules, hugepages, devices),
// VF token and DMA placement rules.
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "drivers/pci/device.h"
#include "drivers/pci/pci.h"
#include "drivers/pci/pci_check.h"
#include "drivers/pci/pci_dma.h"
#include "drivers/pci/pci_port.h"
#include "drivers/port.h"

static char root[128];

static void put(const char *rel, const char *content)
{
	char path[512], dir[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

static void mkd(const char *rel)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, rel);
	ck_assert_int_eq(system(cmd), 0);
}

static void lnk(const char *target, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_int_eq(symlink(target, path), 0);
}

static char *slurp(const char *rel)
{
	static char buf[256];
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

#define DEVS "sys/bus/pci/devices/"

static void dev(const char *addr, const char *vendor, const char *device, const char *cls,
	const char *driver, int group)
{
	char rel[300], t[400];

	snprintf(rel, sizeof(rel), DEVS "%s/vendor", addr);
	put(rel, vendor);
	snprintf(rel, sizeof(rel), DEVS "%s/device", addr);
	put(rel, device);
	snprintf(rel, sizeof(rel), DEVS "%s/class", addr);
	put(rel, cls);
	snprintf(rel, sizeof(rel), DEVS "%s/numa_node", addr);
	put(rel, "-1\n");
	snprintf(rel, sizeof(rel), DEVS "%s/driver_override", addr);
	put(rel, "(null)\n");
	snprintf(t, sizeof(t), "%s/sys/bus/pci", root);
	snprintf(rel, sizeof(rel), DEVS "%s/subsystem", addr);
	lnk(t, rel);
	if (driver != NULL) {
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/unbind", driver);
		put(rel, "");
		snprintf(t, sizeof(t), "../../../../bus/pci/drivers/%s", driver);
		snprintf(rel, sizeof(rel), DEVS "%s/driver", addr);
		lnk(t, rel);
	}
	if (group >= 0) {
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/devices/%s", group, addr);
		mkd(rel);
		snprintf(t, sizeof(t), "../../../../kernel/iommu_groups/%d", group);
		snprintf(rel, sizeof(rel), DEVS "%s/iommu_group", addr);
		lnk(t, rel);
	}
}

static void setup(void)
{
	char t[512];

	snprintf(root, sizeof(root), "/tmp/vsw-test-pci-%d", (int)getpid());
	snprintf(t, sizeof(t), "rm -rf '%s'", root);
	ck_assert_int_eq(system(t), 0);
	// e1000e with interface eth1 (default route), virtio-net with eth0 under virtio0,
	// an unbound NIC sharing IOMMU group 3 with a SATA controller on ahci.
	dev("0000:00:04.0", "0x8086\n", "0x10d3\n", "0x020000\n", "e1000e", 2);
	mkd(DEVS "0000:00:04.0/net/eth1");
	dev("0000:00:03.0", "0x1af4\n", "0x1041\n", "0x020000\n", "virtio-pci", 1);
	mkd(DEVS "0000:00:03.0/virtio0/net/eth0");
	snprintf(t, sizeof(t), "%s/sys/bus/virtio", root);
	mkd("sys/bus/virtio");
	lnk(t, DEVS "0000:00:03.0/virtio0/subsystem");
	dev("0000:00:1f.2", "0x8086\n", "0x2922\n", "0x010601\n", "ahci", 3);
	dev("0000:01:00.0", "0x8086\n", "0x10d3\n", "0x020000\n", NULL, 3);
	put("sys/bus/pci/drivers_probe", "");
	mkd("sys/class/net/eth1");
	snprintf(t, sizeof(t), "%s/" DEVS "0000:00:04.0", root);
	lnk(t, "sys/class/net/eth1/device");
	mkd("sys/class/net/eth0");
	snprintf(t, sizeof(t), "%s/" DEVS "0000:00:03.0/virtio0", root);
	lnk(t, "sys/class/net/eth0/device");
	mkd("sys/class/net/veth7"); // virtual: no device link
	put("proc/net/route",
		"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU"
		"\tWindow\tIRTT\n"
		"eth1\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
		"eth1\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
	put("proc/net/ipv6_route",
		"fe800000000000000000000000000000 40 "
		"00000000000000000000000000000000 00 "
		"00000000000000000000000000000000 00000100 00000001 00000000 "
		"00000001 eth0\n");
	put("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet\n");
	put("sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages", "16\n");
	put("sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages", "8\n");
	mkd("dev");
	snprintf(t, sizeof(t), "%s/sys", root);
	char d[300], p[300];

	snprintf(d, sizeof(d), "%s/dev", root);
	snprintf(p, sizeof(p), "%s/proc", root);
	pci_roots_set(t, d, p);
}

static void teardown(void)
{
	char t[512];

	pci_roots_set("/sys", "/dev", "/proc");
	snprintf(t, sizeof(t), "rm -rf '%s'", root);
	ck_assert_int_eq(system(t), 0);
}

START_TEST(test_addr_parse)
{
	char a[PCI_ADDR_SIZE];

	ck_assert_int_eq(pci_addr_parse("0000:00:04.0", a), 0);
	ck_assert_str_eq(a, "0000:00:04.0");
	ck_assert_int_eq(pci_addr_parse("0A:1f.7", a), 0);
	ck_assert_str_eq(a, "0000:0a:1f.7");
	ck_assert_int_eq(pci_addr_parse("ABCD:FF:00.3", a), 0);
	ck_assert_str_eq(a, "abcd:ff:00.3");
	static const char *const bad[] = {"", "0000:00:20.0", "0000:00:04.8", "0000-00:04.0",
		"0000:00:04.0 ", "00:04", "eth0", "0000:00:4.0", "g000:00:04.0"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(pci_addr_parse(bad[i], a) == -EINVAL, "'%s' accepted", bad[i]);
	ck_assert_int_eq(pci_addr_parse(NULL, a), -EINVAL);
}
END_TEST

START_TEST(test_info)
{
	struct pci_info info;

	ck_assert_int_eq(pci_info_get("0000:00:04.0", &info), 0);
	ck_assert_uint_eq(info.vendor, 0x8086);
	ck_assert_uint_eq(info.device, 0x10d3);
	ck_assert_uint_eq(info.class, 0x020000);
	ck_assert_str_eq(info.driver, "e1000e");
	ck_assert_str_eq(info.override, "");
	ck_assert_int_eq(info.iommu_group, 2);
	ck_assert_int_eq(info.numa_node, -1);
	ck_assert_str_eq(info.ifaces, "eth1");
	ck_assert(!info.is_vf);
	ck_assert_int_eq(pci_info_get("0000:00:03.0", &info), 0);
	ck_assert_str_eq(info.ifaces, "eth0"); // under virtio0
	ck_assert_int_eq(pci_info_get("0000:01:00.0", &info), 0);
	ck_assert_str_eq(info.driver, "");
	ck_assert_int_eq(pci_info_get("0000:09:00.0", &info), -ENODEV);
	ck_assert_ptr_nonnull(pci_device_name(0x8086, 0x10d3));
	ck_assert_ptr_null(pci_device_name(0x1234, 0x5678));
}
END_TEST

START_TEST(test_iface_and_resolve)
{
	char a[PCI_ADDR_SIZE];
	struct err err = {0};

	ck_assert_int_eq(pci_iface_addr("eth1", a), 0);
	ck_assert_str_eq(a, "0000:00:04.0");
	ck_assert_int_eq(pci_iface_addr("eth0", a), 0); // the virtio device's PCI parent
	ck_assert_str_eq(a, "0000:00:03.0");
	ck_assert_int_eq(pci_iface_addr("veth7", a), -ENOTSUP);
	ck_assert_int_eq(pci_iface_addr("nope", a), -ENODEV);
	ck_assert_int_eq(pci_iface_addr("../x", a), -ENODEV);
	ck_assert_int_eq(pci_addr_resolve("00:04.0", a, "pci", &err), 0);
	ck_assert_str_eq(a, "0000:00:04.0");
	ck_assert_int_eq(pci_addr_resolve("0000:05:00.0", a, "pci", &err), -ENODEV);
	ck_assert_str_eq(err.field, "pci");
	ck_assert_ptr_nonnull(strstr(err.msg, "no PCI device 0000:05:00.0"));
	err_clear(&err);
	ck_assert_int_eq(pci_addr_resolve("veth7", a, "pci", &err), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err.msg, "is not a PCI device"));
	err_clear(&err);
	ck_assert_int_eq(pci_addr_resolve("bogus", a, "device", &err), -ENODEV);
	ck_assert_ptr_nonnull(strstr(err.msg, "neither a PCI address"));
}
END_TEST

START_TEST(test_routes_and_groups)
{
	char msg[256];
	bool dflt;

	ck_assert(pci_iface_routed("eth1", &dflt));
	ck_assert(dflt);
	ck_assert(!pci_iface_routed("eth0", &dflt)); // link-local only
	ck_assert(!dflt);
	ck_assert_uint_eq(pci_group_blockers(3, "0000:01:00.0", msg, sizeof(msg)), 1);
	ck_assert_str_eq(msg, "0000:00:1f.2 (bound to ahci)");
	ck_assert_uint_eq(pci_group_blockers(2, "0000:00:04.0", msg, sizeof(msg)), 0);
	char addrs[4][PCI_ADDR_SIZE];
	ck_assert_int_eq(pci_group_devices(3, addrs, 4), 2);
	ck_assert_str_eq(addrs[0], "0000:00:1f.2");
	ck_assert_str_eq(addrs[1], "0000:01:00.0");
}
END_TEST

struct seen {
	unsigned n;
	struct device_entry e[8];
};

static int collect(const struct device_entry *e, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->e[s->n++] = *e;
	return 0;
}

START_TEST(test_device_list)
{
	struct seen s = {0};

	ck_assert_int_eq(device_list(collect, &s), 0);
	ck_assert_uint_eq(s.n, 3); // the SATA controller is not a NIC
	ck_assert_str_eq(s.e[0].info.addr, "0000:00:03.0");
	ck_assert_int_eq(s.e[0].kind, DEVICE_KERNEL);
	ck_assert(!s.e[0].active);
	ck_assert_str_eq(s.e[1].info.addr, "0000:00:04.0");
	ck_assert(s.e[1].active && s.e[1].default_route);
	ck_assert_ptr_null(s.e[1].port);
	ck_assert_int_eq(s.e[2].kind, DEVICE_UNUSED);
	ck_assert_str_eq(device_kind_name(DEVICE_VFIO), "vfio-pci");
}
END_TEST

START_TEST(test_bind_guards_and_writes)
{
	char addr[PCI_ADDR_SIZE], prev[PCI_DRIVER_SIZE];
	struct err err = {0};

	mkd("sys/bus/pci/drivers/vfio-pci");
	// The default route's interface is refused without force.
	ck_assert_int_eq(device_bind("eth1", "vfio-pci", false, addr, prev, &err), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "carries the default route"));
	ck_assert_str_eq(slurp(DEVS "0000:00:04.0/driver_override"), "(null)\n"); // untouched
	// With force: unbind from e1000e, driver_override, drivers_probe, in that order. The fake
	// kernel binds nothing, which is reported.
	err_clear(&err);
	ck_assert_int_eq(device_bind("eth1", "vfio-pci", true, addr, prev, &err), -EINVAL);
	ck_assert_str_eq(addr, "0000:00:04.0");
	ck_assert_str_eq(prev, "e1000e");
	ck_assert_str_eq(slurp("sys/bus/pci/drivers/e1000e/unbind"), "0000:00:04.0");
	ck_assert_str_eq(slurp(DEVS "0000:00:04.0/driver_override"), "vfio-pci");
	ck_assert_str_eq(slurp("sys/bus/pci/drivers_probe"), "0000:00:04.0");
	ck_assert_ptr_nonnull(strstr(err.msg, "did not bind to vfio-pci"));
	// A driver that is not loaded.
	err_clear(&err);
	ck_assert_int_eq(
		device_bind("0000:01:00.0", "uio_pci_generic", false, addr, prev, &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "modprobe uio_pci_generic"));
	err_clear(&err);
	ck_assert_int_eq(device_bind("0000:01:00.0", "../x", false, addr, prev, &err), -EINVAL);
	ck_assert_str_eq(err.field, "driver");
	// Unbind: the current driver's unbind file, and the override cleared.
	err_clear(&err);
	ck_assert_int_eq(device_unbind("0000:00:03.0", false, addr, prev, &err), 0);
	ck_assert_str_eq(prev, "virtio-pci");
	ck_assert_str_eq(slurp("sys/bus/pci/drivers/virtio-pci/unbind"), "0000:00:03.0");
	ck_assert_str_eq(slurp(DEVS "0000:00:03.0/driver_override"), "\n");
	// Nothing to do for a device without driver and override.
	ck_assert_int_eq(device_unbind("0000:01:00.0", false, addr, prev, &err), 0);
	ck_assert_int_eq(device_unbind("0000:07:00.0", false, addr, prev, &err), -ENODEV);
}
END_TEST

struct findings {
	unsigned n;
	enum pci_check_level lvl[32];
	char what[32][512];
	char fix[32][700];
};

static void record(void *ctx, enum pci_check_level lvl, const char *what, const char *fix)
{
	struct findings *f = ctx;

	if (f->n == 32)
		return;
	f->lvl[f->n] = lvl;
	snprintf(f->what[f->n], sizeof(f->what[0]), "%s", what);
	snprintf(f->fix[f->n], sizeof(f->fix[0]), "%s", fix ? fix : "");
	f->n++;
}

// Index of the finding whose text contains s, or -1.
static int find(const struct findings *f, const char *s)
{
	for (unsigned i = 0; i < f->n; i++) {
		if (strstr(f->what[i], s) != NULL)
			return (int)i;
	}
	return -1;
}

START_TEST(test_checks)
{
	static struct findings f;
	const char *devs[] = {"eth1", "0000:09:00.0"};
	unsigned fails;
	int i;

	memset(&f, 0, sizeof(f));
	fails = pci_check_run(devs, 2, record, &f);
	ck_assert_uint_eq(fails, 2); // eth1 on its kernel driver, 0000:09:00.0 missing
	ck_assert_int_ge(i = find(&f, "IOMMU enabled: 3 IOMMU groups"), 0);
	ck_assert_int_eq(f.lvl[i], PCI_CHECK_OK);
	ck_assert_int_ge(i = find(&f, "vfio-pci is not loaded"), 0);
	ck_assert_int_eq(f.lvl[i], PCI_CHECK_WARN);
	ck_assert_ptr_nonnull(strstr(f.fix[i], "modprobe vfio-pci"));
	ck_assert_int_ge(find(&f, "hugepages 2048kB on node0: 16 reserved, 8 free"), 0);
	ck_assert_int_ge(i = find(&f, "0000:00:04.0 is bound to kernel driver e1000e"), 0);
	ck_assert_int_eq(f.lvl[i], PCI_CHECK_FAIL);
	ck_assert_str_eq(f.fix[i], "vsctl device bind 0000:00:04.0 vfio-pci");
	ck_assert_int_ge(i = find(&f, "PCI port device 0000:09:00.0"), 0);
	ck_assert_int_eq(f.lvl[i], PCI_CHECK_FAIL);

	// No IOMMU groups, but the firmware has a DMAR table: the fix is intel_iommu=on.
	char t[512];
	snprintf(t, sizeof(t), "rm -rf '%s/sys/kernel/iommu_groups'", root);
	ck_assert_int_eq(system(t), 0);
	put("sys/firmware/acpi/tables/DMAR", "x");
	put("sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages", "0\n");
	memset(&f, 0, sizeof(f));
	pci_check_run(NULL, 0, record, &f);
	ck_assert_int_ge(i = find(&f, "IOMMU present (ACPI DMAR table) but not enabled"), 0);
	ck_assert_int_eq(f.lvl[i], PCI_CHECK_WARN);
	ck_assert_ptr_nonnull(strstr(f.fix[i], "intel_iommu=on iommu=pt"));
	ck_assert_int_ge(i = find(&f, "no hugepages reserved"), 0);
	ck_assert_ptr_nonnull(strstr(f.fix[i], "nr_hugepages"));
	ck_assert_int_ge(i = find(&f, "uio_pci_generic is not loaded"), 0);
	// vfio loaded without the no-IOMMU parameter: built without CONFIG_VFIO_NOIOMMU.
	mkd("sys/module/vfio");
	memset(&f, 0, sizeof(f));
	pci_check_run(NULL, 0, record, &f);
	ck_assert_int_ge(i = find(&f, "no-IOMMU mode is not available"), 0);
	ck_assert_int_eq(f.lvl[i], PCI_CHECK_WARN);
	put("sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "N\n");
	memset(&f, 0, sizeof(f));
	pci_check_run(NULL, 0, record, &f);
	ck_assert_int_ge(i = find(&f, "no-IOMMU mode is available but off"), 0);
	ck_assert_ptr_nonnull(strstr(f.fix[i], "enable_unsafe_noiommu_mode"));
}
END_TEST

START_TEST(test_token_and_place)
{
	size_t off = 0, o;

	ck_assert_int_eq(vfio_vf_token_check("14d63f20-8445-11ea-8900-1f9ce7d5650d"), 0);
	ck_assert_int_eq(vfio_vf_token_check("14D63F20-8445-11EA-8900-1F9CE7D5650D"), 0);
	ck_assert_int_eq(vfio_vf_token_check("14d63f20-8445-11ea-8900-1f9ce7d5650"), -EINVAL);
	ck_assert_int_eq(vfio_vf_token_check("14d63f20-8445-11ea-8900-1f9ce7d5650dd"), -EINVAL);
	ck_assert_int_eq(vfio_vf_token_check("14d63f20_8445-11ea-8900-1f9ce7d5650d"), -EINVAL);
	ck_assert_int_eq(vfio_vf_token_check("x4d63f20-8445-11ea-8900-1f9ce7d5650d"), -EINVAL);
	ck_assert_int_eq(vfio_vf_token_check(NULL), -EINVAL);
	// Blocks never straddle a 2 MiB page (IOVA as PA: pages are contiguous only inside).
	o = pci_dma_place(&off, 100, 64);
	ck_assert_uint_eq(o, 0);
	o = pci_dma_place(&off, 16384, 4096);
	ck_assert_uint_eq(o, 4096);
	off = PCI_DMA_BLOCK_MAX - 8192;
	o = pci_dma_place(&off, 16384, 4096);
	ck_assert_uint_eq(o, PCI_DMA_BLOCK_MAX);
	ck_assert_uint_eq(off, PCI_DMA_BLOCK_MAX + 16384);
	off = PCI_DMA_BLOCK_MAX - 16384;
	ck_assert_uint_eq(pci_dma_place(&off, 16384, 4096), PCI_DMA_BLOCK_MAX - 16384);
}
END_TEST

// The pci port type's option checks and device refusals, before any VFIO/UIO access.
START_TEST(test_port_errors)
{
	static const struct {
		struct port_kv kv[2];
		unsigned n;
		int code;
		const char *field, *msg;
	} cases[] = {
		{{{"rxq", "1"}}, 1, -EINVAL, "pci", "option pci= is required"},
		{{{"pci", "eth1"}, {"rxd", "1000"}}, 2, -EINVAL, "rxd", "power of two"},
		{{{"pci", "eth1"}, {"txd", "8192"}}, 2, -EINVAL, "txd", "64..4096"},
		{{{"pci", "eth1"}, {"vf-token", "nope"}}, 2, -EINVAL, "vf-token", "UUID"},
		{{{"pci", "eth1"}, {"mac", "01:00:00:00:00:01"}}, 2, -EINVAL, "mac", "unicast"},
		{{{"pci", "eth1"}}, 1, -EBUSY, "pci",
			"in use by kernel driver e1000e (interface eth1): "
			"bind it to vfio-pci first"},
		{{{"pci", "0000:01:00.0"}}, 1, -ENODEV, "pci", "is not bound to any driver"},
		{{{"pci", "0000:09:00.0"}}, 1, -ENODEV, "pci", "no PCI device 0000:09:00.0"},
		{{{"pci", "veth7"}}, 1, -ENOTSUP, "pci", "is not a PCI device"},
		{{{"pci", "eth1"}, {"speed", "10"}}, 2, -EINVAL, "speed", "unknown option"},
	};
	struct mempool *mp = pkt_pool_create("test_pci_port", 64, PKT_DATA_ROOM_DEFAULT, 0, -1);
	struct port tmpl = {.id = 1, .pool = mp};

	ck_assert_ptr_nonnull(mp);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct err err = {0};
		struct port *p = port_create("nic0", "pci", cases[i].kv, cases[i].n, &tmpl, &err);

		ck_assert_ptr_null(p);
		ck_assert_msg(err.code == cases[i].code, "case %zu: code %d: %s", i, err.code,
			err.msg);
		ck_assert_msg(strcmp(err.field, cases[i].field) == 0, "case %zu: field %s", i,
			err.field);
		ck_assert_msg(strstr(err.msg, cases[i].msg) != NULL, "case %zu: %s", i, err.msg);
	}
	// Nothing registered by the failed probes.
	ck_assert_ptr_null(pci_port_user("0000:00:04.0"));
	ck_assert_uint_eq(mempool_destroy(mp), 0);
}
END_TEST

// A failed DMA mapping names the limit that was hit and how to raise it.
START_TEST(test_map_errors)
{
	struct mem_segment seg = {.name = "pool0", .va = (void *)0x7f0000000000, .size = 2 << 20};
	struct rlimit old, low;

	ck_assert_int_eq(getrlimit(RLIMIT_MEMLOCK, &old), 0);
	low = old;
	low.rlim_cur = 64 * 1024;
	ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &low), 0);
	vfio_map_explain(&seg, 0x10000000, 2 << 20, ENOMEM);
	ck_assert_ptr_nonnull(strstr(vfio_map_error(), "RLIMIT_MEMLOCK is 64 KiB"));
	ck_assert_ptr_nonnull(strstr(vfio_map_error(), "LimitMEMLOCK=infinity"));
	ck_assert_ptr_nonnull(strstr(vfio_map_error(), "pool0"));
	ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &old), 0);

	vfio_map_explain(&seg, 0x10000000, 2 << 20, ENOSPC);
	ck_assert_ptr_nonnull(strstr(vfio_map_error(), "dma_entry_limit"));
	ck_assert_ptr_nonnull(
		strstr(vfio_map_error(), "modprobe vfio_iommu_type1 dma_entry_limit=N"));

	vfio_map_explain(&seg, 0x10000000, 2 << 20, EFAULT);
	ck_assert_ptr_nonnull(strstr(vfio_map_error(), "Bad address"));
	vfio_map_error_clear();
	ck_assert_str_eq(vfio_map_error(), "");
}
END_TEST

static Suite *pci_suite(void)
{
	Suite *s = suite_create("pci");
	TCase *tc = tcase_create("sysfs");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_addr_parse);
	tcase_add_test(tc, test_info);
	tcase_add_test(tc, test_iface_and_resolve);
	tcase_add_test(tc, test_routes_and_groups);
	tcase_add_test(tc, test_device_list);
	tcase_add_test(tc, test_bind_guards_and_writes);
	tcase_add_test(tc, test_checks);
	tcase_add_test(tc, test_token_and_place);
	tcase_add_test(tc, test_port_errors);
	tcase_add_test(tc, test_map_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pci_suite());
	int failed;

	log_set_level(LOG_LVL_ERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
