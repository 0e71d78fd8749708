// SPDX-License-Identifier: Apache-2.0
// Port layer: the driver registry, option parsing shared by all backends, the generic port
// lifecycle the datapath drives, and the fast-path table (port_fp[]) workers read.
#include "drivers/port.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/log.h"
#include "dataplane/net.h"

LOG_MODULE("port");

extern const struct port_ops null_port_ops;
extern const struct port_ops pcap_port_ops;
extern const struct port_ops af_packet_port_ops;
extern const struct port_ops tap_port_ops;
extern const struct port_ops vhost_user_port_ops;
extern const struct port_ops vhost_user_client_port_ops;
extern const struct port_ops pci_port_ops;

// Every backend, in the order `vsctl add-port --help` lists them. Adding a backend = one line.
static const struct port_ops *const port_drivers[] = {
	&null_port_ops,
	&pcap_port_ops,
	&af_packet_port_ops,
	&tap_port_ops,
	&vhost_user_port_ops,
	&vhost_user_client_port_ops,
	&pci_port_ops,
};

// What a worker finds behind an id with no started port: receives nothing, frees what it is
// given. Neither looks at the queue pointer, so any (id, queue) pair is safe to call.
static uint16_t port_fp_rx_none(void *rxq, struct pkt **pkts, uint16_t n)
{
	return 0;
}

static uint16_t port_fp_tx_drop(void *txq, struct pkt **pkts, uint16_t n)
{
	pkt_free_bulk(pkts, n);
	return 0;
}

// Standard C has no range initialiser, so the 256 idle entries are spelled by doubling.
// clang-format off
#define FP_IDLE {.rx_burst = port_fp_rx_none, .tx_burst = port_fp_tx_drop}
#define FP_IDLE4 FP_IDLE, FP_IDLE, FP_IDLE, FP_IDLE
#define FP_IDLE16 FP_IDLE4, FP_IDLE4, FP_IDLE4, FP_IDLE4
#define FP_IDLE64 FP_IDLE16, FP_IDLE16, FP_IDLE16, FP_IDLE16
// clang-format on
STATIC_ASSERT(PORT_MAX == 256, "port_fp initialiser spells 256 entries");

struct port_fp port_fp[PORT_MAX] = {FP_IDLE64, FP_IDLE64, FP_IDLE64, FP_IDLE64};

static struct port_env port_env;
static bool port_env_valid;

void port_env_set(const struct port_env *env)
{
	if (env == NULL) {
		memset(&port_env, 0, sizeof(port_env));
		port_env_valid = false;
		return;
	}
	port_env = *env;
	port_env_valid = true;
}

const struct port_env *port_env_get(void)
{
	return port_env_valid ? &port_env : NULL;
}

const struct port_ops *port_ops_lookup(const char *type)
{
	if (type == NULL)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(port_drivers); i++) {
		if (strcmp(port_drivers[i]->type, type) == 0)
			return port_drivers[i];
	}
	return NULL;
}

void port_ops_foreach(void (*cb)(const struct port_ops *ops, void *arg), void *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(port_drivers); i++)
		cb(port_drivers[i], arg);
}

