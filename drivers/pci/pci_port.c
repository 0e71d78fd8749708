// SPDX-License-Identifier: Apache-2.0
// The `pci` port type: a physical (or emulated) NIC driven from userspace. Parses the options,
// opens the device through the generic kernel driver it is bound to (VFIO or uio), picks the
// poll-mode driver by PCI ID, and gives the device back when the kernel asks for it (unbind)
// without stopping the daemon. The PMDs live in drivers/e1000e/ and drivers/virtio_net/.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "dataplane/rcu.h"
#include "drivers/pci/pci_port.h"

LOG_MODULE("pci");

#define PCI_PERIODIC_MS 1000
#define PCI_RELEASE_WAIT_US 50000

static const struct pci_pmd *const pci_pmds[] = {
	&e1000e_pmd,
	&virtio_net_pmd,
};

// Which port holds which device (control thread).
static struct {
	char addr[PCI_ADDR_SIZE];
	const struct pci_port *pp;
} pci_users[PORT_MAX];

// A release waiting for a grace period; pp is cleared when the port goes away first.
struct pci_release {
	struct pci_port *pp;
};

const char *pci_port_user(const char *addr)
{
	for (size_t i = 0; i < ARRAY_SIZE(pci_users); i++) {
		if (pci_users[i].pp != NULL && strcmp(pci_users[i].addr, addr) == 0)
			return pci_users[i].pp->port->name;
	}
	return NULL;
}

static void pci_user_set(const char *addr, const struct pci_port *pp, const struct pci_port *old)
{
	for (size_t i = 0; i < ARRAY_SIZE(pci_users); i++) {
		if (pci_users[i].pp == old) {
			snprintf(pci_users[i].addr, sizeof(pci_users[i].addr), "%s", addr);
			pci_users[i].pp = pp;
			return;
		}
	}
}

static uint16_t pci_rx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	return ((struct pci_fp *)q)->burst(q, pkts, n);
}

static uint16_t pci_tx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	return ((struct pci_fp *)q)->burst(q, pkts, n);
}

static const struct pci_pmd *pci_pmd_lookup(uint16_t vendor, uint16_t device)
{
	for (size_t i = 0; i < ARRAY_SIZE(pci_pmds); i++) {
		for (const uint16_t(*id)[2] = pci_pmds[i]->ids; (*id)[0] != 0; id++) {
			if ((*id)[0] == vendor && (*id)[1] == device)
				return pci_pmds[i];
		}
	}
	return NULL;
}

static void pci_pmd_list(char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(pci_pmds); i++) {
		for (const uint16_t(*id)[2] = pci_pmds[i]->ids; (*id)[0] != 0; id++) {
			int n = snprintf(buf + off, size - off, "%s%s %04x:%04x", off ? ", " : "",
				pci_pmds[i]->name, (*id)[0], (*id)[1]);
			if (n < 0 || (size_t)n >= size - off)
				return;
			off += (size_t)n;
		}
	}
}

// ---- device release (unbind while in use) ----

static void pci_port_detach(struct pci_port *pp)
{
	const struct port_env *env = port_env_get();

	if (pp->req_watch != NULL && env != NULL)
		env->fd_unwatch(pp->req_watch);
	pp->req_watch = NULL;
	if (pp->pmd != NULL && pp->pmd->detach != NULL)
		pp->pmd->detach(pp);
	pp->started = false;
	pci_dev_close(pp->dev);
	pp->dev = NULL;
	LOG_OBJ(ERR, pp->port->name,
		"device %s given back to the kernel; the port passes no traffic until it is "
		"deleted and added again",
		pp->addr);
}

static void pci_release_cb(void *arg)
{
	struct pci_release *r = arg;

	if (r->pp != NULL) {
		r->pp->release = NULL;
		pci_port_detach(r->pp);
	}
	free(r);
}

// The device must go (the kernel asked for it, or its driver changed): stop the workers using
// it, then after a grace period stop DMA and close it, which lets the kernel's unbind finish.
static void pci_port_release(struct pci_port *pp, const char *why)
{
	char msg[256];

	if (pp->released)
		return;
	pp->released = true;
	snprintf(msg, sizeof(msg), "device %s: %s", pp->addr, why);
	port_mark_broken(pp->port, msg);
	if (rcu_synchronize(PCI_RELEASE_WAIT_US) == 0) {
		pci_port_detach(pp);
		return;
	}
	// A worker is slow to quiesce: finish from the RCU callback.
	if ((pp->release = calloc(1, sizeof(*pp->release))) != NULL) {
		pp->release->pp = pp;
		if (rcu_defer(pci_release_cb, pp->release) == 0)
			return;
		free(pp->release);
		pp->release = NULL;
	}
	LOG_OBJ(ERR, pp->port->name, "cannot defer the release of %s; keeping the device",
		pp->addr);
}

