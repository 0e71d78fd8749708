// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/flow_parse.c: every match field and action parsed and printed back in
// canonical form, every error with its field and column, prerequisites, the parse modes, and the
// identity/cover relations used by del-flows and mod-flows.
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/flow_parse.h"
#include "dataplane/net.h"

static struct flow_spec spec;
static struct err err;

static int parse(const char *s, enum flow_parse_mode mode)
{
	memset(&err, 0, sizeof(err));
	return flow_parse(s, strlen(s), mode, &spec, &err);
}

static const char *fmt(unsigned what)
{
	static char buf[FLOW_TEXT_MAX];

	flow_format(&spec, what, buf, sizeof(buf));
	return buf;
}

// Input -> canonical text (priority and actions included).
static const struct {
	const char *in;
	const char *out;
} round_trips[] = {
	{"actions=drop", "priority=32768 actions=drop"},
	{"priority=100,in_port=vm1,ip,nw_dst=10.0.0.0/8,tcp,tp_dst=80 actions=output:uplink",
		"priority=100,in_port=vm1,tcp,nw_dst=10.0.0.0/8,tp_dst=80 actions=output:uplink"},
	{"priority=0 actions=normal", "priority=0 actions=normal"},
	{"dl_src=02:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff actions=flood",
		"priority=32768,dl_src=02:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff actions=flood"},
	{"eth_src=02:00:00:00:00:01/ff:ff:ff:00:00:00 actions=drop",
		"priority=32768,dl_src=02:00:00:00:00:00/ff:ff:ff:00:00:00 actions=drop"},
	{"dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=drop",
		"priority=32768,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=drop"},
	{"dl_type=0x0806 actions=normal", "priority=32768,arp actions=normal"},
	{"eth_type=0x88cc actions=drop", "priority=32768,dl_type=0x88cc actions=drop"},
	{"dl_vlan=10 actions=drop", "priority=32768,dl_vlan=10 actions=drop"},
	{"dl_vlan=0xffff actions=drop", "priority=32768,dl_vlan=0xffff actions=drop"},
	{"dl_vlan_pcp=5 actions=drop", "priority=32768,dl_vlan_pcp=5 actions=drop"},
	{"dl_vlan=7,dl_vlan_pcp=3 actions=drop",
		"priority=32768,dl_vlan=7,dl_vlan_pcp=3 actions=drop"},
	{"vlan_tci=0x1000/0x1000 actions=drop",
		"priority=32768,vlan_tci=0x1000/0x1000 actions=drop"},
	{"ip,nw_src=192.168.1.1 actions=drop", "priority=32768,ip,nw_src=192.168.1.1 actions=drop"},
	{"ip,nw_src=192.168.1.77/24 actions=drop",
		"priority=32768,ip,nw_src=192.168.1.0/24 actions=drop"},
	{"ip,nw_dst=10.1.0.0/255.255.0.0 actions=drop",
		"priority=32768,ip,nw_dst=10.1.0.0/16 actions=drop"},
	{"ip,nw_dst=10.0.0.1/255.0.255.0 actions=drop",
		"priority=32768,ip,nw_dst=10.0.0.0/255.0.255.0 actions=drop"},
	{"ip,ip_src=1.2.3.4,ip_dst=5.6.7.8 actions=drop",
		"priority=32768,ip,nw_src=1.2.3.4,nw_dst=5.6.7.8 actions=drop"},
	{"ip,nw_src=0.0.0.0/0 actions=drop", "priority=32768,ip actions=drop"},
	{"ipv6,ipv6_src=2001:db8::1 actions=drop",
		"priority=32768,ipv6,ipv6_src=2001:db8::1 actions=drop"},
	{"ipv6,ipv6_dst=2001:db8::/32 actions=drop",
		"priority=32768,ipv6,ipv6_dst=2001:db8::/32 actions=drop"},
	{"ip,nw_proto=47 actions=drop", "priority=32768,ip,nw_proto=47 actions=drop"},
	{"ipv6,ip_proto=6 actions=drop", "priority=32768,tcp6 actions=drop"},
	{"ip,nw_tos=184 actions=drop", "priority=32768,ip,ip_dscp=46 actions=drop"},
	{"ip,ip_dscp=46 actions=drop", "priority=32768,ip,ip_dscp=46 actions=drop"},
	{"ip,nw_ecn=3 actions=drop", "priority=32768,ip,ip_ecn=3 actions=drop"},
	{"ip,ip_ecn=1,ip_dscp=10 actions=drop",
		"priority=32768,ip,ip_dscp=10,ip_ecn=1 actions=drop"},
	{"ip,nw_frag=yes actions=drop", "priority=32768,ip,nw_frag=yes actions=drop"},
	{"ip,nw_frag=no actions=drop", "priority=32768,ip,nw_frag=no actions=drop"},
	{"ip,nw_frag=first actions=drop", "priority=32768,ip,nw_frag=first actions=drop"},
	{"ip,nw_frag=later actions=drop", "priority=32768,ip,nw_frag=later actions=drop"},
	{"ip,nw_frag=not_later actions=drop", "priority=32768,ip,nw_frag=not_later actions=drop"},
	{"tcp,tp_src=1024,tp_dst=80 actions=drop",
		"priority=32768,tcp,tp_src=1024,tp_dst=80 actions=drop"},
	{"tcp,tcp_dst=0x1000/0xf000 actions=drop",
		"priority=32768,tcp,tp_dst=0x1000/0xf000 actions=drop"},
	{"udp,udp_src=53 actions=drop", "priority=32768,udp,tp_src=53 actions=drop"},
	{"sctp,sctp_dst=9 actions=drop", "priority=32768,sctp,tp_dst=9 actions=drop"},
	{"udp6,tp_dst=547 actions=drop", "priority=32768,udp6,tp_dst=547 actions=drop"},
	{"sctp6,tp_src=1 actions=drop", "priority=32768,sctp6,tp_src=1 actions=drop"},
	{"tcp,tcp_flags=+syn-ack actions=drop",
		"priority=32768,tcp,tcp_flags=+syn-ack actions=drop"},
	{"tcp,tcp_flags=0x002/0x012 actions=drop",
		"priority=32768,tcp,tcp_flags=+syn-ack actions=drop"},
	{"tcp,tcp_flags=0x800/0x800 actions=drop",
		"priority=32768,tcp,tcp_flags=0x800/0x800 actions=drop"},
	{"tcp6,tcp_flags=-rst actions=drop", "priority=32768,tcp6,tcp_flags=-rst actions=drop"},
	{"icmp,icmp_type=8,icmp_code=0 actions=drop",
		"priority=32768,icmp,icmp_type=8,icmp_code=0 actions=drop"},
	{"icmp6,icmpv6_type=135 actions=drop", "priority=32768,icmp6,icmpv6_type=135 actions=drop"},
	{"icmp6,icmp_code=1 actions=drop", "priority=32768,icmp6,icmpv6_code=1 actions=drop"},
	{"arp,arp_op=1 actions=drop", "priority=32768,arp,arp_op=1 actions=drop"},
	{"arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24 actions=drop",
		"priority=32768,arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24 actions=drop"},
	{"arp,nw_src=10.0.0.1 actions=drop", "priority=32768,arp,arp_spa=10.0.0.1 actions=drop"},
	{"arp,arp_sha=02:00:00:00:00:01,arp_tha=00:00:00:00:00:00 actions=drop",
		"priority=32768,arp,arp_sha=02:00:00:00:00:01,arp_tha=00:00:00:00:00:00 "
		"actions=drop"},
	{"cookie=0x1f,idle_timeout=10,hard_timeout=60,ip actions=drop",
		"priority=32768,cookie=0x1f,idle_timeout=10,hard_timeout=60,ip actions=drop"},
	{"table=0,priority=65535 actions=drop", "priority=65535 actions=drop"},
	{"  ip ,  nw_dst=10.0.0.1   actions=normal ",
		"priority=32768,ip,nw_dst=10.0.0.1 actions=normal"},
	{"ip nw_dst=10.0.0.1 actions=normal", "priority=32768,ip,nw_dst=10.0.0.1 actions=normal"},
	{"tp_dst=80,tcp actions=drop", "priority=32768,tcp,tp_dst=80 actions=drop"},
	{"tcp,nw_proto=6 actions=drop", "priority=32768,tcp actions=drop"},
	// Actions.
	{"actions=output:p1,output:p2", "priority=32768 actions=output:p1,output:p2"},
	{"actions=p1", "priority=32768 actions=output:p1"},
	{"actions=NORMAL", "priority=32768 actions=normal"},
	{"actions=ALL", "priority=32768 actions=flood"},
	{"actions=in_port", "priority=32768 actions=in_port"},
	{"actions=output:in_port", "priority=32768 actions=in_port"},
	{"actions=mirror:tap1,normal", "priority=32768 actions=mirror:tap1,normal"},
	{"actions=mod_vlan_vid:10,output:p1", "priority=32768 actions=mod_vlan_vid:10,output:p1"},
	{"actions=mod_vlan_pcp:3,output:p1", "priority=32768 actions=mod_vlan_pcp:3,output:p1"},
	{"actions=set_field:20->vlan_vid,output:p1",
		"priority=32768 actions=set_field:20->vlan_vid,output:p1"},
	{"actions=set_field:2->vlan_pcp", "priority=32768 actions=set_field:2->vlan_pcp"},
	{"actions=strip_vlan,pop_vlan,push_vlan:0x88a8",
		"priority=32768 actions=strip_vlan,strip_vlan,push_vlan:0x88a8"},
	{"actions=mod_dl_src:02:00:00:00:00:aa,mod_dl_dst:02:00:00:00:00:bb",
		"priority=32768 actions=mod_dl_src:02:00:00:00:00:aa,mod_dl_dst:02:00:00:00:00:bb"},
	{"actions=set_field:02:00:00:00:00:aa->eth_src",
		"priority=32768 actions=mod_dl_src:02:00:00:00:00:aa"},
	{"ip actions=mod_nw_src:1.1.1.1,mod_nw_dst:2.2.2.2",
		"priority=32768,ip actions=mod_nw_src:1.1.1.1,mod_nw_dst:2.2.2.2"},
	{"ip actions=set_field:9.9.9.9->ip_dst", "priority=32768,ip actions=mod_nw_dst:9.9.9.9"},
	{"ipv6 actions=set_field:2001:db8::5->ipv6_src",
		"priority=32768,ipv6 actions=set_field:2001:db8::5->ipv6_src"},
	{"tcp actions=mod_tp_src:1000,set_field:2000->tcp_dst",
		"priority=32768,tcp actions=mod_tp_src:1000,mod_tp_dst:2000"},
	{"udp actions=set_field:53->udp_dst", "priority=32768,udp actions=mod_tp_dst:53"},
	{"ip actions=mod_nw_tos:184", "priority=32768,ip actions=set_field:46->ip_dscp"},
	{"ip actions=set_field:10->ip_dscp,mod_nw_ecn:1",
		"priority=32768,ip actions=set_field:10->ip_dscp,mod_nw_ecn:1"},
	{"ipv6 actions=dec_ttl,normal", "priority=32768,ipv6 actions=dec_ttl,normal"},
	{"action=drop", "priority=32768 actions=drop"},
};

