// SPDX-License-Identifier: Apache-2.0
// vhost-user ports: `vhost-user` (we listen on path, QEMU connects) and `vhost-user-client` (QEMU
// listens, we connect and reconnect with back-off). This file is the port_ops glue, the options,
// and the UNIX socket served on the control thread through port_env; messages go to vhost_dev.c,
// packets to virtq.c. Port rx queue q = guest TX virtqueue 2q+1, port tx queue q = guest RX
// virtqueue 2q.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "drivers/port.h"
#include "drivers/vhost/vhost_dev.h"
#include "drivers/vhost/vhost_proto.h"
#include "drivers/vhost/virtq.h"
#include "drivers/vhost/virtq_packed.h"

LOG_MODULE("vhost");

#define VHOST_BACKOFF_MIN_MS 100
#define VHOST_BACKOFF_MAX_MS 5000
#define VHOST_MSGS_PER_WAKEUP 64 // then yield to the event loop (level-triggered: we come back)
#define VHOST_MTU_OVERHEAD 22 // Ethernet header + two VLAN tags, as the pipeline counts it

enum vhost_conn {
	VHOST_CONN_LISTENING, // server, no front-end
	VHOST_CONN_DISCONNECTED, // client, not connected yet
	VHOST_CONN_RECONNECTING, // client, waiting for the next attempt
	VHOST_CONN_CONNECTED,
};

static const char *const conn_names[] = {
	[VHOST_CONN_LISTENING] = "listening",
	[VHOST_CONN_DISCONNECTED] = "disconnected",
	[VHOST_CONN_RECONNECTING] = "reconnecting",
	[VHOST_CONN_CONNECTED] = "connected",
};

struct vhost_port {
	struct port *port;
	const struct port_env *env;
	bool client;
	bool started; // between ops start and stop
	bool removing;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool bound; // we created the socket file (server): unlink it on remove
	mode_t mode;
	uid_t owner; // (uid_t)-1: unchanged
	gid_t group;
	unsigned max_pairs;

	enum vhost_conn conn;
	int listen_fd;
	void *listen_watch;
	int conn_fd;
	void *conn_watch;
	void *timer;
	unsigned backoff_ms;
	int errfd; // workers signal guest errors here
	void *err_watch;
	void *kick_watch[VHOST_DEV_MAX_VRINGS];
	uint64_t n_sessions;
	char last_error[200];

	// Message being received: header + payload bytes so far, and the fds that came with them.
	uint8_t rx[VHOST_MSG_MAX];
	size_t rx_have;
	uint32_t rx_size; // payload size once the header is in
	int rx_fds[VHOST_FDS_MAX];
	unsigned rx_nfds;
	bool rx_fds_lost; // more fds than a message may carry, or truncated control data
	struct vhost_msg msg;

	struct vhost_dev dev;
	struct virtq *vqs; // [VHOST_DEV_MAX_VRINGS], cache aligned, never moved
};

extern const struct port_ops vhost_user_port_ops;
extern const struct port_ops vhost_user_client_port_ops;

// ---- fast path -------------------------------------------------------------------------------

static uint16_t vhost_rx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	// A cleared fast-path entry may hand us NULL while the burst function is still ours.
	if (unlikely(q == NULL))
		return 0;
	return virtq_dequeue_burst(q, pkts, n);
}

// Slow path for bursts carrying partial checksums: we do not offer guest checksum offload, so
// they are completed here (frames from a port that received them with NEEDS_CSUM).
static __noinline uint16_t vhost_tx_csum(struct virtq *vq, struct pkt **pkts, uint16_t n)
{
	struct pkt *ok[PKT_BURST];
	uint16_t sent = 0;

	for (uint16_t off = 0; off < n; off += PKT_BURST) {
		uint16_t chunk = MIN((uint16_t)(n - off), (uint16_t)PKT_BURST), m = 0;

		for (uint16_t j = 0; j < chunk; j++) {
			struct pkt *p = pkts[off + j];

			if ((p->flags & PKT_F_L4_CSUM_PARTIAL) && port_csum_finalize(p) < 0)
				continue; // freed by the caller, counted here
			ok[m++] = p;
		}
		virtq_count_tx_invalid(vq, chunk - m);
		sent += virtq_enqueue_burst(vq, ok, m);
	}
	return sent;
}

