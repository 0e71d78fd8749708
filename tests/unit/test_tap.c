// SPDX-License-Identifier: Apache-2.0
// tap port in a private network namespace: the interface appears (up) on create and goes on
// destroy, frames cross in both directions through the kernel side (a packet socket on the
// tap), oversized frames are counted, options and errors. Needs root; exits 77 otherwise.
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mempool.h"
#include "dataplane/net.h"
#include "dataplane/pkt.h"
#include "drivers/port.h"

static struct mempool *pool;
static char name[IF_NAMESIZE];

static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

static void setup(void)
{
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	sh("echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6");
	sh("echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
	snprintf(name, sizeof(name), "vst%d", getpid() % 1000000);
	pool = pkt_pool_create("test_tap", 512, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
}

static void teardown(void)
{
	ck_assert_uint_eq(mempool_destroy(pool), 0);
}

static struct port *mk(const char *pname, const struct port_kv *kv, unsigned n, struct err *err)
{
	struct port tmpl = {.id = 5, .pool = pool};
	struct port *p = port_create(pname, "tap", kv, n, &tmpl, err);

	if (p != NULL)
		ck_assert_int_eq(port_start(p, err), 0);
	return p;
}

// A packet socket on the kernel side of the tap.
static int kside(const char *ifname)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)if_nametoindex(ifname)};
	int one = 1, fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

static unsigned frame(uint8_t *f, unsigned len, unsigned seed)
{
	memcpy(f, (uint8_t[]){0x02, 0, 0, 0, 0, 0xaa, 0x02, 0, 0, 0, 0, 0xbb}, 12);
	net_put_be16(f + 12, 0x88b5);
	for (unsigned i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i);
	return len;
}

static unsigned rx_wait(struct port *p, struct pkt **out, unsigned want)
{
	unsigned got = 0;

	for (int i = 0; i < 2000 && got < want; i++) {
		got += p->ops->rx_burst(p->rxq[0], out + got, (uint16_t)(want - got));
		if (got < want)
			usleep(1000);
	}
	return got;
}

static bool iface_up(const char *ifname)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	bool up;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	up = ifr.ifr_flags & IFF_UP;
	close(fd);
	return up;
}

START_TEST(test_exchange)
{
	struct err err = {0};
	struct port *p = mk(name, NULL, 0, &err); // interface named after the port
	struct port_stats st;
	struct pkt *pkts[8];
	uint8_t f[2048], buf[2048];
	int fd;

	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_uint_ne(if_nametoindex(name), 0);
	ck_assert(iface_up(name));
	ck_assert(p->ops->link_get(p));
	ck_assert_uint_eq(p->mtu, 1500);
	fd = kside(name);
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 8), 0); // nothing yet

	// Switch -> host: what we write the kernel receives on the tap.
	ck_assert_int_eq(pkt_alloc_bulk(pool, pkts, 2), 0);
	pkts[0]->len = frame(pkt_data(pkts[0]), 60, 1);
	pkts[1]->len = frame(pkt_data(pkts[1]), 1514, 2);
	ck_assert_uint_eq(p->ops->tx_burst(p->txq[0], pkts, 2), 2);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	for (unsigned i = 0; i < 2; i++) {
		unsigned len = i ? 1514 : 60;

		ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
		ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), (int)len);
		frame(f, len, i + 1);
		ck_assert_mem_eq(buf, f, len);
	}

	// Host -> switch: what the kernel sends out of the tap we read.
	ck_assert_int_eq(send(fd, f, frame(f, 100, 3), 0), 100);
	ck_assert_int_eq(send(fd, f, frame(f, 1514, 4), 0), 1514);
	ck_assert_uint_eq(rx_wait(p, pkts, 2), 2);
	ck_assert_uint_eq(pkts[0]->len, 100);
	frame(f, 100, 3);
	ck_assert_mem_eq(pkt_data(pkts[0]), f, 100);
	ck_assert_uint_eq(pkts[1]->len, 1514);
	frame(f, 1514, 4);
	ck_assert_mem_eq(pkt_data(pkts[1]), f, 1514);
	ck_assert_uint_eq(pkts[1]->in_port, 5);

	// Longer than the MTU: dropped at tx.
	pkts[0]->len = frame(pkt_data(pkts[0]), 1515, 5);
	ck_assert_uint_eq(p->ops->tx_burst(p->txq[0], pkts, 2), 1);
	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 1514);

	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.tx_packets, 3);
	ck_assert_uint_eq(st.tx_bytes, 60 + 1514 + 1514);
	ck_assert_uint_eq(st.tx_drop_mtu, 1);
	ck_assert_uint_eq(st.rx_packets, 2);
	ck_assert_uint_eq(st.rx_bytes, 100 + 1514);
	close(fd);
	port_destroy(p);
	ck_assert_uint_eq(if_nametoindex(name), 0); // removed with the port
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_oversize_and_mtu)
{
	struct err err = {0};
	struct port *p = mk(name, NULL, 0, &err);
	struct port_stats st;
	struct pkt *pkts[2];
	uint8_t f[4000];
	int fd;

	ck_assert_msg(p != NULL, "%s", err.msg);
	// The host raises the MTU behind our back: frames beyond the data room are counted.
	sh("ip link set %s mtu 4000", name);
	fd = kside(name);
	ck_assert_int_eq(send(fd, f, frame(f, 3000, 1), 0), 3000);
	ck_assert_int_eq(send(fd, f, frame(f, 200, 2), 0), 200);
	ck_assert_uint_eq(rx_wait(p, pkts, 1), 1);
	ck_assert_uint_eq(pkts[0]->len, 200);
	pkt_free(pkts[0]);
	ck_assert_int_eq(port_stats_get(p, &st), 0);
	ck_assert_uint_eq(st.rx_drop_invalid, 1);

	ck_assert_int_eq(p->ops->mtu_set(p, 1400, &err), 0);
	sh("ip link show %s | grep -q 'mtu 1400'", name);
	ck_assert_int_eq(p->ops->mtu_set(p, 5000, &err), -EINVAL);
	close(fd);
	port_destroy(p);
}
END_TEST

