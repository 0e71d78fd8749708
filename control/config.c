// SPDX-License-Identifier: Apache-2.0
// vswitchd.yaml loader: the schema walk that fills struct config from the node tree of
// config_yaml.c, the defaults, file reading and bridge list copies. Every error reads
// "FILE:LINE:COL: key.path: what was wrong and what was expected". See config.h.
#include "control/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/config_yaml.h"
#include "control/rpc_proto.h"
#include "dataplane/flow_parse.h"
#include "dataplane/mempool.h"

LOG_MODULE("config");

// Bounds that keep a hostile or broken file from costing more than a few MB or milliseconds.
#define CONFIG_MAX_FILE_SIZE (16u << 20)
#define CONFIG_MAX_BRIDGES 64
#define CONFIG_SUN_PATH_MAX 108 // sizeof(sockaddr_un.sun_path)

#define DEFAULT_SOCKET_MODE 0660
#define DEFAULT_RPC_MAX_CLIENTS 64
#define DEFAULT_RPC_IDLE_TIMEOUT 300
#define DEFAULT_N_PKTS DP_N_PKTS_DEFAULT
#define DEFAULT_MAX_MTU 1500
#define DEFAULT_PKT_CACHE DP_PKT_CACHE_DEFAULT

// ---------------------------------------------------------------------------------------------
// CPUs

// The CPUs vswitchd may use, captured at the first call: the loader runs first at start, before
// the control thread is pinned, and a later reload must not see only the control core.
static const cpu_set_t *config_cpus(void)
{
	static cpu_set_t set;
	static bool done;

	if (!done) {
		if (sched_getaffinity(0, sizeof(set), &set) < 0) {
			long n = sysconf(_SC_NPROCESSORS_CONF);

			CPU_ZERO(&set);
			for (long i = 0; i < n && i < CPU_SETSIZE; i++)
				CPU_SET((int)i, &set);
		}
		done = true;
	}
	return &set;
}

static bool cpu_usable(int cpu)
{
	return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, config_cpus());
}

// "0-1,3" for messages.
static void cpus_describe(char *out, size_t size)
{
	const cpu_set_t *set = config_cpus();
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < CPU_SETSIZE && o < size; i++) {
		int j = i;

		if (!CPU_ISSET(i, set))
			continue;
		while (j + 1 < CPU_SETSIZE && CPU_ISSET(j + 1, set))
			j++;
		if (j == i)
			o += (size_t)snprintf(out + o, size - o, "%s%d", o ? "," : "", i);
		else
			o += (size_t)snprintf(out + o, size - o, "%s%d-%d", o ? "," : "", i, j);
		i = j;
	}
}

static int cpu_default_worker(void)
{
	const cpu_set_t *set = config_cpus();
	int first = -1, last = -1;

	for (int i = 0; i < CPU_SETSIZE; i++) {
		if (CPU_ISSET(i, set)) {
			if (first < 0)
				first = i;
			last = i;
		}
	}
	if (first < 0)
		return 0;
	return CPU_COUNT(set) > 1 ? last : first;
}

static int parse_cpu_num(const char **s, int *out)
{
	const char *p = *s;
	long v = 0;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return -EINVAL;
	}
	*out = (int)v;
	*s = p;
	return 0;
}

int config_parse_cpu_list(const char *s, int *cpus, unsigned max, unsigned *n)
{
	*n = 0;
	for (;;) {
		int lo, hi;

		while (*s == ' ')
			s++;
		if (parse_cpu_num(&s, &lo) < 0)
			return -EINVAL;
		hi = lo;
		if (*s == '-') {
			s++;
			if (parse_cpu_num(&s, &hi) < 0 || hi < lo)
				return -EINVAL;
		}
		for (int c = lo; c <= hi; c++) {
			if (*n >= max)
				return -E2BIG;
			cpus[(*n)++] = c;
		}
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return 0;
		if (*s++ != ',')
			return -EINVAL;
	}
}

int config_parse_size(const char *s, size_t *out)
{
	unsigned long long v = 0, mult = 1;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	switch (toupper((unsigned char)*s)) {
	case 'K':
		mult = 1ull << 10;
		break;
	case 'M':
		mult = 1ull << 20;
		break;
	case 'G':
		mult = 1ull << 30;
		break;
	case 'T':
		mult = 1ull << 40;
		break;
	case '\0':
		break;
	case 'B':
		s--; // plain bytes with a "B" suffix
		break;
	default:
		return -EINVAL;
	}
	if (*s != '\0')
		s++;
	if (mult > 1 && (*s == 'i' || *s == 'I'))
		s++;
	if (*s == 'B' || *s == 'b')
		s++;
	if (*s != '\0')
		return -EINVAL;
	if (v > SIZE_MAX / mult)
		return -ERANGE;
	*out = (size_t)(v * mult);
	return 0;
}