static uint16_t vhost_tx_burst(void *q, struct pkt **pkts, uint16_t n)
{
	uint32_t flags = 0;
	uint16_t sent = 0;

	for (uint16_t i = 0; i < n; i++)
		flags |= pkts[i]->flags;
	if (likely(q != NULL)) {
		if (unlikely(flags & PKT_F_L4_CSUM_PARTIAL))
			sent = vhost_tx_csum(q, pkts, n);
		else
			sent = virtq_enqueue_burst(q, pkts, n);
	}
	pkt_free_bulk(pkts, n);
	return sent;
}

// ---- socket helpers --------------------------------------------------------------------------

static void set_error(struct vhost_port *vp, const char *msg)
{
	size_t n = strnlen(msg, sizeof(vp->last_error) - 1); // long messages are cut, on purpose

	memmove(vp->last_error, msg, n);
	vp->last_error[n] = '\0';
}

static void rx_reset(struct vhost_port *vp)
{
	for (unsigned i = 0; i < vp->rx_nfds; i++)
		if (vp->rx_fds[i] >= 0)
			close(vp->rx_fds[i]);
	vp->rx_nfds = 0;
	vp->rx_have = 0;
	vp->rx_size = 0;
	vp->rx_fds_lost = false;
}

static void timer_cancel(struct vhost_port *vp)
{
	if (vp->timer != NULL && vp->env != NULL)
		vp->env->timer_del(vp->timer);
	vp->timer = NULL;
}

static void client_connect(struct vhost_port *vp);

static void reconnect_cb(void *arg)
{
	struct vhost_port *vp = arg;

	vp->timer = NULL; // fired: the handle is gone
	client_connect(vp);
}

static void schedule_reconnect(struct vhost_port *vp)
{
	unsigned ms = vp->backoff_ms ? vp->backoff_ms : VHOST_BACKOFF_MIN_MS;

	vp->conn = VHOST_CONN_RECONNECTING;
	vp->backoff_ms = MIN(ms * 2, (unsigned)VHOST_BACKOFF_MAX_MS);
	timer_cancel(vp);
	if ((vp->timer = vp->env->timer_add(ms, reconnect_cb, vp)) == NULL)
		LOG_OBJ(ERR, vp->port->name, "cannot arm the reconnect timer: %s", strerror(errno));
}

// Ends the session: queues stop, guest memory is unmapped, the front-end's fds are closed.
static void disconnect(struct vhost_port *vp, const char *why)
{
	if (vp->conn_fd < 0)
		return;
	LOG_OBJ(INFO, vp->port->name, "front-end disconnected: %s", why);
	set_error(vp, why);
	if (vp->env != NULL)
		vp->env->fd_unwatch(vp->conn_watch);
	vp->conn_watch = NULL;
	close(vp->conn_fd);
	vp->conn_fd = -1;
	rx_reset(vp);
	vhost_dev_reset(&vp->dev);
	if (vp->removing)
		return;
	if (vp->client) {
		schedule_reconnect(vp);
	} else {
		vp->conn = VHOST_CONN_LISTENING;
	}
}

static int send_all(int fd, const uint8_t *buf, size_t len)
{
	// Replies are at most 20 bytes and the front-end waits for them, so a short or blocked
	// send means the peer is gone or hostile: the caller disconnects.
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EAGAIN;
}

// A broken port that the front-end reset (new session, or every ring stopped) runs again.
static void maybe_port_reset(struct vhost_port *vp)
{
	struct port *port = vp->port;
	struct err err = {0};

	if (port->state != PORT_S_BROKEN || vp->dev.broken || !vp->started)
		return;
	if (port_start(port, &err) < 0) {
		LOG_OBJ(ERR, port->name, "cannot restart after a reset: %s", err.msg);
		return;
	}
	LOG_OBJ(NOTICE, port->name, "port reset by the front-end, traffic resumes");
	if (port->queues_changed)
		port->queues_changed(port);
}

