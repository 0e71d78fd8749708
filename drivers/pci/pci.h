// SPDX-License-Identifier: Apache-2.0
// PCI bus layer for the userspace NIC drivers: PCI addresses, the sysfs view of devices and their
// kernel drivers (listing, binding: the dpdk-devbind equivalent), and an opened device with its
// config space and mapped BARs, reached through VFIO (drivers/pci/vfio.c) or uio_pci_generic
// (drivers/pci/uio.c). Control thread only; the mapped BARs are what workers touch.
#ifndef VSWITCH_PCI_H
#define VSWITCH_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/err.h"

#define PCI_ADDR_SIZE 16 // "0000:00:04.0" + NUL, rounded up
#define PCI_MAX_BARS 6
#define PCI_DRIVER_SIZE 64
#define PCI_IFACES_SIZE 128

// Standard config space offsets and bits (PCI Local Bus 3.0, chapter 6).
#define PCI_CFG_VENDOR 0x00
#define PCI_CFG_DEVICE 0x02
#define PCI_CFG_COMMAND 0x04
#define PCI_CFG_STATUS 0x06
#define PCI_CFG_CAP_PTR 0x34
#define PCI_CMD_MEMORY 0x0002
#define PCI_CMD_MASTER 0x0004
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CLASS_NETWORK 0x02

// Roots of the kernel interfaces the bus layer reads. Defaults "/sys", "/dev", "/proc"; unit
// tests point them at a fake tree. NULL keeps the current value.
void pci_roots_set(const char *sys, const char *dev, const char *proc);
const char *pci_sys_root(void);
const char *pci_dev_root(void);
const char *pci_proc_root(void);

// strlcpy: copies at most size - 1 bytes and terminates.
void pci_strlcpy(char *dst, const char *src, size_t size);

// Parses "0000:00:04.0" or "00:04.0" (domain 0) into the canonical lower-case form.
// 0 or -EINVAL.
int pci_addr_parse(const char *s, char out[PCI_ADDR_SIZE]);

// What sysfs says about one device.
struct pci_info {
	char addr[PCI_ADDR_SIZE];
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys_device;
	uint32_t class; // 0x020000 = Ethernet controller
	char driver[PCI_DRIVER_SIZE]; // bound kernel driver, "" when unbound
	char override[PCI_DRIVER_SIZE]; // driver_override, "" when unset
	int iommu_group; // -1: none (no IOMMU, no no-IOMMU group)
	int numa_node; // -1: unknown
	bool is_vf; // an SR-IOV virtual function (has physfn)
	unsigned sriov_numvfs; // VFs enabled on this PF
	char ifaces[PCI_IFACES_SIZE]; // kernel interfaces, comma-separated ("" if none)
};

// 0, -ENODEV (no such device), or another -errno reading sysfs.
int pci_info_get(const char *addr, struct pci_info *info);
// Calls cb for every PCI device in address order; stops at and returns a non-zero cb result.
int pci_foreach(int (*cb)(const struct pci_info *info, void *arg), void *arg);
// PCI address of a kernel interface (eth0, or a virtio-net interface: its virtio parent).
// 0, -ENODEV (no such interface), -ENOTSUP (not a PCI device).
int pci_iface_addr(const char *ifname, char addr[PCI_ADDR_SIZE]);
// Accepts a PCI address or an interface name; err names `field`.
int pci_addr_resolve(const char *dev, char addr[PCI_ADDR_SIZE], const char *field, struct err *err);
// Short description of known NICs ("82574L Gigabit Network Connection"), NULL if unknown.
const char *pci_device_name(uint16_t vendor, uint16_t device);

// True when interface `ifname` carries a route in the main table (IPv4 or IPv6); *dflt is set
// when one of them is a default route. The dpdk-devbind "*Active*" rule.
bool pci_iface_routed(const char *ifname, bool *dflt);
// True when /sys/module/NAME exists (module loaded or built in).
bool pci_module_loaded(const char *name);
bool pci_driver_exists(const char *driver); // /sys/bus/pci/drivers/NAME

// Binds addr to driver through driver_override + drivers_probe (the kernel's own mechanism,
// which also works for vfio-pci and uio_pci_generic that have no ID table). Unbinds the current
// driver first. driver "" or NULL: unbind only and clear the override. Control thread; may block
// while the kernel unbinds (a VFIO user is asked to release the device).
int pci_bind(const char *addr, const char *driver, struct err *err);

// Devices of IOMMU group `group`, in address order; returns the count (may exceed max).
int pci_group_devices(int group, char (*addrs)[PCI_ADDR_SIZE], unsigned max);
// Writes into msg which devices of the group keep it from being viable for VFIO (bound to a
// driver other than vfio-pci); returns how many.
unsigned pci_group_blockers(int group, const char *self, char *msg, size_t size);

