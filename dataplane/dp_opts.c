// SPDX-License-Identifier: Apache-2.0
// Datapath option lists and port option parsing; see dp_opts.h.
#include "dataplane/dp_opts.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/pipeline.h"

static const char *const dp_opts_port_keys[] = {
	"tag",
	"trunks",
	"vlan-mode",
	"enabled",
	"mtu",
	"rxq-affinity",
};

static const char *const dp_opts_vlan_modes[] = {
	[PL_VLAN_TRUNK] = "trunk",
	[PL_VLAN_ACCESS] = "access",
	[PL_VLAN_NATIVE_TAGGED] = "native-tagged",
	[PL_VLAN_NATIVE_UNTAGGED] = "native-untagged",
};

void dp_opts_free(struct dp_opts *o)
{
	for (unsigned i = 0; i < o->n; i++) {
		free((char *)o->kv[i].key);
		free((char *)o->kv[i].value);
	}
	free(o->kv);
	o->kv = NULL;
	o->n = 0;
}

// Appends a copy of (key, value); -ENOMEM leaves o as it was.
int dp_opts_add(struct dp_opts *o, const char *key, const char *value)
{
	struct port_kv *kv = realloc(o->kv, (o->n + 1) * sizeof(*kv));
	char *k, *v;

	if (kv == NULL)
		return -ENOMEM;
	o->kv = kv;
	k = strdup(key);
	v = strdup(value);
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	o->kv[o->n++] = (struct port_kv){.key = k, .value = v};
	return 0;
}

int dp_opts_copy(struct dp_opts *o, const struct port_kv *kv, unsigned n)
{
	int ret;

	*o = (struct dp_opts){0};
	for (unsigned i = 0; i < n; i++) {
		if ((ret = dp_opts_add(o, kv[i].key, kv[i].value)) < 0) {
			dp_opts_free(o);
			return ret;
		}
	}
	return 0;
}

const char *dp_opts_get(const struct port_kv *kv, unsigned n, const char *key)
{
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	}
	return NULL;
}

// Shape of a user option list: keys present and unique, values present.
int dp_opts_check(
	const char *what, const char *name, const struct port_kv *kv, unsigned n, struct err *err)
{
	if (n > 0 && kv == NULL)
		return err_set(err, -EINVAL, "options", "%s %s: options missing", what, name);
	if (n > DP_OPTS_MAX) {
		return err_set(err, -EINVAL, "options", "%s %s: too many options (%u, max %d)",
			what, name, n, DP_OPTS_MAX);
	}
	for (unsigned i = 0; i < n; i++) {
		if (kv[i].key == NULL || kv[i].key[0] == '\0') {
			return err_set(err, -EINVAL, "options", "%s %s: option with an empty name",
				what, name);
		}
		if (kv[i].value == NULL) {
			return err_set(err, -EINVAL, kv[i].key, "%s %s: option '%s' has no value",
				what, name, kv[i].key);
		}
		for (unsigned j = 0; j < i; j++) {
			if (strcmp(kv[i].key, kv[j].key) == 0) {
				return err_set(err, -EINVAL, kv[i].key,
					"%s %s: option '%s' given twice", what, name, kv[i].key);
			}
		}
	}
	return 0;
}

bool dp_opts_is_port_key(const char *key)
{
	for (unsigned i = 0; i < ARRAY_SIZE(dp_opts_port_keys); i++) {
		if (strcmp(key, dp_opts_port_keys[i]) == 0)
			return true;
	}
	return false;
}

