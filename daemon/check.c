// SPDX-License-Identifier: Apache-2.0
// Host and configuration checks for `vswitchd --check`; each failure names the exact fix.
#include "daemon/check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/pkt.h"
#include "drivers/pci/pci_check.h"
#include "drivers/port.h"

struct check_ctx {
	check_report_fn fn;
	void *ctx;
	unsigned failures;
	bool pci_ports; // the configuration has pci ports: NIC-driver findings are warnings
};

static void __printf(4, 5)
	report(struct check_ctx *c, enum check_level lvl, const char *fix, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (lvl == CHECK_FAIL)
		c->failures++;
	c->fn(c->ctx, lvl, what, fix);
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void check_cpus(const struct config *cfg, struct check_ctx *c)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char fix[256];

	for (unsigned i = 0; i < cfg->dp.n_workers; i++) {
		int core = cfg->dp.worker_cores[i];
		if (core < 0)
			continue;
		if (core >= ncpu) {
			snprintf(fix, sizeof(fix), "set cpu.worker-cores to CPUs between 0 and %ld",
				ncpu - 1);
			report(c, CHECK_FAIL, fix,
				"worker core %d does not exist (%ld CPUs online)", core, ncpu);
		} else {
			report(c, CHECK_OK, NULL, "worker %u pinned to CPU %d", i, core);
		}
	}
	if (ncpu > 1 && cfg->dp.n_workers >= (unsigned)ncpu)
		report(c, CHECK_WARN, "leave at least one CPU for the control thread and the host",
			"%u workers on %ld CPUs: workers busy-poll their cores at 100%%",
			cfg->dp.n_workers, ncpu);
}

// Bytes of packet memory the daemon reserves per NUMA node in use.
static size_t packet_memory(const struct config *cfg)
{
	size_t room = cfg->dp.max_mtu <= 1500 ? PKT_DATA_ROOM_DEFAULT : PKT_DATA_ROOM_JUMBO;
	size_t elt = ALIGN_UP(sizeof(struct pkt) + PKT_HEADROOM + room, (size_t)CACHE_LINE_SIZE);

	return (size_t)cfg->dp.n_pkts * elt;
}

static void check_hugepages(const struct config *cfg, struct check_ctx *c)
{
	size_t need = packet_memory(cfg);
	long free2m = read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
	long free1g = read_long("/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages");
	size_t have =
		(free2m > 0 ? (size_t)free2m << 21 : 0) + (free1g > 0 ? (size_t)free1g << 30 : 0);
	unsigned need2m = (unsigned)((need + (1u << 21) - 1) >> 21) + 4; // + rings and tables
	char fix[256];

	if (have >= need) {
		report(c, CHECK_OK, NULL,
			"hugepages: %zu MiB free, %zu MiB needed for packet buffers", have >> 20,
			need >> 20);
		return;
	}
	snprintf(fix, sizeof(fix),
		"reserve them: echo %u > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages "
		"(or vm.nr_hugepages=%u in /etc/sysctl.d/)",
		need2m, need2m);
	report(c, cfg->mem.require_hugepages ? CHECK_FAIL : CHECK_WARN, fix,
		"hugepages: %zu MiB free, %zu MiB needed; %s", have >> 20, need >> 20,
		cfg->mem.require_hugepages
			? "memory.require-hugepages is set, vswitchd will not start"
			: "vswitchd falls back to normal pages (slower, no IOVA-as-PA)");
}

static void check_memlock(const struct config *cfg, struct check_ctx *c)
{
	struct rlimit rl;
	size_t need = packet_memory(cfg);

	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		return;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need || geteuid() == 0) {
		report(c, CHECK_OK, NULL, "RLIMIT_MEMLOCK allows locking packet memory");
		return;
	}
	report(c, CHECK_WARN, "LimitMEMLOCK=infinity in the unit, or `ulimit -l unlimited`",
		"RLIMIT_MEMLOCK is %llu KiB, below the %zu KiB of packet memory",
		(unsigned long long)rl.rlim_cur / 1024, need / 1024);
}