int port_type_check(const char *type, struct err *err)
{
	char known[256];
	size_t off = 0;

	if (port_ops_lookup(type) != NULL)
		return 0;
	known[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(port_drivers) && off < sizeof(known); i++) {
		int n = snprintf(known + off, sizeof(known) - off, "%s%s", i ? ", " : "",
			port_drivers[i]->type);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (type == NULL || *type == '\0')
		return err_set(err, -EINVAL, "type", "port type missing (known: %s)", known);
	return err_set(err, -EINVAL, "type", "unknown port type '%s' (known: %s)", type, known);
}

const char *port_state_name(enum port_state s)
{
	switch (s) {
	case PORT_S_PROBED:
		return "probed";
	case PORT_S_STARTED:
		return "started";
	case PORT_S_STOPPED:
		return "stopped";
	case PORT_S_BROKEN:
		return "broken";
	}
	return "?";
}

// ---- options ----

// "port p1: " when the args know their port, "" otherwise.
static const char *args_who(const struct port_args *a, char *buf, size_t size)
{
	if (a->port_name == NULL)
		return "";
	snprintf(buf, size, "port %s: ", a->port_name);
	return buf;
}

const char *port_args_get(struct port_args *a, const char *key)
{
	for (unsigned i = 0; i < a->n && i < PORT_ARGS_MAX; i++) {
		if (strcmp(a->kv[i].key, key) == 0) {
			a->used |= 1u << i;
			return a->kv[i].value;
		}
	}
	return NULL;
}

int port_args_get_uint(struct port_args *a, const char *key, unsigned min, unsigned max,
	unsigned *out, struct err *err)
{
	const char *v = port_args_get(a, key);
	unsigned long long x;
	char who[PORT_NAME_MAX + 8];
	char *end;

	if (v == NULL)
		return 0;
	// Decimal only: no sign, no blanks, no 0x (strtoull would accept "-1" and " 7").
	if (*v < '0' || *v > '9')
		goto bad;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		goto bad;
	*out = (unsigned)x;
	return 0;
bad:
	return err_set(err, -EINVAL, key, "%soption '%s' must be an integer in %u..%u (got '%s')",
		args_who(a, who, sizeof(who)), key, min, max, v);
}

int port_args_get_bool(struct port_args *a, const char *key, bool *out, struct err *err)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	const char *v = port_args_get(a, key);
	char who[PORT_NAME_MAX + 8];

	if (v == NULL)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return err_set(err, -EINVAL, key, "%soption '%s' must be true or false (got '%s')",
		args_who(a, who, sizeof(who)), key, v);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int port_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[0]);
		int lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (lo < 0)
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	if (*s != '\0')
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

int port_args_get_mac(struct port_args *a, const char *key, uint8_t mac[6], struct err *err)
{
	const char *v = port_args_get(a, key);
	char who[PORT_NAME_MAX + 8];

	if (v == NULL)
		return 0;
	if (port_mac_parse(v, mac) == 0)
		return 0;
	return err_set(err, -EINVAL, key,
		"%soption '%s' must be a MAC address like 02:00:00:00:00:01 (got '%s')",
		args_who(a, who, sizeof(who)), key, v);
}

