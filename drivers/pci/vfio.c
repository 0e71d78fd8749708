// SPDX-License-Identifier: Apache-2.0
// VFIO backend of the PCI bus layer (kernel uAPI linux/vfio.h): one container shared by every
// device, one group per IOMMU group, device fds with config space and mmap'ed BARs. With an
// IOMMU (type1) every memory segment is DMA-mapped into the container, now and as segments are
// created (mem segment hook), with IOVA = VA, or IOVA = PA page by page in pa mode. In no-IOMMU
// mode (/dev/vfio/noiommu-N) nothing is mapped and the device DMAs to physical addresses.
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "dataplane/pkt.h"
#include "drivers/pci/pci.h"
#include "drivers/pci/pci_dma.h"

LOG_MODULE("vfio");

#define VFIO_MAX_GROUPS 32
#define VFIO_MAX_RANGES 8

struct vfio_group {
	int num; // IOMMU group number
	int fd; // -1: slot free
	unsigned users; // devices opened through it
};

// The one container (control thread only).
static struct {
	int fd; // -1: none
	bool noiommu;
	bool iommu_set; // VFIO_SET_IOMMU done (first group attached)
	bool hooked; // segments are DMA-mapped and the mem hook is installed
	unsigned n_ranges;
	struct {
		uint64_t start, end;
	} ranges[VFIO_MAX_RANGES]; // valid IOVA ranges (type1 IOVA range capability)
	struct vfio_group groups[VFIO_MAX_GROUPS];
	unsigned n_mappings;
} vfio = {.fd = -1};

struct vfio_dev {
	int fd;
	struct vfio_group *group;
	uint64_t cfg_off;
	uint64_t cfg_size;
	struct vfio_region_info bars[PCI_MAX_BARS];
};

static void vfio_groups_init(void)
{
	static bool done;

	if (done)
		return;
	for (unsigned i = 0; i < VFIO_MAX_GROUPS; i++)
		vfio.groups[i].fd = -1;
	done = true;
}

unsigned vfio_dma_mappings(void)
{
	return vfio.n_mappings;
}

static char vfio_map_msg[400];

const char *vfio_map_error(void)
{
	return vfio_map_msg;
}

void vfio_map_error_clear(void)
{
	vfio_map_msg[0] = '\0';
}

// ---- DMA mapping ----

static long vfio_dma_entry_limit(void)
{
	char path[256], buf[32];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/module/vfio_iommu_type1/parameters/dma_entry_limit",
		pci_sys_root());
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) != NULL)
		v = strtol(buf, NULL, 10);
	fclose(f);
	return v;
}

// Turns a VFIO_IOMMU_MAP_DMA failure into a message naming the limit that was hit.
void vfio_map_explain(const struct mem_segment *seg, uint64_t iova, uint64_t size, int e)
{
	struct rlimit rl = {0};

	getrlimit(RLIMIT_MEMLOCK, &rl);
	if (e == ENOSPC)
		snprintf(vfio_map_msg, sizeof(vfio_map_msg),
			"segment %s: VFIO_IOMMU_MAP_DMA: the container reached the "
			"vfio_iommu_type1 "
			"dma_entry_limit (%ld mappings, %u made by vswitchd); raise it: modprobe "
			"vfio_iommu_type1 dma_entry_limit=N, or use larger hugepages (page-size: "
			"1G)",
			seg->name, vfio_dma_entry_limit(), vfio.n_mappings);
	else if (e == ENOMEM)
		snprintf(vfio_map_msg, sizeof(vfio_map_msg),
			"segment %s: VFIO_IOMMU_MAP_DMA of %llu bytes: out of locked memory: "
			"RLIMIT_MEMLOCK is %s%llu KiB and VFIO pins every mapped byte against it; "
			"raise it (LimitMEMLOCK=infinity in the unit, ulimit -l unlimited)",
			seg->name, (unsigned long long)size,
			rl.rlim_cur == RLIM_INFINITY ? "unlimited: " : "",
			rl.rlim_cur == RLIM_INFINITY ? 0ull
						     : (unsigned long long)rl.rlim_cur / 1024);
	else
		snprintf(vfio_map_msg, sizeof(vfio_map_msg),
			"segment %s: VFIO_IOMMU_MAP_DMA va %p iova 0x%llx size 0x%llx: %s",
			seg->name, seg->va, (unsigned long long)iova, (unsigned long long)size,
			strerror(e));
	LOG(ERR, "%s", vfio_map_msg);
}