static void pci_port_req_cb(int fd, void *arg)
{
	struct pci_port *pp = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno == EAGAIN)
		return;
	pci_port_release(pp, "the kernel asks for the device back (unbind from vfio-pci)");
}

static void pci_port_periodic(void *arg)
{
	struct pci_port *pp = arg;
	const struct port_env *env = port_env_get();
	struct pci_info info;

	pp->timer = NULL;
	if (!pp->released) {
		if (pci_info_get(pp->addr, &info) < 0)
			pci_port_release(pp, "the device disappeared");
		else if (strcmp(info.driver, pp->kdriver) != 0)
			pci_port_release(pp,
				info.driver[0] ? "the device was bound to another driver"
					       : "the device was unbound from its driver");
	}
	if (!pp->released && pp->pmd->periodic != NULL)
		pp->pmd->periodic(pp);
	if (!pp->released && pp->pmd->link_get != NULL) {
		bool link = pp->pmd->link_get(pp);

		if (link != pp->link)
			LOG_OBJ(NOTICE, pp->port->name, "link %s", link ? "up" : "down");
		pp->link = link;
	}
	if (env != NULL)
		pp->timer = env->timer_add(PCI_PERIODIC_MS, pci_port_periodic, pp);
}

// ---- port ops ----

static int pci_ring_size(struct port_args *args, const char *key, unsigned *out, struct err *err)
{
	int ret;

	*out = PCI_RING_DEFAULT;
	if ((ret = port_args_get_uint(args, key, PCI_RING_MIN, PCI_RING_MAX, out, err)) < 0)
		return ret;
	if ((*out & (*out - 1)) != 0)
		return err_set(err, -EINVAL, key,
			"port %s: option '%s' must be a power of two in %u..%u (got %u)",
			args->port_name, key, PCI_RING_MIN, PCI_RING_MAX, *out);
	return 0;
}

static int pci_probe(struct port *port, struct port_args *args, struct err *err)
{
	struct pci_port *pp = port->priv;
	const char *dev = port_args_get(args, "pci");
	const char *tok = port_args_get(args, "vf-token");
	const struct port_env *env = port_env_get();
	const char *user;
	struct pci_info info;
	char ids[256];
	int ret;

	pp->port = port;
	pp->n_rxq = 1;
	pp->promisc = true;
	if ((ret = port_args_get_uint(args, "rxq", 1, PORT_MAX_QUEUES, &pp->n_rxq, err)) < 0)
		return ret;
	pp->n_txq = pp->n_rxq;
	if ((ret = port_args_get_uint(args, "txq", 1, PORT_MAX_QUEUES, &pp->n_txq, err)) < 0 ||
		(ret = pci_ring_size(args, "rxd", &pp->rxd, err)) < 0 ||
		(ret = pci_ring_size(args, "txd", &pp->txd, err)) < 0 ||
		(ret = port_args_get_bool(args, "promisc", &pp->promisc, err)) < 0)
		return ret;
	if (port_args_get(args, "mac") != NULL) {
		if ((ret = port_args_get_mac(args, "mac", port->mac, err)) < 0)
			return ret;
		if (port->mac[0] & 1)
			return err_set(err, -EINVAL, "mac",
				"port %s: mac must be a unicast address (got a multicast one)",
				port->name);
		pp->mac_given = true;
	}
	if (tok != NULL) {
		if (vfio_vf_token_check(tok) < 0)
			return err_set(err, -EINVAL, "vf-token",
				"port %s: vf-token must be a UUID like "
				"14d63f20-8445-11ea-8900-1f9ce7d5650d (got '%s')",
				port->name, tok);
		snprintf(pp->vf_token, sizeof(pp->vf_token), "%s", tok);
	}
	if (dev == NULL)
		return err_set(err, -EINVAL, "pci",
			"port %s: option pci= is required (PCI address like 0000:00:04.0, or the "
			"kernel interface name of the NIC)",
			port->name);
	if ((ret = pci_addr_resolve(dev, pp->addr, "pci", err)) < 0)
		return ret;
	if ((user = pci_port_user(pp->addr)) != NULL)
		return err_set(err, -EBUSY, "pci", "port %s: %s is already used by port %s",
			port->name, pp->addr, user);
	if (pci_info_get(pp->addr, &info) == 0)
		snprintf(pp->kdriver, sizeof(pp->kdriver), "%s", info.driver);
	if ((pp->dev = pci_dev_open(pp->addr, tok, err)) == NULL)
		return -errno;
	if ((pp->pmd = pci_pmd_lookup(pp->dev->vendor, pp->dev->device)) == NULL) {
		pci_pmd_list(ids, sizeof(ids));
		return err_set(err, -ENOTSUP, "pci",
			"port %s: no poll-mode driver for %s (%04x:%04x); supported: %s",
			port->name, pp->addr, pp->dev->vendor, pp->dev->device, ids);
	}
	// Start from a clean device (function-level reset) where the kernel offers one; the PMD
	// resets the NIC its own way next anyway.
	if (pp->dev->ops->reset != NULL && (ret = pp->dev->ops->reset(pp->dev)) < 0 &&
		ret != -ENOTSUP)
		LOG_OBJ(WARN, port->name, "%s: function-level reset failed: %s, continuing",
			pp->addr, strerror(-ret));
	pp->max_mtu = 1500;
	if ((ret = pp->pmd->init(pp, err)) < 0)
		return ret;
	if (pp->n_rxq > pp->max_rxq)
		return err_set(err, -EINVAL, "rxq", "port %s: %s (%s) has at most %u rx queues",
			port->name, pp->addr, pp->pmd->name, pp->max_rxq);
	if (pp->n_txq > pp->max_txq)
		return err_set(err, -EINVAL, "txq", "port %s: %s (%s) has at most %u tx queues",
			port->name, pp->addr, pp->pmd->name, pp->max_txq);
	port->n_rxq = (uint16_t)pp->n_rxq;
	port->n_txq = (uint16_t)pp->n_txq;
	port->numa_node = pp->dev->numa_node;
	port->mtu = MIN(1500u, pp->max_mtu);
	pp->link = pp->pmd->link_get != NULL && pp->pmd->link_get(pp);
	pci_user_set(pp->addr, pp, NULL);
	if (env != NULL) {
		if (pp->dev->req_fd >= 0)
			pp->req_watch = env->fd_watch(pp->dev->req_fd, pci_port_req_cb, pp);
		pp->timer = env->timer_add(PCI_PERIODIC_MS, pci_port_periodic, pp);
	}
	LOG_OBJ(INFO, port->name,
		"%s: %s driver through %s, IOVA as %s, MAC "
		"%02x:%02x:%02x:%02x:%02x:%02x",
		pp->addr, pp->pmd->name, pci_access_name(pp->dev->access),
		mem_iova_mode_name(mem_iova_mode()), port->mac[0], port->mac[1], port->mac[2],
		port->mac[3], port->mac[4], port->mac[5]);
	return 0;
}

