// SPDX-License-Identifier: Apache-2.0
// af_packet port against a veth pair in a private network namespace (each test unshares its
// own, so nothing outlives the test process): rx and tx byte-exact, VLAN tags kept, GSO frames
// cut into segments with valid checksums, oversized frames counted, fanout queues, MTU, errors.
// Needs root (CAP_NET_ADMIN, CAP_NET_RAW); exits 77 (skipped) otherwise.
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_packet.h>

#include "dataplane/log.h"
#include "dataplane/mempool.h"
#include "dataplane/net.h"
#include "dataplane/pkt.h"
#include "drivers/port.h"

#define ETH_P_TEST 0x88b5 // IEEE local experimental
#define GSO_UDP_L4 5 // VIRTIO_NET_HDR_GSO_UDP_L4, missing from older uapi headers

static struct mempool *pool;
static char va[IF_NAMESIZE], vb[IF_NAMESIZE]; // va: the port's end, vb: the test's end
static int peer = -1; // packet socket on vb

static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

static int peer_socket(bool vnet)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)if_nametoindex(vb)};
	int one = 1;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)), 0);
	if (vnet)
		ck_assert_int_eq(setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

static void setup(void)
{
	// A namespace of our own: the veth pair dies with this (forked) test process.
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	snprintf(va, sizeof(va), "vsa%d", getpid() % 1000000);
	snprintf(vb, sizeof(vb), "vsb%d", getpid() % 1000000);
	sh("ip link add %s type veth peer name %s", va, vb);
	sh("echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6");
	sh("echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
	sh("ip link set %s up", vb); // va is brought up by the driver
	pool = pkt_pool_create("test_afp", 1024, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
	peer = peer_socket(false);
}

static void teardown(void)
{
	close(peer);
	ck_assert_uint_eq(mempool_destroy(pool), 0);
}

static struct port *mk(const char *name, const struct port_kv *kv, unsigned n, struct err *err)
{
	struct port tmpl = {.id = 3, .pool = pool};
	struct port *p = port_create(name, "af_packet", kv, n, &tmpl, err);

	if (p != NULL)
		ck_assert_msg(port_start(p, err) == 0, "%s", err->msg);
	return p;
}

static struct port *mk_va(unsigned queues)
{
	char q[8];
	struct port_kv kv[] = {{"iface", va}, {"queues", q}};
	struct err err = {0};
	struct port *p;

	snprintf(q, sizeof(q), "%u", queues);
	p = mk("p1", kv, 2, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	return p;
}

static unsigned frame(uint8_t *f, unsigned len, unsigned seed)
{
	static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0xaa}, src[6] = {0x02, 0, 0, 0, 0, 0xbb};

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	net_put_be16(f + 12, ETH_P_TEST);
	for (unsigned i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i);
	return len;
}

// Polls every rx queue until `want` frames of ours arrived or 2 s passed; others are freed.
static unsigned rx_wait(struct port *p, struct pkt **out, unsigned want)
{
	struct timespec t0, t;
	unsigned got = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		for (unsigned q = 0; q < p->n_rxq && got < want; q++) {
			struct pkt *b[32];
			uint16_t k = p->ops->rx_burst(p->rxq[q], b, (uint16_t)MIN(32u, want - got));

			for (uint16_t i = 0; i < k; i++)
				out[got++] = b[i];
		}
		if (got >= want)
			return got;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > 2000)
			return got;
		usleep(200);
	}
}

static ssize_t peer_recv(int fd, uint8_t *buf, size_t size)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	if (poll(&pfd, 1, 2000) != 1)
		return -1;
	return recv(fd, buf, size, 0);
}