static int vfio_map(const struct mem_segment *seg, void *va, uint64_t iova, uint64_t size)
{
	vfio_map_msg[0] = '\0';
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	if (ioctl(vfio.fd, VFIO_IOMMU_MAP_DMA, &m) < 0) {
		int e = errno;

		vfio_map_explain(seg, iova, size, e);
		return -e;
	}
	vfio.n_mappings++;
	return 0;
}

static int vfio_unmap(uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = {.argsz = sizeof(u), .iova = iova, .size = size};

	if (ioctl(vfio.fd, VFIO_IOMMU_UNMAP_DMA, &u) < 0)
		return -errno;
	if (vfio.n_mappings > 0)
		vfio.n_mappings--;
	return 0;
}

static bool vfio_iova_ok(uint64_t iova, uint64_t size)
{
	if (vfio.n_ranges == 0)
		return true; // kernel without the range capability: let MAP_DMA decide
	for (unsigned i = 0; i < vfio.n_ranges; i++) {
		if (iova >= vfio.ranges[i].start && iova + size - 1 <= vfio.ranges[i].end)
			return true;
	}
	return false;
}

static uint64_t vfio_iova_max(void)
{
	uint64_t m = 0;

	for (unsigned i = 0; i < vfio.n_ranges; i++)
		m = MAX(m, vfio.ranges[i].end);
	return m;
}

// Maps (added) or unmaps one segment: one mapping in VA mode, one per page in PA mode (pages
// are contiguous only within themselves).
static int vfio_seg_hook(const struct mem_segment *seg, bool added, void *arg)
{
	bool pa = mem_iova_mode() == MEM_IOVA_PA;
	size_t step = pa ? seg->page_size : seg->size;
	int ret = 0;

	for (size_t off = 0; off < seg->size; off += step) {
		uint8_t *va = (uint8_t *)seg->va + off;
		uint64_t iova = pa ? mem_virt2iova(va) : (uint64_t)(uintptr_t)va;

		if (iova == MEM_IOVA_BAD) {
			LOG(ERR, "segment %s: no physical address for %p", seg->name, va);
			ret = -EFAULT;
			break;
		}
		if (!added) {
			int r = vfio_unmap(iova, step);
			if (r < 0 && ret == 0)
				ret = r;
			continue;
		}
		if (!vfio_iova_ok(iova, step)) {
			snprintf(vfio_map_msg, sizeof(vfio_map_msg),
				"segment %s: IOVA 0x%llx-0x%llx is outside what the IOMMU "
				"translates (up to 0x%llx): its address width is too small for "
				"IOVA as VA; use memory.iova-mode: pa, or a wider IOMMU (QEMU: "
				"intel-iommu,aw-bits=48)",
				seg->name, (unsigned long long)iova,
				(unsigned long long)(iova + step - 1),
				(unsigned long long)vfio_iova_max());
			LOG(ERR, "%s", vfio_map_msg);
			ret = -ERANGE;
		} else {
			ret = vfio_map(seg, va, iova, step);
		}
		if (ret < 0) {
			// Undo this segment's pages mapped so far.
			for (size_t o = 0; o < off; o += step) {
				uint8_t *v = (uint8_t *)seg->va + o;
				vfio_unmap(pa ? mem_virt2iova(v) : (uint64_t)(uintptr_t)v, step);
			}
			break;
		}
	}
	return ret;
}

static int vfio_seg_map_cb(const struct mem_segment *seg, void *arg)
{
	return vfio_seg_hook(seg, true, arg);
}

struct range_check {
	bool ok;
	char name[32];
	uint64_t va;
};

static int vfio_seg_range_cb(const struct mem_segment *seg, void *arg)
{
	struct range_check *rc = arg;

	if (!vfio_iova_ok((uintptr_t)seg->va, seg->size)) {
		rc->ok = false;
		snprintf(rc->name, sizeof(rc->name), "%s", seg->name);
		rc->va = (uintptr_t)seg->va;
		return 1;
	}
	return 0;
}