// True when `key` starts a line of `help` (followed by '=', a blank or the end of the line).
static bool help_has_option(const char *help, const char *key)
{
	size_t klen = strlen(key);

	for (const char *line = help; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (len >= klen && strncmp(line, key, klen) == 0 &&
			(len == klen || line[klen] == '=' || line[klen] == ' ' ||
				line[klen] == '\t'))
			return true;
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

// "iface, queues, block-size" from the help text; "none" for a type without options.
static void help_option_list(const char *help, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (const char *line = help; line && *line && off < size;) {
		const char *nl = strchr(line, '\n');
		size_t klen = strcspn(line, "= \t\n");

		if (klen > 0) {
			int n = snprintf(
				buf + off, size - off, "%s%.*s", off ? ", " : "", (int)klen, line);
			if (n < 0)
				break;
			off += (size_t)n;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (buf[0] == '\0')
		snprintf(buf, size, "none");
}

static int unknown_option(const struct port *port, const char *key, struct err *err)
{
	char valid[512];

	help_option_list(port->ops->help, valid, sizeof(valid));
	return err_set(err, -EINVAL, key, "port %s: unknown option '%s' for type %s (valid: %s)",
		port->name, key, port->ops->type, valid);
}

// Shape checks common to create and reconfigure, before the driver sees anything.
static int args_check(
	const struct port *port, const struct port_kv *kv, unsigned n_kv, struct err *err)
{
	if (n_kv > 0 && kv == NULL)
		return err_set(err, -EINVAL, "options", "port %s: options missing", port->name);
	if (n_kv > PORT_ARGS_MAX)
		return err_set(err, -EINVAL, "options", "port %s: too many options (%u, max %u)",
			port->name, n_kv, PORT_ARGS_MAX);
	for (unsigned i = 0; i < n_kv; i++) {
		const char *key = kv[i].key;

		if (key == NULL || *key == '\0')
			return err_set(err, -EINVAL, "options",
				"port %s: option with an empty name", port->name);
		if (kv[i].value == NULL)
			return err_set(err, -EINVAL, key, "port %s: option '%s' has no value",
				port->name, key);
		for (unsigned j = 0; j < i; j++) {
			if (strcmp(kv[j].key, key) == 0)
				return err_set(err, -EINVAL, key,
					"port %s: option '%s' given twice", port->name, key);
		}
		if (!help_has_option(port->ops->help, key))
			return unknown_option(port, key, err);
	}
	return 0;
}

// ---- fast-path table ----

// Swaps the burst functions for the idle ones. With `queues` the queue pointers are cleared
// too, which is only safe once no worker is inside the entry; without, a worker still running
// the old function keeps valid queue pointers (port_mark_broken).
static void port_fp_clear(uint16_t id, bool queues)
{
	struct port_fp *fp = &port_fp[id];

	// Plain-size atomic stores: a worker reads either the old or the new function, never a
	// torn pointer. No ordering pair is needed: the idle functions ignore the queue pointers.
	__atomic_store_n(&fp->rx_burst, port_fp_rx_none, __ATOMIC_RELAXED);
	__atomic_store_n(&fp->tx_burst, port_fp_tx_drop, __ATOMIC_RELAXED);
	if (!queues)
		return;
	fp->n_rxq = 0;
	fp->n_txq = 0;
	fp->txq_shared = false;
	memset(fp->rxq, 0, sizeof(fp->rxq));
	memset(fp->txq, 0, sizeof(fp->txq));
}

void port_fp_publish(struct port *port)
{
	struct port_fp *fp;

	if (port->id >= PORT_MAX)
		return;
	fp = &port_fp[port->id];
	if (!port->ops_started || port->state != PORT_S_STARTED) {
		port_fp_clear(port->id, true);
		return;
	}
	// Queues before functions: the release stores pair with the acquire a worker that polls
	// without an RCU barrier would use; under RCU (the datapath's rule) plain stores suffice.
	fp->n_rxq = MIN(port->n_rxq, PORT_MAX_QUEUES);
	fp->n_txq = MIN(port->n_txq, PORT_MAX_QUEUES);
	fp->txq_shared = port->txq_shared;
	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
		fp->rxq[q] = q < fp->n_rxq ? port->rxq[q] : NULL;
		fp->txq[q] = q < fp->n_txq ? port->txq[q] : NULL;
	}
	__atomic_store_n(&fp->rx_burst, port->ops->rx_burst ? port->ops->rx_burst : port_fp_rx_none,
		__ATOMIC_RELEASE);
	__atomic_store_n(&fp->tx_burst, port->ops->tx_burst ? port->ops->tx_burst : port_fp_tx_drop,
		__ATOMIC_RELEASE);
}

// ---- lifecycle ----

static int port_name_check(const char *name, struct err *err)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0)
		return err_set(err, -EINVAL, "name", "port name missing");
	if (len >= PORT_NAME_MAX)
		return err_set(err, -EINVAL, "name",
			"port name '%.*s...' too long (max %d characters)", 32, name,
			PORT_NAME_MAX - 1);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '.' || c == ':' || c == '-')
			continue;
		return err_set(err, -EINVAL, "name",
			"port name '%s' has an invalid character at position %zu (allowed: "
			"letters, digits, '_', '.', ':', '-')",
			name, i + 1);
	}
	return 0;
}

static void port_free(struct port *port)
{
	free(port->priv);
	free(port);
}

