// SPDX-License-Identifier: Apache-2.0
// vhost-user ports through the generic port layer, with a real UNIX socket, a poll()-based
// port_env standing in for the control loop, and the test playing the front-end: options and
// their errors, a full session with traffic, split messages with fds, framing errors, a second
// front-end refused, a guest error that breaks the port until the front-end resets it, client
// mode reconnect back-off, and no fd left behind.
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/log.h"
#include "dataplane/mempool.h"
#include "dataplane/pkt.h"
#include "drivers/port.h"
#include "drivers/vhost/vhost_dev.h"
#include "vhost_guest.h"

// ---- a poll()-based port_env ----

#define MAX_WATCH 64

struct watch {
	int fd;
	void (*cb)(int fd, void *arg);
	void *arg;
	bool used;
};

struct timer {
	uint64_t due_ms;
	void (*cb)(void *arg);
	void *arg;
	bool used;
};

static struct watch watches[MAX_WATCH];
static struct timer timers[8];
static unsigned timer_ms_log[32], n_timer_ms;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *env_fd_watch(int fd, void (*cb)(int fd, void *arg), void *arg)
{
	for (int i = 0; i < MAX_WATCH; i++) {
		if (!watches[i].used) {
			watches[i] = (struct watch){fd, cb, arg, true};
			return &watches[i];
		}
	}
	errno = ENOSPC;
	return NULL;
}

static void env_fd_unwatch(void *h)
{
	if (h != NULL)
		((struct watch *)h)->used = false;
}

static void *env_timer_add(unsigned ms, void (*cb)(void *arg), void *arg)
{
	if (n_timer_ms < 32)
		timer_ms_log[n_timer_ms++] = ms;
	for (int i = 0; i < 8; i++) {
		if (!timers[i].used) {
			timers[i] = (struct timer){now_ms() + ms, cb, arg, true};
			return &timers[i];
		}
	}
	errno = ENOSPC;
	return NULL;
}

static void env_timer_del(void *h)
{
	if (h != NULL)
		((struct timer *)h)->used = false;
}

static const struct port_env env = {env_fd_watch, env_fd_unwatch, env_timer_add, env_timer_del};

// Runs the "control loop" for about ms milliseconds.
static void env_run(unsigned ms)
{
	uint64_t end = now_ms() + ms;

	do {
		struct pollfd pfd[MAX_WATCH];
		struct watch *w[MAX_WATCH];
		int n = 0;

		for (int i = 0; i < MAX_WATCH; i++) {
			if (watches[i].used) {
				pfd[n] = (struct pollfd){.fd = watches[i].fd, .events = POLLIN};
				w[n++] = &watches[i];
			}
		}
		if (poll(pfd, n, 5) > 0) {
			for (int i = 0; i < n; i++)
				if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && w[i]->used)
					w[i]->cb(w[i]->fd, w[i]->arg);
		}
		for (int i = 0; i < 8; i++) {
			if (timers[i].used && now_ms() >= timers[i].due_ms) {
				timers[i].used = false;
				timers[i].cb(timers[i].arg);
			}
		}
	} while (now_ms() < end);
}

// ---- fixture ----

static struct mempool *pool;
static struct guest g;
static char dir[64], sock_path[96];
static unsigned fds_before, qc_calls;

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void on_queues_changed(struct port *p)
{
	qc_calls++;
}