// Handles the complete message in vp->rx. Returns 0, or -1 when the session must end.
static int process_message(struct vhost_port *vp)
{
	uint8_t out[VHOST_REPLY_MAX];
	size_t out_len = 0;
	struct err err = {0};
	int ret;

	ret = vhost_proto_parse(vp->rx, vp->rx_have, vp->rx_nfds, vp->dev.n_vrings, &vp->msg, &err);
	if (ret < 0) {
		uint32_t req;

		memcpy(&req, vp->rx, sizeof(req));
		LOG_RL(WARN, vp->port->name, "invalid message from the front-end: %s", err.msg);
		set_error(vp, err.msg);
		// A request whose answer we cannot give leaves the front-end waiting: end it.
		if (ret == -EPROTO || vhost_proto_has_reply(req))
			return -1;
		rx_reset(vp); // closes the fds
		if ((vp->msg.flags & VHOST_FLAG_NEED_REPLY) &&
			(vp->dev.protocol_features & VHOST_BIT(VHOST_PROTOCOL_F_REPLY_ACK))) {
			out_len = vhost_proto_reply_u64(out, req, 1);
			if (send_all(vp->conn_fd, out, out_len) < 0)
				return -1;
		}
		return 0;
	}
	LOG_OBJ(DEBUG, vp->port->name, "%s (%u bytes, %u fds)",
		vhost_proto_req_name(vp->msg.request), vp->msg.size, vp->rx_nfds);
	ret = vhost_dev_handle(&vp->dev, &vp->msg, vp->rx_fds, vp->rx_nfds, out, &out_len, &err);
	vp->rx_nfds = 0; // vhost_dev_handle took them
	if (ret < 0) {
		LOG_RL(WARN, vp->port->name, "%s refused: %s",
			vhost_proto_req_name(vp->msg.request), err.msg);
		set_error(vp, err.msg);
	}
	if (out_len > 0 && send_all(vp->conn_fd, out, out_len) < 0)
		return -1;
	if (vp->msg.request == VHOST_REQ_SET_MEM_TABLE && ret == 0)
		vp->backoff_ms = 0; // a session that got this far resets the reconnect back-off
	rx_reset(vp);
	maybe_port_reset(vp);
	return 0;
}

// Appends the fds of one recvmsg to the message being received.
static void collect_fds(struct vhost_port *vp, struct msghdr *mh)
{
	if (mh->msg_flags & MSG_CTRUNC)
		vp->rx_fds_lost = true;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		int *fds;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, fds + i, sizeof(fd));
			if (vp->rx_nfds < VHOST_FDS_MAX) {
				vp->rx_fds[vp->rx_nfds++] = fd;
			} else {
				close(fd);
				vp->rx_fds_lost = true;
			}
		}
	}
}

static void conn_readable(int fd, void *arg)
{
	struct vhost_port *vp = arg;
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_FDS_MAX)];
		struct cmsghdr align;
	} ctl;

	for (unsigned msgs = 0; msgs < VHOST_MSGS_PER_WAKEUP && vp->conn_fd == fd;) {
		size_t want = vp->rx_have < VHOST_HDR_SIZE
			? VHOST_HDR_SIZE - vp->rx_have
			: VHOST_HDR_SIZE + vp->rx_size - vp->rx_have;
		struct iovec iov = {.iov_base = vp->rx + vp->rx_have, .iov_len = want};
		struct msghdr mh = {.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.buf,
			.msg_controllen = sizeof(ctl.buf)};
		ssize_t n;

		if (want > 0) {
			n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				disconnect(vp, strerror(errno));
				return;
			}
			if (n == 0) {
				disconnect(vp, "connection closed by the front-end");
				return;
			}
			collect_fds(vp, &mh);
			vp->rx_have += (size_t)n;
		}
		if (vp->rx_have == VHOST_HDR_SIZE && vp->rx_size == 0) {
			struct err err = {0};
			uint32_t size;

			if (vhost_proto_hdr_check(vp->rx, &size, &err) < 0) {
				LOG_RL(WARN, vp->port->name,
					"invalid message from the front-end: %s", err.msg);
				disconnect(vp, err.msg);
				return;
			}
			vp->rx_size = size;
		}
		if (vp->rx_have < VHOST_HDR_SIZE || vp->rx_have < VHOST_HDR_SIZE + vp->rx_size)
			continue;
		if (vp->rx_fds_lost) {
			disconnect(vp, "message carried more file descriptors than allowed");
			return;
		}
		msgs++;
		if (process_message(vp) < 0) {
			disconnect(vp, vp->last_error[0] ? vp->last_error : "protocol error");
			return;
		}
	}
}

static int conn_attach(struct vhost_port *vp, int fd)
{
	vp->conn_fd = fd;
	rx_reset(vp);
	if ((vp->conn_watch = vp->env->fd_watch(fd, conn_readable, vp)) == NULL) {
		int ret = -errno;

		close(fd);
		vp->conn_fd = -1;
		return ret;
	}
	vp->conn = VHOST_CONN_CONNECTED;
	vp->n_sessions++;
	vp->last_error[0] = '\0';
	LOG_OBJ(INFO, vp->port->name, "front-end connected on %s", vp->path);
	return 0;
}