START_TEST(test_attach)
{
	struct port *p = mk_va(1);
	uint8_t mac[6];

	ck_assert_uint_eq(p->n_rxq, 1);
	ck_assert_uint_eq(p->n_txq, 1);
	ck_assert_uint_eq(p->mtu, 1500);
	// sysfs shows the namespace it was mounted in, not ours: ask the kernel directly.
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", va);
	ck_assert_int_eq(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	close(fd);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	ck_assert_mem_eq(p->mac, mac, 6);
	ck_assert(p->ops->link_get(p)); // brought up by the driver, peer up
	sh("ip link set %s down", vb);
	usleep(100 * 1000);
	ck_assert(!p->ops->link_get(p));
	sh("ip link set %s up", vb);

	struct err err = {0};
	ck_assert_int_eq(p->ops->mtu_set(p, 1400, &err), 0);
	ck_assert_uint_eq(p->mtu, 1400);
	sh("ip link show %s | grep -q 'mtu 1400'", va);
	ck_assert_int_eq(p->ops->mtu_set(p, 9000, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "out of range"));
	port_destroy(p);
}
END_TEST

START_TEST(test_errors)
{
	struct port_kv missing[] = {{"iface", "nosuch9"}};
	struct port_kv lo[] = {{"iface", "lo"}};
	struct port_kv longname[] = {{"iface", "abcdefghijklmnopq"}};
	struct port_kv block[] = {{"iface", va}, {"block-size", "200000"}};
	struct err err = {0};
	struct port *p;

	ck_assert_ptr_null(mk("p1", missing, 1, &err));
	ck_assert_str_eq(err.msg, "port p1: interface nosuch9 does not exist");
	ck_assert_str_eq(err.field, "iface");
	err_clear(&err);
	// Default iface = port name.
	ck_assert_ptr_null(mk("nosuch8", NULL, 0, &err));
	ck_assert_str_eq(err.msg, "port nosuch8: interface nosuch8 does not exist");
	err_clear(&err);
	ck_assert_ptr_null(mk("p1", lo, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "not an Ethernet interface"));
	err_clear(&err);
	ck_assert_ptr_null(mk("p1", longname, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "too long"));
	err_clear(&err);
	ck_assert_ptr_null(mk("p1", block, 2, &err));
	ck_assert_str_eq(err.field, "block-size");

	p = mk_va(1);
	struct port_kv again[] = {{"iface", va}};
	err_clear(&err);
	ck_assert_ptr_null(mk("p2", again, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "already used by port p1"));
	port_destroy(p);
	// Free again once the first port is gone.
	err_clear(&err);
	p = mk("p2", again, 1, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	port_destroy(p);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_rx_tx)
{
	struct port *p = mk_va(1);
	struct pkt *pkts[64];
	struct port_stats st;
	uint8_t f[2048], buf[4096];
	const unsigned lens[] = {60, 64, 100, 1514, 333, 61, 999, 1000};
	const unsigned n = ARRAY_SIZE(lens);

	// rx: frames sent by the peer arrive byte-exact and in order.
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(send(peer, f, frame(f, lens[i], i), 0), (int)lens[i]);
	ck_assert_uint_eq(rx_wait(p, pkts, n), n);
	for (unsigned i = 0; i < n; i++) {
		frame(f, lens[i], i);
		ck_assert_uint_eq(pkts[i]->len, lens[i]);
		ck_assert_mem_eq(pkt_data(pkts[i]), f, lens[i]);
		ck_assert_uint_eq(pkts[i]->in_port, 3);
		ck_assert_uint_eq(pkts[i]->flags & PKT_F_VLAN, 0);
	}

	// tx: the same buffers go back out; the peer captures them byte-exact.
	ck_assert_uint_eq(p->ops->tx_burst(p->txq[0], pkts, n), n);
	for (unsigned i = 0; i < n; i++) {
		ssize_t r = peer_recv(peer, buf, sizeof(buf));

		frame(f, lens[i], i);
		ck_assert_int_eq(r, lens[i]);
		ck_assert_mem_eq(buf, f, lens[i]);
	}
	// Our own tx is not received back (PACKET_IGNORE_OUTGOING).
	ck_assert_uint_eq(rx_wait(p, pkts, 1), 0);
	// All sent buffers are back; the rx queue keeps at most its stash of 64.
	ck_assert_uint_le(mempool_in_use(pool), 64);

	// Frames longer than the MTU are dropped at tx and counted: 1500 + 14, + 4 if tagged.
	ck_assert_int_eq(pkt_alloc_bulk(pool, pkts, 4), 0);
	pkts[0]->len = frame(pkt_data(pkts[0]), 1515, 6);
	pkts[1]->len = frame(pkt_data(pkts[1]), 1514, 7);
	pkts[2]->len = frame(pkt_data(pkts[2]), 1518, 8);
	net_put_be16(pkt_data(pkts[2]) + 12, 0x8100);
	pkts[3]->len = frame(pkt_data(pkts[3]), 1519, 9);
	net_put_be16(pkt_data(pkts[3]) + 12, 0x8100);
	ck_assert_uint_eq(p->ops->tx_burst(p->txq[0], pkts, 4), 2);
	ck_assert_int_eq(peer_recv(peer, buf, sizeof(buf)), 1514);
	ck_assert_int_eq(peer_recv(peer, buf, sizeof(buf)), 1514); // the kernel strips the tag

	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rx_packets, n);
	ck_assert_uint_eq(st.tx_packets, n + 2);
	ck_assert_uint_eq(st.tx_drop_mtu, 2);
	unsigned bytes = 0;
	for (unsigned i = 0; i < n; i++)
		bytes += lens[i];
	ck_assert_uint_eq(st.rx_bytes, bytes);
	ck_assert_uint_eq(st.tx_bytes, bytes + 1514 + 1518);
	port_destroy(p);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_vlan_kept)
{
	struct port *p = mk_va(1);
	struct pkt *pkts[4];
	uint8_t f[3][200];
	const uint16_t tpid[3] = {0x8100, 0x88a8, 0x8100};
	const uint16_t tci[3] = {100 | 3 << 13, 7, 0}; // PCP 3 VID 100; QinQ VID 7; priority tag

	for (int i = 0; i < 3; i++) {
		frame(f[i], 200, (unsigned)i);
		memmove(f[i] + 16, f[i] + 12, 200 - 16);
		net_put_be16(f[i] + 12, tpid[i]);
		net_put_be16(f[i] + 14, tci[i]);
		ck_assert_int_eq(send(peer, f[i], 200, 0), 200);
	}
	ck_assert_uint_eq(rx_wait(p, pkts, 3), 3);
	for (int i = 0; i < 3; i++) {
		// The kernel moved the tag out of the frame; the driver puts it back.
		ck_assert_uint_eq(pkts[i]->len, 200);
		ck_assert_mem_eq(pkt_data(pkts[i]), f[i], 200);
	}
	pkt_free_bulk(pkts, 3);
	port_destroy(p);
}
END_TEST

START_TEST(test_oversize_counted)
{
	struct port *p;
	struct pkt *pkts[4];
	struct port_stats st;
	uint8_t f[4000];

	sh("ip link set %s mtu 4000", vb);
	sh("ip link set %s mtu 4000", va);
	p = mk_va(1);
	ck_assert_int_eq(send(peer, f, frame(f, 3000, 1), 0), 3000); // > 2048-byte data room
	ck_assert_int_eq(send(peer, f, frame(f, 2048, 2), 0), 2048); // exactly the data room
	ck_assert_uint_eq(rx_wait(p, pkts, 1), 1);
	ck_assert_uint_eq(pkts[0]->len, 2048);
	ck_assert_mem_eq(pkt_data(pkts[0]), f, 2048);
	pkt_free(pkts[0]);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rx_drop_invalid, 1);
	ck_assert_uint_eq(st.rx_packets, 1);
	port_destroy(p);
}
END_TEST