// ---- an opened device ----

enum pci_access {
	PCI_ACCESS_VFIO, // vfio-pci with an IOMMU (type1): IOVA as VA (or PA mapped 1:1)
	PCI_ACCESS_VFIO_NOIOMMU, // vfio-pci in no-IOMMU mode: IOVA as PA
	PCI_ACCESS_UIO, // uio_pci_generic: sysfs resources, IOVA as PA
	PCI_ACCESS_TEST, // unit tests: memory-backed config space and BARs
};

struct pci_dev;

// How config space, reset and release reach the kernel (vfio.c, uio.c; tests bring their own).
struct pci_dev_ops {
	int (*cfg_read)(struct pci_dev *dev, unsigned off, void *buf, size_t len);
	int (*cfg_write)(struct pci_dev *dev, unsigned off, const void *buf, size_t len);
	int (*reset)(struct pci_dev *dev); // function-level reset; -ENOTSUP if none
	// Maps BAR i into dev->bar[i] (mmap); 0 or -errno with err filled.
	int (*bar_map)(struct pci_dev *dev, unsigned i, struct err *err);
	void (*close)(struct pci_dev *dev); // unmaps BARs, closes fds, frees backend state
};

struct pci_bar {
	volatile uint8_t *va; // NULL: not mapped
	size_t size;
};

struct pci_dev {
	char addr[PCI_ADDR_SIZE];
	uint16_t vendor, device;
	int numa_node;
	int iommu_group;
	enum pci_access access;
	const struct pci_dev_ops *ops;
	struct pci_bar bar[PCI_MAX_BARS];
	int req_fd; // eventfd the kernel signals to ask for the device back (VFIO); -1 if none
	void *backend; // vfio.c / uio.c state
};

// Opens the device through the generic driver it is bound to: vfio-pci (VFIO, no-IOMMU
// detected from the group node) or uio_pci_generic. vf_token (NULL: none) is the SR-IOV VF
// token UUID for VFIO. NULL + errno with err filled: -ENODEV, -EBUSY (bound to a kernel
// driver, in use, group not viable), -EPERM, -ENOTSUP...
struct pci_dev *pci_dev_open(const char *addr, const char *vf_token, struct err *err);
void pci_dev_close(struct pci_dev *dev); // NULL: no-op

int pci_cfg_read8(struct pci_dev *dev, unsigned off, uint8_t *v);
int pci_cfg_read16(struct pci_dev *dev, unsigned off, uint16_t *v);
int pci_cfg_read32(struct pci_dev *dev, unsigned off, uint32_t *v);
int pci_cfg_write16(struct pci_dev *dev, unsigned off, uint16_t v);
// Sets or clears memory decoding + bus mastering (DMA) in the command register; also disables
// INTx (the drivers poll).
int pci_set_master(struct pci_dev *dev, bool on);
// Walks the capability list: calls cb(dev, offset, id) for each; stops at a non-zero result,
// which it returns. Bounded against loops in a malformed list.
int pci_cap_foreach(struct pci_dev *dev,
	int (*cb)(struct pci_dev *dev, unsigned off, uint8_t id, void *arg), void *arg);
// Maps BAR i (once); 0 or -errno with err filled.
int pci_bar_map(struct pci_dev *dev, unsigned i, struct err *err);
const char *pci_access_name(enum pci_access a);

// ---- backends (vfio.c, uio.c) ----

int vfio_dev_open(
	struct pci_dev *dev, const struct pci_info *info, const char *vf_token, struct err *err);
int uio_dev_open(struct pci_dev *dev, const struct pci_info *info, struct err *err);
// DMA mappings the VFIO container holds (0 without a container).
unsigned vfio_dma_mappings(void);
// Why the last DMA mapping failed, naming the limit hit ("" when the last one succeeded): the
// segment hook can only log, callers add it to the error they return.
const char *vfio_map_error(void);
void vfio_map_error_clear(void);
// Records (for vfio_map_error()) why mapping `size` bytes of seg at iova failed with errno e:
// ENOSPC = the vfio_iommu_type1 dma_entry_limit, ENOMEM = RLIMIT_MEMLOCK. Exposed for tests:
// as root (CAP_IPC_LOCK) the kernel never applies the memlock limit.
struct mem_segment;
void vfio_map_explain(const struct mem_segment *seg, uint64_t iova, uint64_t size, int e);
// Checks a VF token: a UUID (8-4-4-4-12 hex digits). 0 or -EINVAL.
int vfio_vf_token_check(const char *token);

#endif
