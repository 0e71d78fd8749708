// SPDX-License-Identifier: Apache-2.0
// Kernel interface helpers (drivers/netdev.h) against a veth pair in a private network namespace
// (each test unshares its own): MTU, MAC, up/down and link state, each checked against what
// `ip link` reports, plus the errors for a missing interface, a too long name and a bad value.
// Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for unshare); exits 77 (skipped) otherwise.
#include <check.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/netdev.h"

static char va[IF_NAMESIZE], vb[IF_NAMESIZE], missing[IF_NAMESIZE];
static int fd = -1;

static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

// `ip -o link show dev NAME`, the independent view of the interface.
static void ip_link(const char *name, char *out, size_t size)
{
	char cmd[128];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "ip -o link show dev %s", name);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	ck_assert_int_eq(pclose(p), 0);
}

// The word after `key` in the `ip link` line ("mtu" -> "1500").
static void ip_link_word(const char *name, const char *key, char *out, size_t size)
{
	char line[1024], pat[64];
	const char *s;

	ip_link(name, line, sizeof(line));
	snprintf(pat, sizeof(pat), " %s ", key);
	ck_assert_msg((s = strstr(line, pat)) != NULL, "no '%s' in: %s", key, line);
	s += strlen(pat);
	snprintf(out, size, "%.*s", (int)strcspn(s, " \n"), s);
}

// Whether the `ip link` flag list (<BROADCAST,MULTICAST,UP,LOWER_UP>) holds `flag`.
static bool ip_link_flag(const char *name, const char *flag)
{
	char line[1024], list[256], *tok, *save = NULL;
	const char *s, *e;

	ip_link(name, line, sizeof(line));
	ck_assert_ptr_nonnull(s = strchr(line, '<'));
	ck_assert_ptr_nonnull(e = strchr(s, '>'));
	snprintf(list, sizeof(list), "%.*s", (int)(e - s - 1), s + 1);
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, flag) == 0)
			return true;
	return false;
}

// IFF_RUNNING follows the carrier through the kernel's link watch, a little later: poll.
static int link_wait(const char *name, int want)
{
	int ret = -1;

	for (int i = 0; i < 500; i++) {
		if ((ret = netdev_link_get(fd, name)) == want)
			break;
		usleep(10000);
	}
	return ret;
}

static void setup(void)
{
	// A namespace of our own: the veth pair dies with this (forked) test process.
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	snprintf(va, sizeof(va), "vna%d", getpid() % 1000000);
	snprintf(vb, sizeof(vb), "vnb%d", getpid() % 1000000);
	snprintf(missing, sizeof(missing), "vnx%d", getpid() % 1000000);
	sh("ip link add %s mtu 1500 type veth peer name %s mtu 1500", va, vb);
	fd = netdev_open();
	ck_assert_int_ge(fd, 0);
}

static void teardown(void)
{
	close(fd);
	fd = -1;
}

START_TEST(test_ifindex)
{
	int idx = netdev_ifindex_get(va);

	ck_assert_int_gt(idx, 0);
	ck_assert_int_eq(idx, (int)if_nametoindex(va));
	ck_assert_int_ne(netdev_ifindex_get(vb), idx);
	ck_assert_int_eq(netdev_ifindex_get("lo"), 1); // the first interface of every namespace
	sh("ip link del %s", va);
	ck_assert_int_eq(netdev_ifindex_get(va), -ENODEV);
	ck_assert_int_eq(netdev_ifindex_get(vb), -ENODEV); // the peer went with it
}
END_TEST