// First device behind an IOMMU: choose VA (or keep PA), then map everything and follow new
// segments. Auto mode falls back to PA when the IOMMU cannot translate our virtual addresses.
static int vfio_dma_setup(const char *addr, struct err *err)
{
	struct range_check rc = {.ok = true};
	struct err e = {0};
	int ret;

	if (mem_iova_mode() != MEM_IOVA_PA) {
		mem_segment_foreach(vfio_seg_range_cb, &rc);
		if (!rc.ok && mem_iova_mode() == MEM_IOVA_AUTO &&
			mem_iova_mode_set(MEM_IOVA_PA, &e) == 0) {
			pkt_pools_refresh_iova();
			LOG(NOTICE,
				"%s: the IOMMU translates IOVAs up to 0x%llx only, below segment "
				"%s at %#llx: using IOVA as PA",
				addr, (unsigned long long)vfio_iova_max(), rc.name,
				(unsigned long long)rc.va);
		} else if (!rc.ok) {
			return err_set(err, -ERANGE, "pci",
				"%s: the IOMMU translates IOVAs up to 0x%llx only, but memory "
				"segment %s lives at %#llx: IOVA as VA is impossible%s%s; set "
				"memory.iova-mode: pa (needs root and hugepages) or use an IOMMU "
				"with a 48-bit address width (QEMU: intel-iommu,aw-bits=48)",
				addr, (unsigned long long)vfio_iova_max(), rc.name,
				(unsigned long long)rc.va,
				e.msg[0] ? " and IOVA as PA failed: " : "", e.msg);
		} else if (mem_iova_mode() == MEM_IOVA_AUTO) {
			if ((ret = mem_iova_mode_set(MEM_IOVA_VA, &e)) < 0)
				return err_set(err, ret, "pci", "%s: %s", addr, e.msg);
			pkt_pools_refresh_iova();
		}
	}
	vfio_map_msg[0] = '\0';
	if ((ret = mem_segment_foreach(vfio_seg_map_cb, NULL)) < 0)
		return err_set(err, ret, "pci",
			"%s: cannot DMA-map packet memory into the IOMMU: %s", addr,
			vfio_map_msg[0] ? vfio_map_msg : strerror(-ret));
	mem_set_segment_hook(vfio_seg_hook, NULL);
	vfio.hooked = true;
	LOG(INFO, "DMA-mapped %u region(s) for %s, IOVA as %s", vfio.n_mappings, addr,
		mem_iova_mode_name(mem_iova_mode()));
	return 0;
}

// ---- container and groups ----

static void vfio_iommu_info(void)
{
	uint8_t buf[4096] __attribute__((aligned(8)));
	struct vfio_iommu_type1_info *ii = (void *)buf;
	uint32_t off;

	memset(buf, 0, sizeof(buf));
	ii->argsz = sizeof(buf);
	vfio.n_ranges = 0;
	if (ioctl(vfio.fd, VFIO_IOMMU_GET_INFO, ii) < 0 || !(ii->flags & VFIO_IOMMU_INFO_CAPS))
		return;
	for (off = ii->cap_offset;
		off != 0 && off + sizeof(struct vfio_info_cap_header) <= sizeof(buf);) {
		struct vfio_info_cap_header *h = (void *)(buf + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;

			for (uint32_t i = 0; i < r->nr_iovas && vfio.n_ranges < VFIO_MAX_RANGES;
				i++) {
				vfio.ranges[vfio.n_ranges].start = r->iova_ranges[i].start;
				vfio.ranges[vfio.n_ranges].end = r->iova_ranges[i].end;
				vfio.n_ranges++;
			}
		}
		if (h->next <= off)
			break; // the chain only moves forward
		off = h->next;
	}
}

static void vfio_container_release(void)
{
	if (vfio.fd < 0)
		return;
	for (unsigned i = 0; i < VFIO_MAX_GROUPS; i++) {
		if (vfio.groups[i].fd >= 0)
			return;
	}
	if (vfio.hooked) {
		mem_set_segment_hook(NULL, NULL);
		vfio.hooked = false;
	}
	// Closing the container drops every DMA mapping.
	close(vfio.fd);
	vfio.fd = -1;
	vfio.iommu_set = false;
	vfio.n_mappings = 0;
	vfio.n_ranges = 0;
	LOG(INFO, "VFIO container closed");
}