// Sends one frame with a virtio_net_hdr from the peer, so the kernel builds a GSO or
// checksum-partial skb that crosses the veth as such.
static void peer_send_vnet(const struct virtio_net_hdr *vh, const uint8_t *f, unsigned len)
{
	static uint8_t buf[70000];
	int fd = peer_socket(true);

	memcpy(buf, vh, sizeof(*vh));
	memcpy(buf + sizeof(*vh), f, len);
	ck_assert_int_eq(send(fd, buf, sizeof(*vh) + len, 0), (int)(sizeof(*vh) + len));
	close(fd);
}

// Ethernet + IPv4 (10.0.0.1 -> 10.0.0.2) + TCP or UDP with payload bytes i*3; the L4 checksum
// field holds the pseudo-header sum (CHECKSUM_PARTIAL). Returns the frame length.
static unsigned l4_frame(uint8_t *f, bool tcp, unsigned payload)
{
	unsigned l4h = tcp ? 20 : 8, len = 34 + l4h + payload;
	struct net_ipv4_hdr ip = {
		.ver_ihl = 0x45, .ttl = 64, .proto = tcp ? NET_IPPROTO_TCP : NET_IPPROTO_UDP};
	uint16_t field;

	frame(f, 14, 0);
	net_put_be16(f + 12, NET_ETH_P_IPV4);
	ip.tot_len = net_htons((uint16_t)(20 + l4h + payload));
	ip.id = net_htons(0x1000);
	ip.src = net_htonl(0x0a000001);
	ip.dst = net_htonl(0x0a000002);
	ip.csum = net_ipv4_csum(&ip);
	memcpy(f + 14, &ip, 20);
	memset(f + 34, 0, l4h);
	net_put_be16(f + 34, 40000);
	net_put_be16(f + 36, 5001);
	if (tcp) {
		uint32_t seq = net_htonl(1000000);

		memcpy(f + 38, &seq, 4);
		f[46] = 5 << 4;
		f[47] = 0x18 | 0x01 | 0x80; // PSH ACK FIN CWR
		net_put_be16(f + 48, 65535);
	} else {
		net_put_be16(f + 38, (uint16_t)(8 + payload));
	}
	for (unsigned i = 0; i < payload; i++)
		f[34 + l4h + i] = (uint8_t)(i * 3);
	field = (uint16_t)~net_csum_fold(
		net_ipv4_pseudo_csum(&ip, ip.proto, (uint16_t)(l4h + payload)));
	memcpy(f + 34 + (tcp ? 16 : 6), &field, 2);
	return len;
}

