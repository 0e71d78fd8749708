// SPDX-License-Identifier: Apache-2.0
// Unit tests for the RPC UNIX socket server (control/rpc_server.c) on the real libevent loop run
// in a thread: framing across reads, many concurrent clients next to misbehaving ones, limits
// (request size, clients, idle time, unread output) and the socket file's life cycle.
#include <check.h>
#include <stdatomic.h>
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/loop.h"
#include "control/rpc.h"
#include "control/rpc_server.h"
#include "dataplane/log.h"

static _Atomic int n_big; // test.big calls, counted on the loop thread
static char dir[64];
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pthread_t loop_thread;
static bool loop_running;

static int t_whoami(struct rpc_call *call, json_t *params, json_t **result)
{
	*result = json_pack("{s:i, s:i, s:i}", "pid", (int)call->peer_pid, "uid",
		(int)call->peer_uid, "gid", (int)call->peer_gid);
	return 0;
}

// {size: int}: a string of `size` 'x' (for output buffering tests).
static int t_big(struct rpc_call *call, json_t *params, json_t **result)
{
	int size, ret;
	char *s;

	if ((ret = rpc_unpack(call, params, "{s:i}", "size", &size)) < 0)
		return ret;
	if (size < 0 || size > (64 << 20))
		return err_set(&call->err, -EINVAL, "size", "size out of range");
	n_big++;
	s = malloc((size_t)size + 1);
	memset(s, 'x', (size_t)size);
	s[size] = '\0';
	*result = json_string(s);
	free(s);
	return 0;
}

static int t_add(struct rpc_call *call, json_t *params, json_t **result)
{
	int a, b, ret;

	if ((ret = rpc_unpack(call, params, "{s:i, s:i}", "a", &a, "b", &b)) < 0)
		return ret;
	*result = json_integer((json_int_t)a + b);
	return 0;
}

static const struct rpc_method test_rpc_methods[] = {
	{"test.whoami", t_whoami, "{}", "Peer credentials."},
	{"test.big", t_big, "{size: int}", "Large result."},
	{"test.add", t_add, "{a: int, b: int}", "Sum."},
	{0},
};