int dp_opts_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int dp_opts_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (unsigned i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *dp_opts_skip_spaces(const char *c)
{
	while (*c == ' ')
		c++;
	return c;
}

// Reads a decimal number of at most `digits` digits at *c; -EINVAL if there is none.
static int dp_opts_parse_num(const char **c, unsigned digits, unsigned *out)
{
	unsigned v = 0, n = 0;

	while (isdigit((unsigned char)**c)) {
		if (++n > digits)
			return -EINVAL;
		v = v * 10 + (unsigned)(**c - '0');
		(*c)++;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

// "10,20-30, 40": VLAN ids 0..4095 and ranges into a 4096-bit map.
static int dp_opts_parse_vlans(const char *s, uint64_t *bm)
{
	const char *c = s;

	memset(bm, 0, DP_OPTS_VLAN_WORDS * sizeof(*bm));
	for (;;) {
		unsigned a, b;

		c = dp_opts_skip_spaces(c);
		if (dp_opts_parse_num(&c, 4, &a) < 0 || a > 4095)
			return -EINVAL;
		b = a;
		c = dp_opts_skip_spaces(c);
		if (*c == '-') {
			c = dp_opts_skip_spaces(c + 1);
			if (dp_opts_parse_num(&c, 4, &b) < 0 || b > 4095 || b < a)
				return -EINVAL;
			c = dp_opts_skip_spaces(c);
		}
		for (unsigned v = a; v <= b; v++)
			bm[v / 64] |= 1ULL << (v % 64);
		if (*c == '\0')
			return 0;
		if (*c != ',')
			return -EINVAL;
		c++;
	}
}

// "Q:W[,Q:W...]": rx queue Q polled by worker W.
static int dp_opts_parse_affinity(
	const char *port, const char *s, unsigned n_workers, int8_t *aff, struct err *err)
{
	const char *c = s;

	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++)
		aff[q] = -1;
	for (;;) {
		unsigned q, w;

		c = dp_opts_skip_spaces(c);
		if (dp_opts_parse_num(&c, 3, &q) < 0 || *c != ':')
			goto bad;
		c++;
		if (dp_opts_parse_num(&c, 3, &w) < 0)
			goto bad;
		if (q >= PORT_MAX_QUEUES) {
			return err_set(err, -EINVAL, "rxq-affinity",
				"port %s: rxq-affinity=%s: queue %u out of range (0-%d)", port, s,
				q, PORT_MAX_QUEUES - 1);
		}
		if (w >= n_workers) {
			return err_set(err, -EINVAL, "rxq-affinity",
				"port %s: rxq-affinity=%s: worker %u does not exist (workers 0-%u)",
				port, s, w, n_workers - 1);
		}
		if (aff[q] >= 0) {
			return err_set(err, -EINVAL, "rxq-affinity",
				"port %s: rxq-affinity=%s: queue %u pinned twice", port, s, q);
		}
		aff[q] = (int8_t)w;
		c = dp_opts_skip_spaces(c);
		if (*c == '\0')
			return 0;
		if (*c != ',')
			goto bad;
		c++;
	}
bad:
	return err_set(err, -EINVAL, "rxq-affinity",
		"port %s: rxq-affinity=%s: expected QUEUE:WORKER pairs separated by commas, "
		"e.g. 0:1,1:0",
		port, s);
}

// Parses the datapath options among kv (other keys are ignored).
int dp_opts_port_parse(const char *port, const struct port_kv *kv, unsigned n, unsigned data_room,
	unsigned n_workers, struct dp_opts_port *cfg, struct err *err)
{
	const char *tag = dp_opts_get(kv, n, "tag");
	const char *trunks = dp_opts_get(kv, n, "trunks");
	const char *mode = dp_opts_get(kv, n, "vlan-mode");
	const char *enabled = dp_opts_get(kv, n, "enabled");
	const char *mtu = dp_opts_get(kv, n, "mtu");
	const char *aff = dp_opts_get(kv, n, "rxq-affinity");
	unsigned v, mtu_max = data_room - DP_OPTS_L2_OVERHEAD;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = true;
	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++)
		cfg->affinity[q] = -1;

	if (tag != NULL) {
		if (dp_opts_parse_uint(tag, 1, 4095, &v) < 0) {
			return err_set(err, -EINVAL, "tag",
				"port %s: tag=%s: expected a VLAN id from 1 to 4095", port, tag);
		}
		cfg->tag = (uint16_t)v;
	}
	if (trunks != NULL) {
		if (dp_opts_parse_vlans(trunks, cfg->trunks) < 0) {
			return err_set(err, -EINVAL, "trunks",
				"port %s: trunks=%s: expected VLAN ids (0-4095) and ranges "
				"separated by commas, e.g. 10,20-30",
				port, trunks);
		}
		cfg->has_trunks = true;
	}
	if (mode != NULL) {
		unsigned m;

		for (m = 0; m < ARRAY_SIZE(dp_opts_vlan_modes); m++) {
			if (strcmp(mode, dp_opts_vlan_modes[m]) == 0)
				break;
		}
		if (m == ARRAY_SIZE(dp_opts_vlan_modes)) {
			return err_set(err, -EINVAL, "vlan-mode",
				"port %s: vlan-mode=%s: expected access, trunk, native-tagged or "
				"native-untagged",
				port, mode);
		}
		cfg->vlan_mode = (uint8_t)m;
	} else if (tag != NULL && trunks != NULL) {
		return err_set(err, -EINVAL, "vlan-mode",
			"port %s: tag and trunks together need vlan-mode=native-tagged or "
			"native-untagged",
			port);
	} else {
		cfg->vlan_mode = tag != NULL ? PL_VLAN_ACCESS : PL_VLAN_TRUNK;
	}
	switch (cfg->vlan_mode) {
	case PL_VLAN_ACCESS:
		if (trunks != NULL) {
			return err_set(err, -EINVAL, "trunks",
				"port %s: trunks cannot be used with vlan-mode=access", port);
		}
		break;
	case PL_VLAN_TRUNK:
		if (tag != NULL) {
			return err_set(err, -EINVAL, "tag",
				"port %s: tag needs vlan-mode access, native-tagged or "
				"native-untagged (the port is a trunk)",
				port);
		}
		break;
	default:
		if (tag == NULL) {
			return err_set(err, -EINVAL, "tag", "port %s: vlan-mode=%s needs a tag",
				port, dp_opts_vlan_modes[cfg->vlan_mode]);
		}
		// The native VLAN is always carried, whatever the trunk list says.
		if (cfg->has_trunks)
			cfg->trunks[cfg->tag / 64] |= 1ULL << (cfg->tag % 64);
		break;
	}
	if (enabled != NULL && dp_opts_parse_bool(enabled, &cfg->enabled) < 0) {
		return err_set(err, -EINVAL, "enabled",
			"port %s: enabled=%s: expected true or false", port, enabled);
	}
	if (mtu != NULL) {
		if (dp_opts_parse_uint(mtu, DP_OPTS_MTU_MIN, mtu_max, &v) < 0) {
			return err_set(err, -EINVAL, "mtu",
				"port %s: mtu=%s: expected %d to %u (the packet buffers hold %u "
				"bytes; raise dataplane max-mtu for more)",
				port, mtu, DP_OPTS_MTU_MIN, mtu_max, data_room);
		}
		cfg->mtu = v;
	}
	if (aff != NULL &&
		(ret = dp_opts_parse_affinity(port, aff, n_workers, cfg->affinity, err)) < 0)
		return ret;
	return 0;
}