static void listen_readable(int fd, void *arg)
{
	struct vhost_port *vp = arg;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0)
		return;
	if (vp->conn_fd >= 0) {
		// One front-end per port: a second QEMU on the same socket is a configuration
		// error.
		LOG_RL(WARN, vp->port->name, "second front-end on %s refused: one is connected",
			vp->path);
		close(c);
		return;
	}
	if (conn_attach(vp, c) < 0)
		LOG_OBJ(ERR, vp->port->name, "cannot watch the connection: %s", strerror(errno));
}

static void client_connect(struct vhost_port *vp)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, ret;

	if (vp->removing || vp->conn_fd >= 0)
		return;
	memcpy(sa.sun_path, vp->path, strlen(vp->path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		set_error(vp, strerror(errno));
		schedule_reconnect(vp);
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		char msg[160];

		snprintf(msg, sizeof(msg), "connect %s: %s", vp->path, strerror(errno));
		LOG_OBJ(DEBUG, vp->port->name, "%s; retrying in %u ms", msg,
			vp->backoff_ms ? vp->backoff_ms : VHOST_BACKOFF_MIN_MS);
		set_error(vp, msg);
		close(fd);
		schedule_reconnect(vp);
		return;
	}
	if ((ret = conn_attach(vp, fd)) < 0) {
		LOG_OBJ(ERR, vp->port->name, "cannot watch the connection: %s", strerror(-ret));
		schedule_reconnect(vp);
	}
}

// ---- worker error and kick fds ---------------------------------------------------------------

static void err_readable(int fd, void *arg)
{
	struct vhost_port *vp = arg;
	enum virtq_error e;
	uint64_t v;
	unsigned i;
	char why[200];
	ssize_t r = read(fd, &v, sizeof(v));

	(void)r;
	if (!vhost_dev_collect_error(&vp->dev, &i, &e))
		return;
	snprintf(why, sizeof(why), "guest broke the vhost-user protocol on vring %u (guest %s): %s",
		i, (i & 1) ? "TX" : "RX", virtq_error_name(e));
	set_error(vp, why);
	// Tell the front-end too (QEMU logs vring errors it receives on this fd).
	if (vp->dev.vr[i].errfd >= 0) {
		uint64_t one = 1;

		r = write(vp->dev.vr[i].errfd, &one, sizeof(one));
	}
	port_mark_broken(vp->port, why);
}

static void kick_readable(int fd, void *arg)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v)); // we poll: kicks only need draining

	(void)r;
	(void)arg;
}

static void hook_kick_set(struct vhost_dev *dev, unsigned i, int fd)
{
	struct vhost_port *vp = dev->hooks.arg;

	if (vp->env == NULL)
		return;
	vp->env->fd_unwatch(vp->kick_watch[i]);
	vp->kick_watch[i] = NULL;
	if (fd >= 0 && (vp->kick_watch[i] = vp->env->fd_watch(fd, kick_readable, vp)) == NULL)
		LOG_RL(WARN, vp->port->name, "cannot watch the kick fd of vring %u: %s, ignoring",
			i, strerror(errno));
}

static void hook_queues_changed(struct vhost_dev *dev, unsigned n_pairs)
{
	struct vhost_port *vp = dev->hooks.arg;
	struct port *port = vp->port;

	port->n_rxq = (uint16_t)n_pairs;
	port->n_txq = (uint16_t)n_pairs;
	LOG_OBJ(INFO, port->name, "%u queue pair%s active", n_pairs, n_pairs > 1 ? "s" : "");
	if (vp->started && !vp->removing && port->queues_changed)
		port->queues_changed(port);
}

// ---- options ---------------------------------------------------------------------------------

static int parse_path(struct vhost_port *vp, struct port_args *args, struct err *err)
{
	const char *path = port_args_get(args, "path");
	size_t len;

	if (path == NULL || *path == '\0')
		return err_set(err, -EINVAL, "path",
			"port %s: option 'path' (the vhost-user socket) is required",
			vp->port->name);
	len = strlen(path);
	if (len >= sizeof(vp->path))
		return err_set(err, -ENAMETOOLONG, "path",
			"port %s: socket path is %zu bytes, a UNIX socket path holds at most %zu "
			"(choose a shorter directory)",
			vp->port->name, len, sizeof(vp->path) - 1);
	if (path[0] != '/')
		return err_set(err, -EINVAL, "path", "port %s: socket path '%s' must be absolute",
			vp->port->name, path);
	memcpy(vp->path, path, len + 1);
	return 0;
}