START_TEST(test_mtu)
{
	char word[32];
	unsigned mtu = 0;

	ck_assert_int_eq(netdev_mtu_get(fd, va, &mtu), 0);
	ck_assert_uint_eq(mtu, 1500);
	ck_assert_int_eq(netdev_mtu_set(fd, va, 9000), 0);
	ip_link_word(va, "mtu", word, sizeof(word));
	ck_assert_str_eq(word, "9000");
	ck_assert_int_eq(netdev_mtu_get(fd, va, &mtu), 0);
	ck_assert_uint_eq(mtu, 9000);
	// Set from outside: the getter reads the kernel, not a cache.
	sh("ip link set dev %s mtu 1280", va);
	ck_assert_int_eq(netdev_mtu_get(fd, va, &mtu), 0);
	ck_assert_uint_eq(mtu, 1280);
	// Values the kernel refuses (below the Ethernet minimum, above veth's maximum, beyond int).
	ck_assert_int_eq(netdev_mtu_set(fd, va, 10), -EINVAL);
	ck_assert_int_eq(netdev_mtu_set(fd, va, 1u << 20), -EINVAL);
	ck_assert_int_eq(netdev_mtu_set(fd, va, 0x80000000u), -EINVAL);
	ck_assert_int_eq(netdev_mtu_get(fd, va, &mtu), 0);
	ck_assert_uint_eq(mtu, 1280);
	// One end only: the peer keeps its own.
	ck_assert_int_eq(netdev_mtu_get(fd, vb, &mtu), 0);
	ck_assert_uint_eq(mtu, 1500);
}
END_TEST

START_TEST(test_mac)
{
	static const uint8_t want[6] = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
	static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
	uint8_t mac[6] = {0};
	unsigned hw_type = 0;
	char word[32], got[18];

	// The random address veth got matches what ip reports.
	ck_assert_int_eq(netdev_mac_get(fd, va, mac, &hw_type), 0);
	ck_assert_uint_eq(hw_type, ARPHRD_ETHER);
	snprintf(got, sizeof(got), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		mac[4], mac[5]);
	ip_link_word(va, "link/ether", word, sizeof(word));
	ck_assert_str_eq(got, word);
	ck_assert_int_eq(netdev_mac_set(fd, va, want), 0);
	ip_link_word(va, "link/ether", word, sizeof(word));
	ck_assert_str_eq(word, "02:00:5e:10:20:30");
	ck_assert_int_eq(netdev_mac_get(fd, va, mac, NULL), 0);
	ck_assert_mem_eq(mac, want, 6);
	// Ethernet refuses a multicast address; the address stays.
	ck_assert_int_eq(netdev_mac_set(fd, va, mcast), -EADDRNOTAVAIL);
	ck_assert_int_eq(netdev_mac_get(fd, va, mac, NULL), 0);
	ck_assert_mem_eq(mac, want, 6);
	// Not Ethernet: the hardware type tells (af_packet refuses such interfaces).
	ck_assert_int_eq(netdev_mac_get(fd, "lo", mac, &hw_type), 0);
	ck_assert_uint_eq(hw_type, ARPHRD_LOOPBACK);
}
END_TEST

START_TEST(test_up_down_link)
{
	unsigned flags = 0;

	ck_assert_int_eq(netdev_flags_get(fd, va, &flags), 0);
	ck_assert(!(flags & IFF_UP));
	ck_assert_int_eq(netdev_link_get(fd, va), 0);
	sh("ip link set dev %s promisc on", va);

	// Up, but the peer is down: no carrier, so no link.
	ck_assert_int_eq(netdev_up_set(fd, va, true), 1);
	ck_assert(ip_link_flag(va, "UP"));
	ck_assert_int_eq(netdev_up_set(fd, va, true), 0); // already up
	ck_assert_int_eq(netdev_flags_get(fd, va, &flags), 0);
	ck_assert(flags & IFF_UP);
	ck_assert(flags & IFF_PROMISC); // the other flags are kept
	ck_assert(!(flags & IFF_RUNNING));
	ck_assert_int_eq(netdev_link_get(fd, va), 0);

	// Both ends up: carrier on both sides.
	ck_assert_int_eq(netdev_up_set(fd, vb, true), 1);
	ck_assert_int_eq(link_wait(va, 1), 1);
	ck_assert_int_eq(link_wait(vb, 1), 1);
	ck_assert(ip_link_flag(va, "LOWER_UP"));

	// Down again: administratively down is no link, and the peer loses its carrier.
	ck_assert_int_eq(netdev_up_set(fd, va, false), 1);
	ck_assert(!ip_link_flag(va, "UP"));
	ck_assert(ip_link_flag(va, "PROMISC"));
	ck_assert_int_eq(netdev_up_set(fd, va, false), 0);
	ck_assert_int_eq(netdev_link_get(fd, va), 0);
	ck_assert_int_eq(link_wait(vb, 0), 0);
	ck_assert_int_eq(netdev_flags_get(fd, vb, &flags), 0);
	ck_assert(flags & IFF_UP);
}
END_TEST