static void setup(void)
{
	memset(watches, 0, sizeof(watches));
	memset(timers, 0, sizeof(timers));
	n_timer_ms = 0;
	qc_calls = 0;
	port_env_set(&env);
	pool = pkt_pool_create("vport", 256, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
	ck_assert_int_eq(guest_create(&g, true), 0);
	snprintf(dir, sizeof(dir), "/tmp/test_vhost_port.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/vu.sock", dir);
	fds_before = count_fds();
}

static void teardown(void)
{
	ck_assert_uint_eq(count_fds(), fds_before);
	guest_destroy(&g);
	ck_assert_uint_eq(mempool_destroy(pool), 0);
	rmdir(dir);
	port_env_set(NULL);
}

static struct port *mk(const char *type, const struct port_kv *kv, unsigned n, struct err *err)
{
	struct port tmpl = {.id = 5, .pool = pool, .queues_changed = on_queues_changed};

	return port_create("vp0", type, kv, n, &tmpl, err);
}

// ---- the front-end side ----

static int fe_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

// Sends bytes [off, off+len) of a message with fds attached to that piece.
static void fe_send_raw(int fd, const void *buf, size_t len, const int *fds, unsigned n_fds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n_fds > 0) {
		struct cmsghdr *c;

		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	ck_assert_int_eq(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static size_t wire(uint8_t *out, uint32_t req, uint32_t flags, const void *p, uint32_t size)
{
	uint32_t h[3] = {req, VHOST_FLAG_VERSION | flags, size};

	memcpy(out, h, 12);
	if (size)
		memcpy(out + 12, p, size);
	return 12 + size;
}

static void fe_send(
	int fd, uint32_t req, const void *p, uint32_t size, const int *fds, unsigned n_fds)
{
	uint8_t b[VHOST_MSG_MAX];

	fe_send_raw(fd, b, wire(b, req, 0, p, size), fds, n_fds);
	env_run(20);
}

// Reads one reply (header + 8 bytes) and returns its u64 payload.
static uint64_t fe_reply(int fd, uint32_t req)
{
	uint8_t b[20];
	uint32_t h[3];
	uint64_t v;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (int i = 0; i < 100 && poll(&p, 1, 0) == 0; i++)
		env_run(10);
	ck_assert_int_eq(recv(fd, b, 20, MSG_WAITALL), 20);
	memcpy(h, b, 12);
	memcpy(&v, b + 12, 8);
	ck_assert_uint_eq(h[0], req);
	ck_assert_uint_eq(h[1], VHOST_FLAG_VERSION | VHOST_FLAG_REPLY);
	return v;
}

static struct gq gqs[2];

static void fe_setup_vring(int fd, unsigned i)
{
	struct vhost_vring_state st = {i, 64};
	struct vhost_vring_addr a = {.index = i};
	int kfd = eventfd(0, EFD_CLOEXEC), cfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t v = i;

	gq_init(&gqs[i], &g, 64);
	a.desc = gqs[i].desc_gpa + GUEST_UVA_OFF;
	a.avail = gqs[i].avail_gpa + GUEST_UVA_OFF;
	a.used = gqs[i].used_gpa + GUEST_UVA_OFF;
	fe_send(fd, VHOST_REQ_SET_VRING_NUM, &st, 8, NULL, 0);
	st.num = 0;
	fe_send(fd, VHOST_REQ_SET_VRING_BASE, &st, 8, NULL, 0);
	fe_send(fd, VHOST_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	fe_send(fd, VHOST_REQ_SET_VRING_KICK, &v, 8, &kfd, 1);
	fe_send(fd, VHOST_REQ_SET_VRING_CALL, &v, 8, &cfd, 1);
	st.num = 1;
	fe_send(fd, VHOST_REQ_SET_VRING_ENABLE, &st, 8, NULL, 0);
	close(kfd);
	close(cfd);
}

static void fe_session(int fd)
{
	uint64_t f = VHOST_BIT(VIRTIO_F_VERSION_1) | VHOST_BIT(VIRTIO_NET_F_MRG_RXBUF) |
		VHOST_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	uint64_t pf = VHOST_BIT(VHOST_PROTOCOL_F_MQ) | VHOST_BIT(VHOST_PROTOCOL_F_REPLY_ACK);
	uint8_t b[VHOST_MSG_MAX];
	size_t len;

	fe_send(fd, VHOST_REQ_SET_OWNER, NULL, 0, NULL, 0);
	fe_send(fd, VHOST_REQ_GET_FEATURES, NULL, 0, NULL, 0);
	ck_assert_uint_eq(fe_reply(fd, VHOST_REQ_GET_FEATURES), VHOST_DEV_FEATURES);
	fe_send(fd, VHOST_REQ_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0);
	fe_send(fd, VHOST_REQ_SET_FEATURES, &f, 8, NULL, 0);
	// The memory table in two pieces: header + fds first, payload later (partial reads).
	len = wire(b, VHOST_REQ_SET_MEM_TABLE, VHOST_FLAG_NEED_REPLY, &g.table, 8 + 2 * 32);
	fe_send_raw(fd, b, 7, g.fd, 2);
	env_run(10);
	fe_send_raw(fd, b + 7, len - 7, NULL, 0);
	ck_assert_uint_eq(fe_reply(fd, VHOST_REQ_SET_MEM_TABLE), 0); // REPLY_ACK: success
	fe_setup_vring(fd, 0);
	fe_setup_vring(fd, 1);
}

// ---- tests ----

struct status_capture {
	const char *key;
	char val[256];
};

static void capture(void *ctx, const char *key, const char *value)
{
	struct status_capture *c = ctx;

	if (strcmp(key, c->key) == 0)
		snprintf(c->val, sizeof(c->val), "%s", value);
}

static const char *status(struct port *p, const char *key)
{
	static struct status_capture c;

	c.key = key;
	c.val[0] = '\0';
	p->ops->status(p, capture, &c);
	return c.val;
}

START_TEST(test_options)
{
	char longp[200];
	struct port_kv kv[3];
	struct err err = {0};

	memset(longp, 'x', sizeof(longp));
	memcpy(longp, "/tmp/", 5);
	longp[150] = '\0';
	kv[0] = (struct port_kv){"path", longp};
	ck_assert_ptr_null(mk("vhost-user", kv, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "at most 107"));
	ck_assert_str_eq(err.field, "path");
	err_clear(&err);
	ck_assert_ptr_null(mk("vhost-user", NULL, 0, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "required"));
	err_clear(&err);
	kv[0] = (struct port_kv){"path", "relative.sock"};
	ck_assert_ptr_null(mk("vhost-user", kv, 1, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "absolute"));
	err_clear(&err);
	kv[0] = (struct port_kv){"path", sock_path};
	kv[1] = (struct port_kv){"mode", "0988"};
	ck_assert_ptr_null(mk("vhost-user", kv, 2, &err));
	ck_assert_str_eq(err.field, "mode");
	err_clear(&err);
	kv[1] = (struct port_kv){"owner", "no-such-user-here"};
	ck_assert_ptr_null(mk("vhost-user", kv, 2, &err));
	ck_assert_str_eq(err.field, "owner");
	err_clear(&err);
	kv[1] = (struct port_kv){"queues", "17"};
	ck_assert_ptr_null(mk("vhost-user", kv, 2, &err));
	err_clear(&err);
	kv[1] = (struct port_kv){"mode", "0600"};
	ck_assert_ptr_null(mk("vhost-user-client", kv, 2, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown option 'mode'"));
	err_clear(&err);
	// A regular file where the socket should go is not replaced.
	close(creat(sock_path, 0600));
	kv[1] = (struct port_kv){"queues", "2"};
	ck_assert_ptr_null(mk("vhost-user", kv, 2, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "not a socket"));
	unlink(sock_path);
	// Without the daemon's control loop, there is no way to serve the socket.
	port_env_set(NULL);
	err_clear(&err);
	ck_assert_ptr_null(mk("vhost-user", kv, 1, &err));
	port_env_set(&env);
}
END_TEST

START_TEST(test_server_session)
{
	struct port_kv kv[] = {{"path", sock_path}, {"mode", "0640"}, {"queues", "2"}};
	struct err err = {0};
	struct pkt *pkts[8];
	struct stat st;
	struct port_stats ps;
	uint64_t gpa;
	struct port *p = mk("vhost-user", kv, 3, &err);
	int fd, fd2;

	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_int_eq(port_start(p, &err), 0);
	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	ck_assert_str_eq(status(p, "state"), "listening");
	ck_assert(!p->ops->link_get(p));

	fd = fe_connect();
	env_run(20);
	ck_assert_str_eq(status(p, "state"), "connected");
	// A second front-end on the same socket is refused (closed at once).
	fd2 = fe_connect();
	env_run(20);
	{
		char c;

		ck_assert_int_eq(recv(fd2, &c, 1, MSG_DONTWAIT), 0);
		close(fd2);
	}
	fe_session(fd);
	ck_assert_str_eq(status(p, "vrings-running"), "2");
	ck_assert_str_eq(status(p, "queue-pairs"), "1/2");
	ck_assert(p->ops->link_get(p));
	ck_assert_uint_eq(p->n_rxq, 1);

	// Guest TX -> port rx, port tx -> guest RX (the port frees what it sends).
	gq_post(&gqs[1], 12 + 60, false, &gpa);
	memset(guest_ptr(&g, gpa), 0, 12 + 60);
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 8), 1);
	ck_assert_uint_eq(pkts[0]->len, 60);
	ck_assert_uint_eq(pkts[0]->in_port, 5);
	gq_post(&gqs[0], 2048, true, NULL);
	gq_post(&gqs[0], 2048, true, NULL);
	pkts[1] = pkt_alloc(pool);
	pkt_append(pkts[1], 100);
	ck_assert_uint_eq(p->ops->tx_burst(p->txq[0], pkts, 2), 2);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
	ck_assert_int_eq(port_stats_get(p, &ps), 0);
	ck_assert_uint_eq(ps.rx_packets, 1);
	ck_assert_uint_eq(ps.tx_packets, 2);
	ck_assert_uint_eq(ps.txq[0].bytes, 160);

	// The front-end goes away: queues stop, memory is unmapped, back to listening.
	close(fd);
	env_run(30);
	ck_assert_str_eq(status(p, "state"), "listening");
	ck_assert_str_eq(status(p, "vrings-running"), "0");
	pkts[0] = pkt_alloc(pool);
	ck_assert_uint_eq(p->ops->tx_burst(p->txq[0], pkts, 1), 0);
	ck_assert_int_eq(port_stats_get(p, &ps), 0);
	ck_assert_uint_eq(ps.tx_drop_down, 1);

	// A new session works the same.
	fd = fe_connect();
	env_run(20);
	fe_session(fd);
	ck_assert_str_eq(status(p, "sessions"), "2");
	close(fd);
	env_run(20);
	port_destroy(p);
	ck_assert_int_eq(stat(sock_path, &st), -1); // socket file removed with the port
}
END_TEST

START_TEST(test_framing_error)
{
	struct port_kv kv[] = {{"path", sock_path}};
	struct err err = {0};
	struct port *p = mk("vhost-user", kv, 1, &err);
	uint32_t bad[3] = {VHOST_REQ_SET_OWNER, 2, 0}; // protocol version 2
	char c;
	int fd;

	ck_assert_int_eq(port_start(p, &err), 0);
	fd = fe_connect();
	env_run(20);
	fe_send_raw(fd, bad, 12, NULL, 0);
	env_run(20);
	ck_assert_int_eq(recv(fd, &c, 1, MSG_DONTWAIT), 0); // we hung up
	close(fd);
	ck_assert_str_eq(status(p, "state"), "listening");
	ck_assert_ptr_nonnull(strstr(status(p, "last-error"), "version"));
	// Oversized payload: cannot resynchronise either.
	fd = fe_connect();
	env_run(20);
	bad[1] = 1;
	bad[2] = VHOST_PAYLOAD_MAX + 1;
	fe_send_raw(fd, bad, 12, NULL, 0);
	env_run(20);
	ck_assert_int_eq(recv(fd, &c, 1, MSG_DONTWAIT), 0);
	close(fd);
	// Too many fds on one message.
	fd = fe_connect();
	env_run(20);
	{
		int many[12];
		uint8_t b[64];

		for (int i = 0; i < 12; i++)
			many[i] = eventfd(0, EFD_CLOEXEC);
		fe_send_raw(fd, b, wire(b, VHOST_REQ_SET_OWNER, 0, NULL, 0), many, 12);
		for (int i = 0; i < 12; i++)
			close(many[i]);
	}
	env_run(20);
	ck_assert_int_eq(recv(fd, &c, 1, MSG_DONTWAIT), 0);
	close(fd);
	// A bad payload on a request without reply only refuses that request.
	fd = fe_connect();
	env_run(20);
	{
		struct vhost_vring_state st = {99, 64};

		fe_send(fd, VHOST_REQ_SET_VRING_NUM, &st, 8, NULL, 0);
		ck_assert_str_eq(status(p, "state"), "connected");
		// ...but one that needs an answer we cannot give ends the session.
		fe_send(fd, VHOST_REQ_GET_VRING_BASE, &st, 8, NULL, 0);
		ck_assert_int_eq(recv(fd, &c, 1, MSG_DONTWAIT), 0);
	}
	close(fd);
	port_destroy(p);
}
END_TEST

START_TEST(test_broken_guest)
{
	struct port_kv kv[] = {{"path", sock_path}};
	struct err err = {0};
	struct port *p = mk("vhost-user", kv, 1, &err);
	struct pkt *pkts[8];
	uint64_t gpa;
	int fd;

	ck_assert_int_eq(port_start(p, &err), 0);
	fd = fe_connect();
	env_run(20);
	fe_session(fd);
	gq_push(&gqs[1], 64); // head index out of range
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 8), 0);
	env_run(20); // the errfd wakes the control side
	ck_assert_int_eq(p->state, PORT_S_BROKEN);
	ck_assert_str_eq(status(p, "state"), "broken");
	ck_assert_ptr_nonnull(strstr(status(p, "last-error"), "vring 1"));
	ck_assert_str_eq(status(p, "vrings-running"), "0");
	ck_assert(!p->ops->link_get(p));
	// The guest resets: the front-end stops every ring and sets them up again.
	for (unsigned i = 0; i < 2; i++) {
		struct vhost_vring_state st = {i, 0};

		fe_send(fd, VHOST_REQ_GET_VRING_BASE, &st, 8, NULL, 0);
		(void)fe_reply(fd, VHOST_REQ_GET_VRING_BASE);
	}
	ck_assert_int_eq(p->state, PORT_S_STARTED);
	fe_setup_vring(fd, 0);
	fe_setup_vring(fd, 1);
	gq_post(&gqs[1], 12 + 60, false, &gpa);
	ck_assert_uint_eq(p->ops->rx_burst(p->rxq[0], pkts, 8), 1);
	pkt_free(pkts[0]);
	close(fd);
	env_run(20);
	port_destroy(p);
}
END_TEST

START_TEST(test_client_reconnect)
{
	struct port_kv kv[] = {{"path", sock_path}};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct err err = {0};
	struct port *p = mk("vhost-user-client", kv, 1, &err);
	int l, fd;

	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_int_eq(port_start(p, &err), 0);
	ck_assert_str_eq(status(p, "state"), "reconnecting");
	env_run(800); // attempts at +100, +200 (300), +400 (700) ms
	ck_assert_uint_ge(n_timer_ms, 3);
	ck_assert_uint_eq(timer_ms_log[0], 100);
	ck_assert_uint_eq(timer_ms_log[1], 200);
	ck_assert_uint_eq(timer_ms_log[2], 400);
	ck_assert_ptr_nonnull(strstr(status(p, "last-error"), "connect"));
	// The front-end appears: the next attempt connects.
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	env_run(1000);
	ck_assert_str_eq(status(p, "state"), "connected");
	fd = accept(l, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	fe_session(fd);
	ck_assert_str_eq(status(p, "vrings-running"), "2");
	// It goes away: we retry, starting again from 100 ms (the session reset the back-off).
	n_timer_ms = 0;
	close(fd);
	env_run(50);
	ck_assert_str_eq(status(p, "state"), "reconnecting");
	ck_assert_uint_eq(timer_ms_log[0], 100);
	env_run(200);
	fd = accept(l, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	close(fd);
	env_run(50);
	close(l);
	unlink(sock_path);
	port_destroy(p);
	// Destroying the port cancelled its timer.
	for (int i = 0; i < 8; i++)
		ck_assert(!timers[i].used);
}
END_TEST

START_TEST(test_mtu)
{
	struct port_kv kv[] = {{"path", sock_path}};
	struct err err = {0};
	struct port *p = mk("vhost-user", kv, 1, &err);

	ck_assert_int_eq(p->ops->mtu_set(p, 2026, &err), 0);
	ck_assert_uint_eq(p->mtu, 2026);
	ck_assert_int_eq(p->ops->mtu_set(p, 2027, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "max-mtu"));
	port_destroy(p);
}
END_TEST

static Suite *port_suite(void)
{
	Suite *s = suite_create("vhost_port");
	TCase *tc = tcase_create("port");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_options);
	tcase_add_test(tc, test_server_session);
	tcase_add_test(tc, test_framing_error);
	tcase_add_test(tc, test_broken_guest);
	tcase_add_test(tc, test_client_reconnect);
	tcase_add_test(tc, test_mtu);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(port_suite());
	int failed;

	log_set_level(LOG_LVL_WARN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
