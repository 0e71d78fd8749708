// SPDX-License-Identifier: Apache-2.0
// The list of vsctl command tables. A module adds its commands with a ctl/cmd_<object>.c ending in
// `const struct vsctl_command <object>_commands[]` plus two lines here (declaration and entry);
// the order below is the order of `vsctl --help`. No constructors: the list is explicit.
#include <stddef.h>

#include "ctl/vsctl.h"

extern const struct vsctl_command bridge_commands[];
extern const struct vsctl_command port_commands[];
extern const struct vsctl_command stats_commands[];
extern const struct vsctl_command fdb_commands[];
extern const struct vsctl_command flow_commands[];
extern const struct vsctl_command pmd_commands[];
extern const struct vsctl_command memory_commands[];
extern const struct vsctl_command device_commands[];
extern const struct vsctl_command daemon_commands[];
extern const struct vsctl_command help_commands[];

const struct vsctl_group commands_table[] = {
	{"Bridges", bridge_commands},
	{"Ports", port_commands},
	{"Port counters", stats_commands},
	{"MAC learning", fdb_commands},
	{"Flow tables", flow_commands},
	{"Poll-mode workers", pmd_commands},
	{"Memory", memory_commands},
	{"NIC devices", device_commands},
	{"Daemon", daemon_commands},
	{"Help", help_commands},
	{NULL, NULL},
};