struct port *port_create(const char *name, const char *type, const struct port_kv *kv,
	unsigned n_kv, const struct port *tmpl, struct err *err)
{
	const struct port_ops *ops;
	struct port_args args;
	struct port *port;
	int ret;

	if ((ret = port_name_check(name, err)) < 0)
		goto err_out;
	if ((ops = port_ops_lookup(type)) == NULL) {
		ret = port_type_check(type, err);
		goto err_out;
	}
	if (tmpl != NULL && tmpl->id >= PORT_MAX) {
		ret = err_set(err, -EINVAL, "id", "port %s: id %u out of range (max %u)", name,
			tmpl->id, PORT_MAX - 1);
		goto err_out;
	}
	if ((port = calloc(1, sizeof(*port))) == NULL) {
		ret = err_set(err, -ENOMEM, "", "port %s: out of memory", name);
		goto err_out;
	}
	snprintf(port->name, sizeof(port->name), "%s", name);
	port->ops = ops;
	port->numa_node = -1;
	port->mtu = 1500;
	port->state = PORT_S_PROBED;
	if (tmpl != NULL) {
		port->id = tmpl->id;
		port->pool = tmpl->pool;
		port->queues_changed = tmpl->queues_changed;
		port->dp_priv = tmpl->dp_priv;
	}
	if ((ret = args_check(port, kv, n_kv, err)) < 0)
		goto err_free;
	if (ops->priv_size > 0) {
		// Aligned so drivers can keep __cache_aligned queue structs in priv.
		port->priv =
			aligned_alloc(CACHE_LINE_SIZE, ALIGN_UP(ops->priv_size, CACHE_LINE_SIZE));
		if (port->priv == NULL) {
			ret = err_set(err, -ENOMEM, "", "port %s: out of memory", name);
			goto err_free;
		}
		memset(port->priv, 0, ops->priv_size);
	}

	args = (struct port_args){.kv = kv, .n = n_kv, .port_name = port->name};
	if ((ret = ops->probe(port, &args, err)) < 0) {
		err_set(err, ret, "", "port %s: cannot set up %s port: %s", name, ops->type,
			strerror(-ret));
		goto err_remove;
	}
	for (unsigned i = 0; i < n_kv; i++) {
		// Listed in help but not read in this configuration: still a user error to report.
		if (!(args.used & (1u << i))) {
			ret = err_set(err, -EINVAL, kv[i].key,
				"port %s: option '%s' is not used by type %s in this configuration",
				name, kv[i].key, ops->type);
			goto err_remove;
		}
	}
	if (port->n_rxq > PORT_MAX_QUEUES || port->n_txq > PORT_MAX_QUEUES) {
		ret = err_set(err, -EINVAL, "", "port %s: driver %s asked for too many queues",
			name, ops->type);
		goto err_remove;
	}
	LOG_OBJ(DEBUG, port->name, "created %s port: %u rxq, %u txq, mtu %u", ops->type,
		port->n_rxq, port->n_txq, port->mtu);
	return port;

err_remove:
	ops->remove(port);
err_free:
	port_free(port);
err_out:
	errno = -ret;
	return NULL;
}

int port_start(struct port *port, struct err *err)
{
	int ret;

	if (port->state == PORT_S_STARTED)
		return 0;
	if (port->ops_started) {
		// Broken while running: the reset is a full stop/start of the driver queues.
		port_fp_clear(port->id, true);
		port->ops->stop(port);
		port->ops_started = false;
	}
	if ((ret = port->ops->start(port, err)) < 0)
		return err_set(
			err, ret, "", "port %s: cannot start: %s", port->name, strerror(-ret));
	if (port->n_rxq > PORT_MAX_QUEUES || port->n_txq > PORT_MAX_QUEUES) {
		port->ops->stop(port);
		return err_set(err, -EINVAL, "", "port %s: driver %s reports too many queues",
			port->name, port->ops->type);
	}
	port->ops_started = true;
	port->state = PORT_S_STARTED;
	port_fp_publish(port);
	return 0;
}

void port_stop(struct port *port)
{
	if (!port->ops_started) {
		if (port->state == PORT_S_STARTED || port->state == PORT_S_BROKEN)
			port->state = PORT_S_STOPPED;
		return;
	}
	// Workers must find the idle entry before the driver tears the queues down.
	port_fp_clear(port->id, true);
	port->ops->stop(port);
	port->ops_started = false;
	port->state = PORT_S_STOPPED;
}

void port_destroy(struct port *port)
{
	if (port == NULL)
		return;
	port_stop(port);
	port->ops->remove(port);
	LOG_OBJ(DEBUG, port->name, "removed %s port", port->ops->type);
	port_free(port);
}