START_TEST(round_trip)
{
	for (unsigned i = 0; i < ARRAY_SIZE(round_trips); i++) {
		struct flow_spec again;
		struct err e2 = {0};
		const char *out;

		ck_assert_msg(parse(round_trips[i].in, FLOW_PARSE_ADD) == 0, "%s: %s",
			round_trips[i].in, err.msg);
		out = fmt(FLOW_FMT_ALL);
		ck_assert_msg(strcmp(out, round_trips[i].out) == 0, "%s -> '%s', expected '%s'",
			round_trips[i].in, out, round_trips[i].out);
		// The canonical text parses back to the same rule.
		ck_assert_int_eq(flow_parse(out, strlen(out), FLOW_PARSE_ADD, &again, &e2), 0);
		ck_assert(flow_spec_same_match(&spec, &again));
		ck_assert_uint_eq(again.n_actions, spec.n_actions);
		ck_assert_mem_eq(
			again.actions, spec.actions, spec.n_actions * sizeof(spec.actions[0]));
		ck_assert_uint_eq(again.cookie, spec.cookie);
		ck_assert_uint_eq(again.idle_timeout, spec.idle_timeout);
		ck_assert_uint_eq(again.hard_timeout, spec.hard_timeout);
	}
}
END_TEST

START_TEST(field_values)
{
	ck_assert_int_eq(parse("priority=7,in_port=vm1,tcp,nw_src=10.1.2.3,tp_dst=80 actions=drop",
				 FLOW_PARSE_ADD),
		0);
	ck_assert_uint_eq(spec.priority, 7);
	ck_assert_str_eq(spec.in_port, "vm1");
	ck_assert_uint_eq(spec.mask.in_port, 0xffff);
	ck_assert_uint_eq(spec.value.eth_type, NET_ETH_P_IPV4);
	ck_assert_uint_eq(spec.value.nw_proto, NET_IPPROTO_TCP);
	ck_assert_uint_eq(spec.value.nw_src, net_htonl(0x0a010203));
	ck_assert_uint_eq(spec.mask.nw_src, 0xffffffff);
	ck_assert_uint_eq(spec.value.tp_dst, 80);
	ck_assert_uint_eq(spec.mask.tp_dst, 0xffff);
	ck_assert_uint_eq(spec.mask.tp_src, 0);
	ck_assert_uint_eq(spec.n_actions, 0);
	ck_assert(spec.has & FLOW_HAS_ACTIONS);
	ck_assert(spec.has & FLOW_HAS_PRIORITY);

	ck_assert_int_eq(parse("dl_vlan=10,dl_vlan_pcp=2 actions=drop", FLOW_PARSE_ADD), 0);
	ck_assert_uint_eq(spec.value.vlan_tci, FLOW_VLAN_PRESENT | 10 | 2 << 13);
	ck_assert_uint_eq(spec.mask.vlan_tci, 0xffff);

	ck_assert_int_eq(parse("ip,nw_tos=8,ip_ecn=2 actions=drop", FLOW_PARSE_ADD), 0);
	ck_assert_uint_eq(spec.value.nw_tos, 10);
	ck_assert_uint_eq(spec.mask.nw_tos, 0xff);

	ck_assert_int_eq(parse("ipv6,ipv6_dst=2001:db8::/33 actions=drop", FLOW_PARSE_ADD), 0);
	ck_assert_uint_eq(spec.mask.ipv6_dst[3], 0xff);
	ck_assert_uint_eq(spec.mask.ipv6_dst[4], 0x80);
	ck_assert_uint_eq(spec.mask.ipv6_dst[5], 0);

	ck_assert_int_eq(parse("arp,arp_sha=02:00:00:00:00:09 actions=drop", FLOW_PARSE_ADD), 0);
	ck_assert_uint_eq(spec.value.ipv6_src[5], 9);
	ck_assert_uint_eq(spec.mask.ipv6_src[6], 0); // only the 6 MAC bytes

	// Actions carry their values.
	ck_assert_int_eq(parse("tcp actions=mod_tp_dst:8080,mod_vlan_vid:5,push_vlan:0x8100,"
			       "output:p9",
				 FLOW_PARSE_ADD),
		0);
	ck_assert_uint_eq(spec.n_actions, 4);
	ck_assert_uint_eq(spec.actions[0].type, FLOW_ACT_SET_TP_DST);
	ck_assert_uint_eq(spec.actions[0].u16, 8080);
	ck_assert_uint_eq(spec.actions[1].type, FLOW_ACT_SET_VLAN_VID);
	ck_assert_uint_eq(spec.actions[1].flags, FLOW_ACTF_PUSH);
	ck_assert_uint_eq(spec.actions[2].u16, 0x8100);
	ck_assert_str_eq(spec.actions[3].port, "p9");

	// Cookie with mask in a filter.
	ck_assert_int_eq(parse("cookie=0x10/0xf0", FLOW_PARSE_FILTER), 0);
	ck_assert_uint_eq(spec.cookie, 0x10);
	ck_assert_uint_eq(spec.cookie_mask, 0xf0);
	ck_assert_int_eq(parse("cookie=0x10/-1", FLOW_PARSE_FILTER), 0);
	ck_assert_uint_eq(spec.cookie_mask, UINT64_MAX);
	ck_assert_int_eq(parse("", FLOW_PARSE_FILTER), 0);
	ck_assert_uint_eq(spec.mask.w[0] | spec.mask.w[3], 0);
}
END_TEST