static int pci_start(struct port *port, struct err *err)
{
	struct pci_port *pp = port->priv;
	int ret;

	if (pp->dev == NULL)
		return err_set(err, -ENODEV, "",
			"port %s: device %s was given back to the kernel; "
			"delete the port and add it again",
			port->name, pp->addr);
	if (pp->started)
		return 0;
	if ((ret = pp->pmd->start(pp, err)) < 0)
		return ret;
	pp->started = true;
	return 0;
}

static void pci_stop(struct port *port)
{
	struct pci_port *pp = port->priv;

	if (pp->started && pp->pmd != NULL)
		pp->pmd->stop(pp);
	pp->started = false;
}

static void pci_remove(struct port *port)
{
	struct pci_port *pp = port->priv;
	const struct port_env *env = port_env_get();

	if (pp == NULL)
		return;
	if (pp->release != NULL) {
		pp->release->pp = NULL; // the pending RCU callback now does nothing
		pp->release = NULL;
	}
	if (env != NULL) {
		if (pp->req_watch != NULL)
			env->fd_unwatch(pp->req_watch);
		if (pp->timer != NULL)
			env->timer_del(pp->timer);
	}
	pp->req_watch = NULL;
	pp->timer = NULL;
	if (pp->pmd != NULL && pp->pmd->fini != NULL)
		pp->pmd->fini(pp);
	pci_dev_close(pp->dev);
	pp->dev = NULL;
	pci_user_set("", NULL, pp);
}

static int pci_stats_get(struct port *port, struct port_stats *st)
{
	struct pci_port *pp = port->priv;

	if (pp->pmd == NULL || pp->pmd_priv == NULL)
		return 0;
	return pp->pmd->stats_get(pp, st);
}

static int pci_mtu_set(struct port *port, unsigned mtu, struct err *err)
{
	struct pci_port *pp = port->priv;

	if (mtu < 68 || mtu > pp->max_mtu)
		return err_set(err, -EINVAL, "mtu", "port %s: mtu %u out of range 68..%u for %s%s",
			port->name, mtu, pp->max_mtu, pp->pmd->name,
			pp->max_mtu < 9000 ? " (larger MTUs need memory.max-mtu above 1500)" : "");
	if (pp->pmd->mtu_set == NULL)
		return err_set(err, -EOPNOTSUPP, "mtu", "port %s: %s cannot change its MTU",
			port->name, pp->pmd->name);
	return pp->pmd->mtu_set(pp, mtu, err);
}

