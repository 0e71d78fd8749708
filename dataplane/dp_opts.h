// SPDX-License-Identifier: Apache-2.0
// Option lists of bridges and ports as the datapath keeps them (owned key=value copies) and the
// parser of the port options the datapath itself implements (tag, trunks, vlan-mode, enabled,
// mtu, rxq-affinity). Used by dp.c only; control thread.
#ifndef VSWITCH_DP_OPTS_H
#define VSWITCH_DP_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/err.h"
#include "drivers/port.h"

#define DP_OPTS_MAX 64
#define DP_OPTS_VLAN_WORDS (4096 / 64)
#define DP_OPTS_MTU_MIN 68
// Ethernet header + two VLAN tags: what the data room must hold beyond the MTU.
#define DP_OPTS_L2_OVERHEAD 22

// Options as given, owned copies.
struct dp_opts {
	struct port_kv *kv;
	unsigned n;
};

// Datapath options of a port, parsed (port options tag, trunks, vlan-mode, enabled, mtu,
// rxq-affinity).
struct dp_opts_port {
	bool enabled;
	uint8_t vlan_mode; // enum pl_vlan_mode
	uint16_t tag;
	unsigned mtu; // 0: the driver's
	bool has_trunks;
	uint64_t trunks[DP_OPTS_VLAN_WORDS];
	int8_t affinity[PORT_MAX_QUEUES]; // pinned worker, -1 none
};

void dp_opts_free(struct dp_opts *o);
// Appends a copy of (key, value); -ENOMEM leaves o as it was.
int dp_opts_add(struct dp_opts *o, const char *key, const char *value);
// o = copy of kv[0..n); 0 or -ENOMEM (o empty).
int dp_opts_copy(struct dp_opts *o, const struct port_kv *kv, unsigned n);
// Value of key in kv, NULL if absent.
const char *dp_opts_get(const struct port_kv *kv, unsigned n, const char *key);
// Shape of a user option list: at most DP_OPTS_MAX, keys present and unique, values present.
// `what name` prefixes messages ("port p1"). 0 or -EINVAL with err naming the option.
int dp_opts_check(
	const char *what, const char *name, const struct port_kv *kv, unsigned n, struct err *err);
// True for the keys dp_opts_port_parse() reads (the driver never sees them).
bool dp_opts_is_port_key(const char *key);
// Strict decimal in [min, max]: 0 or -EINVAL.
int dp_opts_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);
// Parses the datapath options among kv (other keys are ignored) for port `port`: VLAN ids
// 1..4095, trunk lists "10,20-30", vlan-mode consistency, mtu up to data_room minus two tagged
// Ethernet headers, rxq-affinity workers below n_workers. 0 or -EINVAL with err naming the
// option (field = key).
int dp_opts_port_parse(const char *port, const struct port_kv *kv, unsigned n, unsigned data_room,
	unsigned n_workers, struct dp_opts_port *cfg, struct err *err);

#endif