// Input, mode, expected field, column, substring of the message.
static const struct {
	const char *in;
	enum flow_parse_mode mode;
	const char *field;
	unsigned col;
	const char *what;
} errors[] = {
	{"ip", FLOW_PARSE_ADD, "actions", 2, "missing actions="},
	{"", FLOW_PARSE_ADD, "actions", 1, "missing actions="},
	{"ip actions=", FLOW_PARSE_ADD, "actions", 11, "no actions"},
	{"ip,actions", FLOW_PARSE_ADD, "actions", 4, "expected actions="},
	{"foo=1 actions=drop", FLOW_PARSE_ADD, "foo", 1, "unknown field"},
	{"ip,bogus actions=drop", FLOW_PARSE_ADD, "bogus", 4, "unknown field or keyword"},
	{"nw_dst actions=drop", FLOW_PARSE_ADD, "nw_dst", 1, "expected nw_dst=VALUE"},
	{"ip,nw_dst= actions=drop", FLOW_PARSE_ADD, "nw_dst", 4, "missing value"},
	{"in_port=a/b actions=drop", FLOW_PARSE_ADD, "in_port", 1, "port name"},
	{"dl_src=02:00:00:00:00 actions=drop", FLOW_PARSE_ADD, "dl_src", 1, "MAC address"},
	{"dl_src=02:00:00:00:00:0g actions=drop", FLOW_PARSE_ADD, "dl_src", 1, "MAC address"},
	{"dl_src=02:00:00:00:00:01/ff actions=drop", FLOW_PARSE_ADD, "dl_src", 1, "invalid mask"},
	{"dl_type=0x10000 actions=drop", FLOW_PARSE_ADD, "dl_type", 1, "Ethernet type"},
	{"dl_vlan=4096 actions=drop", FLOW_PARSE_ADD, "dl_vlan", 1, "VLAN id"},
	{"dl_vlan_pcp=8 actions=drop", FLOW_PARSE_ADD, "dl_vlan_pcp", 1, "priority 0 to 7"},
	{"vlan_tci=0x10000 actions=drop", FLOW_PARSE_ADD, "vlan_tci", 1, "TCI"},
	{"ip,nw_dst=10.0.0.0/33 actions=drop", FLOW_PARSE_ADD, "nw_dst", 4, "0 to 32"},
	{"ip,nw_dst=10.0.0 actions=drop", FLOW_PARSE_ADD, "nw_dst", 4, "IPv4 address"},
	{"ip,nw_src=10.0.0.1/255.x actions=drop", FLOW_PARSE_ADD, "nw_src", 4, "invalid mask"},
	{"ipv6,ipv6_src=2001:db8::/129 actions=drop", FLOW_PARSE_ADD, "ipv6_src", 6, "0 to 128"},
	{"ipv6,ipv6_src=1.2.3.4 actions=drop", FLOW_PARSE_ADD, "ipv6_src", 6, "IPv6 address"},
	{"ip,nw_proto=256 actions=drop", FLOW_PARSE_ADD, "nw_proto", 4, "out of range"},
	{"ip,nw_proto=-1 actions=drop", FLOW_PARSE_ADD, "nw_proto", 4, "integer"},
	{"ip,nw_tos=3 actions=drop", FLOW_PARSE_ADD, "nw_tos", 4, "ECN bits clear"},
	{"ip,ip_dscp=64 actions=drop", FLOW_PARSE_ADD, "ip_dscp", 4, "0 to 63"},
	{"ip,ip_ecn=4 actions=drop", FLOW_PARSE_ADD, "ip_ecn", 4, "0 to 3"},
	{"ip,nw_frag=maybe actions=drop", FLOW_PARSE_ADD, "nw_frag", 4, "not_later"},
	{"tcp,tp_dst=65536 actions=drop", FLOW_PARSE_ADD, "tp_dst", 5, "out of range"},
	{"tcp,tp_dst=80/0x1ffff actions=drop", FLOW_PARSE_ADD, "tp_dst", 5, "out of range"},
	{"tcp,tcp_flags=+syn+syn actions=drop", FLOW_PARSE_ADD, "tcp_flags", 5, "flags like"},
	{"tcp,tcp_flags=+bogus actions=drop", FLOW_PARSE_ADD, "tcp_flags", 5, "flags like"},
	{"icmp,icmp_type=256 actions=drop", FLOW_PARSE_ADD, "icmp_type", 6, "out of range"},
	{"priority=65536 actions=drop", FLOW_PARSE_ADD, "priority", 1, "priority 0 to 65535"},
	{"priority=x actions=drop", FLOW_PARSE_ADD, "priority", 1, "priority 0 to 65535"},
	{"cookie=zz actions=drop", FLOW_PARSE_ADD, "cookie", 1, "64-bit cookie"},
	{"cookie=1/1 actions=drop", FLOW_PARSE_ADD, "cookie", 1, "only for selecting"},
	{"idle_timeout=65536 actions=drop", FLOW_PARSE_ADD, "idle_timeout", 1, "0 to 65535"},
	{"idle_timeout=5", FLOW_PARSE_FILTER, "idle_timeout", 1, "only for adding"},
	{"table=1 actions=drop", FLOW_PARSE_ADD, "table", 1, "only table 0"},
	// Conflicts and duplicates.
	{"ip,arp actions=drop", FLOW_PARSE_ADD, "arp", 4, "conflicts"},
	{"tcp,udp actions=drop", FLOW_PARSE_ADD, "udp", 5, "conflicts"},
	{"tcp,nw_proto=17 actions=drop", FLOW_PARSE_ADD, "nw_proto", 5, "conflicts"},
	{"ip,nw_dst=1.1.1.1,nw_dst=2.2.2.2 actions=drop", FLOW_PARSE_ADD, "nw_dst", 19,
		"already set"},
	{"dl_src=02:00:00:00:00:01,eth_src=02:00:00:00:00:01 actions=drop", FLOW_PARSE_ADD,
		"eth_src", 26, "dl_src is already set at column 1"},
	{"dl_vlan=0xffff,dl_vlan_pcp=1 actions=drop", FLOW_PARSE_ADD, "dl_vlan_pcp", 16,
		"conflicts"},
	// Prerequisites (reported at the field, even when the shortcut would come later).
	{"nw_dst=10.0.0.1 actions=drop", FLOW_PARSE_ADD, "nw_dst", 1, "needs an IPv4 or ARP match"},
	{"ip_src=10.0.0.1,arp actions=drop", FLOW_PARSE_ADD, "ip_src", 1, "needs an IPv4 match"},
	{"ip,tp_dst=80 actions=drop", FLOW_PARSE_ADD, "tp_dst", 4, "TCP, UDP or SCTP"},
	{"udp,tcp_dst=80 actions=drop", FLOW_PARSE_ADD, "tcp_dst", 5, "needs a TCP match"},
	{"tcp,udp_src=80 actions=drop", FLOW_PARSE_ADD, "udp_src", 5, "needs a UDP match"},
	{"udp,sctp_src=80 actions=drop", FLOW_PARSE_ADD, "sctp_src", 5, "needs an SCTP match"},
	{"udp,tcp_flags=+syn actions=drop", FLOW_PARSE_ADD, "tcp_flags", 5, "needs a TCP match"},
	{"ipv6_src=::1 actions=drop", FLOW_PARSE_ADD, "ipv6_src", 1, "needs an IPv6 match"},
	{"tcp,icmp_type=1 actions=drop", FLOW_PARSE_ADD, "icmp_type", 5, "needs an ICMP match"},
	{"icmp,icmpv6_type=1 actions=drop", FLOW_PARSE_ADD, "icmpv6_type", 6, "ICMPv6"},
	{"ip,arp_op=1 actions=drop", FLOW_PARSE_ADD, "arp_op", 4, "needs an ARP match"},
	{"nw_proto=6 actions=drop", FLOW_PARSE_ADD, "nw_proto", 1, "needs an IP match"},
	{"ip_dscp=1 actions=drop", FLOW_PARSE_ADD, "ip_dscp", 1, "needs an IP match"},
	{"tp_dst=80", FLOW_PARSE_FILTER, "tp_dst", 1, "TCP, UDP or SCTP"},
	{"tp_dst=80", FLOW_PARSE_PACKET, "tp_dst", 1, "TCP, UDP or SCTP"},
	// Actions.
	{"actions=drop,output:p1", FLOW_PARSE_ADD, "actions", 9, "cannot be combined"},
	{"actions=output", FLOW_PARSE_ADD, "actions", 9, "needs an argument"},
	{"actions=output:bad/name", FLOW_PARSE_ADD, "actions", 9, "port name"},
	{"actions=resubmit:1", FLOW_PARSE_ADD, "actions", 9, "not supported"},
	{"actions=goto_table", FLOW_PARSE_ADD, "actions", 9, "not supported"},
	{"actions=learn(x)", FLOW_PARSE_ADD, "actions", 9, "nested actions"},
	{"actions=mod_vlan_vid:4096", FLOW_PARSE_ADD, "actions", 9, "VLAN id"},
	{"actions=mod_vlan_pcp:8", FLOW_PARSE_ADD, "actions", 9, "VLAN priority"},
	{"actions=push_vlan:0x0800", FLOW_PARSE_ADD, "actions", 9, "0x8100 or 0x88a8"},
	{"actions=mod_dl_src:zz", FLOW_PARSE_ADD, "actions", 9, "MAC address"},
	{"actions=mod_nw_src:1.2.3.4", FLOW_PARSE_ADD, "actions", 9, "needs an IPv4 match"},
	{"ip actions=mod_nw_src:1.2.3", FLOW_PARSE_ADD, "actions", 12, "IPv4 address"},
	{"ip actions=mod_tp_dst:80", FLOW_PARSE_ADD, "actions", 12, "TCP, UDP or SCTP"},
	{"udp actions=set_field:80->tcp_dst", FLOW_PARSE_ADD, "actions", 13, "needs a TCP match"},
	{"tcp actions=mod_tp_dst:70000", FLOW_PARSE_ADD, "actions", 13, "0 to 65535"},
	{"ip actions=set_field:1.2.3.4", FLOW_PARSE_ADD, "actions", 12, "VALUE->FIELD"},
	{"ip actions=set_field:1->nw_ttl", FLOW_PARSE_ADD, "actions", 12, "cannot set"},
	{"actions=set_field:1->ip_dscp", FLOW_PARSE_ADD, "actions", 9, "needs an IP match"},
	{"ip actions=set_field:64->ip_dscp", FLOW_PARSE_ADD, "actions", 12, "0 to 63"},
	{"ip actions=mod_nw_tos:1", FLOW_PARSE_ADD, "actions", 12, "ECN bits clear"},
	{"actions=mod_nw_tos:4", FLOW_PARSE_ADD, "actions", 9, "needs an IP match"},
	{"actions=dec_ttl", FLOW_PARSE_ADD, "actions", 9, "needs an IP match"},
	{"actions=frobnicate:1", FLOW_PARSE_ADD, "actions", 9, "unknown action"},
	{"actions=b@d!", FLOW_PARSE_ADD, "actions", 9, "unknown action"},
	// Modes.
	{"ip actions=drop", FLOW_PARSE_FILTER, "actions", 4, "not allowed here"},
	{"ip actions=drop", FLOW_PARSE_PACKET, "actions", 4, "a packet has no actions"},
	{"priority=1,ip", FLOW_PARSE_PACKET, "priority", 1, "no priority"},
	{"ip,nw_dst=10.0.0.0/8", FLOW_PARSE_PACKET, "nw_dst", 4, "takes no mask"},
	{"dl_src=02:00:00:00:00:01/ff:ff:ff:ff:ff:ff", FLOW_PARSE_PACKET, "dl_src", 1, "no mask"},
	{"tcp,tp_dst=1/1", FLOW_PARSE_PACKET, "tp_dst", 5, "integer"},
	// Characters.
	{"ip,\x01 actions=drop", FLOW_PARSE_ADD, "flow", 4, "invalid character"},
	{"ip,nw_dst=10.0.0.1\xc3\xa9 actions=drop", FLOW_PARSE_ADD, "flow", 19,
		"invalid character"},
};