static int pci_reconfigure(struct port *port, struct port_args *args, struct err *err)
{
	struct pci_port *pp = port->priv;
	bool promisc = pp->promisc;
	uint8_t mac[6];
	int ret;

	if ((ret = port_args_get_bool(args, "promisc", &promisc, err)) < 0)
		return ret;
	if (promisc != pp->promisc) {
		if (pp->pmd->promisc_set == NULL)
			return err_set(err, -EOPNOTSUPP, "promisc",
				"port %s: %s cannot change promiscuous mode", port->name,
				pp->pmd->name);
		if ((ret = pp->pmd->promisc_set(pp, promisc, err)) < 0)
			return ret;
	}
	if (port_args_get(args, "mac") != NULL) {
		if ((ret = port_args_get_mac(args, "mac", mac, err)) < 0)
			return ret;
		if (mac[0] & 1)
			return err_set(err, -EINVAL, "mac",
				"port %s: mac must be a unicast address", port->name);
		if (pp->pmd->mac_set == NULL)
			return err_set(err, -EOPNOTSUPP, "mac", "port %s: %s cannot change its MAC",
				port->name, pp->pmd->name);
		if ((ret = pp->pmd->mac_set(pp, mac, err)) < 0)
			return ret;
		pp->mac_given = true;
	}
	return 0;
}

static bool pci_link_get(struct port *port)
{
	struct pci_port *pp = port->priv;

	if (pp->released || pp->pmd->link_get == NULL)
		return false;
	return pp->pmd->link_get(pp);
}

static void pci_status(struct port *port, port_status_emit_fn emit, void *ctx)
{
	struct pci_port *pp = port->priv;
	char buf[32];

	emit(ctx, "pci", pp->addr);
	emit(ctx, "pmd", pp->pmd->name);
	emit(ctx, "kernel_driver", pp->kdriver);
	emit(ctx, "iova_mode", mem_iova_mode_name(mem_iova_mode()));
	if (pp->dev != NULL) {
		emit(ctx, "access", pci_access_name(pp->dev->access));
		snprintf(buf, sizeof(buf), "%d", pp->dev->iommu_group);
		emit(ctx, "iommu_group", buf);
		if (pp->dev->access == PCI_ACCESS_VFIO) {
			snprintf(buf, sizeof(buf), "%u", vfio_dma_mappings());
			emit(ctx, "dma_mappings", buf);
		}
	} else {
		emit(ctx, "access", "released");
	}
	emit(ctx, "promisc", pp->promisc ? "true" : "false");
	if (pp->vf_token[0] != '\0')
		emit(ctx, "vf_token", "set");
	snprintf(buf, sizeof(buf), "%u", pp->rxd);
	emit(ctx, "rxd", buf);
	snprintf(buf, sizeof(buf), "%u", pp->txd);
	emit(ctx, "txd", buf);
	if (pp->pmd->status != NULL && pp->pmd_priv != NULL)
		pp->pmd->status(pp, emit, ctx);
}

const struct port_ops pci_port_ops = {
	.type = "pci",
	.priv_size = sizeof(struct pci_port),
	.help = "pci=DEV  the NIC: PCI address (0000:00:04.0) or its kernel interface name; it "
		"must be bound to vfio-pci (or uio_pci_generic): vsctl device bind DEV vfio-pci\n"
		"rxq=N  rx queues (default 1; e1000e: 2 with RSS, virtio-net: up to its queue "
		"pairs)\n"
		"txq=N  tx queues (default: rxq)\n"
		"rxd=N  rx ring size, a power of two 64..4096 (default 1024; virtio-net: at most "
		"the "
		"device's queue size)\n"
		"txd=N  tx ring size, a power of two 64..4096 (default 1024)\n"
		"mac=MAC  MAC address to use (default: the NIC's own)\n"
		"promisc=BOOL  receive frames for every MAC address (default: true, as a switch "
		"port needs)\n"
		"vf-token=UUID  VFIO SR-IOV VF token shared by a PF and its VFs",
	.probe = pci_probe,
	.start = pci_start,
	.stop = pci_stop,
	.remove = pci_remove,
	.rx_burst = pci_rx_burst,
	.tx_burst = pci_tx_burst,
	.stats_get = pci_stats_get,
	.mtu_set = pci_mtu_set,
	.reconfigure = pci_reconfigure,
	.link_get = pci_link_get,
	.status = pci_status,
};
