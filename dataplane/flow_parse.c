// SPDX-License-Identifier: Apache-2.0
// ovs-ofctl-style flow text <-> struct flow_spec (see flow_parse.h): tokenizer, field and action
// tables, value parsers (MAC, IPv4/IPv6 with prefixes or masks, integers with masks, TCP flags),
// prerequisite checks, and the canonical formatter.
#include "dataplane/flow_parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/net.h"

#define FP_TOKEN_MAX 256 // longest single token (field=value or action)

enum fp_type {
	T_PORT, // in_port name
	T_MAC,
	T_IP4,
	T_IP6,
	T_U8, // 8-bit integer with optional /mask
	T_U16, // 16-bit integer with optional /mask
	T_ETHTYPE, // 16-bit, no mask
	T_VID, // dl_vlan: 0..4095, or 0xffff = no tag
	T_PCP, // dl_vlan_pcp: 0..7
	T_TCI, // vlan_tci: raw 16-bit value/mask
	T_TOS, // nw_tos: DSCP bits of the TOS byte
	T_DSCP, // 0..63
	T_ECN, // 0..3
	T_FRAG, // no|yes|first|later|not_later
	T_TCPFLAGS,
};

enum fp_prereq {
	P_NONE,
	P_IP_OR_ARP, // nw_src/nw_dst
	P_IP, // IPv4 or IPv6
	P_IPV4,
	P_IPV6,
	P_ARP,
	P_L4, // tcp/udp/sctp (v4 or v6)
	P_TCP,
	P_UDP,
	P_SCTP,
	P_ICMP, // ICMP or ICMPv6
	P_ICMPV6,
};

struct fp_field {
	const char *name;
	uint8_t type; // enum fp_type
	uint8_t prereq; // enum fp_prereq
	uint8_t id; // fields sharing an id are the same field (aliases): given twice is an error
	uint8_t off; // offset in struct flow_key
	uint32_t max; // T_U8/T_U16 value range
};

#define FK(f) ((uint8_t)offsetof(struct flow_key, f))

static const struct fp_field fp_fields[] = {
	{"in_port", T_PORT, P_NONE, 1, FK(in_port), 0},
	{"dl_src", T_MAC, P_NONE, 2, FK(eth_src), 0},
	{"eth_src", T_MAC, P_NONE, 2, FK(eth_src), 0},
	{"dl_dst", T_MAC, P_NONE, 3, FK(eth_dst), 0},
	{"eth_dst", T_MAC, P_NONE, 3, FK(eth_dst), 0},
	{"dl_type", T_ETHTYPE, P_NONE, 4, FK(eth_type), 0},
	{"eth_type", T_ETHTYPE, P_NONE, 4, FK(eth_type), 0},
	{"dl_vlan", T_VID, P_NONE, 5, FK(vlan_tci), 0},
	{"dl_vlan_pcp", T_PCP, P_NONE, 6, FK(vlan_tci), 0},
	{"vlan_pcp", T_PCP, P_NONE, 6, FK(vlan_tci), 0},
	{"vlan_tci", T_TCI, P_NONE, 7, FK(vlan_tci), 0},
	{"nw_src", T_IP4, P_IP_OR_ARP, 8, FK(nw_src), 0},
	{"ip_src", T_IP4, P_IPV4, 8, FK(nw_src), 0},
	{"nw_dst", T_IP4, P_IP_OR_ARP, 9, FK(nw_dst), 0},
	{"ip_dst", T_IP4, P_IPV4, 9, FK(nw_dst), 0},
	{"ipv6_src", T_IP6, P_IPV6, 10, FK(ipv6_src), 0},
	{"ipv6_dst", T_IP6, P_IPV6, 11, FK(ipv6_dst), 0},
	{"nw_proto", T_U8, P_IP, 12, FK(nw_proto), 255},
	{"ip_proto", T_U8, P_IP, 12, FK(nw_proto), 255},
	{"nw_tos", T_TOS, P_IP, 13, FK(nw_tos), 0},
	{"ip_dscp", T_DSCP, P_IP, 14, FK(nw_tos), 0},
	{"nw_ecn", T_ECN, P_IP, 15, FK(nw_tos), 0},
	{"ip_ecn", T_ECN, P_IP, 15, FK(nw_tos), 0},
	{"nw_frag", T_FRAG, P_IP, 16, FK(nw_frag), 0},
	{"tp_src", T_U16, P_L4, 17, FK(tp_src), 65535},
	{"tcp_src", T_U16, P_TCP, 17, FK(tp_src), 65535},
	{"udp_src", T_U16, P_UDP, 17, FK(tp_src), 65535},
	{"sctp_src", T_U16, P_SCTP, 17, FK(tp_src), 65535},
	{"tp_dst", T_U16, P_L4, 18, FK(tp_dst), 65535},
	{"tcp_dst", T_U16, P_TCP, 18, FK(tp_dst), 65535},
	{"udp_dst", T_U16, P_UDP, 18, FK(tp_dst), 65535},
	{"sctp_dst", T_U16, P_SCTP, 18, FK(tp_dst), 65535},
	{"tcp_flags", T_TCPFLAGS, P_TCP, 19, FK(tcp_flags), 0},
	{"icmp_type", T_U16, P_ICMP, 20, FK(tp_src), 255},
	{"icmpv6_type", T_U16, P_ICMPV6, 20, FK(tp_src), 255},
	{"icmp_code", T_U16, P_ICMP, 21, FK(tp_dst), 255},
	{"icmpv6_code", T_U16, P_ICMPV6, 21, FK(tp_dst), 255},
	{"arp_op", T_U16, P_ARP, 22, FK(arp_op), 65535},
	{"arp_spa", T_IP4, P_ARP, 8, FK(nw_src), 0},
	{"arp_tpa", T_IP4, P_ARP, 9, FK(nw_dst), 0},
	{"arp_sha", T_MAC, P_ARP, 23, FK(ipv6_src), 0},
	{"arp_tha", T_MAC, P_ARP, 24, FK(ipv6_dst), 0},
};

#define FP_N_IDS 25

// Shortcuts: eth_type, and nw_proto when non-zero.
struct fp_shortcut {
	const char *name;
	uint16_t eth_type;
	uint8_t nw_proto;
};

static const struct fp_shortcut fp_shortcuts[] = {
	{"ip", NET_ETH_P_IPV4, 0},
	{"ipv4", NET_ETH_P_IPV4, 0},
	{"ipv6", NET_ETH_P_IPV6, 0},
	{"arp", NET_ETH_P_ARP, 0},
	{"tcp", NET_ETH_P_IPV4, NET_IPPROTO_TCP},
	{"udp", NET_ETH_P_IPV4, NET_IPPROTO_UDP},
	{"sctp", NET_ETH_P_IPV4, NET_IPPROTO_SCTP},
	{"icmp", NET_ETH_P_IPV4, NET_IPPROTO_ICMP},
	{"tcp6", NET_ETH_P_IPV6, NET_IPPROTO_TCP},
	{"udp6", NET_ETH_P_IPV6, NET_IPPROTO_UDP},
	{"sctp6", NET_ETH_P_IPV6, NET_IPPROTO_SCTP},
	{"icmp6", NET_ETH_P_IPV6, NET_IPPROTO_ICMPV6},
};

static const char *const fp_tcp_flag_names[] = {
	"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"};

// Parser state.
struct fp {
	const char *s;
	size_t len;
	enum flow_parse_mode mode;
	struct flow_spec *spec;
	struct err *err;
	unsigned col[FP_N_IDS]; // column where field id was given (0: not given)
	const char *fname[FP_N_IDS]; // name it was given as (for prerequisite messages)
	unsigned eth_type_col, nw_proto_col; // first setter of these (fields or shortcuts)
	unsigned actions_col;
};

static int __printf(5, 6)
	fp_err(struct fp *fp, size_t off, size_t tlen, const char *field, const char *fmt, ...)
{
	char what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (tlen > 80)
		return err_set(fp->err, -EINVAL, field, "column %zu: \"%.77s...\": %s", off + 1,
			fp->s + off, what);
	return err_set(fp->err, -EINVAL, field, "column %zu: \"%.*s\": %s", off + 1, (int)tlen,
		fp->s + off, what);
}

// ---- value parsers (on a NUL-terminated copy of the value) ----