START_TEST(parse_errors)
{
	for (unsigned i = 0; i < ARRAY_SIZE(errors); i++) {
		char col[32];
		int ret = parse(errors[i].in, errors[i].mode);

		ck_assert_msg(ret == -EINVAL, "'%s' parsed (%d)", errors[i].in, ret);
		ck_assert_int_eq(err.code, -EINVAL);
		ck_assert_msg(strcmp(err.field, errors[i].field) == 0,
			"'%s': field '%s', expected '%s' (%s)", errors[i].in, err.field,
			errors[i].field, err.msg);
		snprintf(col, sizeof(col), "column %u:", errors[i].col);
		ck_assert_msg(strncmp(err.msg, col, strlen(col)) == 0,
			"'%s': '%s' does not start with '%s'", errors[i].in, err.msg, col);
		ck_assert_msg(strstr(err.msg, errors[i].what) != NULL,
			"'%s': '%s' does not say '%s'", errors[i].in, err.msg, errors[i].what);
	}
}
END_TEST

START_TEST(error_quotes_token)
{
	ck_assert_int_eq(
		parse("priority=10,ip,nw_dst=10.0.0.0/33,tcp actions=drop", FLOW_PARSE_ADD),
		-EINVAL);
	ck_assert_str_eq(err.field, "nw_dst");
	ck_assert_ptr_nonnull(strstr(err.msg, "column 16: \"nw_dst=10.0.0.0/33\":"));
}
END_TEST