static void setup(void)
{
	log_set_level(LOG_LVL_ERR);
	snprintf(dir, sizeof(dir), "/tmp/vswitch-control-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	// A missing parent directory must be created by the server.
	snprintf(sock_path, sizeof(sock_path), "%s/run/vswitchd.sock", dir);
	ck_assert_int_eq(loop_init(), 0);
	rpc_init();
	rpc_register(test_rpc_methods);
}

static void *loop_main(void *arg)
{
	ck_assert_int_eq(loop_run(), 0);
	return NULL;
}

static void run_loop(void)
{
	ck_assert_int_eq(pthread_create(&loop_thread, NULL, loop_main, NULL), 0);
	loop_running = true;
}

static void teardown(void)
{
	char cmd[128];

	if (loop_running) {
		loop_stop();
		pthread_join(loop_thread, NULL);
		loop_running = false;
	}
	rpc_server_stop();
	loop_fini();
	rpc_fini();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct rpc_server_config default_cfg(void)
{
	return (struct rpc_server_config){.path = sock_path, .idle_timeout_s = 0};
}

static void start(const struct rpc_server_config *cfg)
{
	struct err err = {0};
	int ret = rpc_server_start(cfg, &err);

	ck_assert_msg(ret == 0, "rpc_server_start: %d %s", ret, err.msg);
	run_loop();
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

// Waits up to 5 s for the server's client count to reach n.
static void wait_clients(unsigned n)
{
	uint64_t end = now_ms() + 5000;

	while (rpc_server_n_clients() != n && now_ms() < end)
		usleep(5000);
	ck_assert_uint_eq(rpc_server_n_clients(), n);
}

// ---- A minimal blocking client with line buffering.

struct cli {
	int fd;
	char buf[1 << 16];
	size_t len;
};

static int raw_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0, "connect: %s",
		strerror(errno));
	// A broken server fails the test instead of hanging it.
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static struct cli *cli_open(void)
{
	struct cli *c = calloc(1, sizeof(*c));

	c->fd = raw_connect(sock_path);
	return c;
}

static void cli_close(struct cli *c)
{
	close(c->fd);
	free(c);
}

static void send_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		ck_assert_msg(n > 0, "send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

static void cli_send(struct cli *c, const char *s)
{
	send_all(c->fd, s, strlen(s));
}

// Returns a malloc'ed line without its newline, or NULL at EOF.
static char *cli_readline(struct cli *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			char *line = strndup(c->buf, n);

			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return line;
		}
		if (c->len == sizeof(c->buf)) {
			// Longer than the buffer: hand it out whole, with what follows.
			char *line = malloc(1 << 22), *p = line;
			size_t total = 0;

			memcpy(p, c->buf, c->len);
			total = c->len;
			c->len = 0;
			for (;;) {
				ssize_t n = recv(c->fd, line + total, 1, 0);

				ck_assert_msg(n == 1, "recv in long line: %s", strerror(errno));
				if (line[total] == '\n')
					break;
				total++;
				ck_assert_uint_lt(total, (1u << 22) - 1);
			}
			line[total] = '\0';
			return line;
		}
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

		ck_assert_msg(n >= 0, "recv: %s", strerror(errno));
		if (n == 0)
			return NULL;
		c->len += (size_t)n;
	}
}

static json_t *cli_response(struct cli *c)
{
	char *line = cli_readline(c);
	json_t *r;

	ck_assert_msg(line != NULL, "connection closed instead of a response");
	r = json_loads(line, 0, NULL);
	ck_assert_msg(r != NULL, "not JSON: %.200s", line);
	free(line);
	return r;
}

// True when the server closed the connection (EOF or reset) within the receive timeout.
static bool cli_closed(struct cli *c)
{
	char b;
	ssize_t n = recv(c->fd, &b, 1, 0);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static int err_code(json_t *r)
{
	return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

// ---- Tests

START_TEST(basic_and_credentials)
{
	struct stat st;
	struct cli *c;
	json_t *r;

	start(&(struct rpc_server_config){.path = sock_path});
	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0660); // the default mode

	c = cli_open();
	cli_send(c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.version\",\"id\":1}\n");
	r = cli_response(c);
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(r, "result"), "version")),
		VSWITCH_VERSION);
	json_decref(r);

	cli_send(c, "{\"jsonrpc\":\"2.0\",\"method\":\"test.whoami\",\"id\":2}\n");
	r = cli_response(c);
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(r, "result"), "pid")), getpid());
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(r, "result"), "uid")), getuid());
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(r, "result"), "gid")), getgid());
	json_decref(r);
	wait_clients(1);
	cli_close(c);
	wait_clients(0);

	// Stop removes the socket file.
	loop_stop();
	pthread_join(loop_thread, NULL);
	loop_running = false;
	rpc_server_stop();
	ck_assert_int_ne(access(sock_path, F_OK), 0);
}
END_TEST

struct worker_arg {
	int id;
	int ok;
};

// One well-behaved client: 50 requests, pipelined 5 at a time, each answer checked.
static void *good_client(void *p)
{
	struct worker_arg *w = p;
	struct cli *c = cli_open();
	char req[256];

	for (int i = 0; i < 50; i += 5) {
		for (int j = i; j < i + 5; j++) {
			snprintf(req, sizeof(req),
				"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":%d,"
				"\"b\":%d},\"id\":%d}\n",
				w->id, j, j);
			cli_send(c, req);
		}
		for (int j = i; j < i + 5; j++) {
			json_t *r = cli_response(c);

			if (json_integer_value(json_object_get(r, "id")) == j &&
				json_integer_value(json_object_get(r, "result")) == w->id + j)
				w->ok++;
			json_decref(r);
		}
	}
	cli_close(c);
	return NULL;
}

