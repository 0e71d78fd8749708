// SPDX-License-Identifier: Apache-2.0
// Kernel network interface helpers for the drivers that sit on a Linux interface (af_packet, tap):
// the interface index, MAC, MTU and up/running flags, read and set through ioctl()s on an
// AF_INET datagram socket. Control thread only (every call is a syscall).
//
// Every function returns 0 (or the documented non-negative value) or -errno: -ENODEV when no
// interface has that name, -ENAMETOOLONG when the name does not fit IF_NAMESIZE, -EPERM without
// CAP_NET_ADMIN for the setters, or what the kernel answered (-EINVAL for an MTU it refuses...).
// Messages are left to the callers, which know the port and option at fault.
#ifndef VSWITCH_NETDEV_H
#define VSWITCH_NETDEV_H

#include <stdbool.h>
#include <stdint.h>

// Opens the control socket the other calls take (close() it when done). Returns the fd or -errno.
int netdev_open(void);

// Index of interface `name` (> 0), or -ENODEV / -ENAMETOOLONG. Needs no control socket.
int netdev_ifindex_get(const char *name);

// MAC address of the interface; *hw_type (may be NULL) gets its ARP hardware type (ARPHRD_ETHER
// for Ethernet, which is all the drivers accept).
int netdev_mac_get(int fd, const char *name, uint8_t mac[6], unsigned *hw_type);
// Sets an Ethernet MAC address. Ethernet drivers refuse a multicast or zero address
// (-EADDRNOTAVAIL); some refuse any change while the interface is up (-EBUSY).
int netdev_mac_set(int fd, const char *name, const uint8_t mac[6]);

int netdev_mtu_get(int fd, const char *name, unsigned *mtu);
// -EINVAL (from the kernel) when the interface does not take that MTU.
int netdev_mtu_set(int fd, const char *name, unsigned mtu);

// IFF_* flags of the interface (net/if.h).
int netdev_flags_get(int fd, const char *name, unsigned *flags);
// Sets the interface administratively up or down. Returns 1 when it changed, 0 when it already
// was in that state, or -errno.
int netdev_up_set(int fd, const char *name, bool up);
// Link state as the drivers report it: 1 when the interface is up and running (carrier on),
// 0 when not, or -errno.
int netdev_link_get(int fd, const char *name);

#endif
