// SPDX-License-Identifier: Apache-2.0
// RPC methods for userspace NIC device management: device.status (network PCI devices and
// their drivers), device.bind / device.unbind (vfio-pci, uio_pci_generic or a kernel driver),
// and doctor.run (the host checks of vswitchd --check, from inside the running daemon).
#include <errno.h>
#include <string.h>

#include "control/rpc.h"
#include "dataplane/dp.h"
#include "dataplane/mem.h"
#include "drivers/pci/device.h"
#include "drivers/pci/pci_check.h"

struct rpc_dev_list {
	json_t *arr;
	int ret;
};

static json_t *rpc_device_ifaces(const char *ifaces)
{
	char buf[PCI_IFACES_SIZE], *save = NULL;
	json_t *a = json_array();

	pci_strlcpy(buf, ifaces, sizeof(buf));
	for (char *i = strtok_r(buf, ",", &save); a && i; i = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(i));
	return a;
}

static int rpc_device_status_cb(const struct device_entry *e, void *arg)
{
	struct rpc_dev_list *l = arg;
	char ids[16];
	json_t *o;

	snprintf(ids, sizeof(ids), "%04x:%04x", e->info.vendor, e->info.device);
	o = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:o, s:i, s:i, s:b, s:b, s:s?, s:s?}", "pci",
		e->info.addr, "id", ids, "name", e->name, "driver", e->info.driver, "kind",
		device_kind_name(e->kind), "ifaces", rpc_device_ifaces(e->info.ifaces), "numa_node",
		e->info.numa_node, "iommu_group", e->info.iommu_group, "active", e->active,
		"default_route", e->default_route, "port", e->port, "driver_override",
		e->info.override[0] ? e->info.override : NULL);
	if (o == NULL || json_array_append_new(l->arr, o) < 0) {
		l->ret = -ENOMEM;
		return 1;
	}
	return 0;
}

static int rpc_device_status(struct rpc_call *call, json_t *params, json_t **result)
{
	struct rpc_dev_list l = {0};
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	if ((l.arr = json_array()) == NULL)
		return -ENOMEM;
	ret = device_list(rpc_device_status_cb, &l);
	if (l.ret < 0 || ret < 0) {
		json_decref(l.arr);
		return err_set(&call->err, l.ret < 0 ? l.ret : ret, "",
			"cannot list PCI devices: %s", strerror(l.ret < 0 ? -l.ret : -ret));
	}
	*result = l.arr;
	return 0;
}

static int rpc_device_bind(struct rpc_call *call, json_t *params, json_t **result)
{
	char addr[PCI_ADDR_SIZE], prev[PCI_DRIVER_SIZE];
	const char *dev, *driver;
	int force = 0, ret;

	if ((ret = rpc_unpack(call, params, "{s:s, s:s, s?b}", "device", &dev, "driver", &driver,
		     "force", &force)) < 0)
		return ret;
	if ((ret = device_bind(dev, driver, force, addr, prev, &call->err)) < 0)
		return ret;
	*result = json_pack("{s:s, s:s, s:s}", "pci", addr, "driver", driver, "previous", prev);
	return *result ? 0 : -ENOMEM;
}

static int rpc_device_unbind(struct rpc_call *call, json_t *params, json_t **result)
{
	char addr[PCI_ADDR_SIZE], prev[PCI_DRIVER_SIZE];
	const char *dev;
	int force = 0, ret;

	if ((ret = rpc_unpack(call, params, "{s:s, s?b}", "device", &dev, "force", &force)) < 0)
		return ret;
	if ((ret = device_unbind(dev, force, addr, prev, &call->err)) < 0)
		return ret;
	*result = json_pack("{s:s, s:s}", "pci", addr, "previous", prev);
	return *result ? 0 : -ENOMEM;
}

struct rpc_doctor {
	json_t *arr;
	unsigned warnings;
	const char *devs[PORT_MAX];
	size_t n_devs;
};

static void rpc_doctor_report(
	void *ctx, enum pci_check_level lvl, const char *what, const char *fix)
{
	static const char *const names[] = {"ok", "warn", "fail"};
	struct rpc_doctor *d = ctx;

	if (lvl == PCI_CHECK_WARN)
		d->warnings++;
	json_array_append_new(d->arr,
		json_pack("{s:s, s:s, s:s?}", "level", names[lvl], "what", what, "fix", fix));
}

static void rpc_doctor_port(const struct dp_port_conf *p, void *arg)
{
	struct rpc_doctor *d = arg;

	if (strcmp(p->type, "pci") != 0 || d->n_devs == ARRAY_SIZE(d->devs))
		return;
	for (unsigned i = 0; i < p->n_opts; i++) {
		if (strcmp(p->opts[i].key, "pci") == 0)
			d->devs[d->n_devs++] = p->opts[i].value;
	}
}

static int rpc_doctor_run(struct rpc_call *call, json_t *params, json_t **result)
{
	struct rpc_doctor d = {0};
	char what[128];
	unsigned fails;
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	if ((d.arr = json_array()) == NULL)
		return -ENOMEM;
	dp_port_foreach(rpc_doctor_port, &d);
	fails = pci_check_run(d.devs, d.n_devs, rpc_doctor_report, &d);
	snprintf(what, sizeof(what), "IOVA mode in use: %s; VFIO DMA mappings: %u",
		mem_iova_mode_name(mem_iova_mode()), vfio_dma_mappings());
	rpc_doctor_report(&d, PCI_CHECK_OK, what, NULL);
	*result = json_pack("{s:o, s:i, s:i}", "findings", d.arr, "failures", (int)fails,
		"warnings", (int)d.warnings);
	return *result ? 0 : -ENOMEM;
}

const struct rpc_method device_rpc_methods[] = {
	{"device.status", rpc_device_status, "{}",
		"Network PCI devices: driver (kernel, vfio-pci, uio, unused), interfaces, IOMMU "
		"group, whether they carry routes and which port uses them."},
	{"device.bind", rpc_device_bind, "{device: str, driver: str, force?: bool}",
		"Binds a NIC (PCI address or interface name) to vfio-pci, uio_pci_generic or a "
		"kernel driver; refuses the interface of the default route unless force."},
	{"device.unbind", rpc_device_unbind, "{device: str, force?: bool}",
		"Leaves a NIC without a driver (and clears its driver_override)."},
	{"doctor.run", rpc_doctor_run, "{}",
		"Host checks for userspace NIC drivers (IOMMU, vfio, uio, hugepages, memlock, "
		"/dev/vfio, devices of pci ports), each failure with its fix."},
	{0},
};