START_TEST(concurrent_clients_with_bad_ones)
{
	enum { N = 20 };
	pthread_t th[N];
	struct worker_arg args[N];
	struct cli *garbage, *half, *junk;
	json_t *r;

	start(&(struct rpc_server_config){.path = sock_path, .max_clients = 64});

	// Misbehaving clients connect first and stay around while the others work.
	garbage = cli_open();
	half = cli_open();
	junk = cli_open();
	cli_send(half, "{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"par");
	send_all(junk->fd, "\x00\xff\xfe{{{{[[[\"\\", 12);

	for (int i = 0; i < N; i++) {
		args[i] = (struct worker_arg){.id = i * 1000};
		ck_assert_int_eq(pthread_create(&th[i], NULL, good_client, &args[i]), 0);
	}
	// Garbage lines get parse errors and the connection stays usable.
	cli_send(garbage, "this is not json\n\x01\x02\x03\n{\"jsonrpc\":\"2.0\",\"id\":5}\n");
	for (int i = 0; i < 3; i++) {
		r = cli_response(garbage);
		ck_assert_int_eq(err_code(r), i < 2 ? RPC_E_PARSE : RPC_E_INVALID_REQUEST);
		json_decref(r);
	}
	cli_close(half); // mid-request
	cli_close(junk); // junk without a newline
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(args[i].ok, 50);
	}
	cli_send(garbage,
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":1,\"b\":2},"
		"\"id\":\"last\"}\n");
	r = cli_response(garbage);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), 3);
	json_decref(r);
	cli_close(garbage);
	wait_clients(0);
}
END_TEST

START_TEST(split_reads_and_pipelining)
{
	const char *req =
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":40,\"b\":2},"
		"\"id\":1}\n";
	struct cli *c;
	json_t *r;

	start(&(struct rpc_server_config){.path = sock_path});
	c = cli_open();
	// One byte per write, with pauses so that the server sees many partial reads.
	for (const char *p = req; *p; p++) {
		send_all(c->fd, p, 1);
		usleep(500);
	}
	r = cli_response(c);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), 42);
	json_decref(r);

	// Three requests: two in one write, the third split across two; answers in order. CRLF
	// line ends and blank lines are tolerated.
	cli_send(c,
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":1,\"b\":0},"
		"\"id\":1}\r\n\n{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":2,"
		"\"b\":0},\"id\":2}\n{\"jsonrpc\":\"2.0\",\"method\":");
	usleep(20000);
	cli_send(c, "\"test.add\",\"params\":{\"a\":3,\"b\":0},\"id\":3}\n");
	for (int i = 1; i <= 3; i++) {
		r = cli_response(c);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), i);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), i);
		json_decref(r);
	}

	// A notification gets no line: the next answer is the next request's.
	cli_send(c,
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":1,\"b\":1}}\n"
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":5,\"b\":5},"
		"\"id\":4}\n");
	r = cli_response(c);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 4);
	json_decref(r);

	// A last request without newline, then shutdown(WR): still answered, then closed.
	cli_send(c,
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":7,\"b\":0},"
		"\"id\":5}");
	shutdown(c->fd, SHUT_WR);
	r = cli_response(c);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), 7);
	json_decref(r);
	ck_assert(cli_closed(c));
	cli_close(c);
	wait_clients(0);
}
END_TEST

// Builds a valid request line of exactly `len` bytes (without the newline) by padding.
static char *request_of_len(size_t len)
{
	const char *head =
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":1,\"b\":1},"
		"\"id\":1";
	size_t hl = strlen(head);
	char *s = malloc(len + 2);

	ck_assert_uint_gt(len, hl + 1);
	memcpy(s, head, hl);
	memset(s + hl, ' ', len - hl - 1);
	s[len - 1] = '}';
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

START_TEST(oversized_request)
{
	struct cli *c, *other;
	char *s;
	json_t *r;

	start(&(struct rpc_server_config){.path = sock_path, .max_request = 1024});
	other = cli_open();

	// Exactly the limit is fine.
	c = cli_open();
	s = request_of_len(1024);
	cli_send(c, s);
	free(s);
	r = cli_response(c);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), 2);
	json_decref(r);

	// One byte more, newline included in the same write: error, id null, then closed.
	s = request_of_len(1025);
	cli_send(c, s);
	free(s);
	r = cli_response(c);
	ck_assert_int_eq(err_code(r), RPC_E_INVALID_REQUEST);
	ck_assert(json_is_null(json_object_get(r, "id")));
	ck_assert_ptr_nonnull(
		strstr(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
			"1024"));
	json_decref(r);
	ck_assert(cli_closed(c));
	cli_close(c);

	// A line that never ends: refused as soon as it passes the limit.
	c = cli_open();
	s = malloc(4096);
	memset(s, '[', 4096);
	send_all(c->fd, s, 4096);
	free(s);
	r = cli_response(c);
	ck_assert_int_eq(err_code(r), RPC_E_INVALID_REQUEST);
	json_decref(r);
	ck_assert(cli_closed(c));
	cli_close(c);

	// Other clients are unaffected.
	cli_send(other,
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":1,\"b\":2},"
		"\"id\":1}\n");
	r = cli_response(other);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), 3);
	json_decref(r);
	cli_close(other);
	wait_clients(0);
}
END_TEST