// ---------------------------------------------------------------------------------------------
// Sections

static int ld_socket_mode(struct ld *ld, const struct ynode *n, const char *path)
{
	const char *s = n->str;
	char got[80];
	unsigned v = 0;
	int ret;

	if ((ret = config_yaml_scalar(ld, n, path, "an octal mode like \"0660\"")) < 0)
		return ret;
	// Always octal, with or without the leading 0: a decimal 660 is never what was meant.
	if (strncasecmp(s, "0o", 2) == 0)
		s += 2;
	if (*s == '\0')
		goto bad;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			goto bad;
		v = v * 8 + (unsigned)(*s - '0');
		if (v > 0777)
			return config_yaml_err(ld, n, path,
				"mode %s is out of range, expected 0000..0777", n->str);
	}
	ld->cfg->socket_mode = v;
	return 0;
bad:
	return config_yaml_err(ld, n, path, "expected an octal mode like \"0660\", got %s",
		config_yaml_got(n, got, sizeof(got)));
}

static int ld_socket_group(struct ld *ld, const struct ynode *n, const char *path)
{
	struct group grp, *res = NULL;
	char buf[4096], got[80];
	int ret;

	if ((ret = config_yaml_scalar(ld, n, path, "a group name")) < 0)
		return ret;
	if (getgrnam_r(n->str, &grp, buf, sizeof(buf), &res) != 0 || res == NULL)
		return config_yaml_err(ld, n, path, "group %s does not exist on this machine",
			config_yaml_got(n, got, sizeof(got)));
	return config_yaml_strdup(ld, n, &ld->cfg->socket_group);
}

static const char *const daemon_keys[] = {
	"socket",
	"socket-group",
	"socket-mode",
	"log-level",
	"state-dir",
	"watchdog-sec",
	"rpc-max-clients",
	"rpc-idle-timeout",
};

