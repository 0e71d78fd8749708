// SPDX-License-Identifier: Apache-2.0
// JSON-RPC over a UNIX stream socket: accepts clients on the control loop, splits their input into
// lines, runs rpc_process() on each in order and queues the responses, with per-client limits
// (request size, unsent output, idle time) so that one bad client never affects the others.
#include "control/rpc_server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/loop.h"
#include "control/rpc.h"
#include "dataplane/log.h"

LOG_MODULE("rpc_server");

#define SERVER_BACKLOG 128
#define SERVER_MAX_OUTPUT_DEFAULT (16u << 20)
// Stop reading a client's requests while this much output waits, resume below half of it: a
// client that pipelines requests without reading answers is slowed down, not buffered without end.
#define SERVER_OUT_HIGH (1u << 20)
// A client whose pending output does not move for this long is dropped (also bounds the flush
// of a last error before closing).
#define SERVER_WRITE_TIMEOUT_S 60
// Lines handled per callback before yielding to other clients.
#define SERVER_LINES_PER_CB 64

struct client {
	struct client *prev, *next;
	struct bufferevent *bev;
	struct event *resume_ev; // continues a long pipeline on the next loop iteration
	struct rpc_call peer; // credentials given to handlers
	char name[64]; // "pid 1234 (vsctl)" for logs
	unsigned long n_requests;
	size_t scanned; // input bytes already known to hold no newline (long lines arrive in parts)
	bool throttled; // reading paused until the output drains
	bool eof; // peer shut down its side: answer what is buffered, then close
	bool closing; // flushing a final error or answer, input discarded
};

static struct {
	struct evconnlistener *listener;
	struct event *relisten_ev; // re-enables accept() after EMFILE
	struct rpc_server_config cfg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	size_t out_high;
	struct client *clients;
	_Atomic unsigned n_clients; // read by tests from another thread
} srv;

unsigned rpc_server_n_clients(void)
{
	return atomic_load_explicit(&srv.n_clients, memory_order_relaxed);
}

static void client_free(struct client *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		srv.clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	LOG_OBJ(DEBUG, c->name, "disconnected after %lu requests", c->n_requests);
	event_free(c->resume_ev);
	bufferevent_free(c->bev); // closes the socket
	free(c);
	atomic_fetch_sub_explicit(&srv.n_clients, 1, memory_order_relaxed);
}

// Queues a last response (if any) and closes once it is written.
static void client_close_after_flush(struct client *c, const char *line)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct timeval tv = {.tv_sec = SERVER_WRITE_TIMEOUT_S};

	c->closing = true;
	evbuffer_drain(in, evbuffer_get_length(in));
	if (line)
		evbuffer_add(out, line, strlen(line));
	if (evbuffer_get_length(out) == 0) {
		client_free(c);
		return;
	}
	// Keep reading (and discarding) so a client still writing is not blocked, and let the write
	// callback fire when everything is out.
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	if (!c->eof)
		bufferevent_enable(c->bev, EV_READ);
}

static void client_too_large(struct client *c)
{
	char line[256];

	LOG_RL(WARN, c->name, "request longer than %zu bytes, closing the connection",
		srv.cfg.max_request);
	snprintf(line, sizeof(line),
		"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":\"request longer than %zu "
		"bytes; closing the connection\"},\"id\":null}\n",
		RPC_E_INVALID_REQUEST, srv.cfg.max_request);
	client_close_after_flush(c, line);
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	}
	return true;
}

// Runs one request line; returns false when the client was freed.
static bool client_request(struct client *c, const char *line, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t pending;
	char *resp;

	if (blank(line, len))
		return true;
	c->n_requests++;
	resp = rpc_process(line, len, &c->peer);
	if (resp) {
		evbuffer_add(out, resp, strlen(resp));
		free(resp);
	}
	pending = evbuffer_get_length(out);
	if (pending > srv.cfg.max_output) {
		LOG_RL(WARN, c->name,
			"%zu bytes of responses not read by the client (limit %zu), disconnecting",
			pending, srv.cfg.max_output);
		client_free(c);
		return false;
	}
	return true;
}

static void client_throttle(struct client *c)
{
	c->throttled = true;
	bufferevent_disable(c->bev, EV_READ);
	// The write callback fires once the output is down to half.
	bufferevent_setwatermark(c->bev, EV_WRITE, srv.out_high / 2, 0);
}