START_TEST(test_missing_interface)
{
	static const uint8_t mac_new[6] = {0x02, 0, 0, 0, 0, 1};
	uint8_t mac[6];
	unsigned v = 12345;

	ck_assert_int_eq(netdev_ifindex_get(missing), -ENODEV);
	ck_assert_int_eq(netdev_mac_get(fd, missing, mac, NULL), -ENODEV);
	ck_assert_int_eq(netdev_mac_set(fd, missing, mac_new), -ENODEV);
	ck_assert_int_eq(netdev_mtu_get(fd, missing, &v), -ENODEV);
	ck_assert_uint_eq(v, 12345); // untouched on failure
	ck_assert_int_eq(netdev_mtu_set(fd, missing, 1500), -ENODEV);
	ck_assert_int_eq(netdev_flags_get(fd, missing, &v), -ENODEV);
	ck_assert_int_eq(netdev_up_set(fd, missing, true), -ENODEV);
	ck_assert_int_eq(netdev_link_get(fd, missing), -ENODEV);
	// A name of the original namespace is not visible here.
	ck_assert_int_eq(netdev_ifindex_get("vsctl-none0"), -ENODEV);
}
END_TEST

START_TEST(test_bad_names)
{
	// 16 characters: the kernel would see it cut to 15 (maybe another interface); refused.
	const char *longname = "abcdefghijklmnop";
	uint8_t mac[6] = {0x02, 0, 0, 0, 0, 2};
	unsigned v;

	ck_assert_int_eq(netdev_ifindex_get(longname), -ENAMETOOLONG);
	ck_assert_int_eq(netdev_mac_get(fd, longname, mac, NULL), -ENAMETOOLONG);
	ck_assert_int_eq(netdev_mac_set(fd, longname, mac), -ENAMETOOLONG);
	ck_assert_int_eq(netdev_mtu_get(fd, longname, &v), -ENAMETOOLONG);
	ck_assert_int_eq(netdev_mtu_set(fd, longname, 1500), -ENAMETOOLONG);
	ck_assert_int_eq(netdev_flags_get(fd, longname, &v), -ENAMETOOLONG);
	ck_assert_int_eq(netdev_up_set(fd, longname, true), -ENAMETOOLONG);
	ck_assert_int_eq(netdev_link_get(fd, longname), -ENAMETOOLONG);
	ck_assert_int_eq(netdev_mtu_get(fd, NULL, &v), -EINVAL);
	ck_assert_int_eq(netdev_ifindex_get(NULL), -EINVAL);
	ck_assert_int_eq(netdev_mtu_get(fd, "", &v), -ENODEV);
	// A closed socket is reported, not crashed on.
	ck_assert_int_eq(netdev_mtu_get(-1, va, &v), -EBADF);
}
END_TEST

static Suite *netdev_suite(void)
{
	Suite *s = suite_create("netdev");
	TCase *tc = tcase_create("netdev");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_ifindex);
	tcase_add_test(tc, test_mtu);
	tcase_add_test(tc, test_mac);
	tcase_add_test(tc, test_up_down_link);
	tcase_add_test(tc, test_missing_interface);
	tcase_add_test(tc, test_bad_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		printf("test_netdev: skipped (needs root for network namespaces and veth)\n");
		return 77;
	}
	sr = srunner_create(netdev_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