START_TEST(max_clients)
{
	struct cli *c[3], *extra;
	json_t *r;

	start(&(struct rpc_server_config){.path = sock_path, .max_clients = 3});
	for (int i = 0; i < 3; i++)
		c[i] = cli_open();
	wait_clients(3);

	extra = cli_open();
	r = cli_response(extra);
	ck_assert_int_eq(err_code(r), RPC_E_TOO_MANY);
	ck_assert(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	ck_assert(cli_closed(extra));
	cli_close(extra);

	// The three admitted clients work; once one leaves, a newcomer is admitted.
	for (int i = 0; i < 3; i++) {
		cli_send(c[i],
			"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":1,"
			"\"b\":1},\"id\":1}\n");
		r = cli_response(c[i]);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), 2);
		json_decref(r);
	}
	cli_close(c[0]);
	wait_clients(2);
	c[0] = cli_open();
	cli_send(c[0],
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":2,"
		"\"b\":2},\"id\":1}\n");
	r = cli_response(c[0]);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), 4);
	json_decref(r);
	for (int i = 0; i < 3; i++)
		cli_close(c[i]);
	wait_clients(0);
}
END_TEST

START_TEST(idle_timeout)
{
	struct cli *idle, *busy;
	uint64_t t0, end;
	json_t *r;

	start(&(struct rpc_server_config){.path = sock_path, .idle_timeout_s = 1});
	idle = cli_open();
	busy = cli_open();
	t0 = now_ms();
	end = t0 + 1800;
	// The busy client talks every 300 ms and outlives the idle one.
	while (now_ms() < end) {
		cli_send(busy,
			"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":1,"
			"\"b\":1},\"id\":1}\n");
		r = cli_response(busy);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), 2);
		json_decref(r);
		usleep(300000);
	}
	ck_assert(cli_closed(idle));
	ck_assert_uint_lt(now_ms() - t0, 4000);
	cli_close(idle);
	wait_clients(1);
	cli_close(busy);
	wait_clients(0);
}
END_TEST

START_TEST(slow_reader_backpressure)
{
	enum { N = 200, SIZE = 64 * 1024 };
	struct cli *c, *other;
	char req[256];
	json_t *r;

	start(&(struct rpc_server_config){.path = sock_path});
	c = cli_open();
	other = cli_open();
	// 200 requests for 64 KiB answers each (12.8 MB) sent without reading: the server stops
	// reading this client instead of buffering everything, and answers all in order later.
	for (int i = 0; i < N; i++) {
		snprintf(req, sizeof(req),
			"{\"jsonrpc\":\"2.0\",\"method\":\"test.big\",\"params\":{\"size\":%d},"
			"\"id\":%d}\n",
			SIZE, i);
		cli_send(c, req);
	}
	// Throttled: the server ran only the requests whose answers fit its output threshold and
	// the socket buffers (about 1 MiB + some 200 KiB here), not all 200.
	usleep(300000);
	ck_assert_int_lt(n_big, N / 2);
	// Meanwhile another client is served normally.
	cli_send(other,
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":1,\"b\":1},"
		"\"id\":1}\n");
	r = cli_response(other);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), 2);
	json_decref(r);
	for (int i = 0; i < N; i++) {
		r = cli_response(c);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), i);
		ck_assert_uint_eq(json_string_length(json_object_get(r, "result")), SIZE);
		json_decref(r);
	}
	ck_assert_int_eq(n_big, N);
	cli_close(c);
	cli_close(other);
	wait_clients(0);
}
END_TEST

START_TEST(output_cap_disconnects)
{
	struct cli *c, *other;
	json_t *r;

	start(&(struct rpc_server_config){.path = sock_path, .max_output = 128 * 1024});
	c = cli_open();
	other = cli_open();
	// One answer larger than the cap, not read: the client is dropped.
	cli_send(c,
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.big\",\"params\":{\"size\":4000000},"
		"\"id\":1}\n");
	wait_clients(1);
	ck_assert(cli_closed(c));
	cli_close(c);
	cli_send(other,
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":1,\"b\":1},"
		"\"id\":1}\n");
	r = cli_response(other);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), 2);
	json_decref(r);
	cli_close(other);
	wait_clients(0);
}
END_TEST