static int parse_perm(struct vhost_port *vp, struct port_args *args, mode_t *mode, uid_t *owner,
	gid_t *group, struct err *err)
{
	const char *m = port_args_get(args, "mode");
	const char *o = port_args_get(args, "owner");
	const char *g = port_args_get(args, "group");
	char *end;

	if (m != NULL) {
		unsigned long v;

		errno = 0;
		v = strtoul(m, &end, 8);
		if (*m < '0' || *m > '7' || *end != '\0' || errno != 0 || v > 0777)
			return err_set(err, -EINVAL, "mode",
				"port %s: option 'mode' must be octal permissions like 0660 (got "
				"'%s')",
				vp->port->name, m);
		*mode = (mode_t)v;
	}
	if (o != NULL) {
		struct passwd *pw = getpwnam(o);
		unsigned long v;

		if (pw != NULL) {
			*owner = pw->pw_uid;
		} else {
			errno = 0;
			v = strtoul(o, &end, 10);
			if (*o < '0' || *o > '9' || *end != '\0' || errno != 0 || v >= UINT32_MAX)
				return err_set(err, -EINVAL, "owner",
					"port %s: option 'owner': no user '%s'", vp->port->name, o);
			*owner = (uid_t)v;
		}
	}
	if (g != NULL) {
		struct group *gr = getgrnam(g);
		unsigned long v;

		if (gr != NULL) {
			*group = gr->gr_gid;
		} else {
			errno = 0;
			v = strtoul(g, &end, 10);
			if (*g < '0' || *g > '9' || *end != '\0' || errno != 0 || v >= UINT32_MAX)
				return err_set(err, -EINVAL, "group",
					"port %s: option 'group': no group '%s'", vp->port->name,
					g);
			*group = (gid_t)v;
		}
	}
	return 0;
}

static int apply_perm(struct vhost_port *vp, struct err *err)
{
	if (chmod(vp->path, vp->mode) < 0)
		return err_set(err, -errno, "mode", "port %s: chmod %s: %s", vp->port->name,
			vp->path, strerror(errno));
	if ((vp->owner != (uid_t)-1 || vp->group != (gid_t)-1) &&
		chown(vp->path, vp->owner, vp->group) < 0)
		return err_set(err, -errno, "owner", "port %s: chown %s: %s", vp->port->name,
			vp->path, strerror(errno));
	return 0;
}

