// SPDX-License-Identifier: Apache-2.0
// JSON-RPC 2.0 client over vswitchd's UNIX socket (see client.h): connect with a deadline, write
// one request line, read until the newline that ends the response, validate it.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/rpc_proto.h"
#include "ctl/client.h"

struct client {
	int fd; // -1 until connected
	char *path;
	double timeout_s; // for messages
	int64_t deadline_ns; // CLOCK_MONOTONIC; 0: none
	json_int_t next_id;
	char *buf; // received bytes not consumed yet
	size_t len;
	size_t cap;
};

static void error_set(struct vsctl_error *e, enum vsctl_exit code, const char *fmt, ...)
	VSCTL_PRINTF(3, 4);

static void error_set(struct vsctl_error *e, enum vsctl_exit code, const char *fmt, ...)
{
	va_list ap;

	e->exit = code;
	e->rpc_code = 0;
	e->field[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// Milliseconds left for poll(): -1 without a deadline, 0 when it has passed.
static int remaining_ms(const struct client *c)
{
	int64_t left;

	if (c->deadline_ns == 0)
		return -1;
	left = c->deadline_ns - now_ns();
	if (left <= 0)
		return 0;
	// Round up so that a poll never returns just before the deadline and spins.
	left = (left + 999999) / 1000000;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

struct client *client_create(const char *path, double timeout_s)
{
	struct client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->path = strdup(path)) == NULL) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->fd = -1;
	c->timeout_s = timeout_s;
	c->next_id = 1;
	if (timeout_s > 0)
		c->deadline_ns = now_ns() + (int64_t)(timeout_s * 1e9);
	return c;
}

void client_destroy(struct client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c->path);
	free(c);
}

static void timeout_error(const struct client *c, struct vsctl_error *e, const char *what)
{
	error_set(e, VSCTL_EXIT_TIMEOUT,
		"timed out after %g s %s (use --timeout to wait longer, 0 waits forever)",
		c->timeout_s, what);
}

void client_connect_error(struct vsctl_error *e, const char *path, int errnum)
{
	char pwbuf[1024], grbuf[1024];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char owner[64], group[64];
	struct stat st;

	switch (errnum) {
	case ENOENT:
	case ENOTDIR:
	case ECONNREFUSED:
		error_set(e, VSCTL_EXIT_NOT_RUNNING,
			"cannot connect to vswitchd at %s: %s. Is vswitchd running? Start it with "
			"`systemctl start vswitchd` (or run vswitchd in the foreground).",
			path, strerror(errnum));
		return;
	case EACCES:
	case EPERM:
		break;
	default:
		error_set(e, VSCTL_EXIT_PROTOCOL, "cannot connect to vswitchd at %s: %s", path,
			strerror(errnum));
		return;
	}
	// Say who may use the socket: that is what the user needs to fix it.
	if (stat(path, &st) < 0) {
		error_set(e, VSCTL_EXIT_PERMISSION,
			"cannot connect to vswitchd at %s: %s. Its directory is not accessible to "
			"you: run vsctl as root (sudo vsctl ...) or as a member of the group that "
			"owns the socket.",
			path, strerror(errnum));
		return;
	}
	getpwuid_r(st.st_uid, &pw, pwbuf, sizeof(pwbuf), &pwp);
	getgrgid_r(st.st_gid, &gr, grbuf, sizeof(grbuf), &grp);
	if (pwp != NULL)
		snprintf(owner, sizeof(owner), "%s", pwp->pw_name);
	else
		snprintf(owner, sizeof(owner), "%u", (unsigned)st.st_uid);
	if (grp != NULL)
		snprintf(group, sizeof(group), "%s", grp->gr_name);
	else
		snprintf(group, sizeof(group), "%u", (unsigned)st.st_gid);
	if (st.st_mode & S_IWGRP)
		error_set(e, VSCTL_EXIT_PERMISSION,
			"cannot connect to vswitchd at %s: %s (socket owner %s, group %s, mode "
			"%04o). Run vsctl as root (sudo vsctl ...) or as a member of group '%s'.",
			path, strerror(errnum), owner, group, (unsigned)(st.st_mode & 07777),
			group);
	else
		error_set(e, VSCTL_EXIT_PERMISSION,
			"cannot connect to vswitchd at %s: %s (socket owner %s, group %s, mode "
			"%04o). Only %s may use it: run vsctl as root (sudo vsctl ...), or let a "
			"group in with daemon: socket-group and socket-mode in vswitchd.yaml.",
			path, strerror(errnum), owner, group, (unsigned)(st.st_mode & 07777),
			owner);
}