static void check_l4_csum(struct pkt *p)
{
	const uint8_t *d = pkt_data(p);
	struct net_ipv4_hdr ip;
	unsigned l4len;

	ck_assert_uint_ne(p->flags & PKT_F_L4_CSUM_PARTIAL, 0);
	ck_assert_int_eq(port_csum_finalize(p), 0);
	memcpy(&ip, d + 14, 20);
	ck_assert_uint_eq(net_ipv4_csum(&ip), 0);
	l4len = net_ntohs(ip.tot_len) - 20;
	ck_assert_uint_eq(14 + 20 + l4len, p->len);
	ck_assert_uint_eq(net_csum_fold(net_csum_partial(d + 34, l4len,
				  net_ipv4_pseudo_csum(&ip, ip.proto, (uint16_t)l4len))),
		0);
}

START_TEST(test_csum_partial)
{
	struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_NONE,
		.csum_start = 34,
		.csum_offset = 6};
	struct port *p = mk_va(1);
	static uint8_t f[2048];
	struct pkt *pkt;
	unsigned len = l4_frame(f, false, 333);

	peer_send_vnet(&vh, f, len);
	ck_assert_uint_eq(rx_wait(p, &pkt, 1), 1);
	ck_assert_uint_eq(pkt->len, len);
	ck_assert_uint_eq(pkt->csum_start, 34);
	ck_assert_uint_eq(pkt->csum_off, 6);
	check_l4_csum(pkt);
	pkt_free(pkt);
	port_destroy(p);
}
END_TEST

