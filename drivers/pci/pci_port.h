// SPDX-License-Identifier: Apache-2.0
// The `pci` port type and its poll-mode drivers: what a PMD (e1000e, virtio-net, later igb and
// ixgbe) implements, and the port state it shares with pci_port.c, which handles options, the
// device (VFIO/UIO), IOVA mode, release on unbind and status. Not a public interface.
#ifndef VSWITCH_PCI_PORT_H
#define VSWITCH_PCI_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/pci.h"
#include "drivers/port.h"

#define PCI_RING_MIN 64
#define PCI_RING_MAX 4096
#define PCI_RING_DEFAULT 1024

// First member of every PMD queue: the port type's single rx_burst/tx_burst dispatch through it
// (one indirect call per burst; DPDK's rte_eth_fp_ops does the same).
struct pci_fp {
	port_rx_burst_fn burst;
};

struct pci_port;
struct pci_release;

// A poll-mode driver. Every op runs on the control thread; rx/tx bursts on workers.
struct pci_pmd {
	const char *name; // "e1000e"
	const uint16_t (*ids)[2]; // {vendor, device} pairs, terminated by {0, 0}
	// Maps BARs, resets and identifies the device, reads the MAC into port->mac and sets
	// pp->max_rxq/max_txq and the default MTU; must leave the device quiet (no DMA) on failure.
	int (*init)(struct pci_port *pp, struct err *err);
	// Allocates rings in DMA memory, fills rx rings from port->pool, enables the queues and
	// fills port->rxq[]/txq[]; may be called again after stop().
	int (*start)(struct pci_port *pp, struct err *err);
	// Stops DMA and frees ring buffers. Idempotent.
	void (*stop)(struct pci_port *pp);
	// Stops DMA, resets the device and forgets the BARs (they are about to be unmapped) but
	// keeps the counters: the device goes back to the kernel while the port stays. Idempotent.
	void (*detach)(struct pci_port *pp);
	// detach() if needed, then frees driver state. Never fails; half-init safe.
	void (*fini)(struct pci_port *pp);
	int (*stats_get)(struct pci_port *pp, struct port_stats *st);
	bool (*link_get)(struct pci_port *pp);
	int (*mtu_set)(struct pci_port *pp, unsigned mtu, struct err *err);
	int (*promisc_set)(struct pci_port *pp, bool on, struct err *err);
	int (*mac_set)(struct pci_port *pp, const uint8_t mac[6], struct err *err);
	// Driver status lines (negotiated features, link speed, hardware counters as hw_*).
	void (*status)(struct pci_port *pp, port_status_emit_fn emit, void *ctx);
	// Once a second (control thread): accumulate clear-on-read counters, follow the link.
	void (*periodic)(struct pci_port *pp);
};

struct pci_port {
	struct port *port;
	struct pci_dev *dev; // NULL once released
	const struct pci_pmd *pmd;
	void *pmd_priv; // owned by the PMD (init allocates, fini frees)
	char addr[PCI_ADDR_SIZE];
	char kdriver[PCI_DRIVER_SIZE]; // vfio-pci / uio_pci_generic at open time
	char vf_token[40];
	unsigned n_rxq, n_txq; // requested queues
	unsigned rxd, txd; // requested ring sizes
	unsigned max_rxq, max_txq; // set by the PMD's init
	unsigned max_mtu; // set by the PMD's init (the packet buffers may lower it)
	bool promisc;
	bool mac_given;
	bool started; // PMD start() succeeded and stop() has not run
	bool released; // device handed back to the kernel (unbind request or driver gone)
	bool link; // last link state seen by periodic()
	void *req_watch; // port_env fd watch on dev->req_fd
	void *timer; // port_env periodic timer
	struct pci_release *release; // pending deferred release, NULL if none
};

extern const struct pci_pmd e1000e_pmd;
extern const struct pci_pmd virtio_net_pmd;

// The port using PCI device addr, NULL if none (device.status "in use by").
const char *pci_port_user(const char *addr);

#endif