static int client_connect(struct client *c, struct vsctl_error *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, ms, flags, err;

	if (c->path[0] == '\0' || strlen(c->path) >= sizeof(sa.sun_path)) {
		error_set(e, VSCTL_EXIT_USAGE,
			"socket path '%s' is empty or too long (at most %zu bytes)", c->path,
			sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		error_set(e, VSCTL_EXIT_PROTOCOL, "cannot create a socket: %s", strerror(errno));
		return -errno;
	}
	for (;;) {
		// A UNIX stream connect() waits only while the listener's backlog is full,
		// bounded by SO_SNDTIMEO: a blocking connect keeps that wait within the deadline.
		struct timeval tv = {0};
		if ((ms = remaining_ms(c)) == 0) {
			errno = ETIMEDOUT;
			break;
		}
		if (ms > 0) {
			tv.tv_sec = ms / 1000;
			tv.tv_usec = (ms % 1000) * 1000;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EISCONN)
			goto connected;
		if (errno != EINTR)
			break;
	}
	err = errno;
	close(fd);
	if (err == EAGAIN || err == EINPROGRESS || err == ETIMEDOUT) {
		char what[sizeof(sa.sun_path) + 96];
		snprintf(what, sizeof(what),
			"connecting to vswitchd at %s (it is not accepting connections)", c->path);
		timeout_error(c, e, what);
		return -ETIMEDOUT;
	}
	client_connect_error(e, c->path, err);
	return -err;
connected:
	// From here on every wait goes through poll() with the deadline.
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		error_set(e, VSCTL_EXIT_PROTOCOL, "cannot set the socket non-blocking: %s",
			strerror(errno));
		close(fd);
		return -EIO;
	}
	c->fd = fd;
	return 0;
}

// Waits for `events` on the socket. Returns 0, or -ETIMEDOUT (e filled).
static int client_wait(struct client *c, short events, const char *method, struct vsctl_error *e)
{
	struct pollfd pfd = {.fd = c->fd, .events = events};
	char what[256];
	int ms, n;

	do {
		if ((ms = remaining_ms(c)) == 0)
			n = 0;
		else
			n = poll(&pfd, 1, ms);
	} while (n < 0 && errno == EINTR);
	if (n > 0)
		return 0;
	if (n < 0) {
		error_set(e, VSCTL_EXIT_PROTOCOL, "poll on the vswitchd socket failed: %s",
			strerror(errno));
		return -EIO;
	}
	snprintf(what, sizeof(what), "waiting for vswitchd to answer %s", method);
	timeout_error(c, e, what);
	return -ETIMEDOUT;
}

static void closed_error(struct client *c, const char *method, struct vsctl_error *e)
{
	if (c->len == 0)
		error_set(e, VSCTL_EXIT_PROTOCOL,
			"vswitchd closed the connection without answering %s (did it stop or "
			"crash? see `journalctl -u vswitchd`)",
			method);
	else
		error_set(e, VSCTL_EXIT_PROTOCOL,
			"vswitchd closed the connection in the middle of its answer to %s (%zu "
			"bytes received, no end of line)",
			method, c->len);
}

// Sends all of buf. -EPIPE when the daemon has closed its end (the caller then reads what it
// may have said before closing, e.g. "too many clients").
static int client_write_all(
	struct client *c, const char *buf, size_t len, const char *method, struct vsctl_error *e)
{
	size_t off = 0;
	ssize_t n;
	int ret;

	while (off < len) {
		n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((ret = client_wait(c, POLLOUT, method, e)) < 0)
				return ret;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return -EPIPE;
		error_set(e, VSCTL_EXIT_PROTOCOL, "sending %s to vswitchd failed: %s", method,
			n < 0 ? strerror(errno) : "no progress");
		return -EIO;
	}
	return 0;
}

// Reads until buf holds a complete line; sets *line_len (without the newline).
static int client_read_line(
	struct client *c, size_t *line_len, const char *method, struct vsctl_error *e)
{
	size_t scanned = 0;
	ssize_t n;
	char *nl;
	int ret;

	for (;;) {
		if (c->len > scanned &&
			(nl = memchr(c->buf + scanned, '\n', c->len - scanned)) != NULL) {
			*line_len = (size_t)(nl - c->buf);
			return 0;
		}
		scanned = c->len;
		if (c->len >= CLIENT_MAX_RESPONSE) {
			error_set(e, VSCTL_EXIT_PROTOCOL,
				"the answer of vswitchd to %s is larger than %u MiB, giving up",
				method, CLIENT_MAX_RESPONSE >> 20);
			return -EMSGSIZE;
		}
		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *p;
			if (cap > CLIENT_MAX_RESPONSE)
				cap = CLIENT_MAX_RESPONSE;
			if ((p = realloc(c->buf, cap)) == NULL) {
				error_set(e, VSCTL_EXIT_PROTOCOL,
					"out of memory reading the answer to %s", method);
				return -ENOMEM;
			}
			c->buf = p;
			c->cap = cap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0 || errno == ECONNRESET) {
			closed_error(c, method, e);
			return -ECONNRESET;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((ret = client_wait(c, POLLIN, method, e)) < 0)
				return ret;
			continue;
		}
		error_set(e, VSCTL_EXIT_PROTOCOL, "reading the answer to %s failed: %s", method,
			strerror(errno));
		return -EIO;
	}
}