START_TEST(too_long)
{
	size_t n = FLOW_TEXT_MAX + 10;
	char *s = malloc(n + 1);
	struct flow_spec sp;
	struct err e = {0};

	memset(s, 'a', n);
	s[n] = '\0';
	ck_assert_int_eq(flow_parse(s, n, FLOW_PARSE_ADD, &sp, &e), -E2BIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "too long"));
	// One giant token under the limit.
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(flow_parse(s, 1000, FLOW_PARSE_ADD, &sp, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "token too long"));
	// Too many actions.
	{
		char *t = malloc(8 * 1024);
		size_t o = (size_t)sprintf(t, "actions=");

		for (int i = 0; i < FLOW_MAX_ACTIONS + 1; i++)
			o += (size_t)sprintf(t + o, "%soutput:p%d", i ? "," : "", i);
		memset(&e, 0, sizeof(e));
		ck_assert_int_eq(flow_parse(t, o, FLOW_PARSE_ADD, &sp, &e), -EINVAL);
		ck_assert_ptr_nonnull(strstr(e.msg, "too many actions"));
		free(t);
	}
	free(s);
}
END_TEST

START_TEST(not_nul_terminated)
{
	char buf[] = {
		'i', 'p', ' ', 'a', 'c', 't', 'i', 'o', 'n', 's', '=', 'd', 'r', 'o', 'p', 'X'};
	struct flow_spec sp;
	struct err e = {0};

	ck_assert_int_eq(flow_parse(buf, 15, FLOW_PARSE_ADD, &sp, &e), 0);
	ck_assert_uint_eq(sp.n_actions, 0);
	ck_assert_uint_eq(sp.value.eth_type, NET_ETH_P_IPV4);
}
END_TEST