START_TEST(test_gso_tcp)
{
	const unsigned mss = 1000, payload = 4500; // 4 full segments and one of 500
	struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = 54,
		.gso_size = mss,
		.csum_start = 34,
		.csum_offset = 16};
	struct port *p = mk_va(1);
	static uint8_t f[8192];
	struct pkt *pkts[8];
	struct port_stats st;

	l4_frame(f, true, payload);
	peer_send_vnet(&vh, f, 54 + payload);
	ck_assert_uint_eq(rx_wait(p, pkts, 5), 5);
	for (unsigned i = 0; i < 5; i++) {
		const uint8_t *d = pkt_data(pkts[i]);
		unsigned seg = i < 4 ? mss : 500;
		uint32_t seq;

		ck_assert_uint_eq(pkts[i]->len, 54 + seg);
		ck_assert_mem_eq(d, f, 14); // Ethernet header
		ck_assert_uint_eq(net_get_be16(d + 18), 0x1000 + i); // IPv4 id
		memcpy(&seq, d + 38, 4);
		ck_assert_uint_eq(net_ntohl(seq), 1000000 + i * mss);
		// PSH/FIN only on the last segment, CWR only on the first; ACK on all.
		ck_assert_uint_eq(d[47], (i == 0 ? 0x80 : 0) | 0x10 | (i == 4 ? 0x09 : 0));
		ck_assert_mem_eq(d + 54, f + 54 + i * mss, seg);
		check_l4_csum(pkts[i]);
	}
	pkt_free_bulk(pkts, 5);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rx_packets, 5);
	port_destroy(p);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_gso_udp_burst_split)
{
	// 40 segments: more than one burst of 32, the tail is delivered by the next burst.
	const unsigned mss = 200, payload = 40 * 200;
	struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = GSO_UDP_L4,
		.hdr_len = 42,
		.gso_size = mss,
		.csum_start = 34,
		.csum_offset = 6};
	struct port *p = mk_va(1);
	static uint8_t f[16384];
	struct pkt *pkts[64];
	unsigned got;

	l4_frame(f, false, payload);
	peer_send_vnet(&vh, f, 42 + payload);
	got = rx_wait(p, pkts, 32);
	ck_assert_uint_eq(got, 32);
	got += p->ops->rx_burst(p->rxq[0], pkts + 32, 32);
	ck_assert_uint_eq(got, 40);
	for (unsigned i = 0; i < 40; i++) {
		const uint8_t *d = pkt_data(pkts[i]);

		ck_assert_uint_eq(pkts[i]->len, 42 + mss);
		ck_assert_uint_eq(net_get_be16(d + 38), 8 + mss); // UDP length
		ck_assert_mem_eq(d + 42, f + 42 + i * mss, mss);
		check_l4_csum(pkts[i]);
	}
	pkt_free_bulk(pkts, 40);
	port_destroy(p);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_fanout_queues)
{
	struct port *p = mk_va(2);
	struct pkt *pkts[64];
	uint8_t f[128];
	unsigned per_q[2] = {0, 0}, got = 0;
	struct port_stats st;

	ck_assert_uint_eq(p->n_rxq, 2);
	ck_assert_uint_eq(p->n_txq, 2);
	// 64 flows (distinct IPv4 sources): the fanout hash spreads them over both sockets.
	for (unsigned i = 0; i < 64; i++) {
		unsigned len = l4_frame(f, false, 20);

		f[29] = (uint8_t)i; // vary the source address
		ck_assert_int_eq(send(peer, f, len, 0), (int)len);
	}
	for (int tries = 0; tries < 2000 && got < 64; tries++) {
		for (unsigned q = 0; q < 2; q++) {
			uint16_t k = p->ops->rx_burst(p->rxq[q], pkts, 32);

			per_q[q] += k;
			got += k;
			pkt_free_bulk(pkts, k);
		}
		usleep(1000);
	}
	ck_assert_uint_eq(got, 64);
	ck_assert_uint_gt(per_q[0], 0);
	ck_assert_uint_gt(per_q[1], 0);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rxq[0].packets, per_q[0]);
	ck_assert_uint_eq(st.rxq[1].packets, per_q[1]);
	// Both tx queues send.
	for (unsigned q = 0; q < 2; q++) {
		uint8_t buf[256];

		ck_assert_int_eq(pkt_alloc_bulk(pool, pkts, 1), 0);
		pkts[0]->len = frame(pkt_data(pkts[0]), 80, q);
		ck_assert_uint_eq(p->ops->tx_burst(p->txq[q], pkts, 1), 1);
		ck_assert_int_eq(peer_recv(peer, buf, sizeof(buf)), 80);
	}
	port_destroy(p);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_stop_start)
{
	struct port *p = mk_va(1);
	struct pkt *pkts[4];
	uint8_t f[128];
	struct err err = {0};

	port_stop(p);
	ck_assert_uint_eq(mempool_in_use(pool), 0); // stash returned
	ck_assert_int_eq(port_start(p, &err), 0);
	ck_assert_int_eq(send(peer, f, frame(f, 90, 9), 0), 90);
	ck_assert_uint_eq(rx_wait(p, pkts, 1), 1);
	ck_assert_mem_eq(pkt_data(pkts[0]), f, 90);
	pkt_free(pkts[0]);
	// Interface removed under the port: tx counts drops, nothing crashes.
	sh("ip link del %s", va);
	ck_assert_int_eq(pkt_alloc_bulk(pool, pkts, 1), 0);
	pkts[0]->len = 60;
	ck_assert_uint_eq(p->ops->tx_burst(p->txq[0], pkts, 1), 0);
	ck_assert(!p->ops->link_get(p));
	port_destroy(p);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

static Suite *af_packet_suite(void)
{
	Suite *s = suite_create("af_packet");
	TCase *tc = tcase_create("af_packet");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_attach);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_rx_tx);
	tcase_add_test(tc, test_vlan_kept);
	tcase_add_test(tc, test_oversize_counted);
	tcase_add_test(tc, test_csum_partial);
	tcase_add_test(tc, test_gso_tcp);
	tcase_add_test(tc, test_gso_udp_burst_split);
	tcase_add_test(tc, test_fanout_queues);
	tcase_add_test(tc, test_stop_start);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		printf("test_af_packet: skipped (needs root for veth and packet sockets)\n");
		return 77;
	}
	sr = srunner_create(af_packet_suite());
	log_set_level(LOG_LVL_ERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