int port_reconfigure(struct port *port, const struct port_kv *kv, unsigned n_kv, struct err *err)
{
	struct port_args args;
	int ret;

	if ((ret = args_check(port, kv, n_kv, err)) < 0)
		return ret;
	if (port->ops->reconfigure == NULL) {
		if (n_kv == 0)
			return 0;
		return err_set(err, -EOPNOTSUPP, kv[0].key,
			"port %s: options of type %s cannot change at run time (remove and re-add "
			"the port)",
			port->name, port->ops->type);
	}
	args = (struct port_args){.kv = kv, .n = n_kv, .port_name = port->name};
	if ((ret = port->ops->reconfigure(port, &args, err)) < 0)
		return err_set(err, ret, "", "port %s: cannot change options: %s", port->name,
			strerror(-ret));
	for (unsigned i = 0; i < n_kv; i++) {
		if (!(args.used & (1u << i)))
			return err_set(err, -EOPNOTSUPP, kv[i].key,
				"port %s: option '%s' of type %s cannot change at run time",
				port->name, kv[i].key, port->ops->type);
	}
	return 0;
}

// ---- stats ----

#define PORT_STATS_FIELDS(X) \
	X(rx_packets) \
	X(rx_bytes) \
	X(tx_packets) \
	X(tx_bytes) \
	X(rx_drop_nobuf) \
	X(rx_drop_invalid) \
	X(rx_errors) \
	X(tx_drop_full) \
	X(tx_drop_down) \
	X(tx_drop_mtu) \
	X(tx_errors)

// cur - base, or cur when the driver's counter went backwards (it restarted from zero).
static uint64_t delta(uint64_t cur, uint64_t base)
{
	return cur >= base ? cur - base : cur;
}

static int port_stats_raw(struct port *port, struct port_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->n_rxq = port->n_rxq;
	st->n_txq = port->n_txq;
	if (port->ops->stats_get == NULL)
		return 0;
	return port->ops->stats_get(port, st);
}

int port_stats_get(struct port *port, struct port_stats *st)
{
	const struct port_stats *b = &port->stats_base;
	int ret;

	if ((ret = port_stats_raw(port, st)) < 0)
		return ret;
#define SUB(f) st->f = delta(st->f, b->f);
	PORT_STATS_FIELDS(SUB)
#undef SUB
	st->n_rxq = MIN(st->n_rxq, PORT_MAX_QUEUES);
	st->n_txq = MIN(st->n_txq, PORT_MAX_QUEUES);
	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
		struct port_queue_stats *r = &st->rxq[q], *t = &st->txq[q];
		const struct port_queue_stats *rb = &b->rxq[q], *tb = &b->txq[q];

		r->packets = delta(r->packets, rb->packets);
		r->bytes = delta(r->bytes, rb->bytes);
		r->drops = delta(r->drops, rb->drops);
		r->errors = delta(r->errors, rb->errors);
		t->packets = delta(t->packets, tb->packets);
		t->bytes = delta(t->bytes, tb->bytes);
		t->drops = delta(t->drops, tb->drops);
		t->errors = delta(t->errors, tb->errors);
	}
	return 0;
}

void port_stats_clear(struct port *port)
{
	if (port->ops->stats_clear != NULL) {
		port->ops->stats_clear(port);
		memset(&port->stats_base, 0, sizeof(port->stats_base));
		return;
	}
	if (port_stats_raw(port, &port->stats_base) < 0)
		memset(&port->stats_base, 0, sizeof(port->stats_base));
}

void port_mark_broken(struct port *port, const char *why)
{
	LOG_RL(ERR, port->name, "%s; dropping its traffic until the port is reset", why);
	port->state = PORT_S_BROKEN;
	// Workers may be polling right now: swap the functions only, the queues stay valid until
	// port_stop() runs after a grace period.
	if (port->id < PORT_MAX)
		port_fp_clear(port->id, false);
}

int port_csum_finalize(struct pkt *p)
{
	uint8_t *d = pkt_data(p);
	uint32_t start = p->csum_start, field = start + p->csum_off;
	uint16_t csum;

	if (unlikely(start >= p->len || field + 2 > p->len))
		return -EINVAL;
	csum = net_csum_fold(net_csum_partial(d + start, p->len - start, 0));
	// As Linux does: a computed 0 is sent as 0xffff (0 means "no checksum" for UDP over IPv4).
	if (csum == 0)
		csum = 0xffff;
	memcpy(d + field, &csum, 2);
	p->flags &= ~(uint32_t)PKT_F_L4_CSUM_PARTIAL;
	return 0;
}