START_TEST(packet_mode)
{
	ck_assert_int_eq(parse("in_port=vm1,dl_src=02:00:00:00:00:01,tcp,nw_dst=10.0.0.5,tp_dst=80,"
			       "tcp_flags=+syn",
				 FLOW_PARSE_PACKET),
		0);
	ck_assert_str_eq(spec.in_port, "vm1");
	ck_assert_uint_eq(spec.value.tp_dst, 80);
	ck_assert_uint_eq(spec.value.tcp_flags, 0x002);
	ck_assert_uint_eq(spec.value.nw_dst, net_htonl(0x0a000005));
}
END_TEST

static void parse_into(const char *s, enum flow_parse_mode mode, struct flow_spec *out)
{
	struct err e = {0};

	ck_assert_msg(flow_parse(s, strlen(s), mode, out, &e) == 0, "%s: %s", s, e.msg);
}

START_TEST(identity_and_cover)
{
	static struct flow_spec a, b, f;

	parse_into("priority=10,ip,nw_dst=10.0.0.0/8 actions=drop", FLOW_PARSE_ADD, &a);
	parse_into("priority=10,ip,nw_dst=10.0.0.0/8 actions=normal", FLOW_PARSE_ADD, &b);
	ck_assert(flow_spec_same_match(&a, &b)); // actions are not part of the identity
	parse_into("priority=11,ip,nw_dst=10.0.0.0/8 actions=drop", FLOW_PARSE_ADD, &b);
	ck_assert(!flow_spec_same_match(&a, &b));
	parse_into("priority=10,ip,nw_dst=10.0.0.0/16 actions=drop", FLOW_PARSE_ADD, &b);
	ck_assert(!flow_spec_same_match(&a, &b));
	parse_into("priority=10,in_port=x,ip,nw_dst=10.0.0.0/8 actions=drop", FLOW_PARSE_ADD, &b);
	ck_assert(!flow_spec_same_match(&a, &b));

	// Non-strict: the filter covers rules at least as specific.
	parse_into("ip", FLOW_PARSE_FILTER, &f);
	ck_assert(flow_spec_covers(&f, &a));
	parse_into("ip,nw_dst=10.0.0.0/8", FLOW_PARSE_FILTER, &f);
	ck_assert(flow_spec_covers(&f, &a));
	parse_into("ip,nw_dst=10.0.0.0/16", FLOW_PARSE_FILTER, &f);
	ck_assert(!flow_spec_covers(&f, &a)); // the rule is wider than the filter
	parse_into("ip,nw_dst=11.0.0.0/8", FLOW_PARSE_FILTER, &f);
	ck_assert(!flow_spec_covers(&f, &a));
	parse_into("", FLOW_PARSE_FILTER, &f);
	ck_assert(flow_spec_covers(&f, &a));
	parse_into("in_port=x", FLOW_PARSE_FILTER, &f);
	ck_assert(!flow_spec_covers(&f, &a));
	ck_assert(flow_spec_covers(&f, &b));
	parse_into("in_port=y", FLOW_PARSE_FILTER, &f);
	ck_assert(!flow_spec_covers(&f, &b));
	parse_into("arp", FLOW_PARSE_FILTER, &f);
	ck_assert(!flow_spec_covers(&f, &a));
}
END_TEST