// Handles the complete lines buffered for c, in order, within the per-callback budget.
static void client_process(struct client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct evbuffer_ptr from, eol;
	size_t eol_len, len;
	const char *line;

	for (unsigned n = 0;; n++) {
		if (c->closing || c->throttled)
			return;
		if (evbuffer_get_length(out) >= srv.out_high) {
			client_throttle(c);
			return;
		}
		if (n == SERVER_LINES_PER_CB) {
			event_active(c->resume_ev, 0, 0);
			return;
		}
		len = evbuffer_get_length(in);
		if (evbuffer_ptr_set(in, &from, MIN(c->scanned, len), EVBUFFER_PTR_SET) < 0)
			evbuffer_ptr_set(in, &from, 0, EVBUFFER_PTR_SET);
		eol = evbuffer_search_eol(in, &from, &eol_len, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			c->scanned = len;
			if (len > srv.cfg.max_request) {
				client_too_large(c);
			} else if (c->eof) {
				// A last request without its newline (printf ... | socat) is
				// still answered.
				line = (const char *)evbuffer_pullup(in, -1);
				if (len && !client_request(c, line, len))
					return;
				client_close_after_flush(c, NULL);
			}
			return;
		}
		if ((size_t)eol.pos > srv.cfg.max_request) {
			client_too_large(c);
			return;
		}
		line = (const char *)evbuffer_pullup(in, eol.pos + 1);
		if (line == NULL) {
			LOG_OBJ(ERR, c->name, "out of memory reading a request, disconnecting");
			client_free(c);
			return;
		}
		if (!client_request(c, line, eol.pos))
			return;
		evbuffer_drain(in, eol.pos + 1);
		c->scanned = 0;
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->closing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	client_process(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			client_free(c);
		return;
	}
	if (c->throttled) {
		c->throttled = false;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		if (!c->eof)
			bufferevent_enable(bev, EV_READ);
		client_process(c);
	}
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	client_process(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	if (what & BEV_EVENT_EOF) {
		c->eof = true;
		if (c->closing) {
			// Nothing more to read; the write callback frees it once flushed.
			evbuffer_drain(bufferevent_get_input(bev),
				evbuffer_get_length(bufferevent_get_input(bev)));
			return;
		}
		client_process(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (what & BEV_EVENT_READING)
			LOG_OBJ(INFO, c->name, "idle for %u s, closing the connection",
				srv.cfg.idle_timeout_s);
		else
			LOG_RL(WARN, c->name, "not reading its responses for %d s, disconnecting",
				SERVER_WRITE_TIMEOUT_S);
		client_free(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		LOG_OBJ(DEBUG, c->name, "connection error: %s",
			evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		client_free(c);
	}
}

static void peer_identify(int fd, struct rpc_call *peer, char *name, size_t size)
{
	struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	socklen_t len = sizeof(cred);
	char path[64], comm[32] = "";
	ssize_t n;
	int cfd;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		LOG(WARN, "SO_PEERCRED: %s, client credentials unknown", strerror(errno));
	peer->peer_pid = cred.pid;
	peer->peer_uid = cred.uid;
	peer->peer_gid = cred.gid;
	// The command name makes "who did this" readable in logs; best effort.
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)cred.pid);
	if (cred.pid > 0 && (cfd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(cfd, comm, sizeof(comm) - 1);
		close(cfd);
		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
	}
	if (comm[0])
		snprintf(name, size, "pid %d (%s)", (int)cred.pid, comm);
	else
		snprintf(name, size, "pid %d", (int)cred.pid);
}

static void reject(int fd, const char *name)
{
	char line[256];
	int n;

	LOG_RL(WARN, name, "refused: %u clients connected (max_clients)", srv.cfg.max_clients);
	n = snprintf(line, sizeof(line),
		"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":\"too many clients (limit "
		"%u); try again later\"},\"id\":null}\n",
		RPC_E_TOO_MANY, srv.cfg.max_clients);
	// Best effort: the line is small and the socket buffer empty.
	if (send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		LOG_RL(DEBUG, name, "cannot send the refusal: %s", strerror(errno));
	close(fd);
}

static void on_accept(
	struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct timeval idle = {.tv_sec = srv.cfg.idle_timeout_s};
	struct timeval wr = {.tv_sec = SERVER_WRITE_TIMEOUT_S};
	struct rpc_call peer = {0};
	char name[64];
	struct client *c;

	peer_identify(fd, &peer, name, sizeof(name));
	if (rpc_server_n_clients() >= srv.cfg.max_clients) {
		reject(fd, name);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto err_close;
	c->peer = peer;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		goto err_free;
	c->resume_ev = event_new(evconnlistener_get_base(l), -1, 0, on_resume, c);
	if (c->resume_ev == NULL)
		goto err_bev;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	// Never buffer more than one maximal line (+ newline) plus one byte to detect overflow.
	bufferevent_setwatermark(c->bev, EV_READ, 0, srv.cfg.max_request + 2);
	if (srv.cfg.idle_timeout_s && srv.cfg.idle_timeout_s < SERVER_WRITE_TIMEOUT_S)
		wr.tv_sec = srv.cfg.idle_timeout_s;
	bufferevent_set_timeouts(c->bev, srv.cfg.idle_timeout_s ? &idle : NULL, &wr);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
		event_free(c->resume_ev);
		goto err_bev;
	}
	c->next = srv.clients;
	if (srv.clients)
		srv.clients->prev = c;
	srv.clients = c;
	atomic_fetch_add_explicit(&srv.n_clients, 1, memory_order_relaxed);
	LOG_OBJ(INFO, c->name, "connected: uid %u gid %u", (unsigned)peer.peer_uid,
		(unsigned)peer.peer_gid);
	return;

err_bev:
	bufferevent_free(c->bev); // closes fd
	free(c);
	LOG_RL(ERR, name, "out of memory accepting a client, closing it");
	return;
err_free:
	free(c);
err_close:
	close(fd);
	LOG_RL(ERR, name, "out of memory accepting a client, closing it");
}

static void on_relisten(evutil_socket_t fd, short what, void *arg)
{
	if (srv.listener)
		evconnlistener_enable(srv.listener);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {.tv_sec = 1};

	// Out of fds or memory: the listening socket stays readable, so pause instead of spinning.
	LOG_RL(ERR, srv.path, "accept: %s; not accepting new clients for 1 s", strerror(e));
	evconnlistener_disable(l);
	event_add(srv.relisten_ev, &tv);
}

// mkdir -p of the socket's parent directory.
static int make_parent(const char *path, struct err *err)
{
	char dir[sizeof(srv.path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return err_set(err, -errno, "daemon.socket",
				"cannot create directory %s: %s", dir, strerror(errno));
		*p = c;
		if (c == '\0')
			return 0;
	}
}

// Refuses to take over a socket a live server answers on; removes a stale one.
static int check_existing(const struct sockaddr_un *sun, struct err *err)
{
	struct stat st;
	int fd, ret = 0;

	if (lstat(sun->sun_path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, -errno, "daemon.socket", "cannot stat %s: %s", sun->sun_path,
			strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return err_set(err, -EEXIST, "daemon.socket",
			"%s exists and is not a socket; refusing to replace it", sun->sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, -errno, "daemon.socket", "socket: %s", strerror(errno));
	// Non-blocking: EAGAIN means a live listener with a full backlog.
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 || errno == EAGAIN) {
		ret = err_set(err, -EADDRINUSE, "daemon.socket",
			"another process (a running vswitchd?) is serving %s; stop it first or use "
			"another socket path",
			sun->sun_path);
	} else if (errno == ECONNREFUSED) {
		if (unlink(sun->sun_path) < 0 && errno != ENOENT)
			ret = err_set(err, -errno, "daemon.socket",
				"cannot remove stale socket %s: %s", sun->sun_path,
				strerror(errno));
		else
			LOG(NOTICE, "removed stale socket %s", sun->sun_path);
	} else {
		ret = err_set(err, -errno, "daemon.socket", "cannot probe existing socket %s: %s",
			sun->sun_path, strerror(errno));
	}
	close(fd);
	return ret;
}

static int set_group(const char *path, const char *group, struct err *err)
{
	struct group gr, *res = NULL;
	char buf[4096];
	int e;

	e = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
	if (e != 0)
		return err_set(err, -e, "daemon.socket-group", "cannot look up group '%s': %s",
			group, strerror(e));
	if (res == NULL)
		return err_set(err, -ENOENT, "daemon.socket-group",
			"socket group '%s' does not exist", group);
	if (chown(path, (uid_t)-1, gr.gr_gid) < 0)
		return err_set(err, -errno, "daemon.socket-group",
			"cannot give %s to group '%s': %s", path, group, strerror(errno));
	return 0;
}

int rpc_server_start(const struct rpc_server_config *cfg, struct err *err)
{
	struct event_base *base = loop_base();
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	if (base == NULL)
		return err_set(err, -ENXIO, "", "control loop not initialised");
	if (srv.listener)
		return err_set(
			err, -EALREADY, "daemon.socket", "RPC server already serving %s", srv.path);
	if (cfg->path == NULL || cfg->path[0] == '\0')
		return err_set(err, -EINVAL, "daemon.socket", "empty socket path");
	if (strlen(cfg->path) >= sizeof(sun.sun_path))
		return err_set(err, -ENAMETOOLONG, "daemon.socket",
			"socket path %s is longer than %zu bytes", cfg->path,
			sizeof(sun.sun_path) - 1);
	if (cfg->mode > 07777)
		return err_set(err, -EINVAL, "daemon.socket-mode",
			"socket mode %o is not a file mode", cfg->mode);
	srv.cfg = *cfg;
	srv.cfg.mode = cfg->mode ? cfg->mode : 0660;
	srv.cfg.max_clients = cfg->max_clients ? cfg->max_clients : 64;
	srv.cfg.max_request = cfg->max_request ? cfg->max_request : RPC_MAX_REQUEST;
	srv.cfg.max_output = cfg->max_output ? cfg->max_output : SERVER_MAX_OUTPUT_DEFAULT;
	srv.out_high = MIN((size_t)SERVER_OUT_HIGH, srv.cfg.max_output / 2);
	srv.cfg.path = NULL; // the caller's strings are not kept
	srv.cfg.group = NULL;
	snprintf(srv.path, sizeof(srv.path), "%s", cfg->path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", cfg->path);

	if ((ret = make_parent(cfg->path, err)) < 0 || (ret = check_existing(&sun, err)) < 0)
		return ret;
	// The daemon ignores SIGPIPE too; a client closing early must never kill us.
	signal(SIGPIPE, SIG_IGN);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, -errno, "daemon.socket", "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = err_set(err, -errno, "daemon.socket", "cannot bind %s: %s", cfg->path,
			strerror(errno));
		goto err_close;
	}
	// Nobody can connect before listen(), so the mode and group are right before the first
	// client arrives.
	if (chmod(cfg->path, srv.cfg.mode) < 0) {
		ret = err_set(err, -errno, "daemon.socket-mode", "cannot chmod %s to %04o: %s",
			cfg->path, srv.cfg.mode, strerror(errno));
		goto err_unlink;
	}
	if (cfg->group && (ret = set_group(cfg->path, cfg->group, err)) < 0)
		goto err_unlink;
	if (stat(cfg->path, &st) == 0) {
		srv.dev = st.st_dev;
		srv.ino = st.st_ino;
	}
	srv.relisten_ev = evtimer_new(base, on_relisten, NULL);
	if (srv.relisten_ev == NULL) {
		ret = err_set(err, -ENOMEM, "", "out of memory");
		goto err_unlink;
	}
	srv.listener = evconnlistener_new(base, on_accept, NULL,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, SERVER_BACKLOG, fd);
	if (srv.listener == NULL) {
		ret = err_set(err, errno ? -errno : -ENOMEM, "daemon.socket",
			"cannot listen on %s: %s", cfg->path, strerror(errno ? errno : ENOMEM));
		goto err_timer;
	}
	evconnlistener_set_error_cb(srv.listener, on_accept_error);
	LOG(INFO, "listening on %s (mode %04o%s%s, max %u clients, idle timeout %u s)", srv.path,
		srv.cfg.mode, cfg->group ? ", group " : "", cfg->group ? cfg->group : "",
		srv.cfg.max_clients, srv.cfg.idle_timeout_s);
	return 0;

err_timer:
	event_free(srv.relisten_ev);
	srv.relisten_ev = NULL;
err_unlink:
	unlink(cfg->path);
err_close:
	close(fd);
	return ret;
}

void rpc_server_stop(void)
{
	struct stat st;

	if (srv.listener == NULL)
		return;
	while (srv.clients)
		client_free(srv.clients);
	evconnlistener_free(srv.listener); // closes the socket
	srv.listener = NULL;
	event_free(srv.relisten_ev);
	srv.relisten_ev = NULL;
	// Only unlink our own socket: a successor may already have replaced it.
	if (stat(srv.path, &st) == 0 && st.st_dev == srv.dev && st.st_ino == srv.ino)
		unlink(srv.path);
	LOG(INFO, "stopped serving %s", srv.path);
}