static int vfio_container_open(bool noiommu, const char *addr, struct err *err)
{
	char path[256];
	int ret;

	if (vfio.fd >= 0) {
		if (vfio.noiommu != noiommu)
			return err_set(err, -EINVAL, "pci",
				"%s: cannot mix VFIO no-IOMMU and IOMMU-protected devices in one "
				"process",
				addr);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/vfio/vfio", pci_dev_root());
	if ((vfio.fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		ret = -errno;
		return err_set(err, ret, "pci", "%s: cannot open %s: %s%s", addr, path,
			strerror(-ret),
			ret == -ENOENT ? " (load the driver: modprobe vfio-pci)" : "");
	}
	if ((ret = ioctl(vfio.fd, VFIO_GET_API_VERSION)) != VFIO_API_VERSION) {
		close(vfio.fd);
		vfio.fd = -1;
		return err_set(
			err, -ENOTSUP, "pci", "%s: unsupported VFIO API version %d", addr, ret);
	}
	if (!noiommu && ioctl(vfio.fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0 &&
		ioctl(vfio.fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0) {
		close(vfio.fd);
		vfio.fd = -1;
		return err_set(err, -ENOTSUP, "pci",
			"%s: the kernel offers no VFIO type1 IOMMU backend (modprobe "
			"vfio_iommu_type1)",
			addr);
	}
	if (noiommu && ioctl(vfio.fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) <= 0) {
		close(vfio.fd);
		vfio.fd = -1;
		return err_set(err, -ENOTSUP, "pci",
			"%s: VFIO no-IOMMU mode is not enabled (echo 1 > "
			"/sys/module/vfio/parameters/enable_unsafe_noiommu_mode; the kernel must "
			"be "
			"built with CONFIG_VFIO_NOIOMMU)",
			addr);
	}
	vfio.noiommu = noiommu;
	vfio.iommu_set = false;
	return 0;
}

static int vfio_group_get(
	int num, bool noiommu, const char *addr, struct vfio_group **out, struct err *err)
{
	struct vfio_group_status st = {.argsz = sizeof(st)};
	struct vfio_group *g = NULL;
	char path[256], blockers[512];
	int ret, fd;

	vfio_groups_init();
	for (unsigned i = 0; i < VFIO_MAX_GROUPS; i++) {
		if (vfio.groups[i].fd >= 0 && vfio.groups[i].num == num) {
			vfio.groups[i].users++;
			*out = &vfio.groups[i];
			return 0;
		}
		if (g == NULL && vfio.groups[i].fd < 0)
			g = &vfio.groups[i];
	}
	if (g == NULL)
		return err_set(err, -ENOSPC, "pci", "%s: too many VFIO groups open (max %d)", addr,
			VFIO_MAX_GROUPS);
	if ((ret = vfio_container_open(noiommu, addr, err)) < 0)
		return ret;
	snprintf(
		path, sizeof(path), "%s/vfio/%s%d", pci_dev_root(), noiommu ? "noiommu-" : "", num);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		ret = -errno;
		if (ret == -EBUSY)
			err_set(err, ret, "pci",
				"%s: IOMMU group %d (%s) is in use by another process (another "
				"vswitchd, a VM or a DPDK application)",
				addr, num, path);
		else if (ret == -EACCES || ret == -EPERM)
			err_set(err, ret, "pci",
				"%s: no permission to open %s%s: run vswitchd as root or give its "
				"user the group node (chown vswitch %s)",
				addr, path,
				noiommu ? " (no-IOMMU groups also need CAP_SYS_RAWIO)" : "", path);
		else
			err_set(err, ret, "pci", "%s: cannot open %s: %s", addr, path,
				strerror(-ret));
		goto release;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0) {
		ret = err_set(
			err, -errno, "pci", "%s: VFIO_GROUP_GET_STATUS: %s", addr, strerror(errno));
		goto close_fd;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		pci_group_blockers(num, addr, blockers, sizeof(blockers));
		ret = err_set(err, -EBUSY, "pci",
			"%s: IOMMU group %d is not viable: every device of the group must be bound "
			"to vfio-pci or to no driver; unbind %s (vsctl device unbind DEV, or bind "
			"them to vfio-pci)",
			addr, num, blockers[0] ? blockers : "the other devices of the group");
		goto close_fd;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET) &&
		ioctl(fd, VFIO_GROUP_SET_CONTAINER, &vfio.fd) < 0) {
		ret = err_set(err, -errno, "pci", "%s: VFIO_GROUP_SET_CONTAINER: %s", addr,
			strerror(errno));
		goto close_fd;
	}
	g->fd = fd;
	g->num = num;
	g->users = 1;
	if (!vfio.iommu_set) {
		int type = noiommu ? VFIO_NOIOMMU_IOMMU
				   : (ioctl(vfio.fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0
						     ? VFIO_TYPE1v2_IOMMU
						     : VFIO_TYPE1_IOMMU);

		if (ioctl(vfio.fd, VFIO_SET_IOMMU, type) < 0) {
			ret = err_set(err, -errno, "pci", "%s: VFIO_SET_IOMMU(%d): %s", addr, type,
				strerror(errno));
			goto unset;
		}
		vfio.iommu_set = true;
		if (!noiommu) {
			vfio_iommu_info();
			if ((ret = vfio_dma_setup(addr, err)) < 0)
				goto unset;
		}
	}
	*out = g;
	return 0;

unset:
	g->fd = -1;
	ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
close_fd:
	close(fd);
release:
	vfio_container_release();
	return ret;
}

static void vfio_group_put(struct vfio_group *g)
{
	if (g == NULL || --g->users > 0)
		return;
	ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
	close(g->fd);
	g->fd = -1;
	vfio_container_release();
}

// ---- device ----

static int vfio_cfg_read(struct pci_dev *dev, unsigned off, void *buf, size_t len)
{
	struct vfio_dev *vd = dev->backend;

	if (off + len > vd->cfg_size)
		return -EINVAL;
	return pread(vd->fd, buf, len, (off_t)(vd->cfg_off + off)) == (ssize_t)len ? 0 : -EIO;
}

static int vfio_cfg_write(struct pci_dev *dev, unsigned off, const void *buf, size_t len)
{
	struct vfio_dev *vd = dev->backend;

	if (off + len > vd->cfg_size)
		return -EINVAL;
	return pwrite(vd->fd, buf, len, (off_t)(vd->cfg_off + off)) == (ssize_t)len ? 0 : -EIO;
}

static int vfio_reset(struct pci_dev *dev)
{
	struct vfio_dev *vd = dev->backend;
	struct vfio_device_info di = {.argsz = sizeof(di)};

	if (ioctl(vd->fd, VFIO_DEVICE_GET_INFO, &di) < 0)
		return -errno;
	if (!(di.flags & VFIO_DEVICE_FLAGS_RESET))
		return -ENOTSUP;
	return ioctl(vd->fd, VFIO_DEVICE_RESET) < 0 ? -errno : 0;
}

static int vfio_bar_map(struct pci_dev *dev, unsigned i, struct err *err)
{
	struct vfio_dev *vd = dev->backend;
	struct vfio_region_info *r = &vd->bars[i];
	void *va;

	if (r->size == 0)
		return err_set(err, -ENODEV, "pci", "%s: BAR %u is not implemented", dev->addr, i);
	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return err_set(err, -ENOTSUP, "pci",
			"%s: VFIO does not let BAR %u be mmap'ed (I/O port BAR?)", dev->addr, i);
	va = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, vd->fd, (off_t)r->offset);
	if (va == MAP_FAILED)
		return err_set(err, -errno, "pci", "%s: mmap of BAR %u (%llu bytes): %s", dev->addr,
			i, (unsigned long long)r->size, strerror(errno));
	dev->bar[i].va = va;
	dev->bar[i].size = r->size;
	return 0;
}

static void vfio_req_disable(struct pci_dev *dev)
{
	struct vfio_dev *vd = dev->backend;
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_REQ_IRQ_INDEX,
	};

	if (dev->req_fd < 0)
		return;
	ioctl(vd->fd, VFIO_DEVICE_SET_IRQS, &set);
	close(dev->req_fd);
	dev->req_fd = -1;
}

// The kernel signals this eventfd when someone unbinds the device from vfio-pci: the unbind
// waits until we close the device, so the port must give it back (pci_port.c watches req_fd).
static void vfio_req_enable(struct pci_dev *dev)
{
	struct vfio_dev *vd = dev->backend;
	struct vfio_irq_info ii = {.argsz = sizeof(ii), .index = VFIO_PCI_REQ_IRQ_INDEX};
	uint8_t buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)] __attribute__((aligned(8)));
	struct vfio_irq_set *set = (void *)buf;
	int32_t efd;

	if (ioctl(vd->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 || ii.count == 0)
		return;
	if ((efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return;
	*set = (struct vfio_irq_set){
		.argsz = sizeof(buf),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_REQ_IRQ_INDEX,
		.start = 0,
		.count = 1,
	};
	memcpy(set->data, &efd, sizeof(efd));
	if (ioctl(vd->fd, VFIO_DEVICE_SET_IRQS, set) < 0) {
		LOG(WARN, "%s: cannot register for device release requests: %s, ignoring",
			dev->addr, strerror(errno));
		close(efd);
		return;
	}
	dev->req_fd = efd;
}

static void vfio_close(struct pci_dev *dev)
{
	struct vfio_dev *vd = dev->backend;

	if (vd == NULL)
		return;
	for (unsigned i = 0; i < PCI_MAX_BARS; i++) {
		if (dev->bar[i].va != NULL)
			munmap((void *)dev->bar[i].va, dev->bar[i].size);
		dev->bar[i].va = NULL;
	}
	vfio_req_disable(dev);
	if (vd->fd >= 0)
		close(vd->fd);
	vfio_group_put(vd->group);
	free(vd);
	dev->backend = NULL;
}

static const struct pci_dev_ops vfio_ops = {
	.cfg_read = vfio_cfg_read,
	.cfg_write = vfio_cfg_write,
	.reset = vfio_reset,
	.bar_map = vfio_bar_map,
	.close = vfio_close,
};

int vfio_vf_token_check(const char *t)
{
	static const int groups[] = {8, 4, 4, 4, 12};

	if (t == NULL)
		return -EINVAL;
	for (size_t g = 0; g < ARRAY_SIZE(groups); g++) {
		for (int i = 0; i < groups[g]; i++, t++) {
			if (!((*t >= '0' && *t <= '9') || (*t >= 'a' && *t <= 'f') ||
				    (*t >= 'A' && *t <= 'F')))
				return -EINVAL;
		}
		if (*t != (g + 1 < ARRAY_SIZE(groups) ? '-' : '\0'))
			return -EINVAL;
		t++;
	}
	return 0;
}

// The PF side of the VF token: VFIO_DEVICE_FEATURE_PCI_VF_TOKEN with the 16-byte UUID.
static int vfio_pf_token_set(int fd, const char *token)
{
	uint8_t buf[sizeof(struct vfio_device_feature) + 16] __attribute__((aligned(8)));
	struct vfio_device_feature *f = (void *)buf;
	unsigned k = 0;

	f->argsz = sizeof(buf);
	f->flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
	for (const char *p = token; *p && k < 32; p++) {
		int d = (*p >= '0' && *p <= '9')   ? *p - '0'
			: (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10
			: (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10
						   : -1;
		if (d < 0)
			continue; // dashes
		if (k % 2 == 0)
			f->data[k / 2] = (uint8_t)(d << 4);
		else
			f->data[k / 2] |= (uint8_t)d;
		k++;
	}
	return ioctl(fd, VFIO_DEVICE_FEATURE, f) < 0 ? -errno : 0;
}

int vfio_dev_open(
	struct pci_dev *dev, const struct pci_info *info, const char *vf_token, struct err *err)
{
	struct vfio_device_info di = {.argsz = sizeof(di)};
	struct vfio_region_info cfg = {.argsz = sizeof(cfg)};
	char path[256], name[128];
	struct vfio_dev *vd;
	bool noiommu;
	int ret;

	if (info->iommu_group < 0)
		return err_set(err, -ENODEV, "pci",
			"%s is bound to vfio-pci but has no IOMMU group (sysfs iommu_group "
			"missing)",
			dev->addr);
	if (vf_token != NULL && vfio_vf_token_check(vf_token) < 0)
		return err_set(err, -EINVAL, "vf-token",
			"vf-token must be a UUID like 14d63f20-8445-11ea-8900-1f9ce7d5650d (got "
			"'%s')",
			vf_token);
	snprintf(path, sizeof(path), "%s/vfio/noiommu-%d", pci_dev_root(), info->iommu_group);
	noiommu = access(path, F_OK) == 0;
	if ((vd = calloc(1, sizeof(*vd))) == NULL)
		return err_set(err, -ENOMEM, "pci", "%s: out of memory", dev->addr);
	vd->fd = -1;
	dev->backend = vd;
	dev->ops = &vfio_ops;
	dev->access = noiommu ? PCI_ACCESS_VFIO_NOIOMMU : PCI_ACCESS_VFIO;
	// No IOMMU: the device DMAs to physical addresses, which must be settled before anything
	// is mapped or allocated for it.
	if (noiommu && (ret = pci_dma_require_pa(dev->addr, "VFIO no-IOMMU mode", err)) < 0)
		goto fail;
	if ((ret = vfio_group_get(info->iommu_group, noiommu, dev->addr, &vd->group, err)) < 0)
		goto fail;
	// A VF is opened with its token; a PF gets the token set after opening.
	if (vf_token != NULL && info->is_vf)
		snprintf(name, sizeof(name), "%s vf_token=%s", dev->addr, vf_token);
	else
		snprintf(name, sizeof(name), "%s", dev->addr);
	if ((vd->fd = ioctl(vd->group->fd, VFIO_GROUP_GET_DEVICE_FD, name)) < 0) {
		ret = -errno;
		if (ret == -EACCES && info->is_vf)
			err_set(err, ret, "vf-token",
				"%s: VFIO refused the VF: its PF is bound to vfio-pci and needs "
				"the "
				"same vf-token on both ports%s",
				dev->addr,
				vf_token ? " (the token given does not match the PF's)" : "");
		else if (ret == -EPERM && noiommu)
			err_set(err, ret, "pci",
				"%s: VFIO no-IOMMU devices can be opened only with CAP_SYS_RAWIO "
				"(run "
				"vswitchd as root)",
				dev->addr);
		else
			err_set(err, ret, "pci", "%s: VFIO_GROUP_GET_DEVICE_FD: %s", dev->addr,
				strerror(-ret));
		goto fail;
	}
	if (ioctl(vd->fd, VFIO_DEVICE_GET_INFO, &di) < 0 || !(di.flags & VFIO_DEVICE_FLAGS_PCI) ||
		di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		ret = err_set(err, -ENODEV, "pci", "%s: VFIO does not describe it as a PCI device",
			dev->addr);
		goto fail;
	}
	cfg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(vd->fd, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0) {
		ret = err_set(
			err, -errno, "pci", "%s: config region: %s", dev->addr, strerror(errno));
		goto fail;
	}
	vd->cfg_off = cfg.offset;
	vd->cfg_size = cfg.size;
	for (unsigned i = 0; i < PCI_MAX_BARS; i++) {
		vd->bars[i] = (struct vfio_region_info){
			.argsz = sizeof(vd->bars[i]),
			.index = VFIO_PCI_BAR0_REGION_INDEX + i,
		};
		if (ioctl(vd->fd, VFIO_DEVICE_GET_REGION_INFO, &vd->bars[i]) < 0)
			vd->bars[i].size = 0;
	}
	if (vf_token != NULL && !info->is_vf && (ret = vfio_pf_token_set(vd->fd, vf_token)) < 0) {
		err_set(err, ret, "vf-token", "%s: cannot set the VF token on the PF: %s",
			dev->addr, strerror(-ret));
		goto fail;
	}
	vfio_req_enable(dev);
	if (noiommu)
		LOG(WARN,
			"%s opened through VFIO no-IOMMU mode (group %d): nothing protects memory "
			"from the device's DMA, and the kernel is tainted",
			dev->addr, info->iommu_group);
	else
		LOG(INFO, "%s opened through VFIO (group %d)", dev->addr, info->iommu_group);
	return 0;
fail:
	vfio_close(dev);
	dev->ops = NULL;
	return ret;
}
