// SPDX-License-Identifier: Apache-2.0
// vsctl device management for userspace NIC drivers: device status|bind|unbind (the
// dpdk-devbind equivalent) and doctor (host checks with fixes). Maps to device.status,
// device.bind, device.unbind and doctor.run.
#include <errno.h>
#include <string.h>

#include "ctl/print.h"
#include "ctl/vsctl.h"

static const char *const device_sections[][2] = {
	{"vfio-pci", "Network devices using vfio-pci (userspace drivers)"},
	{"uio", "Network devices using uio (userspace drivers, no IOMMU)"},
	{"kernel", "Network devices using kernel drivers"},
	{"unused", "Network devices without a driver"},
};

static void device_line(struct vsctl_ctx *ctx, const json_t *d)
{
	const char *name = vsctl_get_str(d, "name"), *port = vsctl_get_str(d, "port");
	const char *drv = vsctl_get_str(d, "driver");
	json_t *ifs = json_object_get(d, "ifaces"), *v;
	double group = -1;
	size_t i;

	fprintf(ctx->out, "%s '%s' %s", vsctl_get_str(d, "pci"), name ? name : "unknown device",
		vsctl_get_str(d, "id") ? vsctl_get_str(d, "id") : "?");
	if (json_array_size(ifs) > 0) {
		fprintf(ctx->out, " if=");
		json_array_foreach(ifs, i, v)
			fprintf(ctx->out, "%s%s", i ? "," : "",
				json_string_value(v) ? json_string_value(v) : "?");
	}
	if (drv != NULL && *drv)
		fprintf(ctx->out, " drv=%s", drv);
	if (vsctl_get_num(d, "iommu_group", &group) && group >= 0)
		fprintf(ctx->out, " iommu_group=%.0f", group);
	if (port != NULL)
		fprintf(ctx->out, " port=%s", port);
	if (json_is_true(json_object_get(d, "default_route")))
		fprintf(ctx->out, " *Active, default route*");
	else if (json_is_true(json_object_get(d, "active")))
		fprintf(ctx->out, " *Active*");
	fprintf(ctx->out, "\n");
}

static int device_status_print(struct vsctl_ctx *ctx, json_t *result, void *arg)
{
	bool printed = false;
	json_t *d;
	size_t i;

	if (json_array_size(result) == 0)
		fprintf(ctx->out, "No network PCI devices.\n");
	for (size_t s = 0; s < VSCTL_ARRAY_SIZE(device_sections); s++) {
		bool title = false;

		json_array_foreach(result, i, d) {
			const char *kind = vsctl_get_str(d, "kind");

			if (kind == NULL || strcmp(kind, device_sections[s][0]) != 0)
				continue;
			if (!title) {
				fprintf(ctx->out, "%s%s\n", printed ? "\n" : "",
					device_sections[s][1]);
				title = true;
				printed = true;
			}
			device_line(ctx, d);
		}
	}
	return 0;
}

static int device_status(struct vsctl_ctx *ctx)
{
	return print_result(ctx, "device.status", NULL, JSON_ARRAY, device_status_print, NULL);
}

static int device_bind(struct vsctl_ctx *ctx, const char *dev, const char *driver)
{
	json_t *params, *result = NULL;
	int ret;

	params = driver
		? vsctl_pack(ctx, "{s:s, s:s, s:b}", "device", dev, "driver", driver, "force",
			  vsctl_opt(ctx, "--force"))
		: vsctl_pack(ctx, "{s:s, s:b}", "device", dev, "force", vsctl_opt(ctx, "--force"));
	if (params == NULL)
		return -EINVAL;
	if ((ret = vsctl_call(ctx, driver ? "device.bind" : "device.unbind", params, &result)) < 0)
		return ret;
	if (ctx->json) {
		ret = vsctl_print_json(ctx, result);
	} else {
		const char *prev = vsctl_get_str(result, "previous");

		if (driver)
			fprintf(ctx->out, "%s: %s -> %s\n", vsctl_get_str(result, "pci"),
				prev && *prev ? prev : "(none)", driver);
		else
			fprintf(ctx->out, "%s: %s -> (none)\n", vsctl_get_str(result, "pci"),
				prev && *prev ? prev : "(none)");
	}
	json_decref(result);
	return ret;
}

static int device_run(struct vsctl_ctx *ctx, int argc, char **argv)
{
	const char *verb = argv[0];

	if (strcmp(verb, "status") == 0) {
		if (argc != 1)
			return vsctl_usage(ctx, "device status takes no argument");
		return device_status(ctx);
	}
	if (strcmp(verb, "bind") == 0) {
		if (argc != 3)
			return vsctl_usage(ctx, "usage: device bind DEV DRIVER");
		return device_bind(ctx, argv[1], argv[2]);
	}
	if (strcmp(verb, "unbind") == 0) {
		if (argc != 2)
			return vsctl_usage(ctx, "usage: device unbind DEV");
		return device_bind(ctx, argv[1], NULL);
	}
	return vsctl_usage(ctx, "unknown device command '%s' (status, bind, unbind)", verb);
}

static int doctor_run(struct vsctl_ctx *ctx, int argc, char **argv)
{
	static const char *const tags[][2] = {{"ok", "ok"}, {"warn", "WARN"}, {"fail", "FAIL"}};
	json_t *result = NULL, *f;
	double fails = 0;
	size_t i;
	int ret;

	if ((ret = vsctl_call(ctx, "doctor.run", NULL, &result)) < 0)
		return ret;
	if (!json_is_object(result) || !json_is_array(json_object_get(result, "findings")) ||
		!vsctl_get_num(result, "failures", &fails)) {
		ret = vsctl_bad_result(ctx, "doctor.run", "no findings or failures");
		goto out;
	}
	if (ctx->json) {
		ret = vsctl_print_json(ctx, result);
	} else {
		json_array_foreach(json_object_get(result, "findings"), i, f) {
			const char *lvl = vsctl_get_str(f, "level"), *fix = vsctl_get_str(f, "fix");
			const char *tag = "?";

			for (size_t t = 0; t < VSCTL_ARRAY_SIZE(tags); t++) {
				if (lvl && strcmp(lvl, tags[t][0]) == 0)
					tag = tags[t][1];
			}
			fprintf(ctx->out, "[%-4s] %s\n", tag, vsctl_get_str(f, "what"));
			if (fix != NULL && strcmp(tag, "ok") != 0)
				fprintf(ctx->out, "       fix: %s\n", fix);
		}
	}
	if (fails > 0)
		ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "doctor: %.0f problem%s found", fails,
			fails == 1 ? "" : "s");
out:
	json_decref(result);
	return ret;
}

const struct vsctl_command device_commands[] = {
	{
		.name = "device",
		.usage = "status | bind DEV DRIVER | unbind DEV",
		.help = "list network PCI devices and their drivers, or bind DEV (PCI address or "
			"interface name) to vfio-pci, uio_pci_generic or a kernel driver, or "
			"unbind it; --force takes the interface of the default route too",
		.min_args = 1,
		.max_args = 3,
		.opts = "--force",
		.method = "device.status",
		.run = device_run,
	},
	{
		.name = "doctor",
		.usage = "",
		.help = "check the host for userspace NIC drivers (IOMMU, vfio, uio, hugepages, "
			"memlock, /dev/vfio, the devices of pci ports) and print each fix",
		.max_args = 0,
		.method = "doctor.run",
		.run = doctor_run,
	},
	{0},
};