static int malformed(struct vsctl_error *e, const char *method, const char *what)
{
	error_set(
		e, VSCTL_EXIT_PROTOCOL, "malformed response from vswitchd to %s: %s", method, what);
	return -EPROTO;
}

int client_parse_response(const char *line, size_t len, json_int_t id, const char *method,
	json_t **result, struct vsctl_error *e)
{
	json_t *resp, *idv, *res, *err, *code, *msg, *data, *field;
	json_error_t jerr;
	const char *ver;
	char what[300];
	int ret;

	*result = NULL;
	resp = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (resp == NULL) {
		snprintf(what, sizeof(what), "invalid JSON at column %d: %s", jerr.column,
			jerr.text);
		return malformed(e, method, what);
	}
	if (!json_is_object(resp)) {
		ret = malformed(e, method, "not a JSON object");
		goto out;
	}
	ver = json_string_value(json_object_get(resp, "jsonrpc"));
	if (ver == NULL || strcmp(ver, "2.0") != 0) {
		ret = malformed(e, method, "\"jsonrpc\" is not \"2.0\"");
		goto out;
	}
	idv = json_object_get(resp, "id");
	res = json_object_get(resp, "result");
	err = json_object_get(resp, "error");
	if ((res == NULL) == (err == NULL)) {
		ret = malformed(e, method, "it must hold exactly one of \"result\" and \"error\"");
		goto out;
	}
	// A null id is allowed on errors only: the server could not read our request's id (or
	// refused the connection before reading it, e.g. too many clients).
	if (!(json_is_integer(idv) && json_integer_value(idv) == id) &&
		!(err != NULL && json_is_null(idv))) {
		ret = malformed(e, method, "its \"id\" does not match the request");
		goto out;
	}
	if (res != NULL) {
		*result = json_incref(res);
		ret = 0;
		goto out;
	}
	code = json_object_get(err, "code");
	msg = json_object_get(err, "message");
	if (!json_is_object(err) || !json_is_integer(code) || !json_is_string(msg)) {
		ret = malformed(e, method, "\"error\" lacks an integer code or a message");
		goto out;
	}
	error_set(e, VSCTL_EXIT_FAILED, "%s", json_string_value(msg));
	e->rpc_code = (int)json_integer_value(code);
	data = json_object_get(err, "data");
	field = json_object_get(data, "field");
	if (json_is_string(field))
		snprintf(e->field, sizeof(e->field), "%s", json_string_value(field));
	ret = -EREMOTEIO;
out:
	json_decref(resp);
	return ret;
}

int client_call(
	void *client, const char *method, json_t *params, json_t **result, struct vsctl_error *e)
{
	struct client *c = client;
	json_int_t id = c->next_id++;
	size_t size, line_len;
	char *text = NULL;
	json_t *req;
	int ret, wret;

	*result = NULL;
	if (c->fd < 0 && (ret = client_connect(c, e)) < 0)
		return ret;
	req = json_pack("{s:s, s:I, s:s, s:O}", "jsonrpc", "2.0", "id", id, "method", method,
		"params", params);
	if (req == NULL) {
		error_set(e, VSCTL_EXIT_USAGE, "cannot encode the request for %s", method);
		return -EINVAL;
	}
	// Compact encoding escapes newlines inside strings, so the request is exactly one line.
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL) {
		error_set(e, VSCTL_EXIT_USAGE, "cannot encode the request for %s", method);
		return -EINVAL;
	}
	size = strlen(text);
	if (size > RPC_MAX_REQUEST) {
		error_set(e, VSCTL_EXIT_USAGE,
			"the request for %s is %zu bytes, more than vswitchd accepts (%u)", method,
			size, (unsigned)RPC_MAX_REQUEST);
		ret = -EMSGSIZE;
		goto out;
	}
	text[size] = '\n'; // replaces the terminating NUL: send size + 1 bytes
	wret = client_write_all(c, text, size + 1, method, e);
	if (wret < 0 && wret != -EPIPE) {
		ret = wret;
		goto out;
	}
	// After EPIPE the daemon may still have left a line for us (an error saying why it hung
	// up).
	if ((ret = client_read_line(c, &line_len, method, e)) < 0)
		goto out;
	ret = client_parse_response(c->buf, line_len, id, method, result, e);
	c->len -= line_len + 1;
	memmove(c->buf, c->buf + line_len + 1, c->len);
	if (ret == 0 && wret == -EPIPE) {
		// An answer to a request the daemon did not fully receive cannot be trusted.
		json_decref(*result);
		*result = NULL;
		closed_error(c, method, e);
		ret = -ECONNRESET;
	}
out:
	// After anything but an error answer the stream is in an unknown state (a late answer
	// may still come): the next call starts on a new connection.
	if (ret < 0 && ret != -EREMOTEIO && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
		c->len = 0;
	}
	free(text);
	return ret;
}
