// SPDX-License-Identifier: Apache-2.0
// Kernel network interface helpers (netdev.h): SIOCGIF*/SIOCSIF* ioctls on a control socket,
// shared by the af_packet and tap drivers.
#include "drivers/netdev.h"

#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

// Zeroes ifr and sets its name, refusing a name the kernel would see truncated (that could be
// another interface's name).
static int netdev_ifr_init(struct ifreq *ifr, const char *name)
{
	if (name == NULL)
		return -EINVAL;
	if (strlen(name) >= sizeof(ifr->ifr_name))
		return -ENAMETOOLONG;
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	return 0;
}

static int netdev_ioctl(int fd, unsigned long req, struct ifreq *ifr)
{
	return ioctl(fd, req, ifr) < 0 ? -errno : 0;
}

int netdev_open(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

int netdev_ifindex_get(const char *name)
{
	struct ifreq ifr;
	unsigned idx;
	int ret;

	if ((ret = netdev_ifr_init(&ifr, name)) < 0)
		return ret;
	errno = 0;
	if ((idx = if_nametoindex(name)) == 0)
		return errno != 0 ? -errno : -ENODEV;
	return (int)idx;
}

int netdev_mac_get(int fd, const char *name, uint8_t mac[6], unsigned *hw_type)
{
	struct ifreq ifr;
	int ret;

	if ((ret = netdev_ifr_init(&ifr, name)) < 0 ||
		(ret = netdev_ioctl(fd, SIOCGIFHWADDR, &ifr)) < 0)
		return ret;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (hw_type != NULL)
		*hw_type = ifr.ifr_hwaddr.sa_family;
	return 0;
}

int netdev_mac_set(int fd, const char *name, const uint8_t mac[6])
{
	struct ifreq ifr;
	int ret;

	if ((ret = netdev_ifr_init(&ifr, name)) < 0)
		return ret;
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	return netdev_ioctl(fd, SIOCSIFHWADDR, &ifr);
}

int netdev_mtu_get(int fd, const char *name, unsigned *mtu)
{
	struct ifreq ifr;
	int ret;

	if ((ret = netdev_ifr_init(&ifr, name)) < 0 ||
		(ret = netdev_ioctl(fd, SIOCGIFMTU, &ifr)) < 0)
		return ret;
	*mtu = (unsigned)ifr.ifr_mtu;
	return 0;
}

int netdev_mtu_set(int fd, const char *name, unsigned mtu)
{
	struct ifreq ifr;
	int ret;

	if (mtu > INT32_MAX)
		return -EINVAL;
	if ((ret = netdev_ifr_init(&ifr, name)) < 0)
		return ret;
	ifr.ifr_mtu = (int)mtu;
	return netdev_ioctl(fd, SIOCSIFMTU, &ifr);
}

int netdev_flags_get(int fd, const char *name, unsigned *flags)
{
	struct ifreq ifr;
	int ret;

	if ((ret = netdev_ifr_init(&ifr, name)) < 0 ||
		(ret = netdev_ioctl(fd, SIOCGIFFLAGS, &ifr)) < 0)
		return ret;
	// ifr_flags is a short: keep the bits, not the sign.
	*flags = (unsigned short)ifr.ifr_flags;
	return 0;
}

int netdev_up_set(int fd, const char *name, bool up)
{
	struct ifreq ifr;
	int ret;

	// Read-modify-write: SIOCSIFFLAGS replaces every flag, and others (PROMISC...) must stay.
	if ((ret = netdev_ifr_init(&ifr, name)) < 0 ||
		(ret = netdev_ioctl(fd, SIOCGIFFLAGS, &ifr)) < 0)
		return ret;
	if (!!(ifr.ifr_flags & IFF_UP) == up)
		return 0;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	if ((ret = netdev_ioctl(fd, SIOCSIFFLAGS, &ifr)) < 0)
		return ret;
	return 1;
}

int netdev_link_get(int fd, const char *name)
{
	unsigned flags;
	int ret;

	if ((ret = netdev_flags_get(fd, name, &flags)) < 0)
		return ret;
	return (flags & IFF_UP) && (flags & IFF_RUNNING);
}