static void check_dir(struct check_ctx *c, const char *what, const char *dir)
{
	char parent[4096], fix[512];
	struct stat st;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(fix, sizeof(fix), "remove %s or choose another path", dir);
			report(c, CHECK_FAIL, fix, "%s %s exists and is not a directory", what,
				dir);
		} else if (access(dir, W_OK) != 0) {
			snprintf(fix, sizeof(fix), "run as root or make %s writable", dir);
			report(c, CHECK_FAIL, fix, "%s %s is not writable", what, dir);
		} else {
			report(c, CHECK_OK, NULL, "%s %s is writable", what, dir);
		}
		return;
	}
	// Missing directories are created like mkdir -p: the nearest existing ancestor decides.
	snprintf(parent, sizeof(parent), "%s", dir);
	for (;;) {
		char *slash = strrchr(parent, '/');

		if (slash == NULL) {
			snprintf(parent, sizeof(parent), ".");
			break;
		}
		if (slash == parent) {
			parent[1] = '\0';
			break;
		}
		*slash = '\0';
		if (stat(parent, &st) == 0)
			break;
	}
	bool is_dir = stat(parent, &st) == 0 && S_ISDIR(st.st_mode);

	if (is_dir && access(parent, W_OK) == 0) {
		report(c, CHECK_OK, NULL, "%s %s will be created", what, dir);
		return;
	}
	snprintf(fix, sizeof(fix), "create it: mkdir -p %s, or choose another path", dir);
	report(c, CHECK_FAIL, fix, "%s %s does not exist and cannot be created (%s is %s)", what,
		dir, parent, is_dir ? "not writable" : "not a directory");
}

struct type_list {
	char buf[256];
	size_t len;
};

static void type_list_add(const struct port_ops *ops, void *arg)
{
	struct type_list *t = arg;

	if (t->len < sizeof(t->buf))
		t->len += (size_t)snprintf(t->buf + t->len, sizeof(t->buf) - t->len, "%s%s",
			t->len ? ", " : "", ops->type);
}

static void check_ports(const struct config *cfg, struct check_ctx *c)
{
	struct type_list types = {.len = 0};
	char fix[300];

	port_ops_foreach(type_list_add, &types);
	snprintf(fix, sizeof(fix), "use one of the port types: %s", types.buf);
	for (unsigned b = 0; b < cfg->n_bridges; b++) {
		const struct config_bridge *br = &cfg->bridges[b];
		for (unsigned p = 0; p < br->n_ports; p++) {
			const struct config_port *cp = &br->ports[p];
			if (port_ops_lookup(cp->type) == NULL)
				report(c, CHECK_FAIL, fix,
					"bridge %s: port %s has unknown type '%s'", br->name,
					cp->name, cp->type);
			else
				report(c, CHECK_OK, NULL, "bridge %s: port %s (%s)", br->name,
					cp->name, cp->type);
		}
	}
}

static void check_pci_report(void *ctx, enum pci_check_level lvl, const char *what, const char *fix)
{
	static const enum check_level map[] = {CHECK_OK, CHECK_WARN, CHECK_FAIL};
	struct check_ctx *c = ctx;
	enum check_level l = map[lvl];

	// Without a pci port the host's NIC-driver readiness is worth knowing, not a warning.
	if (l == CHECK_WARN && !c->pci_ports)
		l = CHECK_NOTE;
	report(c, l, fix, "%s", what);
}

// Userspace NIC drivers: IOMMU, vfio/uio, hugepages, /dev/vfio, and the devices of pci ports.
static void check_pci(const struct config *cfg, struct check_ctx *c)
{
	const char *devs[64];
	size_t n = 0;

	for (unsigned b = 0; b < cfg->n_bridges; b++) {
		const struct config_bridge *br = &cfg->bridges[b];
		for (unsigned p = 0; p < br->n_ports; p++) {
			const struct config_port *cp = &br->ports[p];
			if (strcmp(cp->type, "pci") != 0)
				continue;
			c->pci_ports = true;
			for (unsigned o = 0; o < cp->n_opts && n < ARRAY_SIZE(devs); o++) {
				if (strcmp(cp->opts[o].key, "pci") == 0)
					devs[n++] = cp->opts[o].value;
			}
		}
	}
	pci_check_run(devs, n, check_pci_report, c);
}

unsigned check_run(const struct config *cfg, check_report_fn fn, void *ctx)
{
	struct check_ctx c = {.fn = fn, .ctx = ctx};
	char sockdir[4096];

	check_cpus(cfg, &c);
	check_hugepages(cfg, &c);
	check_memlock(cfg, &c);
	snprintf(sockdir, sizeof(sockdir), "%s", cfg->socket_path);
	char *slash = strrchr(sockdir, '/');
	if (slash && slash != sockdir) {
		*slash = '\0';
		check_dir(&c, "socket directory", sockdir);
	}
	check_dir(&c, "state directory", cfg->state_dir);
	check_ports(cfg, &c);
	check_pci(cfg, &c);
	return c.failures;
}

static void print_finding(void *ctx, enum check_level lvl, const char *what, const char *fix)
{
	static const char *const tag[] = {"ok", "WARN", "FAIL", "note"};
	FILE *out = ctx;

	fprintf(out, "[%-4s] %s\n", tag[lvl], what);
	if (fix && lvl != CHECK_OK)
		fprintf(out, "       fix: %s\n", fix);
}

int check_print(const struct config *cfg, FILE *out)
{
	unsigned failures = check_run(cfg, print_finding, out);

	fprintf(out, "%s: %u problem%s found\n", failures ? "FAILED" : "OK", failures,
		failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