// Creates the listening socket. A stale socket file left by a dead process is replaced; one a
// live process listens on, or any other kind of file, is an error.
static int server_listen(struct vhost_port *vp, struct err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	memcpy(sa.sun_path, vp->path, strlen(vp->path) + 1);
	if (lstat(vp->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(err, -EEXIST, "path",
				"port %s: %s exists and is not a socket", vp->port->name, vp->path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return err_set(err, -errno, "path", "port %s: socket: %s", vp->port->name,
				strerror(errno));
		ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (ret == 0)
			return err_set(err, -EADDRINUSE, "path",
				"port %s: another process serves %s", vp->port->name, vp->path);
		if (unlink(vp->path) < 0 && errno != ENOENT)
			return err_set(err, -errno, "path", "port %s: cannot remove stale %s: %s",
				vp->port->name, vp->path, strerror(errno));
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return err_set(err, -errno, "path", "port %s: socket: %s", vp->port->name,
			strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = err_set(err, -errno, "path", "port %s: bind %s: %s", vp->port->name, vp->path,
			strerror(errno));
		close(fd);
		return ret;
	}
	vp->bound = true;
	vp->listen_fd = fd;
	if ((ret = apply_perm(vp, err)) < 0)
		return ret;
	if (listen(fd, 4) < 0)
		return err_set(err, -errno, "path", "port %s: listen %s: %s", vp->port->name,
			vp->path, strerror(errno));
	if ((vp->listen_watch = vp->env->fd_watch(fd, listen_readable, vp)) == NULL)
		return err_set(err, -errno, "path", "port %s: cannot watch %s: %s", vp->port->name,
			vp->path, strerror(errno));
	vp->conn = VHOST_CONN_LISTENING;
	return 0;
}

// ---- port_ops --------------------------------------------------------------------------------

static void port_default_mac(struct port *port)
{
	uint32_t h = 2166136261u;

	for (const char *c = port->name; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	port->mac[0] = 0x02; // locally administered, unicast
	port->mac[1] = 0x76; // 'v'
	port->mac[2] = (uint8_t)(h >> 24);
	port->mac[3] = (uint8_t)(h >> 16);
	port->mac[4] = (uint8_t)(h >> 8);
	port->mac[5] = (uint8_t)h;
}

static int vhost_probe(struct port *port, struct port_args *args, struct err *err)
{
	struct vhost_port *vp = port->priv;
	struct vhost_dev_hooks hooks = {
		.kick_set = hook_kick_set, .queues_changed = hook_queues_changed, .arg = vp};
	unsigned pairs = PORT_MAX_QUEUES;
	int ret;

	vp->port = port;
	vp->client = port->ops == &vhost_user_client_port_ops;
	vp->listen_fd = -1;
	vp->conn_fd = -1;
	vp->errfd = -1;
	vp->mode = 0600;
	vp->owner = (uid_t)-1;
	vp->group = (gid_t)-1;
	if ((vp->env = port_env_get()) == NULL)
		return err_set(err, -ENOTSUP, "type",
			"port %s: vhost-user ports need the daemon's control loop", port->name);
	if ((ret = parse_path(vp, args, err)) < 0)
		return ret;
	if (!vp->client && (ret = parse_perm(vp, args, &vp->mode, &vp->owner, &vp->group, err)) < 0)
		return ret;
	if ((ret = port_args_get_uint(args, "queues", 1, PORT_MAX_QUEUES, &pairs, err)) < 0)
		return ret;
	vp->max_pairs = pairs;

	vp->vqs = aligned_alloc(CACHE_LINE_SIZE, sizeof(struct virtq) * VHOST_DEV_MAX_VRINGS);
	if (vp->vqs == NULL)
		return err_set(err, -ENOMEM, "", "port %s: out of memory", port->name);
	if ((vp->errfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return err_set(
			err, -errno, "", "port %s: eventfd: %s", port->name, strerror(errno));
	for (unsigned i = 0; i < VHOST_DEV_MAX_VRINGS; i++)
		virtq_init(&vp->vqs[i], port->id, (uint16_t)(i / 2), vp->errfd);
	vhost_dev_init(&vp->dev, port->name, vp->vqs, pairs, port->pool, &hooks);
	if ((vp->err_watch = vp->env->fd_watch(vp->errfd, err_readable, vp)) == NULL)
		return err_set(err, -errno, "", "port %s: cannot watch eventfd: %s", port->name,
			strerror(errno));

	port->n_rxq = 1;
	port->n_txq = 1;
	// Fewer guest queues than workers is normal (the guest picks): serialise tx.
	port->txq_shared = true;
	port_default_mac(port);
	if (vp->client) {
		vp->conn = VHOST_CONN_DISCONNECTED;
		client_connect(vp);
		return 0;
	}
	return server_listen(vp, err);
}

static int vhost_start(struct port *port, struct err *err)
{
	struct vhost_port *vp = port->priv;

	if (port->pool == NULL)
		return err_set(
			err, -EINVAL, "", "port %s: no packet pool to receive into", port->name);

	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
		port->rxq[q] = &vp->vqs[2 * q + 1];
		port->txq[q] = &vp->vqs[2 * q];
	}
	// The datapath may have switched pools after probe (NUMA); queues pick it up on restart.
	vp->dev.pool = port->pool;
	port->n_rxq = (uint16_t)vp->dev.n_pairs;
	port->n_txq = (uint16_t)vp->dev.n_pairs;
	vp->started = true;
	return 0;
}

static void vhost_stop(struct port *port)
{
	struct vhost_port *vp = port->priv;

	// Workers stopped polling already; the session (and the guest's rings) stay up.
	vp->started = false;
}

static void vhost_remove(struct port *port)
{
	struct vhost_port *vp = port->priv;

	if (vp == NULL || vp->port == NULL)
		return;
	vp->removing = true;
	timer_cancel(vp);
	if (vp->vqs != NULL)
		disconnect(vp, "port removed");
	if (vp->env != NULL) {
		vp->env->fd_unwatch(vp->listen_watch);
		vp->env->fd_unwatch(vp->err_watch);
		for (unsigned i = 0; i < VHOST_DEV_MAX_VRINGS; i++)
			vp->env->fd_unwatch(vp->kick_watch[i]);
	}
	if (vp->listen_fd >= 0)
		close(vp->listen_fd);
	if (vp->bound)
		unlink(vp->path);
	if (vp->errfd >= 0)
		close(vp->errfd);
	free(vp->vqs);
	vp->vqs = NULL;
}

static int vhost_stats_get(struct port *port, struct port_stats *st)
{
	struct vhost_port *vp = port->priv;

	for (unsigned q = 0; q < PORT_MAX_QUEUES; q++) {
		struct virtq_stats_snap rx, tx;

		virtq_stats_read(&vp->vqs[2 * q + 1], &rx);
		virtq_stats_read(&vp->vqs[2 * q], &tx);
		st->rx_packets += rx.packets;
		st->rx_bytes += rx.bytes;
		st->rx_drop_nobuf += rx.drop_nobuf;
		st->rx_drop_invalid += rx.drop_invalid + rx.drop_oversize;
		st->tx_packets += tx.packets;
		st->tx_bytes += tx.bytes;
		st->tx_drop_full += tx.drop_full;
		st->tx_drop_down += tx.drop_down;
		st->tx_errors += tx.drop_invalid;
		st->rxq[q].packets = rx.packets;
		st->rxq[q].bytes = rx.bytes;
		st->rxq[q].drops = rx.drop_nobuf + rx.drop_invalid + rx.drop_oversize;
		st->rxq[q].errors = rx.drop_invalid;
		st->txq[q].packets = tx.packets;
		st->txq[q].bytes = tx.bytes;
		st->txq[q].drops = tx.drop_full + tx.drop_down + tx.drop_invalid;
		st->txq[q].errors = tx.drop_invalid;
	}
	st->n_rxq = port->n_rxq;
	st->n_txq = port->n_txq;
	return 0;
}

static int vhost_mtu_set(struct port *port, unsigned mtu, struct err *err)
{
	unsigned room = port->pool ? pkt_pool_data_room(port->pool) : PKT_DATA_ROOM_JUMBO;

	if (mtu < 68 || mtu + VHOST_MTU_OVERHEAD > room)
		return err_set(err, -EINVAL, "mtu",
			"port %s: mtu %u out of range 68..%u (packet buffers hold %u bytes; raise "
			"the "
			"daemon's max-mtu for jumbo frames)",
			port->name, mtu, room - VHOST_MTU_OVERHEAD, room);
	port->mtu = mtu;
	return 0;
}

static int vhost_reconfigure(struct port *port, struct port_args *args, struct err *err)
{
	struct vhost_port *vp = port->priv;
	const char *path = port_args_get(args, "path");
	mode_t mode = vp->mode;
	uid_t owner = vp->owner;
	gid_t group = vp->group;
	int ret;

	if (path != NULL && strcmp(path, vp->path) != 0)
		return err_set(err, -EOPNOTSUPP, "path",
			"port %s: the socket path cannot change at run time (remove and re-add the "
			"port)",
			port->name);
	if (vp->client)
		return 0;
	if ((ret = parse_perm(vp, args, &mode, &owner, &group, err)) < 0)
		return ret;
	vp->mode = mode;
	vp->owner = owner;
	vp->group = group;
	return apply_perm(vp, err);
}

static bool vhost_link_get(struct port *port)
{
	struct vhost_port *vp = port->priv;

	return vp->conn == VHOST_CONN_CONNECTED && !vp->dev.broken &&
		vhost_dev_n_running(&vp->dev) > 0;
}

// "running (size 256, avail 1234, used 1230)": where a stuck queue stands, avail - used being
// what the guest posted and we did not take yet (the ring memory stays mapped while the vring
// runs). Split: the guest's ring indices. Packed: descriptors we took (free-running) and those
// still marked available after them.
static void vring_state(struct vhost_port *vp, unsigned i, char *buf, size_t size)
{
	const struct virtq *vq = &vp->vqs[i];
	uint16_t avail, used;

	if (!vp->dev.vr[i].running) {
		snprintf(buf, size, "stopped");
		return;
	}
	if (vq->packed) {
		uint16_t pending;

		virtq_packed_ring_state(vq, &used, &pending);
		avail = (uint16_t)(used + pending);
	} else {
		avail = atomic_load_explicit(&vq->avail->idx, memory_order_relaxed);
		used = atomic_load_explicit(&vq->used->idx, memory_order_relaxed);
	}
	snprintf(buf, size, "running (size %u, avail %u, used %u)", vq->size, avail, used);
}

static void vhost_status(struct port *port, port_status_emit_fn emit, void *ctx)
{
	struct vhost_port *vp = port->priv;
	char buf[256];
	unsigned running = vhost_dev_n_running(&vp->dev);

	emit(ctx, "state",
		vp->dev.broken || port->state == PORT_S_BROKEN ? "broken" : conn_names[vp->conn]);
	emit(ctx, "mode", vp->client ? "client" : "server");
	emit(ctx, "socket", vp->path);
	snprintf(buf, sizeof(buf), "0x%" PRIx64, vp->dev.features);
	emit(ctx, "features", buf);
	snprintf(buf, sizeof(buf), "0x%" PRIx64, vp->dev.protocol_features);
	emit(ctx, "protocol-features", buf);
	if (vp->conn == VHOST_CONN_CONNECTED)
		emit(ctx, "ring",
			(vp->dev.features & VHOST_BIT(VIRTIO_F_RING_PACKED)) ? "packed" : "split");
	snprintf(buf, sizeof(buf), "%u/%u", vp->dev.n_pairs, vp->dev.n_vrings / 2);
	emit(ctx, "queue-pairs", buf);
	snprintf(buf, sizeof(buf), "%u", running);
	emit(ctx, "vrings-running", buf);
	snprintf(buf, sizeof(buf), "%u", vp->dev.mem ? vp->dev.mem->n : 0);
	emit(ctx, "memory-regions", buf);
	snprintf(buf, sizeof(buf), "%" PRIu64, vp->n_sessions);
	emit(ctx, "sessions", buf);
	uint64_t irq = 0, irq_skip = 0;

	for (unsigned i = 0; i < vp->dev.n_vrings; i++) {
		struct virtq_stats_snap s;

		virtq_stats_read(&vp->vqs[i], &s);
		irq += s.notify;
		irq_skip += s.notify_suppressed;
	}
	snprintf(buf, sizeof(buf), "%" PRIu64, irq);
	emit(ctx, "guest-interrupts", buf);
	snprintf(buf, sizeof(buf), "%" PRIu64, irq_skip);
	emit(ctx, "guest-interrupts-suppressed", buf);
	for (unsigned q = 0; q < vp->dev.n_pairs; q++) {
		char key[32], tx[64], rx[64];

		vring_state(vp, 2 * q + 1, tx, sizeof(tx));
		vring_state(vp, 2 * q, rx, sizeof(rx));
		snprintf(key, sizeof(key), "queue%u", q);
		snprintf(buf, sizeof(buf), "guest-tx %s, guest-rx %s", tx, rx);
		emit(ctx, key, buf);
	}
	if (vp->last_error[0])
		emit(ctx, "last-error", vp->last_error);
}

#define VHOST_HELP_COMMON \
	"path=SOCK  vhost-user UNIX socket path (required, absolute, at most 107 bytes)\n" \
	"queues=N  queue pairs offered to the guest (1-16, default 16)\n"

const struct port_ops vhost_user_port_ops = {
	.type = "vhost-user",
	.priv_size = sizeof(struct vhost_port),
	.help = VHOST_HELP_COMMON
	"mode=OCTAL  permissions of the socket we create (default 0600)\n"
	"owner=USER  owner of the socket (name or uid; default: the daemon's)\n"
	"group=GROUP  group of the socket (name or gid; default: the daemon's)",
	.probe = vhost_probe,
	.start = vhost_start,
	.stop = vhost_stop,
	.remove = vhost_remove,
	.rx_burst = vhost_rx_burst,
	.tx_burst = vhost_tx_burst,
	.stats_get = vhost_stats_get,
	.mtu_set = vhost_mtu_set,
	.reconfigure = vhost_reconfigure,
	.link_get = vhost_link_get,
	.status = vhost_status,
};

const struct port_ops vhost_user_client_port_ops = {
	.type = "vhost-user-client",
	.priv_size = sizeof(struct vhost_port),
	.help = VHOST_HELP_COMMON,
	.probe = vhost_probe,
	.start = vhost_start,
	.stop = vhost_stop,
	.remove = vhost_remove,
	.rx_burst = vhost_rx_burst,
	.tx_burst = vhost_tx_burst,
	.stats_get = vhost_stats_get,
	.mtu_set = vhost_mtu_set,
	.reconfigure = vhost_reconfigure,
	.link_get = vhost_link_get,
	.status = vhost_status,
};