START_TEST(test_options)
{
	char iface[IF_NAMESIZE];
	struct port_kv kv[] = {{"iface", iface}, {"mac", "02:11:22:33:44:55"}};
	struct port_kv bad_mac[] = {{"mac", "03:11:22:33:44:55"}};
	struct port_kv long_name[] = {{"iface", "abcdefghijklmnop"}};
	const uint8_t want[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	struct err err = {0};
	struct ifreq ifr = {0};
	struct port *p;
	int fd;

	snprintf(iface, sizeof(iface), "vsx%d", getpid() % 1000000);
	p = mk("some-long-port-name-over-15", kv, 2, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_mem_eq(p->mac, want, 6);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	ck_assert_int_eq(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	close(fd);
	ck_assert_mem_eq(ifr.ifr_hwaddr.sa_data, want, 6);
	port_destroy(p);
	ck_assert_uint_eq(if_nametoindex(iface), 0);

	ck_assert_ptr_null(mk(name, bad_mac, 1, &err));
	ck_assert_str_eq(err.field, "mac");
	err_clear(&err);
	ck_assert_ptr_null(mk(name, long_name, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "too long"));
	err_clear(&err);
	// The default interface name is the port name: too long for Linux, with a hint.
	ck_assert_ptr_null(mk("some-long-port-name-over-15", NULL, 0, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "set iface="));
	err_clear(&err);
	// A name taken by a non-tap interface.
	sh("ip link add %s type veth peer name %sp", name, name);
	ck_assert_ptr_null(mk(name, NULL, 0, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot create tap interface"));
	ck_assert_uint_eq(mempool_in_use(pool), 0);
}
END_TEST

START_TEST(test_persistent_tap_stays)
{
	struct err err = {0};
	struct port *p;

	sh("ip tuntap add dev %s mode tap", name);
	p = mk(name, NULL, 0, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	port_destroy(p);
	ck_assert_uint_ne(if_nametoindex(name), 0); // created by the admin: left in place
}
END_TEST

static Suite *tap_suite(void)
{
	Suite *s = suite_create("tap");
	TCase *tc = tcase_create("tap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_exchange);
	tcase_add_test(tc, test_oversize_and_mtu);
	tcase_add_test(tc, test_options);
	tcase_add_test(tc, test_persistent_tap_stays);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		printf("test_tap: skipped (needs root to create tap interfaces)\n");
		return 77;
	}
	sr = srunner_create(tap_suite());
	log_set_level(LOG_LVL_ERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