static int bind_socket(const char *path, bool do_listen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char parent[128];

	snprintf(parent, sizeof(parent), "%s/run", dir);
	mkdir(parent, 0755);
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (do_listen)
		ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

START_TEST(stale_socket_replaced)
{
	struct cli *c;
	json_t *r;

	close(bind_socket(sock_path, false)); // a socket file nobody listens on
	ck_assert_int_eq(access(sock_path, F_OK), 0);
	start(&(struct rpc_server_config){.path = sock_path});
	c = cli_open();
	cli_send(c,
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.add\",\"params\":{\"a\":1,\"b\":1},"
		"\"id\":1}\n");
	r = cli_response(c);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "result")), 2);
	json_decref(r);
	cli_close(c);
}
END_TEST

START_TEST(live_socket_refused)
{
	struct rpc_server_config cfg = default_cfg();
	struct err err = {0};
	struct stat before, after;
	int fd = bind_socket(sock_path, true);

	ck_assert_int_eq(stat(sock_path, &before), 0);
	ck_assert_int_eq(rpc_server_start(&cfg, &err), -EADDRINUSE);
	ck_assert_str_eq(err.field, "daemon.socket");
	ck_assert_ptr_nonnull(strstr(err.msg, sock_path));
	ck_assert_ptr_nonnull(strstr(err.msg, "another process"));
	// The live socket is left alone.
	ck_assert_int_eq(stat(sock_path, &after), 0);
	ck_assert_uint_eq(before.st_ino, after.st_ino);
	close(fd);
}
END_TEST

START_TEST(not_a_socket_refused)
{
	struct rpc_server_config cfg = default_cfg();
	struct err err = {0};
	char parent[128];
	FILE *f;

	snprintf(parent, sizeof(parent), "%s/run", dir);
	mkdir(parent, 0755);
	f = fopen(sock_path, "w");
	fputs("precious\n", f);
	fclose(f);
	ck_assert_int_eq(rpc_server_start(&cfg, &err), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a socket"));
	ck_assert_int_eq(access(sock_path, F_OK), 0);
}
END_TEST

START_TEST(mode_and_group)
{
	struct rpc_server_config cfg = default_cfg();
	struct err err = {0};
	struct group *gr = getgrgid(getgid());
	struct stat st;

	ck_assert_ptr_nonnull(gr);
	cfg.mode = 0600;
	cfg.group = gr->gr_name;
	start(&cfg);
	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_gid, getgid());
	ck_assert_int_eq(rpc_server_start(&cfg, &err), -EALREADY);
	loop_stop();
	pthread_join(loop_thread, NULL);
	loop_running = false;
	rpc_server_stop();

	// An unknown group is an error naming it, and leaves no socket behind.
	memset(&err, 0, sizeof(err));
	cfg.group = "vswitch-no-such-group";
	ck_assert_int_eq(rpc_server_start(&cfg, &err), -ENOENT);
	ck_assert_str_eq(err.field, "daemon.socket-group");
	ck_assert_ptr_nonnull(strstr(err.msg, "vswitch-no-such-group"));
	ck_assert_int_ne(access(sock_path, F_OK), 0);

	// Path too long for sun_path.
	memset(&err, 0, sizeof(err));
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	cfg.path = longpath;
	cfg.group = NULL;
	ck_assert_int_eq(rpc_server_start(&cfg, &err), -ENAMETOOLONG);
	ck_assert_str_eq(err.field, "daemon.socket");
}
END_TEST

static Suite *rpc_server_suite(void)
{
	Suite *s = suite_create("rpc_server");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, basic_and_credentials);
	tcase_add_test(tc, concurrent_clients_with_bad_ones);
	tcase_add_test(tc, split_reads_and_pipelining);
	tcase_add_test(tc, oversized_request);
	tcase_add_test(tc, max_clients);
	tcase_add_test(tc, idle_timeout);
	tcase_add_test(tc, slow_reader_backpressure);
	tcase_add_test(tc, output_cap_disconnects);
	tcase_add_test(tc, stale_socket_replaced);
	tcase_add_test(tc, live_socket_refused);
	tcase_add_test(tc, not_a_socket_refused);
	tcase_add_test(tc, mode_and_group);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rpc_server_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