// Unsigned integer, decimal or 0x hex, whole string.
static int fp_uint(const char *v, uint64_t max, uint64_t *out)
{
	unsigned long long x;
	char *end;

	if (*v == '\0' || *v == '-' || *v == '+' || isspace((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || x > max)
		return -ERANGE;
	*out = x;
	return 0;
}

static int fp_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Exactly "xx:xx:xx:xx:xx:xx".
static int fp_mac(const char *v, uint8_t mac[6])
{
	if (strlen(v) != 17)
		return -EINVAL;
	for (unsigned i = 0; i < 6; i++) {
		int hi = fp_hex(v[3 * i]), lo = fp_hex(v[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && v[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static void fp_prefix_mask(uint8_t *mask, unsigned bytes, unsigned plen)
{
	memset(mask, 0, bytes);
	for (unsigned i = 0; i < bytes && plen > 0; i++) {
		unsigned n = plen >= 8 ? 8 : plen;

		mask[i] = (uint8_t)(0xff00 >> n);
		plen -= n;
	}
}

// "A.B.C.D" or "A.B.C.D/N" or "A.B.C.D/M.M.M.M" (IPv4) / IPv6 equivalents. *errmsg set on error.
static int fp_ip(
	const char *v, int af, uint8_t *addr, uint8_t *mask, bool allow_mask, const char **errmsg)
{
	unsigned bytes = af == AF_INET ? 4 : 16, maxp = bytes * 8;
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : strlen(v);

	*errmsg = af == AF_INET
		? "expected an IPv4 address like 10.0.0.1, optionally with /PREFIX "
		  "or /MASK"
		: "expected an IPv6 address like 2001:db8::1, optionally with /PREFIX";
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, alen);
	buf[alen] = '\0';
	if (inet_pton(af, buf, addr) != 1)
		return -EINVAL;
	memset(mask, 0xff, bytes);
	if (slash == NULL)
		return 0;
	if (!allow_mask) {
		*errmsg = "a packet field takes no mask or prefix";
		return -EINVAL;
	}
	slash++;
	if (strchr(slash, af == AF_INET ? '.' : ':') != NULL) {
		if (strlen(slash) >= sizeof(buf) || inet_pton(af, slash, mask) != 1) {
			*errmsg = "invalid mask after '/'";
			return -EINVAL;
		}
	} else {
		uint64_t plen;

		if (fp_uint(slash, maxp, &plen) < 0) {
			*errmsg = af == AF_INET ? "prefix length must be 0 to 32"
						: "prefix length must be 0 to 128";
			return -EINVAL;
		}
		fp_prefix_mask(mask, bytes, (unsigned)plen);
	}
	for (unsigned i = 0; i < bytes; i++)
		addr[i] &= mask[i];
	return 0;
}

// "+syn-ack", "-rst", "0x012", "0x002/0x012".
static int fp_tcp_flags(const char *v, uint16_t *value, uint16_t *mask)
{
	uint64_t x, m = FLOW_TCP_FLAGS_MASK;
	const char *slash;

	*value = 0;
	*mask = 0;
	if (*v == '+' || *v == '-') {
		while (*v != '\0') {
			bool set = *v == '+';
			size_t n;
			unsigned i;

			if (*v != '+' && *v != '-')
				return -EINVAL;
			v++;
			n = strcspn(v, "+-");
			for (i = 0; i < ARRAY_SIZE(fp_tcp_flag_names); i++) {
				if (strlen(fp_tcp_flag_names[i]) == n &&
					strncasecmp(v, fp_tcp_flag_names[i], n) == 0)
					break;
			}
			if (i == ARRAY_SIZE(fp_tcp_flag_names) || (*mask & (1u << i)))
				return -EINVAL;
			*mask |= (uint16_t)(1u << i);
			if (set)
				*value |= (uint16_t)(1u << i);
			v += n;
		}
		return 0;
	}
	slash = strchr(v, '/');
	if (slash != NULL) {
		char buf[32];

		if ((size_t)(slash - v) >= sizeof(buf))
			return -EINVAL;
		snprintf(buf, sizeof(buf), "%.*s", (int)(slash - v), v);
		if (fp_uint(buf, FLOW_TCP_FLAGS_MASK, &x) < 0 ||
			fp_uint(slash + 1, FLOW_TCP_FLAGS_MASK, &m) < 0)
			return -EINVAL;
	} else if (fp_uint(v, FLOW_TCP_FLAGS_MASK, &x) < 0) {
		return -EINVAL;
	}
	*value = (uint16_t)(x & m);
	*mask = (uint16_t)m;
	return 0;
}

// ---- match fields ----

static const struct fp_field *fp_field_find(const char *name, size_t n)
{
	for (unsigned i = 0; i < ARRAY_SIZE(fp_fields); i++) {
		if (strlen(fp_fields[i].name) == n && strncmp(fp_fields[i].name, name, n) == 0)
			return &fp_fields[i];
	}
	return NULL;
}

static const struct fp_shortcut *fp_shortcut_find(const char *name, size_t n)
{
	for (unsigned i = 0; i < ARRAY_SIZE(fp_shortcuts); i++) {
		if (strlen(fp_shortcuts[i].name) == n &&
			strncmp(fp_shortcuts[i].name, name, n) == 0)
			return &fp_shortcuts[i];
	}
	return NULL;
}

// Merges (value, mask) bytes at key offset off into the spec: fails when the bits overlap an
// earlier setting with a different value ("ip,arp" or "tcp,nw_proto=17").
static bool fp_merge(
	struct flow_spec *spec, unsigned off, const uint8_t *v, const uint8_t *m, unsigned size)
{
	uint8_t *sv = (uint8_t *)&spec->value + off, *sm = (uint8_t *)&spec->mask + off;

	for (unsigned i = 0; i < size; i++) {
		if ((sv[i] ^ v[i]) & sm[i] & m[i])
			return false;
	}
	for (unsigned i = 0; i < size; i++) {
		sm[i] |= m[i];
		sv[i] |= v[i] & m[i];
	}
	return true;
}

static bool fp_merge16(struct flow_spec *spec, unsigned off, uint16_t v, uint16_t m)
{
	return fp_merge(spec, off, (const uint8_t *)&v, (const uint8_t *)&m, 2);
}

static bool fp_merge8(struct flow_spec *spec, unsigned off, uint8_t v, uint8_t m)
{
	return fp_merge(spec, off, &v, &m, 1);
}

static bool fp_port_name_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= PORT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!isalnum(c) && strchr("-_.:@", c) == NULL)
			return false;
	}
	return true;
}

static int fp_shortcut_apply(struct fp *fp, const struct fp_shortcut *sc, size_t off, size_t tlen)
{
	struct flow_spec *spec = fp->spec;

	if (!fp_merge16(spec, FK(eth_type), sc->eth_type, 0xffff))
		return fp_err(fp, off, tlen, sc->name,
			"conflicts with the Ethernet type set earlier in the flow");
	if (fp->eth_type_col == 0)
		fp->eth_type_col = (unsigned)off + 1;
	if (sc->nw_proto != 0) {
		if (!fp_merge8(spec, FK(nw_proto), sc->nw_proto, 0xff))
			return fp_err(fp, off, tlen, sc->name,
				"conflicts with the IP protocol set earlier in the flow");
		if (fp->nw_proto_col == 0)
			fp->nw_proto_col = (unsigned)off + 1;
	}
	return 0;
}

// "value" or "value/mask": value at most max, mask at most full (default full).
static int fp_int_mask(
	const char *v, uint64_t max, uint64_t full, bool allow_mask, uint64_t *val, uint64_t *mask)
{
	const char *slash = strchr(v, '/');
	char buf[32];
	int ret;

	*mask = full;
	if (slash == NULL)
		return fp_uint(v, max, val);
	if (!allow_mask)
		return -EINVAL;
	if ((size_t)(slash - v) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%.*s", (int)(slash - v), v);
	if ((ret = fp_uint(buf, max, val)) < 0 || (ret = fp_uint(slash + 1, full, mask)) < 0)
		return ret;
	*val &= *mask;
	return 0;
}

static int fp_field_set(
	struct fp *fp, const struct fp_field *f, const char *v, size_t off, size_t tlen)
{
	struct flow_spec *spec = fp->spec;
	bool masks = fp->mode != FLOW_PARSE_PACKET;
	const char *emsg = NULL;
	uint8_t a[16], m[16];
	uint64_t x, xm;
	bool ok = true;
	int ret;

	if (fp->col[f->id] != 0) {
		return fp_err(fp, off, tlen, f->name, "%s is already set at column %u",
			fp->fname[f->id], fp->col[f->id]);
	}
	fp->col[f->id] = (unsigned)off + 1;
	fp->fname[f->id] = f->name;
	switch (f->type) {
	case T_PORT:
		if (!fp_port_name_ok(v))
			return fp_err(fp, off, tlen, f->name,
				"expected a port name (letters, digits, -_.:@, less than %d "
				"characters)",
				PORT_NAME_MAX);
		snprintf(spec->in_port, sizeof(spec->in_port), "%s", v);
		spec->mask.in_port = 0xffff;
		return 0;
	case T_MAC: {
		const char *slash = strchr(v, '/');
		char buf[18];

		memset(m, 0xff, 6);
		if (slash != NULL) {
			if (!masks || (size_t)(slash - v) >= sizeof(buf) ||
				fp_mac(slash + 1, m) < 0)
				return fp_err(fp, off, tlen, f->name,
					masks ? "invalid mask: expected xx:xx:xx:xx:xx:xx after '/'"
					      : "a packet field takes no mask");
			snprintf(buf, sizeof(buf), "%.*s", (int)(slash - v), v);
			ret = fp_mac(buf, a);
		} else {
			ret = fp_mac(v, a);
		}
		if (ret < 0)
			return fp_err(fp, off, tlen, f->name,
				"expected a MAC address like 02:00:00:00:00:01%s",
				masks ? ", optionally with /MASK" : "");
		ok = fp_merge(spec, f->off, a, m, 6);
		break;
	}
	case T_IP4:
	case T_IP6:
		if (fp_ip(v, f->type == T_IP4 ? AF_INET : AF_INET6, a, m, masks, &emsg) < 0)
			return fp_err(fp, off, tlen, f->name, "%s", emsg);
		ok = fp_merge(spec, f->off, a, m, f->type == T_IP4 ? 4 : 16);
		break;
	case T_U8:
	case T_U16:
		if ((ret = fp_int_mask(
			     v, f->max, f->type == T_U8 ? 0xff : 0xffff, masks, &x, &xm)) < 0)
			return fp_err(fp, off, tlen, f->name,
				ret == -ERANGE ? "value out of range: expected 0 to %u%s"
					       : "expected an integer 0 to %u%s",
				f->max, masks ? ", optionally with /MASK" : "");
		ok = f->type == T_U8 ? fp_merge8(spec, f->off, (uint8_t)x, (uint8_t)xm)
				     : fp_merge16(spec, f->off, (uint16_t)x, (uint16_t)xm);
		break;
	case T_ETHTYPE:
		if (fp_uint(v, 0xffff, &x) < 0)
			return fp_err(fp, off, tlen, f->name,
				"expected an Ethernet type 0 to 0xffff, like 0x0800");
		ok = fp_merge16(spec, f->off, (uint16_t)x, 0xffff);
		if (fp->eth_type_col == 0)
			fp->eth_type_col = (unsigned)off + 1;
		break;
	case T_VID:
		if (fp_uint(v, 0xffff, &x) < 0 || (x > FLOW_VLAN_VID_MASK && x != 0xffff))
			return fp_err(fp, off, tlen, f->name,
				"expected a VLAN id 0 to 4095, or 0xffff for frames without a tag");
		if (x == 0xffff)
			ok = fp_merge16(spec, f->off, 0, 0xffff);
		else
			ok = fp_merge16(spec, f->off, (uint16_t)(FLOW_VLAN_PRESENT | x),
				FLOW_VLAN_PRESENT | FLOW_VLAN_VID_MASK);
		break;
	case T_PCP:
		if (fp_uint(v, 7, &x) < 0)
			return fp_err(fp, off, tlen, f->name, "expected a VLAN priority 0 to 7");
		ok = fp_merge16(spec, f->off,
			(uint16_t)(FLOW_VLAN_PRESENT | x << FLOW_VLAN_PCP_SHIFT),
			FLOW_VLAN_PRESENT | FLOW_VLAN_PCP_MASK);
		break;
	case T_TCI:
		if ((ret = fp_int_mask(v, 0xffff, 0xffff, masks, &x, &xm)) < 0)
			return fp_err(fp, off, tlen, f->name,
				"expected a TCI 0 to 0xffff (0x1000 = tag present)%s",
				masks ? ", optionally with /MASK" : "");
		ok = fp_merge16(spec, f->off, (uint16_t)x, (uint16_t)xm);
		break;
	case T_TOS:
		if (fp_uint(v, 255, &x) < 0 || (x & 3))
			return fp_err(fp, off, tlen, f->name,
				"expected a TOS value 0 to 252 with the two ECN bits clear (or use "
				"ip_dscp=0..63)");
		ok = fp_merge8(spec, f->off, (uint8_t)x, 0xfc);
		break;
	case T_DSCP:
		if (fp_uint(v, 63, &x) < 0)
			return fp_err(fp, off, tlen, f->name, "expected a DSCP value 0 to 63");
		ok = fp_merge8(spec, f->off, (uint8_t)(x << 2), 0xfc);
		break;
	case T_ECN:
		if (fp_uint(v, 3, &x) < 0)
			return fp_err(fp, off, tlen, f->name, "expected an ECN value 0 to 3");
		ok = fp_merge8(spec, f->off, (uint8_t)x, 0x03);
		break;
	case T_FRAG: {
		static const struct {
			const char *name;
			uint8_t v, m;
		} frags[] = {
			{"no", 0, FLOW_FRAG_ANY},
			{"yes", FLOW_FRAG_ANY, FLOW_FRAG_ANY},
			{"first", FLOW_FRAG_ANY, FLOW_FRAG_ANY | FLOW_FRAG_LATER},
			{"later", FLOW_FRAG_ANY | FLOW_FRAG_LATER, FLOW_FRAG_ANY | FLOW_FRAG_LATER},
			{"not_later", 0, FLOW_FRAG_LATER},
		};
		unsigned i;

		for (i = 0; i < ARRAY_SIZE(frags); i++) {
			if (strcmp(v, frags[i].name) == 0)
				break;
		}
		if (i == ARRAY_SIZE(frags))
			return fp_err(fp, off, tlen, f->name,
				"expected no, yes, first, later or not_later");
		ok = fp_merge8(spec, f->off, frags[i].v, frags[i].m);
		break;
	}
	case T_TCPFLAGS: {
		uint16_t tv, tm;

		if (fp_tcp_flags(v, &tv, &tm) < 0 ||
			(!masks && tm != FLOW_TCP_FLAGS_MASK && v[0] != '+' && v[0] != '-'))
			return fp_err(fp, off, tlen, f->name,
				"expected flags like +syn-ack (fin syn rst psh ack urg ece cwr ns) "
				"or a value 0 to 0xfff with an optional /MASK");
		ok = fp_merge16(spec, f->off, tv, tm);
		break;
	}
	}
	if (!ok)
		return fp_err(
			fp, off, tlen, f->name, "conflicts with a value set earlier in the flow");
	if (f->off == FK(nw_proto) && fp->nw_proto_col == 0)
		fp->nw_proto_col = (unsigned)off + 1;
	return 0;
}

// ---- prerequisites ----

static bool fp_is_ip(const struct flow_spec *s)
{
	return s->mask.eth_type == 0xffff &&
		(s->value.eth_type == NET_ETH_P_IPV4 || s->value.eth_type == NET_ETH_P_IPV6);
}

static bool fp_eth_is(const struct flow_spec *s, uint16_t type)
{
	return s->mask.eth_type == 0xffff && s->value.eth_type == type;
}

static bool fp_proto_is(const struct flow_spec *s, uint8_t proto)
{
	return fp_is_ip(s) && s->mask.nw_proto == 0xff && s->value.nw_proto == proto;
}

static bool fp_prereq_ok(const struct flow_spec *s, enum fp_prereq p)
{
	switch (p) {
	case P_NONE:
		return true;
	case P_IP_OR_ARP:
		return fp_eth_is(s, NET_ETH_P_IPV4) || fp_eth_is(s, NET_ETH_P_ARP);
	case P_IP:
		return fp_is_ip(s);
	case P_IPV4:
		return fp_eth_is(s, NET_ETH_P_IPV4);
	case P_IPV6:
		return fp_eth_is(s, NET_ETH_P_IPV6);
	case P_ARP:
		return fp_eth_is(s, NET_ETH_P_ARP);
	case P_L4:
		return fp_proto_is(s, NET_IPPROTO_TCP) || fp_proto_is(s, NET_IPPROTO_UDP) ||
			fp_proto_is(s, NET_IPPROTO_SCTP);
	case P_TCP:
		return fp_proto_is(s, NET_IPPROTO_TCP);
	case P_UDP:
		return fp_proto_is(s, NET_IPPROTO_UDP);
	case P_SCTP:
		return fp_proto_is(s, NET_IPPROTO_SCTP);
	case P_ICMP:
		return (fp_eth_is(s, NET_ETH_P_IPV4) && fp_proto_is(s, NET_IPPROTO_ICMP)) ||
			(fp_eth_is(s, NET_ETH_P_IPV6) && fp_proto_is(s, NET_IPPROTO_ICMPV6));
	case P_ICMPV6:
		return fp_eth_is(s, NET_ETH_P_IPV6) && fp_proto_is(s, NET_IPPROTO_ICMPV6);
	}
	return false;
}

static const char *fp_prereq_hint(enum fp_prereq p)
{
	switch (p) {
	case P_IP_OR_ARP:
		return "an IPv4 or ARP match (add ip or arp)";
	case P_IP:
		return "an IP match (add ip or ipv6)";
	case P_IPV4:
		return "an IPv4 match (add ip)";
	case P_IPV6:
		return "an IPv6 match (add ipv6)";
	case P_ARP:
		return "an ARP match (add arp)";
	case P_L4:
		return "a TCP, UDP or SCTP match (add tcp, udp or sctp; tcp6... for IPv6)";
	case P_TCP:
		return "a TCP match (add tcp or tcp6)";
	case P_UDP:
		return "a UDP match (add udp or udp6)";
	case P_SCTP:
		return "an SCTP match (add sctp or sctp6)";
	case P_ICMP:
		return "an ICMP match (add icmp or icmp6)";
	case P_ICMPV6:
		return "an ICMPv6 match (add icmp6)";
	default:
		return "";
	}
}

// Length of the token starting at column col (1-based): up to the next separator.
static size_t fp_tok_len(const struct fp *fp, unsigned col)
{
	size_t i = col - 1;

	while (i < fp->len && fp->s[i] != ',' && !isspace((unsigned char)fp->s[i]))
		i++;
	return i - (col - 1);
}

static int fp_check_prereqs(struct fp *fp)
{
	for (unsigned i = 0; i < ARRAY_SIZE(fp_fields); i++) {
		const struct fp_field *f = &fp_fields[i];
		unsigned col = fp->col[f->id];

		// Aliases share an id: check the spelling that was used.
		if (col == 0 || fp->fname[f->id] != f->name)
			continue;
		if (!fp_prereq_ok(fp->spec, (enum fp_prereq)f->prereq))
			return fp_err(fp, col - 1, fp_tok_len(fp, col), f->name, "%s needs %s",
				f->name, fp_prereq_hint((enum fp_prereq)f->prereq));
	}
	return 0;
}

// ---- actions ----

struct fp_setf {
	const char *name;
	uint8_t type; // enum flow_act_type
	uint8_t val; // enum fp_type for the value: T_MAC, T_IP4, T_IP6, T_U16, T_DSCP, T_ECN,
		     // T_VID, T_PCP
	uint8_t prereq;
};

static const struct fp_setf fp_setfs[] = {
	{"eth_src", FLOW_ACT_SET_ETH_SRC, T_MAC, P_NONE},
	{"dl_src", FLOW_ACT_SET_ETH_SRC, T_MAC, P_NONE},
	{"eth_dst", FLOW_ACT_SET_ETH_DST, T_MAC, P_NONE},
	{"dl_dst", FLOW_ACT_SET_ETH_DST, T_MAC, P_NONE},
	{"ip_src", FLOW_ACT_SET_IPV4_SRC, T_IP4, P_IPV4},
	{"nw_src", FLOW_ACT_SET_IPV4_SRC, T_IP4, P_IPV4},
	{"ip_dst", FLOW_ACT_SET_IPV4_DST, T_IP4, P_IPV4},
	{"nw_dst", FLOW_ACT_SET_IPV4_DST, T_IP4, P_IPV4},
	{"ipv6_src", FLOW_ACT_SET_IPV6_SRC, T_IP6, P_IPV6},
	{"ipv6_dst", FLOW_ACT_SET_IPV6_DST, T_IP6, P_IPV6},
	{"tp_src", FLOW_ACT_SET_TP_SRC, T_U16, P_L4},
	{"tcp_src", FLOW_ACT_SET_TP_SRC, T_U16, P_TCP},
	{"udp_src", FLOW_ACT_SET_TP_SRC, T_U16, P_UDP},
	{"sctp_src", FLOW_ACT_SET_TP_SRC, T_U16, P_SCTP},
	{"tp_dst", FLOW_ACT_SET_TP_DST, T_U16, P_L4},
	{"tcp_dst", FLOW_ACT_SET_TP_DST, T_U16, P_TCP},
	{"udp_dst", FLOW_ACT_SET_TP_DST, T_U16, P_UDP},
	{"sctp_dst", FLOW_ACT_SET_TP_DST, T_U16, P_SCTP},
	{"ip_dscp", FLOW_ACT_SET_DSCP, T_DSCP, P_IP},
	{"ip_ecn", FLOW_ACT_SET_ECN, T_ECN, P_IP},
	{"nw_ecn", FLOW_ACT_SET_ECN, T_ECN, P_IP},
	{"vlan_vid", FLOW_ACT_SET_VLAN_VID, T_VID, P_NONE},
	{"vlan_pcp", FLOW_ACT_SET_VLAN_PCP, T_PCP, P_NONE},
};

// OVS's mod_* actions: name -> set_field equivalent (+ flags).
static const struct {
	const char *name;
	const char *field;
	uint8_t flags;
} fp_mods[] = {
	{"mod_dl_src", "eth_src", 0},
	{"mod_dl_dst", "eth_dst", 0},
	{"mod_nw_src", "ip_src", 0},
	{"mod_nw_dst", "ip_dst", 0},
	{"mod_tp_src", "tp_src", 0},
	{"mod_tp_dst", "tp_dst", 0},
	{"mod_nw_ecn", "ip_ecn", 0},
	{"mod_vlan_vid", "vlan_vid", FLOW_ACTF_PUSH},
	{"mod_vlan_pcp", "vlan_pcp", FLOW_ACTF_PUSH},
};

static const struct fp_setf *fp_setf_find(const char *name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(fp_setfs); i++) {
		if (strcmp(fp_setfs[i].name, name) == 0)
			return &fp_setfs[i];
	}
	return NULL;
}

// Fills a set-field action's value. 0 or -EINVAL with *emsg.
static int fp_setf_value(
	const struct fp_setf *sf, const char *v, struct flow_action *a, const char **emsg)
{
	uint8_t m[16];
	uint64_t x;

	switch (sf->val) {
	case T_MAC:
		*emsg = "expected a MAC address like 02:00:00:00:00:01";
		return fp_mac(v, a->mac);
	case T_IP4:
		if (fp_ip(v, AF_INET, (uint8_t *)&a->ip4, m, false, emsg) < 0)
			return -EINVAL;
		return 0;
	case T_IP6:
		return fp_ip(v, AF_INET6, a->ip6, m, false, emsg);
	case T_U16:
		*emsg = "expected a port number 0 to 65535";
		if (fp_uint(v, 65535, &x) < 0)
			return -EINVAL;
		break;
	case T_DSCP:
		*emsg = "expected a DSCP value 0 to 63";
		if (fp_uint(v, 63, &x) < 0)
			return -EINVAL;
		break;
	case T_ECN:
		*emsg = "expected an ECN value 0 to 3";
		if (fp_uint(v, 3, &x) < 0)
			return -EINVAL;
		break;
	case T_VID:
		*emsg = "expected a VLAN id 0 to 4095";
		if (fp_uint(v, FLOW_VLAN_VID_MASK, &x) < 0)
			return -EINVAL;
		break;
	case T_PCP:
		*emsg = "expected a VLAN priority 0 to 7";
		if (fp_uint(v, 7, &x) < 0)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	a->u16 = (uint16_t)x;
	return 0;
}

static int fp_port_action(struct fp *fp, struct flow_action *a, uint8_t type, const char *port,
	size_t off, size_t tlen, const char *what)
{
	if (strcasecmp(port, "in_port") == 0 && type == FLOW_ACT_OUTPUT) {
		a->type = FLOW_ACT_IN_PORT;
		return 0;
	}
	if (!fp_port_name_ok(port))
		return fp_err(fp, off, tlen, "actions", "%s: expected a port name", what);
	a->type = type;
	snprintf(a->port, sizeof(a->port), "%s", port);
	return 0;
}

// One action token tok (NUL-terminated copy) at offset off.
static int fp_action(struct fp *fp, const char *tok, size_t off, size_t tlen, bool *drop)
{
	struct flow_spec *spec = fp->spec;
	struct flow_action *a;
	const char *colon = strchr(tok, ':'), *arg = colon ? colon + 1 : NULL;
	size_t nlen = colon ? (size_t)(colon - tok) : strlen(tok);
	char name[40];
	uint64_t x;

	if (nlen >= sizeof(name))
		nlen = sizeof(name) - 1;
	snprintf(name, sizeof(name), "%.*s", (int)nlen, tok);
	for (char *c = name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strchr(tok, '(') != NULL || strchr(tok, ')') != NULL)
		return fp_err(fp, off, tlen, "actions",
			"nested actions (learn, ct, ...) are not supported");
	if (strcmp(name, "drop") == 0 && arg == NULL) {
		*drop = true;
		return 0;
	}
	if (spec->n_actions == FLOW_MAX_ACTIONS)
		return fp_err(
			fp, off, tlen, "actions", "too many actions (max %d)", FLOW_MAX_ACTIONS);
	if (strcmp(name, "resubmit") == 0 || strcmp(name, "goto_table") == 0 ||
		strcmp(name, "controller") == 0 || strcmp(name, "local") == 0 ||
		strcmp(name, "meter") == 0 || strcmp(name, "group") == 0)
		return fp_err(fp, off, tlen, "actions",
			"%s is not supported (one table, no controller, no meters or groups)",
			name);
	a = &spec->actions[spec->n_actions];
	memset(a, 0, sizeof(*a));
	if (arg == NULL) {
		static const struct {
			const char *name;
			uint8_t type;
		} simple[] = {
			{"normal", FLOW_ACT_NORMAL},
			{"flood", FLOW_ACT_FLOOD},
			{"all", FLOW_ACT_FLOOD},
			{"in_port", FLOW_ACT_IN_PORT},
			{"strip_vlan", FLOW_ACT_POP_VLAN},
			{"pop_vlan", FLOW_ACT_POP_VLAN},
			{"dec_ttl", FLOW_ACT_DEC_TTL},
		};

		for (unsigned i = 0; i < ARRAY_SIZE(simple); i++) {
			if (strcmp(name, simple[i].name) == 0) {
				a->type = simple[i].type;
				if (a->type == FLOW_ACT_DEC_TTL && !fp_is_ip(spec))
					return fp_err(fp, off, tlen, "actions",
						"dec_ttl needs an IP match (add ip or ipv6)");
				spec->n_actions++;
				return 0;
			}
		}
		if (strcmp(name, "output") == 0 || strcmp(name, "mirror") == 0 ||
			strcmp(name, "push_vlan") == 0 || strcmp(name, "set_field") == 0 ||
			strncmp(name, "mod_", 4) == 0)
			return fp_err(fp, off, tlen, "actions", "%s needs an argument (%s:...)",
				name, name);
		// A bare word is a port, as in ovs-ofctl ("actions=vm2").
		if (!fp_port_name_ok(tok))
			return fp_err(fp, off, tlen, "actions",
				"unknown action (valid: output:PORT, normal, flood, drop, in_port, "
				"mirror:PORT, mod_vlan_vid:VID, strip_vlan, push_vlan:TPID, "
				"set_field:VALUE->FIELD, mod_dl_src:MAC, ...)");
		if (fp_port_action(fp, a, FLOW_ACT_OUTPUT, tok, off, tlen, "output") < 0)
			return -EINVAL;
		spec->n_actions++;
		return 0;
	}
	if (strcmp(name, "output") == 0 || strcmp(name, "mirror") == 0) {
		if (fp_port_action(fp, a, name[0] == 'o' ? FLOW_ACT_OUTPUT : FLOW_ACT_MIRROR, arg,
			    off, tlen, name) < 0)
			return -EINVAL;
		spec->n_actions++;
		return 0;
	}
	if (strcmp(name, "push_vlan") == 0) {
		if (fp_uint(arg, 0xffff, &x) < 0 || (x != NET_ETH_P_VLAN && x != NET_ETH_P_QINQ))
			return fp_err(fp, off, tlen, "actions",
				"push_vlan: expected the tag type 0x8100 or 0x88a8");
		a->type = FLOW_ACT_PUSH_VLAN;
		a->u16 = (uint16_t)x;
		spec->n_actions++;
		return 0;
	}
	if (strcmp(name, "mod_nw_tos") == 0) {
		if (fp_uint(arg, 255, &x) < 0 || (x & 3))
			return fp_err(fp, off, tlen, "actions",
				"mod_nw_tos: expected a TOS value 0 to 252 with the ECN bits "
				"clear");
		if (!fp_is_ip(spec))
			return fp_err(fp, off, tlen, "actions",
				"mod_nw_tos needs an IP match (add ip or ipv6)");
		a->type = FLOW_ACT_SET_DSCP;
		a->u16 = (uint16_t)(x >> 2);
		spec->n_actions++;
		return 0;
	}
	{
		const struct fp_setf *sf = NULL;
		const char *value = arg, *emsg = "";
		char vbuf[FP_TOKEN_MAX];
		uint8_t flags = 0;

		if (strcmp(name, "set_field") == 0) {
			const char *arrow = strstr(arg, "->");

			if (arrow == NULL)
				return fp_err(fp, off, tlen, "actions",
					"set_field: expected set_field:VALUE->FIELD");
			if ((sf = fp_setf_find(arrow + 2)) == NULL)
				return fp_err(fp, off, tlen, "actions",
					"set_field: cannot set '%s' (valid: eth_src, eth_dst, "
					"ip_src, "
					"ip_dst, ipv6_src, ipv6_dst, tcp_src/dst, udp_src/dst, "
					"sctp_src/dst, tp_src/dst, ip_dscp, ip_ecn, vlan_vid, "
					"vlan_pcp)",
					arrow + 2);
			snprintf(vbuf, sizeof(vbuf), "%.*s", (int)(arrow - arg), arg);
			value = vbuf;
		} else {
			for (unsigned i = 0; i < ARRAY_SIZE(fp_mods); i++) {
				if (strcmp(name, fp_mods[i].name) == 0) {
					sf = fp_setf_find(fp_mods[i].field);
					flags = fp_mods[i].flags;
				}
			}
			if (sf == NULL)
				return fp_err(fp, off, tlen, "actions",
					"unknown action '%s' (valid: output, mirror, push_vlan, "
					"set_field, mod_vlan_vid, mod_vlan_pcp, mod_dl_src, "
					"mod_dl_dst, "
					"mod_nw_src, mod_nw_dst, mod_tp_src, mod_tp_dst, "
					"mod_nw_tos, "
					"mod_nw_ecn, normal, flood, drop, in_port, strip_vlan, "
					"dec_ttl)",
					name);
		}
		if (fp_setf_value(sf, value, a, &emsg) < 0)
			return fp_err(fp, off, tlen, "actions", "%s: %s", name, emsg);
		if (!fp_prereq_ok(spec, (enum fp_prereq)sf->prereq))
			return fp_err(fp, off, tlen, "actions", "setting %s needs %s", sf->name,
				fp_prereq_hint((enum fp_prereq)sf->prereq));
		a->type = sf->type;
		a->flags = flags;
		spec->n_actions++;
		return 0;
	}
}

static int fp_actions(struct fp *fp, size_t start)
{
	size_t i = start, first = start;
	bool drop = false, any = false;
	unsigned drop_col = 0;

	fp->spec->has |= FLOW_HAS_ACTIONS;
	while (i < fp->len) {
		char tok[FP_TOKEN_MAX];
		size_t b, e;
		bool d = false;

		while (i < fp->len && (isspace((unsigned char)fp->s[i]) || fp->s[i] == ','))
			i++;
		if (i >= fp->len)
			break;
		b = i;
		while (i < fp->len && fp->s[i] != ',')
			i++;
		e = i;
		while (e > b && isspace((unsigned char)fp->s[e - 1]))
			e--;
		if (e - b >= sizeof(tok))
			return fp_err(fp, b, e - b, "actions", "action too long");
		memcpy(tok, fp->s + b, e - b);
		tok[e - b] = '\0';
		if (fp_action(fp, tok, b, e - b, &d) < 0)
			return -EINVAL;
		if (d) {
			drop = true;
			drop_col = (unsigned)b + 1;
		}
		any = true;
	}
	if (!any)
		return fp_err(fp, first > 0 ? first - 1 : 0, 1, "actions",
			"no actions given (write actions=drop to drop)");
	if (drop && fp->spec->n_actions > 0)
		return fp_err(fp, drop_col - 1, 4, "actions",
			"drop cannot be combined with other actions");
	return 0;
}

// ---- the whole text ----

static int fp_meta(
	struct fp *fp, const char *key, const char *v, size_t off, size_t tlen, bool *done)
{
	struct flow_spec *spec = fp->spec;
	uint64_t x, m;

	*done = true;
	if (strcmp(key, "priority") == 0) {
		if (fp->mode == FLOW_PARSE_PACKET)
			return fp_err(fp, off, tlen, key, "a packet has no priority");
		if (fp_uint(v, FLOW_PRIORITY_MAX, &x) < 0)
			return fp_err(fp, off, tlen, key, "expected a priority 0 to %d",
				FLOW_PRIORITY_MAX);
		spec->priority = (uint16_t)x;
		spec->has |= FLOW_HAS_PRIORITY;
		return 0;
	}
	if (strcmp(key, "cookie") == 0) {
		const char *slash = strchr(v, '/');
		char buf[32];

		if (fp->mode == FLOW_PARSE_PACKET)
			return fp_err(fp, off, tlen, key, "a packet has no cookie");
		m = UINT64_MAX;
		if (slash != NULL) {
			if (fp->mode != FLOW_PARSE_FILTER)
				return fp_err(fp, off, tlen, key,
					"a cookie mask is only for selecting flows (del-flows, "
					"dump-flows, mod-flows)");
			if ((size_t)(slash - v) >= sizeof(buf))
				return fp_err(fp, off, tlen, key, "expected a 64-bit cookie");
			snprintf(buf, sizeof(buf), "%.*s", (int)(slash - v), v);
			v = buf;
			if (strcmp(slash + 1, "-1") == 0)
				m = UINT64_MAX;
			else if (fp_uint(slash + 1, UINT64_MAX, &m) < 0)
				return fp_err(fp, off, tlen, key, "expected a 64-bit cookie mask");
		}
		if (fp_uint(v, UINT64_MAX, &x) < 0)
			return fp_err(
				fp, off, tlen, key, "expected a 64-bit cookie (decimal or 0x hex)");
		spec->cookie = x & m;
		spec->cookie_mask = m;
		spec->has |= FLOW_HAS_COOKIE;
		return 0;
	}
	if (strcmp(key, "idle_timeout") == 0 || strcmp(key, "hard_timeout") == 0) {
		if (fp->mode != FLOW_PARSE_ADD)
			return fp_err(fp, off, tlen, key, "timeouts are only for adding flows");
		if (fp_uint(v, 65535, &x) < 0)
			return fp_err(fp, off, tlen, key, "expected seconds 0 to 65535 (0 = none)");
		if (key[0] == 'i') {
			spec->idle_timeout = (uint16_t)x;
			spec->has |= FLOW_HAS_IDLE;
		} else {
			spec->hard_timeout = (uint16_t)x;
			spec->has |= FLOW_HAS_HARD;
		}
		return 0;
	}
	if (strcmp(key, "table") == 0) {
		if (fp_uint(v, 255, &x) < 0 || x != 0)
			return fp_err(fp, off, tlen, key, "only table 0 exists");
		spec->has |= FLOW_HAS_TABLE;
		return 0;
	}
	*done = false;
	return 0;
}

int flow_parse(const char *s, size_t len, enum flow_parse_mode mode, struct flow_spec *spec,
	struct err *err)
{
	struct fp fp = {.s = s, .len = len, .mode = mode, .spec = spec, .err = err};
	size_t i = 0;
	int ret;

	memset(spec, 0, sizeof(*spec));
	spec->priority = FLOW_PRIORITY_DEFAULT;
	if (len > FLOW_TEXT_MAX)
		return err_set(err, -E2BIG, "flow", "flow text too long (%zu bytes, max %d)", len,
			FLOW_TEXT_MAX);
	for (size_t j = 0; j < len; j++) {
		if (s[j] == '\0' || (unsigned char)s[j] >= 0x80 ||
			(iscntrl((unsigned char)s[j]) && !isspace((unsigned char)s[j])))
			return fp_err(
				&fp, j, 1, "flow", "invalid character (only printable ASCII)");
	}
	while (i < len) {
		char tok[FP_TOKEN_MAX];
		const struct fp_shortcut *sc;
		const struct fp_field *f;
		const char *eq;
		size_t b, tlen, klen;
		bool done;

		while (i < len && (isspace((unsigned char)s[i]) || s[i] == ','))
			i++;
		if (i >= len)
			break;
		b = i;
		while (i < len && s[i] != ',' && !isspace((unsigned char)s[i]))
			i++;
		tlen = i - b;
		eq = memchr(s + b, '=', tlen);
		klen = eq ? (size_t)(eq - (s + b)) : tlen;
		if ((klen == 7 && strncmp(s + b, "actions", 7) == 0) ||
			(klen == 6 && strncmp(s + b, "action", 6) == 0)) {
			if (mode != FLOW_PARSE_ADD)
				return fp_err(&fp, b, tlen, "actions",
					mode == FLOW_PARSE_PACKET ? "a packet has no actions"
								  : "actions are not allowed here "
								    "(this selects flows)");
			if (eq == NULL)
				return fp_err(&fp, b, tlen, "actions",
					"expected actions=ACTION[,ACTION...]");
			fp.actions_col = (unsigned)b + 1;
			if ((ret = fp_check_prereqs(&fp)) < 0)
				return ret;
			return fp_actions(&fp, (size_t)(eq - s) + 1);
		}
		if (tlen >= sizeof(tok))
			return fp_err(&fp, b, tlen, "flow", "token too long");
		memcpy(tok, s + b, tlen);
		tok[tlen] = '\0';
		if (eq == NULL) {
			if ((sc = fp_shortcut_find(tok, tlen)) != NULL) {
				if ((ret = fp_shortcut_apply(&fp, sc, b, tlen)) < 0)
					return ret;
				continue;
			}
			if (fp_field_find(tok, tlen) != NULL || strcmp(tok, "priority") == 0 ||
				strcmp(tok, "cookie") == 0)
				return fp_err(&fp, b, tlen, tok, "expected %s=VALUE", tok);
			return fp_err(&fp, b, tlen, tok,
				"unknown field or keyword (fields: in_port, dl_src, dl_dst, "
				"dl_type, "
				"dl_vlan, dl_vlan_pcp, nw_src, nw_dst, nw_proto, nw_tos, ip_dscp, "
				"ip_ecn, nw_frag, ipv6_src, ipv6_dst, tp_src, tp_dst, tcp_flags, "
				"icmp_type, icmp_code, arp_op, arp_spa, arp_tpa, arp_sha, arp_tha; "
				"shortcuts: ip, ipv6, arp, tcp, udp, sctp, icmp, tcp6, udp6, "
				"sctp6, "
				"icmp6)");
		}
		tok[klen] = '\0';
		if (tok[klen + 1] == '\0')
			return fp_err(&fp, b, tlen, tok, "missing value after '='");
		if ((ret = fp_meta(&fp, tok, tok + klen + 1, b, tlen, &done)) < 0)
			return ret;
		if (done)
			continue;
		if ((f = fp_field_find(tok, klen)) == NULL)
			return fp_err(&fp, b, tlen, tok,
				"unknown field '%s' (see vsctl help add-flow for the list)", tok);
		if ((ret = fp_field_set(&fp, f, tok + klen + 1, b, tlen)) < 0)
			return ret;
	}
	if (mode == FLOW_PARSE_ADD)
		return fp_err(&fp, len > 0 ? len - 1 : 0, len > 0 ? 1 : 0, "actions",
			"missing actions= at the end (for example actions=normal or actions=drop)");
	return fp_check_prereqs(&fp);
}

// ---- formatting ----

struct fbuf {
	char *buf;
	size_t size, n;
};

static void __printf(2, 3) fb_add(struct fbuf *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(f->n < f->size ? f->buf + f->n : NULL, f->n < f->size ? f->size - f->n : 0,
		fmt, ap);
	va_end(ap);
	if (r > 0)
		f->n += (size_t)r;
}

static void fb_sep(struct fbuf *f)
{
	if (f->n > 0)
		fb_add(f, ",");
}

// Prefix length of a contiguous mask, -1 otherwise.
static int fmt_prefix(const uint8_t *m, unsigned bytes)
{
	unsigned n = 0, i = 0;

	for (; i < bytes && m[i] == 0xff; i++)
		n += 8;
	if (i < bytes) {
		uint8_t b = m[i];

		while (b & 0x80) {
			n++;
			b = (uint8_t)(b << 1);
		}
		if (b != 0)
			return -1;
		for (i++; i < bytes; i++) {
			if (m[i] != 0)
				return -1;
		}
	}
	return (int)n;
}

static void fmt_ip(struct fbuf *f, const char *name, int af, const uint8_t *v, const uint8_t *m)
{
	unsigned bytes = af == AF_INET ? 4 : 16;
	char a[INET6_ADDRSTRLEN], mm[INET6_ADDRSTRLEN];
	int plen = fmt_prefix(m, bytes);

	inet_ntop(af, v, a, sizeof(a));
	fb_sep(f);
	if (plen == (int)bytes * 8)
		fb_add(f, "%s=%s", name, a);
	else if (plen >= 0)
		fb_add(f, "%s=%s/%d", name, a, plen);
	else
		fb_add(f, "%s=%s/%s", name, a, inet_ntop(af, m, mm, sizeof(mm)));
}

static bool fmt_nonzero(const uint8_t *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (m[i])
			return true;
	}
	return false;
}

static void fmt_mac(struct fbuf *f, const char *name, const uint8_t *v, const uint8_t *m)
{
	static const uint8_t full[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	if (!fmt_nonzero(m, 6))
		return;
	fb_sep(f);
	fb_add(f, "%s=%02x:%02x:%02x:%02x:%02x:%02x", name, v[0], v[1], v[2], v[3], v[4], v[5]);
	if (memcmp(m, full, 6) != 0)
		fb_add(f, "/%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void fmt_u16(struct fbuf *f, const char *name, uint16_t v, uint16_t m, uint16_t full)
{
	if (m == 0)
		return;
	fb_sep(f);
	if (m == full)
		fb_add(f, "%s=%u", name, v);
	else
		fb_add(f, "%s=0x%x/0x%x", name, v, m);
}

static void fmt_vlan(struct fbuf *f, uint16_t v, uint16_t m)
{
	const uint16_t vidm = FLOW_VLAN_PRESENT | FLOW_VLAN_VID_MASK;
	const uint16_t pcpm = FLOW_VLAN_PRESENT | FLOW_VLAN_PCP_MASK;

	if (m == 0)
		return;
	fb_sep(f);
	if (m == 0xffff && v == 0) {
		fb_add(f, "dl_vlan=0xffff");
	} else if ((v & FLOW_VLAN_PRESENT) && (m == vidm || m == pcpm || m == 0xffff)) {
		if (m & FLOW_VLAN_VID_MASK)
			fb_add(f, "dl_vlan=%u", v & FLOW_VLAN_VID_MASK);
		if (m & FLOW_VLAN_PCP_MASK) {
			if (m & FLOW_VLAN_VID_MASK)
				fb_add(f, ",");
			fb_add(f, "dl_vlan_pcp=%u", v >> FLOW_VLAN_PCP_SHIFT);
		}
	} else {
		fb_add(f, "vlan_tci=0x%04x/0x%04x", v, m);
	}
}

static void fmt_tcp_flags(struct fbuf *f, uint16_t v, uint16_t m)
{
	if (m == 0)
		return;
	fb_sep(f);
	if ((m & ~0x1ffu) != 0) {
		fb_add(f, "tcp_flags=0x%03x/0x%03x", v, m);
		return;
	}
	fb_add(f, "tcp_flags=");
	for (unsigned i = 0; i < ARRAY_SIZE(fp_tcp_flag_names); i++) {
		if (m & (1u << i))
			fb_add(f, "%c%s", (v & (1u << i)) ? '+' : '-', fp_tcp_flag_names[i]);
	}
}

static void fmt_frag(struct fbuf *f, uint8_t v, uint8_t m)
{
	const char *s = NULL;

	if (m == 0)
		return;
	if (m == FLOW_FRAG_ANY)
		s = v ? "yes" : "no";
	else if (m == (FLOW_FRAG_ANY | FLOW_FRAG_LATER))
		s = v == m ? "later" : v == FLOW_FRAG_ANY ? "first" : "no";
	else if (m == FLOW_FRAG_LATER)
		s = v ? "later" : "not_later";
	fb_sep(f);
	fb_add(f, "nw_frag=%s", s != NULL ? s : "?");
}

static void fmt_match(struct fbuf *f, const struct flow_key *v, const struct flow_key *m,
	const char *in_port_name)
{
	bool ip4 = false, ip6 = false, arp = false, l4 = false, icmp = false;

	if (m->in_port) {
		fb_sep(f);
		if (in_port_name != NULL && in_port_name[0] != '\0')
			fb_add(f, "in_port=%s", in_port_name);
		else
			fb_add(f, "in_port=%u", v->in_port);
	}
	fmt_vlan(f, v->vlan_tci, m->vlan_tci);
	fmt_mac(f, "dl_src", v->eth_src, m->eth_src);
	fmt_mac(f, "dl_dst", v->eth_dst, m->eth_dst);
	if (m->eth_type == 0xffff) {
		const char *sc = NULL;

		ip4 = v->eth_type == NET_ETH_P_IPV4;
		ip6 = v->eth_type == NET_ETH_P_IPV6;
		arp = v->eth_type == NET_ETH_P_ARP;
		if ((ip4 || ip6) && m->nw_proto == 0xff) {
			for (unsigned i = 0; i < ARRAY_SIZE(fp_shortcuts); i++) {
				if (fp_shortcuts[i].eth_type == v->eth_type &&
					fp_shortcuts[i].nw_proto == v->nw_proto &&
					fp_shortcuts[i].nw_proto != 0) {
					sc = fp_shortcuts[i].name;
					break;
				}
			}
			l4 = v->nw_proto == NET_IPPROTO_TCP || v->nw_proto == NET_IPPROTO_UDP ||
				v->nw_proto == NET_IPPROTO_SCTP;
			icmp = v->nw_proto == (ip4 ? NET_IPPROTO_ICMP : NET_IPPROTO_ICMPV6);
		}
		fb_sep(f);
		if (sc != NULL)
			fb_add(f, "%s", sc);
		else if (ip4)
			fb_add(f, "ip");
		else if (ip6)
			fb_add(f, "ipv6");
		else if (arp)
			fb_add(f, "arp");
		else
			fb_add(f, "dl_type=0x%04x", v->eth_type);
		if ((ip4 || ip6) && sc == NULL)
			fmt_u16(f, "nw_proto", v->nw_proto, m->nw_proto, 0xff);
	} else if (m->eth_type != 0) {
		fb_sep(f);
		fb_add(f, "dl_type=0x%04x/0x%04x", v->eth_type, m->eth_type);
	}
	if (m->nw_src)
		fmt_ip(f, arp ? "arp_spa" : "nw_src", AF_INET, (const uint8_t *)&v->nw_src,
			(const uint8_t *)&m->nw_src);
	if (m->nw_dst)
		fmt_ip(f, arp ? "arp_tpa" : "nw_dst", AF_INET, (const uint8_t *)&v->nw_dst,
			(const uint8_t *)&m->nw_dst);
	if (arp) {
		fmt_u16(f, "arp_op", v->arp_op, m->arp_op, 0xffff);
		fmt_mac(f, "arp_sha", v->ipv6_src, m->ipv6_src);
		fmt_mac(f, "arp_tha", v->ipv6_dst, m->ipv6_dst);
	} else {
		if (fmt_nonzero(m->ipv6_src, 16))
			fmt_ip(f, "ipv6_src", AF_INET6, v->ipv6_src, m->ipv6_src);
		if (fmt_nonzero(m->ipv6_dst, 16))
			fmt_ip(f, "ipv6_dst", AF_INET6, v->ipv6_dst, m->ipv6_dst);
	}
	if ((m->nw_tos & 0xfc) == 0xfc)
		fmt_u16(f, "ip_dscp", v->nw_tos >> 2, 0xff, 0xff);
	else if (m->nw_tos & 0xfc)
		fmt_u16(f, "nw_tos", v->nw_tos & 0xfc, m->nw_tos & 0xfc, 0xfc);
	if ((m->nw_tos & 3) == 3)
		fmt_u16(f, "ip_ecn", v->nw_tos & 3, 0xff, 0xff);
	else if (m->nw_tos & 3)
		fmt_u16(f, "nw_tos", v->nw_tos & 3, m->nw_tos & 3, 3);
	fmt_frag(f, v->nw_frag, m->nw_frag);
	if (icmp) {
		fmt_u16(f, ip6 ? "icmpv6_type" : "icmp_type", v->tp_src, m->tp_src, 0xffff);
		fmt_u16(f, ip6 ? "icmpv6_code" : "icmp_code", v->tp_dst, m->tp_dst, 0xffff);
	} else if (l4 || !(ip4 || ip6)) {
		fmt_u16(f, "tp_src", v->tp_src, m->tp_src, 0xffff);
		fmt_u16(f, "tp_dst", v->tp_dst, m->tp_dst, 0xffff);
	}
	fmt_tcp_flags(f, v->tcp_flags, m->tcp_flags);
}

size_t flow_format_match(const struct flow_key *value, const struct flow_key *mask,
	const char *in_port_name, char *buf, size_t size)
{
	struct fbuf f = {.buf = buf, .size = size};

	if (size > 0)
		buf[0] = '\0';
	fmt_match(&f, value, mask, in_port_name);
	return f.n;
}

static void fmt_actions(struct fbuf *f, const struct flow_action *acts, unsigned n)
{
	char a[INET6_ADDRSTRLEN];

	if (n == 0)
		fb_add(f, "drop");
	for (unsigned i = 0; i < n; i++) {
		const struct flow_action *x = &acts[i];
		const uint8_t *mac = x->mac;

		if (i > 0)
			fb_add(f, ",");
		switch (x->type) {
		case FLOW_ACT_OUTPUT:
			fb_add(f, "output:%s", x->port);
			break;
		case FLOW_ACT_MIRROR:
			fb_add(f, "mirror:%s", x->port);
			break;
		case FLOW_ACT_IN_PORT:
			fb_add(f, "in_port");
			break;
		case FLOW_ACT_FLOOD:
			fb_add(f, "flood");
			break;
		case FLOW_ACT_NORMAL:
			fb_add(f, "normal");
			break;
		case FLOW_ACT_PUSH_VLAN:
			fb_add(f, "push_vlan:0x%04x", x->u16);
			break;
		case FLOW_ACT_POP_VLAN:
			fb_add(f, "strip_vlan");
			break;
		case FLOW_ACT_SET_VLAN_VID:
			if (x->flags & FLOW_ACTF_PUSH)
				fb_add(f, "mod_vlan_vid:%u", x->u16);
			else
				fb_add(f, "set_field:%u->vlan_vid", x->u16);
			break;
		case FLOW_ACT_SET_VLAN_PCP:
			if (x->flags & FLOW_ACTF_PUSH)
				fb_add(f, "mod_vlan_pcp:%u", x->u16);
			else
				fb_add(f, "set_field:%u->vlan_pcp", x->u16);
			break;
		case FLOW_ACT_SET_ETH_SRC:
		case FLOW_ACT_SET_ETH_DST:
			fb_add(f, "mod_dl_%s:%02x:%02x:%02x:%02x:%02x:%02x",
				x->type == FLOW_ACT_SET_ETH_SRC ? "src" : "dst", mac[0], mac[1],
				mac[2], mac[3], mac[4], mac[5]);
			break;
		case FLOW_ACT_SET_IPV4_SRC:
		case FLOW_ACT_SET_IPV4_DST:
			inet_ntop(AF_INET, &x->ip4, a, sizeof(a));
			fb_add(f, "mod_nw_%s:%s", x->type == FLOW_ACT_SET_IPV4_SRC ? "src" : "dst",
				a);
			break;
		case FLOW_ACT_SET_IPV6_SRC:
		case FLOW_ACT_SET_IPV6_DST:
			inet_ntop(AF_INET6, x->ip6, a, sizeof(a));
			fb_add(f, "set_field:%s->ipv6_%s", a,
				x->type == FLOW_ACT_SET_IPV6_SRC ? "src" : "dst");
			break;
		case FLOW_ACT_SET_TP_SRC:
			fb_add(f, "mod_tp_src:%u", x->u16);
			break;
		case FLOW_ACT_SET_TP_DST:
			fb_add(f, "mod_tp_dst:%u", x->u16);
			break;
		case FLOW_ACT_SET_DSCP:
			fb_add(f, "set_field:%u->ip_dscp", x->u16);
			break;
		case FLOW_ACT_SET_ECN:
			fb_add(f, "mod_nw_ecn:%u", x->u16);
			break;
		case FLOW_ACT_DEC_TTL:
			fb_add(f, "dec_ttl");
			break;
		default:
			fb_add(f, "?");
			break;
		}
	}
}

size_t flow_format_actions(const struct flow_action *acts, unsigned n, char *buf, size_t size)
{
	struct fbuf f = {.buf = buf, .size = size};

	if (size > 0)
		buf[0] = '\0';
	fmt_actions(&f, acts, n);
	return f.n;
}

size_t flow_format(const struct flow_spec *spec, unsigned what, char *buf, size_t size)
{
	struct fbuf f = {.buf = buf, .size = size};

	if (size > 0)
		buf[0] = '\0';
	if (what & FLOW_FMT_PRIORITY)
		fb_add(&f, "priority=%u", spec->priority);
	if (what & FLOW_FMT_EXTRA) {
		if ((spec->has & FLOW_HAS_COOKIE) && spec->cookie != 0) {
			fb_sep(&f);
			fb_add(&f, "cookie=0x%llx", (unsigned long long)spec->cookie);
		}
		if (spec->idle_timeout) {
			fb_sep(&f);
			fb_add(&f, "idle_timeout=%u", spec->idle_timeout);
		}
		if (spec->hard_timeout) {
			fb_sep(&f);
			fb_add(&f, "hard_timeout=%u", spec->hard_timeout);
		}
	}
	if (what & FLOW_FMT_MATCH)
		fmt_match(&f, &spec->value, &spec->mask, spec->in_port);
	if (what & FLOW_FMT_ACTIONS) {
		fb_add(&f, f.n > 0 ? " actions=" : "actions=");
		fmt_actions(&f, spec->actions, spec->n_actions);
	}
	return f.n;
}

bool flow_spec_same_match(const struct flow_spec *a, const struct flow_spec *b)
{
	if (a->priority != b->priority || strcmp(a->in_port, b->in_port) != 0)
		return false;
	for (unsigned i = 0; i < FLOW_KEY_WORDS; i++) {
		if (a->mask.w[i] != b->mask.w[i] || a->value.w[i] != b->value.w[i])
			return false;
	}
	return true;
}

bool flow_spec_covers(const struct flow_spec *filter, const struct flow_spec *rule)
{
	if (filter->in_port[0] != '\0' && strcmp(filter->in_port, rule->in_port) != 0)
		return false;
	for (unsigned i = 0; i < FLOW_KEY_WORDS; i++) {
		uint64_t fm = filter->mask.w[i], rm = rule->mask.w[i];

		// The rule must fix every bit the filter fixes, to the same value.
		if ((fm & ~rm) != 0 || ((filter->value.w[i] ^ rule->value.w[i]) & fm) != 0)
			return false;
	}
	return true;
}