START_TEST(format_parts)
{
	char buf[64];
	size_t n;

	ck_assert_int_eq(parse("priority=5,cookie=0x2a,in_port=p1,udp,tp_dst=53 actions=output:p2",
				 FLOW_PARSE_ADD),
		0);
	ck_assert_str_eq(fmt(FLOW_FMT_MATCH), "in_port=p1,udp,tp_dst=53");
	ck_assert_str_eq(
		fmt(FLOW_FMT_PRIORITY | FLOW_FMT_MATCH), "priority=5,in_port=p1,udp,tp_dst=53");
	ck_assert_str_eq(fmt(FLOW_FMT_ACTIONS), "actions=output:p2");
	ck_assert_str_eq(fmt(FLOW_FMT_EXTRA), "cookie=0x2a");
	// Truncation reports the full length, like snprintf.
	n = flow_format(&spec, FLOW_FMT_ALL, buf, 10);
	ck_assert_uint_eq(strlen(buf), 9);
	ck_assert_uint_gt(n, 40);
	n = flow_format_actions(spec.actions, spec.n_actions, buf, sizeof(buf));
	ck_assert_str_eq(buf, "output:p2");
	ck_assert_uint_eq(n, 9);
}
END_TEST

static Suite *flow_parse_suite(void)
{
	Suite *s = suite_create("flow_parse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, field_values);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, error_quotes_token);
	tcase_add_test(tc, too_long);
	tcase_add_test(tc, not_nul_terminated);
	tcase_add_test(tc, packet_mode);
	tcase_add_test(tc, identity_and_cover);
	tcase_add_test(tc, format_parts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(flow_parse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