static int ld_daemon(struct ld *ld, const struct ynode *map)
{
	struct config *cfg = ld->cfg;
	char path[192], got[80];
	int ret;

	if ((ret = config_yaml_section(ld, map, "daemon", "a mapping (socket, log-level, ...)")) <=
		0)
		return ret;
	for (unsigned i = 0; i < map->n_kids / 2; i++) {
		const struct ynode *v = map->kids[2 * i + 1];
		const char *k = map->kids[2 * i]->str;

		if ((ret = config_yaml_key(ld, map, i, "daemon", daemon_keys,
			     ARRAY_SIZE(daemon_keys), path, sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "socket") == 0) {
			ret = config_yaml_abs_path(
				ld, v, path, CONFIG_SUN_PATH_MAX, &cfg->socket_path);
		} else if (strcmp(k, "socket-group") == 0) {
			ret = ld_socket_group(ld, v, path);
		} else if (strcmp(k, "socket-mode") == 0) {
			ret = ld_socket_mode(ld, v, path);
		} else if (strcmp(k, "log-level") == 0) {
			if (v->type != YNODE_SCALAR || log_level_parse(v->str, &cfg->log_level) < 0)
				ret = config_yaml_err(ld, v, path,
					"expected err, warn, notice, info or debug, got %s",
					config_yaml_got(v, got, sizeof(got)));
		} else if (strcmp(k, "state-dir") == 0) {
			ret = config_yaml_abs_path(ld, v, path, PATH_MAX - 64, &cfg->state_dir);
		} else if (strcmp(k, "watchdog-sec") == 0) {
			ret = config_yaml_uint(ld, v, path, 0, 3600, &cfg->watchdog_sec);
		} else if (strcmp(k, "rpc-max-clients") == 0) {
			ret = config_yaml_uint(ld, v, path, 1, 4096, &cfg->rpc_max_clients);
		} else if (strcmp(k, "rpc-idle-timeout") == 0) {
			ret = config_yaml_uint(ld, v, path, 0, 86400, &cfg->rpc_idle_timeout_s);
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int ld_worker_cores(struct ld *ld, const struct ynode *n, const char *path)
{
	static const char expected[] =
		"expected a list of CPU numbers or a range string like \"1-3\"";
	struct dp_config *dp = &ld->cfg->dp;
	int cpus[DP_MAX_WORKERS];
	char got[80], usable[128];
	unsigned n_cpus = 0;
	int ret;

	if (n->type == YNODE_SEQ) {
		if (n->n_kids > DP_MAX_WORKERS)
			return config_yaml_err(ld, n, path, "too many worker cores (%u, max %u)",
				n->n_kids, DP_MAX_WORKERS);
		for (unsigned i = 0; i < n->n_kids; i++) {
			const struct ynode *c = n->kids[i];

			if (c->type != YNODE_SCALAR || !config_yaml_is_int(c->str) ||
				c->str[0] == '-' || c->len > 5)
				return config_yaml_err(ld, c, path, "%s, got %s", expected,
					config_yaml_got(c, got, sizeof(got)));
			cpus[n_cpus++] = atoi(c->str);
		}
	} else if (n->type == YNODE_SCALAR && !config_yaml_is_null(n)) {
		ret = config_parse_cpu_list(n->str, cpus, DP_MAX_WORKERS, &n_cpus);
		if (ret == -E2BIG)
			return config_yaml_err(ld, n, path, "too many worker cores in %s (max %u)",
				config_yaml_got(n, got, sizeof(got)), DP_MAX_WORKERS);
		if (ret < 0)
			return config_yaml_err(ld, n, path, "%s, got %s", expected,
				config_yaml_got(n, got, sizeof(got)));
	} else {
		return config_yaml_err(
			ld, n, path, "%s, got %s", expected, config_yaml_got(n, got, sizeof(got)));
	}
	if (n_cpus == 0)
		return config_yaml_err(ld, n, path, "at least one worker core is needed");
	for (unsigned i = 0; i < n_cpus; i++) {
		for (unsigned j = 0; j < i; j++)
			if (cpus[j] == cpus[i])
				return config_yaml_err(
					ld, n, path, "CPU %d is listed twice", cpus[i]);
		if (!cpu_usable(cpus[i])) {
			cpus_describe(usable, sizeof(usable));
			return config_yaml_err(ld, n, path,
				"CPU %d does not exist or is not available to vswitchd (usable "
				"CPUs: %s)",
				cpus[i], usable);
		}
	}
	dp->n_workers = n_cpus;
	for (unsigned i = 0; i < DP_MAX_WORKERS; i++)
		dp->worker_cores[i] = i < n_cpus ? cpus[i] : -1;
	ld->workers_at = n;
	return 0;
}

static const char *const cpu_keys[] = {
	"worker-cores",
	"control-core",
	"idle-sleep-us",
	"rxq-assign",
	"rebalance-interval",
};

static int ld_cpu(struct ld *ld, const struct ynode *map)
{
	static const char *const rxq_assign[] = {"cycles", "roundrobin"};
	struct dp_config *dp = &ld->cfg->dp;
	char path[192], usable[128];
	unsigned u;
	long long v;
	int ret;

	if ((ret = config_yaml_section(
		     ld, map, "cpu", "a mapping (worker-cores, control-core, ...)")) <= 0)
		return ret;
	for (unsigned i = 0; i < map->n_kids / 2; i++) {
		const struct ynode *val = map->kids[2 * i + 1];
		const char *k = map->kids[2 * i]->str;

		if ((ret = config_yaml_key(ld, map, i, "cpu", cpu_keys, ARRAY_SIZE(cpu_keys), path,
			     sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "worker-cores") == 0) {
			ret = ld_worker_cores(ld, val, path);
		} else if (strcmp(k, "control-core") == 0) {
			if ((ret = config_yaml_int(ld, val, path, -1, CPU_SETSIZE - 1, &v)) < 0)
				return ret;
			if (v >= 0 && !cpu_usable((int)v)) {
				cpus_describe(usable, sizeof(usable));
				return config_yaml_err(ld, val, path,
					"CPU %lld does not exist or is not available to vswitchd "
					"(usable CPUs: %s, or -1 to leave the control thread "
					"unpinned)",
					v, usable);
			}
			dp->control_core = (int)v;
			ld->control_at = val;
		} else if (strcmp(k, "idle-sleep-us") == 0) {
			ret = config_yaml_uint(ld, val, path, 0, 1000000, &dp->idle_sleep_us);
		} else if (strcmp(k, "rxq-assign") == 0) {
			if ((ret = config_yaml_enum(
				     ld, val, path, rxq_assign, ARRAY_SIZE(rxq_assign), &u)) < 0)
				return ret;
			dp->rxq_assign = u == 0 ? DP_RXQ_CYCLES : DP_RXQ_ROUNDROBIN;
		} else if (strcmp(k, "rebalance-interval") == 0) {
			ret = config_yaml_uint(ld, val, path, 0, 86400, &dp->rebalance_interval_s);
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int ld_budget(struct ld *ld, const struct ynode *n, const char *prefix)
{
	struct mem_config *mem = &ld->cfg->mem;
	char path[192], got[80];
	long long node;
	int ret;

	if (n->type == YNODE_SCALAR)
		return config_yaml_size(ld, n, prefix, &mem->budget[0]);
	if ((ret = config_yaml_section(ld, n, prefix,
		     "a size (node 0) or a mapping of NUMA node to size like {\"0\": 512M}")) <= 0)
		return ret;
	for (unsigned i = 0; i < n->n_kids / 2; i++) {
		const struct ynode *k = n->kids[2 * i], *v = n->kids[2 * i + 1];

		if ((ret = config_yaml_key(ld, n, i, prefix, NULL, 0, path, sizeof(path))) < 0)
			return ret;
		if (!config_yaml_is_int(k->str) || k->str[0] == '-' || k->len > 3 ||
			(node = atoll(k->str)) >= MEM_MAX_NUMA)
			return config_yaml_err(ld, k, path,
				"expected a NUMA node number 0..%d, got %s", MEM_MAX_NUMA - 1,
				config_yaml_got(k, got, sizeof(got)));
		for (unsigned j = 0; j < i; j++)
			if (atoll(n->kids[2 * j]->str) == node)
				return config_yaml_err(
					ld, k, path, "NUMA node %lld is given twice", node);
		if ((ret = config_yaml_size(ld, v, path, &mem->budget[node])) < 0)
			return ret;
	}
	return 0;
}

static const char *const memory_keys[] = {
	"iova-mode",
	"page-size",
	"hugepage-budget",
	"require-hugepages",
	"packet-buffers",
	"max-mtu",
	"buffer-cache",
};

static int ld_memory(struct ld *ld, const struct ynode *map)
{
	static const char *const iova[] = {"auto", "va", "pa"};
	struct config *cfg = ld->cfg;
	char path[192], got[80];
	size_t size;
	unsigned u;
	int ret;

	if ((ret = config_yaml_section(
		     ld, map, "memory", "a mapping (iova-mode, page-size, ...)")) <= 0)
		return ret;
	for (unsigned i = 0; i < map->n_kids / 2; i++) {
		const struct ynode *v = map->kids[2 * i + 1];
		const char *k = map->kids[2 * i]->str;

		if ((ret = config_yaml_key(ld, map, i, "memory", memory_keys,
			     ARRAY_SIZE(memory_keys), path, sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "iova-mode") == 0) {
			if ((ret = config_yaml_enum(ld, v, path, iova, ARRAY_SIZE(iova), &u)) < 0)
				return ret;
			cfg->mem.iova_mode = u == 0 ? MEM_IOVA_AUTO
				: u == 1            ? MEM_IOVA_VA
						    : MEM_IOVA_PA;
		} else if (strcmp(k, "page-size") == 0) {
			if (v->type == YNODE_SCALAR && strcasecmp(v->str, "auto") == 0) {
				cfg->mem.page_size = 0;
			} else if (v->type == YNODE_SCALAR &&
				config_parse_size(v->str, &size) == 0 &&
				(size == (2u << 20) || size == (1u << 30))) {
				cfg->mem.page_size = size;
			} else {
				ret = config_yaml_err(ld, v, path,
					"expected auto, 2M or 1G, got %s",
					config_yaml_got(v, got, sizeof(got)));
			}
		} else if (strcmp(k, "hugepage-budget") == 0) {
			ret = ld_budget(ld, v, path);
		} else if (strcmp(k, "require-hugepages") == 0) {
			ret = config_yaml_bool(ld, v, path, &cfg->mem.require_hugepages);
		} else if (strcmp(k, "packet-buffers") == 0) {
			ret = config_yaml_uint(ld, v, path, 1024, 4u << 20, &cfg->dp.n_pkts);
		} else if (strcmp(k, "max-mtu") == 0) {
			ret = config_yaml_uint(ld, v, path, 68, 9000, &cfg->dp.max_mtu);
		} else if (strcmp(k, "buffer-cache") == 0) {
			ret = config_yaml_uint(
				ld, v, path, 0, MEMPOOL_CACHE_MAX, &cfg->dp.pkt_cache);
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

static const char *const port_keys[] = {"name", "type", "options"};
static const char *const bridge_keys[] = {"name", "options", "ports", "flows"};

// Port names are global to the datapath: checks against every port parsed so far.
static int ld_port_unique(
	struct ld *ld, const struct ynode *at, const char *path, const struct config_port *self)
{
	const struct config *cfg = ld->cfg;

	for (unsigned b = 0; b < cfg->n_bridges; b++) {
		const struct config_bridge *br = &cfg->bridges[b];

		for (unsigned p = 0; p < br->n_ports; p++) {
			const struct config_port *port = &br->ports[p];

			if (port == self || port->name == NULL)
				continue;
			if (strcmp(port->name, self->name) == 0)
				return config_yaml_err(ld, at, path,
					"duplicate port name \"%s\" (already declared at line %u "
					"in bridge %s); port names are unique across bridges",
					self->name, port->line, br->name ? br->name : "?");
		}
	}
	return 0;
}

static int ld_port(
	struct ld *ld, const struct ynode *map, const char *prefix, struct config_port *port)
{
	const struct ynode *name_at = NULL;
	char path[192], got[80];
	int ret;

	if (map->type != YNODE_MAP)
		return config_yaml_err(ld, map, prefix,
			"expected a port (a mapping with name, type and options), got %s",
			config_yaml_got(map, got, sizeof(got)));
	port->line = map->line;
	port->col = map->col;
	for (unsigned i = 0; i < map->n_kids / 2; i++) {
		const struct ynode *v = map->kids[2 * i + 1];
		const char *k = map->kids[2 * i]->str;

		if ((ret = config_yaml_key(ld, map, i, prefix, port_keys, ARRAY_SIZE(port_keys),
			     path, sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "name") == 0) {
			ret = config_yaml_name(
				ld, v, path, "a port name", PORT_NAME_MAX, &port->name);
			name_at = v;
		} else if (strcmp(k, "type") == 0) {
			ret = config_yaml_name(
				ld, v, path, "a port type like af_packet", 32, &port->type);
			port->type_line = v->line;
			port->type_col = v->col;
		} else if (strcmp(k, "options") == 0) {
			ret = config_yaml_opts(ld, v, path, &port->opts, &port->n_opts);
		}
		if (ret < 0)
			return ret;
	}
	if (port->name == NULL) {
		config_yaml_path_key(path, sizeof(path), prefix, "name");
		return config_yaml_err(ld, map, path, "missing required key \"name\" in this port");
	}
	if (port->type == NULL) {
		config_yaml_path_key(path, sizeof(path), prefix, "type");
		return config_yaml_err(ld, map, path,
			"missing required key \"type\" in port %s (af_packet, tap, null, ...)",
			port->name);
	}
	config_yaml_path_key(path, sizeof(path), prefix, "name");
	return ld_port_unique(ld, name_at, path, port);
}

static int ld_ports(
	struct ld *ld, const struct ynode *n, const char *prefix, struct config_bridge *br)
{
	const struct config *cfg = ld->cfg;
	unsigned total = 0;
	char path[192], got[80];
	int ret;

	if (config_yaml_is_null(n))
		return 0;
	if (n->type != YNODE_SEQ)
		return config_yaml_err(ld, n, prefix,
			"expected a list of ports (- name: p1 ...), got %s",
			config_yaml_got(n, got, sizeof(got)));
	for (unsigned b = 0; b < cfg->n_bridges; b++)
		total += cfg->bridges[b].n_ports;
	if (total + n->n_kids > PORT_MAX)
		return config_yaml_err(
			ld, n, prefix, "too many ports (max %u in all bridges)", PORT_MAX);
	if (n->n_kids == 0)
		return 0;
	if ((br->ports = calloc(n->n_kids, sizeof(*br->ports))) == NULL)
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	for (unsigned i = 0; i < n->n_kids; i++) {
		config_yaml_path_idx(path, sizeof(path), prefix, i);
		br->n_ports = i + 1; // counted before parsing so that config_free sees it
		if ((ret = ld_port(ld, n->kids[i], path, &br->ports[i])) < 0)
			return ret;
	}
	return 0;
}

// flows: a list of rule strings, each checked by the flow parser (ports are resolved later,
// when the bridge has them).
static int ld_flows(
	struct ld *ld, const struct ynode *n, const char *prefix, struct config_bridge *br)
{
	char path[192], got[80];
	struct flow_spec *spec;
	int ret = 0;

	if (config_yaml_is_null(n))
		return 0;
	if (n->type != YNODE_SEQ)
		return config_yaml_err(ld, n, prefix,
			"expected a list of flow rules (- \"priority=10,ip actions=normal\" ...), "
			"got %s",
			config_yaml_got(n, got, sizeof(got)));
	if (n->n_kids == 0)
		return 0;
	if ((br->flows = calloc(n->n_kids, sizeof(*br->flows))) == NULL ||
		(spec = malloc(sizeof(*spec))) == NULL)
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	for (unsigned i = 0; i < n->n_kids; i++) {
		const struct ynode *f = n->kids[i];
		struct err perr = {0};

		config_yaml_path_idx(path, sizeof(path), prefix, i);
		if ((ret = config_yaml_scalar(ld, f, path, "a flow rule string")) < 0)
			break;
		if (flow_parse(f->str, f->len, FLOW_PARSE_ADD, spec, &perr) < 0) {
			ret = config_yaml_err(ld, f, path, "invalid flow: %s", perr.msg);
			break;
		}
		br->n_flows = i + 1; // counted before the copy so that config_free sees it
		if ((br->flows[i] = strdup(f->str)) == NULL) {
			ret = err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
			break;
		}
	}
	free(spec);
	return ret;
}

static int ld_bridge(
	struct ld *ld, const struct ynode *map, const char *prefix, struct config_bridge *br)
{
	const struct ynode *name_at = NULL;
	char path[192], got[80];
	int ret;

	if (map->type != YNODE_MAP)
		return config_yaml_err(ld, map, prefix,
			"expected a bridge (a mapping with name, options, ports and flows), got %s",
			config_yaml_got(map, got, sizeof(got)));
	br->line = map->line;
	br->col = map->col;
	for (unsigned i = 0; i < map->n_kids / 2; i++) {
		const struct ynode *v = map->kids[2 * i + 1];
		const char *k = map->kids[2 * i]->str;

		if ((ret = config_yaml_key(ld, map, i, prefix, bridge_keys, ARRAY_SIZE(bridge_keys),
			     path, sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "name") == 0) {
			ret = config_yaml_name(
				ld, v, path, "a bridge name", DP_BRIDGE_NAME_MAX, &br->name);
			name_at = v;
		} else if (strcmp(k, "options") == 0) {
			ret = config_yaml_opts(ld, v, path, &br->opts, &br->n_opts);
		} else if (strcmp(k, "ports") == 0) {
			ret = ld_ports(ld, v, path, br);
		} else if (strcmp(k, "flows") == 0) {
			ret = ld_flows(ld, v, path, br);
		}
		if (ret < 0)
			return ret;
	}
	config_yaml_path_key(path, sizeof(path), prefix, "name");
	if (br->name == NULL)
		return config_yaml_err(
			ld, map, path, "missing required key \"name\" in this bridge");
	for (const struct config_bridge *o = ld->cfg->bridges; o < br; o++)
		if (strcmp(o->name, br->name) == 0)
			return config_yaml_err(ld, name_at, path,
				"duplicate bridge name \"%s\" (first declared at line %u)",
				br->name, o->line);
	return 0;
}

static int ld_bridges(struct ld *ld, const struct ynode *n)
{
	struct config *cfg = ld->cfg;
	char path[64], got[80];
	int ret;

	if (config_yaml_is_null(n))
		return 0;
	if (n->type != YNODE_SEQ)
		return config_yaml_err(ld, n, "bridges",
			"expected a list of bridges (- name: br0 ...), got %s",
			config_yaml_got(n, got, sizeof(got)));
	if (n->n_kids > CONFIG_MAX_BRIDGES)
		return config_yaml_err(ld, n, "bridges", "too many bridges (%u, max %u)", n->n_kids,
			CONFIG_MAX_BRIDGES);
	if (n->n_kids == 0)
		return 0;
	if ((cfg->bridges = calloc(n->n_kids, sizeof(*cfg->bridges))) == NULL)
		return err_set(ld->err, -ENOMEM, "", "%s: out of memory", ld->name);
	for (unsigned i = 0; i < n->n_kids; i++) {
		config_yaml_path_idx(path, sizeof(path), "bridges", i);
		cfg->n_bridges = i + 1;
		if ((ret = ld_bridge(ld, n->kids[i], path, &cfg->bridges[i])) < 0)
			return ret;
	}
	return 0;
}

static const char *const top_keys[] = {"daemon", "cpu", "memory", "bridges"};

static int ld_root(struct ld *ld, const struct ynode *root)
{
	struct dp_config *dp = &ld->cfg->dp;
	char path[192], got[80];
	int ret;

	if (root == NULL || config_yaml_is_null(root))
		return 0; // empty file: every default
	if (root->type != YNODE_MAP)
		return config_yaml_err(ld, root, NULL,
			"expected a mapping with the sections daemon, cpu, memory and bridges at "
			"the top level, got %s",
			config_yaml_got(root, got, sizeof(got)));
	for (unsigned i = 0; i < root->n_kids / 2; i++) {
		const struct ynode *v = root->kids[2 * i + 1];
		const char *k = root->kids[2 * i]->str;

		if ((ret = config_yaml_key(ld, root, i, "", top_keys, ARRAY_SIZE(top_keys), path,
			     sizeof(path))) < 0)
			return ret;
		if (strcmp(k, "daemon") == 0)
			ret = ld_daemon(ld, v);
		else if (strcmp(k, "cpu") == 0)
			ret = ld_cpu(ld, v);
		else if (strcmp(k, "memory") == 0)
			ret = ld_memory(ld, v);
		else
			ret = ld_bridges(ld, v);
		if (ret < 0)
			return ret;
	}
	// The control thread must not share a core with a poll-mode worker (which never yields).
	if (dp->control_core >= 0) {
		for (unsigned i = 0; i < dp->n_workers; i++) {
			if (dp->worker_cores[i] != dp->control_core)
				continue;
			return config_yaml_err(ld, ld->control_at, "cpu.control-core",
				"CPU %d is also a worker core%s; a worker never yields its core, "
				"choose another control core or -1",
				dp->control_core,
				ld->workers_at ? ""
					       : " (by default the last CPU is the worker core)");
		}
	}
	return 0;
}

// ---------------------------------------------------------------------------------------------
// Public API

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	// Only for the few default strings: without them nothing can start anyway.
	if (d == NULL)
		abort();
	return d;
}

void config_init_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_path = xstrdup(RPC_SOCKET_DEFAULT);
	cfg->socket_mode = DEFAULT_SOCKET_MODE;
	cfg->log_level = LOG_LVL_INFO;
	cfg->state_dir = xstrdup(CONFIG_STATE_DIR);
	cfg->rpc_max_clients = DEFAULT_RPC_MAX_CLIENTS;
	cfg->rpc_idle_timeout_s = DEFAULT_RPC_IDLE_TIMEOUT;
	cfg->dp.n_workers = 1;
	for (unsigned i = 0; i < DP_MAX_WORKERS; i++)
		cfg->dp.worker_cores[i] = -1;
	cfg->dp.worker_cores[0] = cpu_default_worker();
	cfg->dp.control_core = -1;
	cfg->dp.idle_sleep_us = 0;
	cfg->dp.rxq_assign = DP_RXQ_CYCLES;
	cfg->dp.rebalance_interval_s = 0;
	cfg->dp.n_pkts = DEFAULT_N_PKTS;
	cfg->dp.max_mtu = DEFAULT_MAX_MTU;
	cfg->dp.pkt_cache = DEFAULT_PKT_CACHE;
	cfg->mem.iova_mode = MEM_IOVA_AUTO;
	cfg->mem.page_size = 0;
	cfg->mem.require_hugepages = false;
}

int config_load_buf(
	const char *buf, size_t len, const char *name, struct config *cfg, struct err *err)
{
	struct ld ld = {
		.name = name ? name : "<buffer>",
		.buf = buf,
		.len = len,
		.err = err,
		.cfg = cfg,
	};
	struct err local;
	struct ynode *root = NULL;
	int ret;

	if (err == NULL) {
		err_clear(&local);
		ld.err = &local;
	}
	config_init_defaults(cfg);
	if ((cfg->source = strdup(ld.name)) == NULL) {
		ret = err_set(ld.err, -ENOMEM, "", "%s: out of memory", ld.name);
		goto out;
	}
	if ((ret = config_yaml_parse(&ld, &root)) < 0)
		goto out;
	ret = ld_root(&ld, root);
out:
	config_yaml_free(root);
	if (ret < 0)
		config_free(cfg);
	return ret;
}

int config_load_file(const char *path, struct config *cfg, struct err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, ret;

	memset(cfg, 0, sizeof(*cfg));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(err, -errno, "", "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = err_set(err, -errno, "", "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = err_set(err, -EINVAL, "", "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > CONFIG_MAX_FILE_SIZE) {
		ret = err_set(err, -EFBIG, "", "%s: file is too large (%lld bytes, max %u)", path,
			(long long)st.st_size, CONFIG_MAX_FILE_SIZE);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		ret = err_set(err, -ENOMEM, "", "%s: out of memory", path);
		goto out;
	}
	// Read to EOF (the size may change under us; never past the buffer).
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = err_set(
				err, -errno, "", "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	ret = config_load_buf(buf, len, path, cfg, err);
out:
	free(buf);
	close(fd);
	return ret;
}

static void opts_free(struct port_kv *kv, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free((char *)kv[i].key);
		free((char *)kv[i].value);
	}
	free(kv);
}

void config_bridges_free(struct config_bridge *b, unsigned n)
{
	if (b == NULL)
		return;
	for (unsigned i = 0; i < n; i++) {
		for (unsigned p = 0; p < b[i].n_ports; p++) {
			free(b[i].ports[p].name);
			free(b[i].ports[p].type);
			opts_free(b[i].ports[p].opts, b[i].ports[p].n_opts);
		}
		free(b[i].ports);
		free(b[i].name);
		opts_free(b[i].opts, b[i].n_opts);
		for (unsigned f = 0; f < b[i].n_flows; f++)
			free(b[i].flows[f]);
		free(b[i].flows);
	}
	free(b);
}

static int opts_dup(const struct port_kv *kv, unsigned n, struct port_kv **out, unsigned *n_out)
{
	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return 0;
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		(*out)[i].key = strdup(kv[i].key);
		(*out)[i].value = strdup(kv[i].value);
		*n_out = i + 1;
		if ((*out)[i].key == NULL || (*out)[i].value == NULL)
			return -ENOMEM;
	}
	return 0;
}

int config_bridges_dup(const struct config_bridge *b, unsigned n, struct config_bridge **out)
{
	struct config_bridge *d;
	unsigned done = 0;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((d = calloc(n, sizeof(*d))) == NULL)
		return -ENOMEM;
	for (; done < n; done++) {
		const struct config_bridge *s = &b[done];
		struct config_bridge *t = &d[done];

		t->line = s->line;
		t->col = s->col;
		if ((t->name = strdup(s->name)) == NULL)
			goto err;
		if (opts_dup(s->opts, s->n_opts, &t->opts, &t->n_opts) < 0)
			goto err;
		if (s->n_flows > 0 && (t->flows = calloc(s->n_flows, sizeof(*t->flows))) == NULL)
			goto err;
		for (unsigned f = 0; f < s->n_flows; f++) {
			t->n_flows = f + 1;
			if ((t->flows[f] = strdup(s->flows[f])) == NULL)
				goto err;
		}
		if (s->n_ports == 0)
			continue;
		if ((t->ports = calloc(s->n_ports, sizeof(*t->ports))) == NULL)
			goto err;
		for (unsigned p = 0; p < s->n_ports; p++) {
			const struct config_port *sp = &s->ports[p];
			struct config_port *tp = &t->ports[p];

			t->n_ports = p + 1;
			tp->line = sp->line;
			tp->col = sp->col;
			tp->type_line = sp->type_line;
			tp->type_col = sp->type_col;
			tp->name = strdup(sp->name);
			tp->type = strdup(sp->type);
			if (tp->name == NULL || tp->type == NULL)
				goto err;
			if (opts_dup(sp->opts, sp->n_opts, &tp->opts, &tp->n_opts) < 0)
				goto err;
		}
	}
	*out = d;
	return 0;
err:
	config_bridges_free(d, done + 1);
	return -ENOMEM;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->socket_path);
	free(cfg->socket_group);
	free(cfg->state_dir);
	free(cfg->source);
	config_bridges_free(cfg->bridges, cfg->n_bridges);
	memset(cfg, 0, sizeof(*cfg));
}

struct types_ctx {
	char list[256];
	size_t o;
};

static void types_collect(const struct port_ops *ops, void *arg)
{
	struct types_ctx *t = arg;

	if (t->o < sizeof(t->list))
		t->o += (size_t)snprintf(t->list + t->o, sizeof(t->list) - t->o, "%s%s",
			t->o ? ", " : "", ops->type);
}

int config_check_ports(const struct config *cfg, struct err *err)
{
	const char *src = cfg->source ? cfg->source : "<config>";

	for (unsigned b = 0; b < cfg->n_bridges; b++) {
		const struct config_bridge *br = &cfg->bridges[b];

		for (unsigned p = 0; p < br->n_ports; p++) {
			const struct config_port *port = &br->ports[p];
			struct types_ctx types = {.o = 0};
			char field[64];

			if (port_ops_lookup(port->type) != NULL)
				continue;
			port_ops_foreach(types_collect, &types);
			snprintf(field, sizeof(field), "bridges[%u].ports[%u].type", b, p);
			return err_set(err, -EINVAL, field,
				"%s:%u:%u: %s: unknown port type \"%s\" for port %s, expected one "
				"of: %s",
				src, port->type_line, port->type_col, field, port->type, port->name,
				types.list);
		}
	}
	return 0;
}
