// SPDX-License-Identifier: Apache-2.0
// Unit tests for control/state.c: the three-way merge (run-time changes survive, file edits
// apply, conflicts), state.json round trip and validation, crash-safe saves, corrupt files moved
// aside, and applying a configuration to the real datapath with null/pcap ports.
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/config.h"
#include "control/state.h"
#include "dataplane/dp.h"
#include "dataplane/mem.h"

// ---------------------------------------------------------------------------------------------
// Helpers

// Bridge lists are written as YAML `bridges:` sections and parsed by the real loader.
struct blist {
	struct config cfg;
};

static struct config_bridge *yb(struct blist *l, const char *yaml, unsigned *n)
{
	struct err err = {0};

	ck_assert_msg(config_load_buf(yaml, strlen(yaml), "t.yaml", &l->cfg, &err) == 0, "%s: %s",
		yaml, err.msg);
	*n = l->cfg.n_bridges;
	return l->cfg.bridges;
}

// Canonical text of a list: "br0{k=v}[p1:null{k=v},p2:tap{}] br1{}[]".
static const char *show(const struct config_bridge *b, unsigned n)
{
	static char buf[4096];
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s{", i ? " " : "", b[i].name);
		for (unsigned k = 0; k < b[i].n_opts; k++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s=%s", k ? "," : "",
				b[i].opts[k].key, b[i].opts[k].value);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "}[");
		for (unsigned p = 0; p < b[i].n_ports; p++) {
			const struct config_port *port = &b[i].ports[p];

			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s:%s{", p ? "," : "",
				port->name, port->type);
			for (unsigned k = 0; k < port->n_opts; k++)
				o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s=%s",
					k ? "," : "", port->opts[k].key, port->opts[k].value);
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "}");
		}
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "]");
	}
	return buf;
}

// merge(state, old, new) shown canonically.
static void expect_merge(
	const char *state, const char *old_file, const char *new_file, const char *expected)
{
	struct blist s = {0}, o = {0}, n = {0};
	unsigned ns, no, nn, n_out;
	struct config_bridge *bs = yb(&s, state, &ns), *bo = yb(&o, old_file, &no);
	struct config_bridge *bn = yb(&n, new_file, &nn), *out;

	ck_assert_int_eq(state_merge(bs, ns, bo, no, bn, nn, &out, &n_out), 0);
	ck_assert_str_eq(show(out, n_out), expected);
	config_bridges_free(out, n_out);
	config_free(&s.cfg);
	config_free(&o.cfg);
	config_free(&n.cfg);
}

static char tmpdir[64];

static void mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vs-state-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static char *read_text(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

// Names in dir starting with prefix: count, and the first one in *first.
static unsigned dir_count(const char *dir, const char *prefix, char *first, size_t size)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (n++ == 0 && first != NULL)
			ck_assert_int_lt(
				snprintf(first, size, "%s/%s", dir, de->d_name), (int)size);
	}
	closedir(d);
	return n;
}

// ---------------------------------------------------------------------------------------------
// Merge

#define BR0_P1_P2 \
	"bridges:\n" \
	"  - name: br0\n" \
	"    options: {mac-aging: 300}\n" \
	"    ports:\n" \
	"      - {name: p1, type: tap, options: {tag: 10}}\n" \
	"      - {name: p2, type: tap}\n"

START_TEST(test_merge_first_start)
{
	// No state file: the file is the desired configuration.
	expect_merge("", "", BR0_P1_P2, "br0{mac-aging=300}[p1:tap{tag=10},p2:tap{}]");
	expect_merge("", "", "", "");
}
END_TEST

START_TEST(test_merge_runtime_survives)
{
	// An unchanged file changes nothing: run-time additions, deletions and edits stay.
	const char *state = "bridges:\n"
			    "  - name: br0\n"
			    "    options: {mac-aging: 60}\n" // edited at run time
			    "    ports:\n"
			    "      - {name: p1, type: tap, options: {tag: 20}}\n" // edited
			    "      - {name: vm1, type: vhost-user}\n" // added at run time
			    "  - name: br9\n" // added at run time
			    "    ports: [{name: x1, type: tap}]\n";
	// p2 was deleted at run time.
	expect_merge(state, BR0_P1_P2, BR0_P1_P2,
		"br0{mac-aging=60}[p1:tap{tag=20},vm1:vhost-user{}] br9{}[x1:tap{}]");
	// The same with no file section at all.
	expect_merge(state, "", "",
		"br0{mac-aging=60}[p1:tap{tag=20},vm1:vhost-user{}] br9{}[x1:tap{}]");
}
END_TEST

START_TEST(test_merge_file_edits)
{
	const char *state =
		"bridges:\n"
		"  - name: br0\n"
		"    options: {mac-aging: 300}\n"
		"    ports:\n"
		"      - {name: p1, type: tap, options: {tag: 20}}\n" // edited at run time
		"      - {name: p2, type: tap}\n"
		"      - {name: vm1, type: vhost-user}\n"; // added at run time
	// Added in the file: p3. Changed in the file: p1 (tag 10 -> 11) wins over the run-time tag.
	// Removed from the file: p2.
	const char *new_file = "bridges:\n"
			       "  - name: br0\n"
			       "    options: {mac-aging: 300}\n"
			       "    ports:\n"
			       "      - {name: p1, type: tap, options: {tag: 11}}\n"
			       "      - {name: p3, type: af_packet, options: {iface: veth3}}\n";

	expect_merge(state, BR0_P1_P2, new_file,
		"br0{mac-aging=300}[p1:tap{tag=11},vm1:vhost-user{},p3:af_packet{iface=veth3}]");
	// Changing the type alone is a change too.
	expect_merge(state, BR0_P1_P2,
		"bridges: [{name: br0, options: {mac-aging: 300}, ports: [{name: p1, type: tap, "
		"options: {tag: 10}}, {name: p2, type: af_packet}]}]",
		"br0{mac-aging=300}[p1:tap{tag=20},p2:af_packet{},vm1:vhost-user{}]");
	// Option order is not a change.
	expect_merge("bridges: [{name: br0, ports: [{name: p1, type: t, options: {a: 1, b: 2}}]}]",
		"bridges: [{name: br0, ports: [{name: p1, type: t, options: {a: 1, b: 3}}]}]",
		"bridges: [{name: br0, ports: [{name: p1, type: t, options: {b: 3, a: 1}}]}]",
		"br0{}[p1:t{a=1,b=2}]");
}
END_TEST

START_TEST(test_merge_bridges)
{
	const char *two =
		"bridges:\n"
		"  - {name: br0, ports: [{name: p1, type: tap}]}\n"
		"  - {name: br1, options: {mac-aging: 10}, ports: [{name: p2, type: tap}]}\n";

	// A bridge removed from the file goes, with the ports added to it at run time.
	expect_merge("bridges:\n"
		     "  - {name: br0, ports: [{name: p1, type: tap}]}\n"
		     "  - {name: br1, options: {mac-aging: 10}, ports: [{name: p2, type: tap}, "
		     "{name: rt, type: tap}]}\n",
		two, "bridges: [{name: br0, ports: [{name: p1, type: tap}]}]", "br0{}[p1:tap{}]");
	// Bridge options edited in the file win; edited at run time with the file unchanged stay.
	expect_merge("bridges: [{name: br0, options: {mac-aging: 5}}, {name: br1, options: "
		     "{mac-aging: 7}}]",
		"bridges: [{name: br0, options: {mac-aging: 300}}, {name: br1, options: "
		"{mac-aging: 300}}]",
		"bridges: [{name: br0, options: {mac-aging: 100}}, {name: br1, options: "
		"{mac-aging: 300}}]",
		"br0{mac-aging=100}[] br1{mac-aging=7}[]");
	// A bridge deleted at run time stays deleted while its file entry is unchanged...
	expect_merge("bridges: [{name: br0, ports: [{name: p1, type: tap}]}]", two, two,
		"br0{}[p1:tap{}]");
	// ... and comes back (with only what changed) when a port of it is edited in the file.
	expect_merge("bridges: [{name: br0, ports: [{name: p1, type: tap}]}]", two,
		"bridges:\n"
		"  - {name: br0, ports: [{name: p1, type: tap}]}\n"
		"  - {name: br1, options: {mac-aging: 10}, ports: [{name: p2, type: tap, options: "
		"{tag: 4}}]}\n",
		"br0{}[p1:tap{}] br1{mac-aging=10}[p2:tap{tag=4}]");
	// A port moved to another bridge in the file moves.
	expect_merge(two, two,
		"bridges:\n"
		"  - {name: br0, ports: [{name: p1, type: tap}, {name: p2, type: tap}]}\n"
		"  - {name: br1, options: {mac-aging: 10}}\n",
		"br0{}[p1:tap{},p2:tap{}] br1{mac-aging=10}[]");
}
END_TEST

START_TEST(test_merge_conflicts)
{
	// Added at run time, then added to the file under the same name: the file's version wins.
	expect_merge("bridges: [{name: br0, ports: [{name: vm1, type: tap, options: {tag: 5}}]}]",
		"bridges: [{name: br0}]",
		"bridges: [{name: br0, ports: [{name: vm1, type: vhost-user}]}]",
		"br0{}[vm1:vhost-user{}]");
	// Edited at run time and removed from the file: removed.
	expect_merge("bridges: [{name: br0, ports: [{name: p1, type: tap, options: {tag: 5}}]}]",
		"bridges: [{name: br0, ports: [{name: p1, type: tap}]}]", "bridges: [{name: br0}]",
		"br0{}[]");
	// Deleted at run time and edited in the file: the file's version comes back.
	expect_merge("bridges: [{name: br0}]",
		"bridges: [{name: br0, ports: [{name: p1, type: tap}]}]",
		"bridges: [{name: br0, ports: [{name: p1, type: tap, options: {tag: 2}}]}]",
		"br0{}[p1:tap{tag=2}]");
	// A bridge created at run time and then added to the file: file options, run-time ports
	// kept.
	expect_merge("bridges: [{name: br5, options: {mac-aging: 1}, ports: [{name: r1, type: "
		     "tap}]}]",
		"", "bridges: [{name: br5, options: {mac-aging: 2}}]",
		"br5{mac-aging=2}[r1:tap{}]");
}
END_TEST

// ---------------------------------------------------------------------------------------------
// state.json

START_TEST(test_file_round_trip)
{
	struct blist a = {0}, b = {0};
	struct state_data d = {0}, r;
	char path[128], expected[4096];
	struct err err = {0};
	struct stat sb;

	mk_tmpdir();
	d.bridges = yb(&a, BR0_P1_P2 "  - {name: br1}\n", &d.n_bridges);
	d.file_bridges =
		yb(&b, "bridges: [{name: br0, options: {mac-aging: 300}}]", &d.n_file_bridges);
	// The directory is created 0750 when missing.
	snprintf(path, sizeof(path), "%s/sub/dir", tmpdir);
	ck_assert_msg(state_file_write(path, &d, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0750);
	snprintf(path, sizeof(path), "%s/sub/dir/state.json", tmpdir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0640);
	ck_assert_int_eq(state_file_read(path, &r, &err), 0);
	snprintf(expected, sizeof(expected), "%s", show(d.bridges, d.n_bridges));
	ck_assert_str_eq(show(r.bridges, r.n_bridges), expected);
	snprintf(expected, sizeof(expected), "%s", show(d.file_bridges, d.n_file_bridges));
	ck_assert_str_eq(show(r.file_bridges, r.n_file_bridges), expected);
	state_data_free(&r);
	ck_assert_ptr_null(r.bridges);
	// No temporary file is left behind.
	snprintf(path, sizeof(path), "%s/sub/dir", tmpdir);
	ck_assert_uint_eq(dir_count(path, "state.json.tmp-", NULL, 0), 0);

	// Empty lists.
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(state_file_write(tmpdir, &d, &err), 0);
	snprintf(path, sizeof(path), "%s/state.json", tmpdir);
	ck_assert_str_eq(read_text(path),
		"{\n  \"version\": 1,\n  \"bridges\": [],\n  "
		"\"file_bridges\": []\n}\n");
	ck_assert_int_eq(state_file_read(path, &r, &err), 0);
	ck_assert_uint_eq(r.n_bridges + r.n_file_bridges, 0);
	state_data_free(&r);
	config_free(&a.cfg);
	config_free(&b.cfg);
	rm_tmpdir();
}
END_TEST

static void expect_bad_file(const char *text, const char *msg_after_path)
{
	char path[128], expected[512];
	struct state_data r;
	struct err err = {0};

	snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
	write_file(path, text);
	ck_assert_msg(state_file_read(path, &r, &err) == -EINVAL, "accepted: %s", text);
	snprintf(expected, sizeof(expected), "%s: %s", path, msg_after_path);
	ck_assert_str_eq(err.msg, expected);
	ck_assert_ptr_null(r.bridges);
	ck_assert_ptr_null(r.file_bridges);
}

START_TEST(test_file_invalid)
{
	struct state_data r;
	struct err err = {0};
	char path[128];

	mk_tmpdir();
	snprintf(path, sizeof(path), "%s/none.json", tmpdir);
	ck_assert_int_eq(state_file_read(path, &r, &err), -ENOENT);
	expect_bad_file("{\"version\": 1, \"bridges\": [",
		"line 1, column 27: invalid JSON: "
		"']' expected near end of file");
	expect_bad_file("", "line 1, column 0: invalid JSON: '[' or '{' expected near end of file");
	expect_bad_file("{\"version\": 2, \"bridges\": [], \"file_bridges\": []}",
		"version 2 is not supported (this vswitchd reads version 1)");
	expect_bad_file("{\"version\": 1, \"bridges\": []}",
		"expected an object with version, bridges and file_bridges only");
	expect_bad_file("{\"version\": 1, \"bridges\": [], \"file_bridges\": [], \"x\": 1}",
		"expected an object with version, bridges and file_bridges only");
	expect_bad_file("{\"version\": 1, \"bridges\": {}, \"file_bridges\": []}",
		"bridges: expected an array of bridges");
	expect_bad_file("{\"version\": 1, \"bridges\": [{\"name\": \"\"}], \"file_bridges\": []}",
		"bridges[0]: expected a non-empty string of less than 32 bytes");
	expect_bad_file("{\"version\": 1, \"bridges\": [{\"name\": \"a\"}, {\"name\": \"a\"}], "
			"\"file_bridges\": []}",
		"bridges[1]: duplicate bridge name \"a\"");
	expect_bad_file(
		"{\"version\": 1, \"bridges\": [], \"file_bridges\": [{\"name\": \"a\", "
		"\"ports\": [{\"name\": \"p\", \"type\": \"t\"}]}, {\"name\": \"b\", \"ports\": "
		"[{\"name\": \"p\", \"type\": \"t\"}]}]}",
		"file_bridges[1].ports[0]: duplicate port name \"p\"");
	expect_bad_file("{\"version\": 1, \"bridges\": [{\"name\": \"a\", \"ports\": [{\"name\": "
			"\"p\"}]}], \"file_bridges\": []}",
		"bridges[0].ports[0]: expected an object with name, type and options only");
	expect_bad_file(
		"{\"version\": 1, \"bridges\": [{\"name\": \"a\", \"options\": {\"k\": 1}}], "
		"\"file_bridges\": []}",
		"bridges[0]: option \"k\": expected a non-empty string value");
	expect_bad_file("{\"version\": 1, \"version\": 1, \"bridges\": [], \"file_bridges\": []}",
		"line 1, column 24: invalid JSON: duplicate object key near '\"version\"'");
	rm_tmpdir();
}
END_TEST

static void kill_self(const char *tmp_path)
{
	(void)tmp_path;
	raise(SIGKILL);
}

// A save interrupted between writing the temporary file and the rename leaves the previous
// state.json intact; state_init removes the stale temporary file and loads the old state.
START_TEST(test_crash_before_rename)
{
	struct blist a = {0}, b = {0};
	struct state_data d = {0}, r;
	struct err err = {0};
	char path[128], tmp[320], before[8192];
	int status;
	pid_t pid;

	mk_tmpdir();
	d.bridges = yb(&a, BR0_P1_P2, &d.n_bridges);
	ck_assert_int_eq(state_file_write(tmpdir, &d, &err), 0);
	snprintf(path, sizeof(path), "%s/state.json", tmpdir);
	snprintf(before, sizeof(before), "%s", read_text(path));

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct state_data n = {0};

		n.bridges = yb(&b, "bridges: [{name: other}]", &n.n_bridges);
		state_set_pre_rename_hook(kill_self);
		state_file_write(tmpdir, &n, NULL);
		_exit(0); // not reached
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	// The old file is untouched; the complete new one sits in the temporary file.
	ck_assert_str_eq(read_text(path), before);
	ck_assert_uint_eq(dir_count(tmpdir, "state.json.tmp-", tmp, sizeof(tmp)), 1);
	ck_assert_ptr_nonnull(strstr(read_text(tmp), "\"other\""));
	ck_assert_int_eq(state_file_read(path, &r, &err), 0);
	ck_assert_str_eq(
		show(r.bridges, r.n_bridges), "br0{mac-aging=300}[p1:tap{tag=10},p2:tap{}]");
	state_data_free(&r);

	ck_assert_msg(state_init(tmpdir, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(dir_count(tmpdir, "state.json.tmp-", NULL, 0), 0);
	ck_assert_str_eq(read_text(path), before);
	state_fini();
	config_free(&a.cfg);
	rm_tmpdir();
}
END_TEST

// A corrupt state file is moved aside (never lost, never fatal) and the start continues.
START_TEST(test_corrupt_moved_aside)
{
	char path[128], aside[320], aside2[320];
	struct err err = {0};

	mk_tmpdir();
	snprintf(path, sizeof(path), "%s/state.json", tmpdir);
	write_file(path, "{ this is not json");
	ck_assert_msg(state_init(tmpdir, &err) == 0, "%s", err.msg);
	state_fini();
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_uint_eq(dir_count(tmpdir, "state.json.corrupt-", aside, sizeof(aside)), 1);
	ck_assert_str_eq(read_text(aside), "{ this is not json");
	// A second one in the same second does not replace the first.
	write_file(path, "[]");
	ck_assert_int_eq(state_init(tmpdir, &err), 0);
	state_fini();
	ck_assert_uint_eq(dir_count(tmpdir, "state.json.corrupt-", NULL, 0), 2);
	snprintf(aside2, sizeof(aside2), "%s", aside);
	ck_assert_str_eq(read_text(aside2), "{ this is not json");
	rm_tmpdir();
}
END_TEST

START_TEST(test_init_errors)
{
	struct err err = {0};
	char path[128], expected[256];

	mk_tmpdir();
	snprintf(path, sizeof(path), "%s/file", tmpdir);
	write_file(path, "x");
	ck_assert_int_eq(state_init(path, &err), -ENOTDIR);
	snprintf(expected, sizeof(expected), "state-dir %s: not a directory", path);
	ck_assert_str_eq(err.msg, expected);
	ck_assert_str_eq(err.field, "state-dir");
	err_clear(&err);
	snprintf(path, sizeof(path), "%s/file/sub", tmpdir);
	ck_assert_int_lt(state_init(path, &err), 0);
	// Nothing works before a successful init.
	err_clear(&err);
	ck_assert_int_eq(state_save(&err), -ENODEV);
	state_change_hook(NULL); // ignored
	rm_tmpdir();
}
END_TEST

// ---------------------------------------------------------------------------------------------
// Applying to the datapath

static void dp_start(void)
{
	int cpus[CPU_SETSIZE], n = 0;
	struct dp_config dcfg = {0};
	struct err err = {0};
	cpu_set_t set;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	dcfg.n_workers = 1;
	dcfg.worker_cores[0] = cpus[n - 1];
	dcfg.control_core = -1;
	dcfg.idle_sleep_us = 1000; // the test must not busy-poll a shared CPU
	dcfg.n_pkts = 1024;
	dcfg.pkt_cache = 32;
	dcfg.max_mtu = 1500;
	ck_assert_msg(dp_init(&dcfg, &err) == 0, "%s", err.msg);
}

static int apply(const char *yaml, char ***changes, unsigned *n)
{
	struct config cfg;
	struct err err = {0};
	int ret;

	ck_assert_msg(
		config_load_buf(yaml, strlen(yaml), "t.yaml", &cfg, &err) == 0, "%s", err.msg);
	ret = state_apply_config(&cfg, changes, n, &err);
	ck_assert_msg(ret == 0, "%s", err.msg);
	config_free(&cfg);
	return ret;
}

static bool has_change(char **changes, unsigned n, const char *line)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(changes[i], line) == 0)
			return true;
	return false;
}

static bool has_change_prefix(char **changes, unsigned n, const char *prefix)
{
	for (unsigned i = 0; i < n; i++)
		if (strncmp(changes[i], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

static void dump_changes(char **changes, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fprintf(stderr, "  change: %s\n", changes[i]);
}

struct dp_text {
	char buf[2048];
	size_t o;
};

static void dp_text_port(const struct dp_port_conf *p, void *arg)
{
	struct dp_text *t = arg;

	t->o += (size_t)snprintf(t->buf + t->o, sizeof(t->buf) - t->o, "%s%s/%s:%s{",
		t->o ? " " : "", p->bridge, p->name, p->type);
	for (unsigned k = 0; k < p->n_opts; k++)
		t->o += (size_t)snprintf(t->buf + t->o, sizeof(t->buf) - t->o, "%s%s=%s",
			k ? "," : "", p->opts[k].key, p->opts[k].value);
	t->o += (size_t)snprintf(t->buf + t->o, sizeof(t->buf) - t->o, "}");
}

static void dp_text_bridge(const struct dp_bridge_conf *b, void *arg)
{
	struct dp_text *t = arg;

	t->o += (size_t)snprintf(
		t->buf + t->o, sizeof(t->buf) - t->o, "%s[%s{", t->o ? " " : "", b->name);
	for (unsigned k = 0; k < b->n_opts; k++)
		t->o += (size_t)snprintf(t->buf + t->o, sizeof(t->buf) - t->o, "%s%s=%s",
			k ? "," : "", b->opts[k].key, b->opts[k].value);
	t->o += (size_t)snprintf(t->buf + t->o, sizeof(t->buf) - t->o, "}]");
}

// "[br0{}] br0/p1:null{rx=false}" : bridges then ports, as the datapath reports them.
static const char *dp_text(void)
{
	static struct dp_text t;

	t.o = 0;
	t.buf[0] = '\0';
	dp_bridge_foreach(dp_text_bridge, &t);
	dp_port_foreach(dp_text_port, &t);
	return t.buf;
}

static const char *saved_bridges(void)
{
	static char buf[4096];
	struct state_data r;
	struct err err = {0};
	char path[128];

	snprintf(path, sizeof(path), "%s/state.json", tmpdir);
	ck_assert_msg(state_file_read(path, &r, &err) == 0, "%s", err.msg);
	snprintf(buf, sizeof(buf), "%s", show(r.bridges, r.n_bridges));
	state_data_free(&r);
	return buf;
}

static const char *saved_file_bridges(void)
{
	static char buf[4096];
	struct state_data r;
	struct err err = {0};
	char path[128];

	snprintf(path, sizeof(path), "%s/state.json", tmpdir);
	ck_assert_msg(state_file_read(path, &r, &err) == 0, "%s", err.msg);
	snprintf(buf, sizeof(buf), "%s", show(r.file_bridges, r.n_file_bridges));
	state_data_free(&r);
	return buf;
}

#define CFG1 \
	"bridges:\n" \
	"  - name: br0\n" \
	"    ports:\n" \
	"      - {name: p1, type: \"null\", options: {rx: false}}\n" \
	"      - {name: p2, type: \"null\", options: {rx: false, tag: 10}}\n"

START_TEST(test_apply_dp)
{
	const struct port_kv rt[] = {{.key = "rx", .value = "false"}};
	struct err err = {0};
	char **ch, pcap[128], yaml[1024];
	unsigned n;

	ck_assert_int_eq(mem_init(NULL, NULL), 0);
	dp_start();
	mk_tmpdir();
	ck_assert_msg(state_init(tmpdir, &err) == 0, "%s", err.msg);
	dp_set_change_hook(state_change_hook, NULL);

	// First start, no state file: the file is applied as is.
	apply(CFG1, &ch, &n);
	dump_changes(ch, n);
	ck_assert(has_change(ch, n, "added bridge br0"));
	ck_assert(has_change(ch, n, "added port p1 to br0 (type null)"));
	ck_assert(has_change(ch, n, "added port p2 to br0 (type null)"));
	ck_assert_uint_eq(n, 3);
	state_changes_free(ch, n);
	ck_assert_str_eq(dp_text(), "[br0{}] br0/p1:null{rx=false} br0/p2:null{rx=false,tag=10}");
	ck_assert_str_eq(saved_bridges(), "br0{}[p1:null{rx=false},p2:null{rx=false,tag=10}]");
	ck_assert_str_eq(saved_file_bridges(), "br0{}[p1:null{rx=false},p2:null{rx=false,tag=10}]");

	// A run-time addition is saved by the change hook and survives a reload of the same file.
	ck_assert_msg(dp_port_add("br0", "rt1", "null", rt, 1, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(saved_bridges(),
		"br0{}[p1:null{rx=false},p2:null{rx=false,tag=10},rt1:null{rx=false}]");
	apply(CFG1, &ch, &n);
	dump_changes(ch, n);
	ck_assert_uint_eq(n, 0);
	state_changes_free(ch, n);
	ck_assert_str_eq(dp_text(),
		"[br0{}] br0/p1:null{rx=false} br0/p2:null{rx=false,tag=10} "
		"br0/rt1:null{rx=false}");

	// File edits: p1 removed, p2's datapath option changed in place, p3 added, p4 cannot be
	// created (bad option) and stays pending.
	apply("bridges:\n"
	      "  - name: br0\n"
	      "    ports:\n"
	      "      - {name: p2, type: \"null\", options: {rx: false, tag: 20}}\n"
	      "      - {name: p3, type: \"null\", options: {rx: false}}\n"
	      "      - {name: p4, type: \"null\", options: {rx: false, size: 1}}\n",
		&ch, &n);
	dump_changes(ch, n);
	ck_assert(has_change(ch, n, "deleted port p1 from br0"));
	ck_assert(has_change(ch, n, "changed port p2 options: tag=20"));
	ck_assert(has_change(ch, n, "added port p3 to br0 (type null)"));
	ck_assert(has_change_prefix(ch, n, "could not add port p4 to br0: "));
	ck_assert_uint_eq(n, 4);
	state_changes_free(ch, n);
	ck_assert_str_eq(dp_text(),
		"[br0{}] br0/p2:null{rx=false,tag=20} br0/rt1:null{rx=false} "
		"br0/p3:null{rx=false}");
	ck_assert_str_eq(saved_bridges(),
		"br0{}[p2:null{rx=false,tag=20},rt1:null{rx=false},"
		"p3:null{rx=false},p4:null{rx=false,size=1}]");

	// A driver option the null port cannot change live: the port is re-created. A bridge
	// option change re-creates the bridge and its ports. A type change re-creates the port.
	snprintf(pcap, sizeof(pcap), "%s/p3.pcap", tmpdir);
	snprintf(yaml, sizeof(yaml),
		"bridges:\n"
		"  - name: br0\n"
		"    ports:\n"
		"      - {name: p2, type: \"null\", options: {rx: false, tag: 20, flows: 2}}\n"
		"      - {name: p3, type: pcap, options: {tx: %s}}\n"
		"      - {name: p4, type: \"null\", options: {rx: false, size: 1}}\n"
		"  - name: br1\n",
		pcap);
	apply(yaml, &ch, &n);
	dump_changes(ch, n);
	ck_assert(has_change(ch, n, "re-created port p2 to change options: flows=2"));
	ck_assert(has_change(ch, n, "deleted port p3 from br0 to re-create it (type changed)"));
	ck_assert(has_change(ch, n, "added port p3 to br0 (type pcap)"));
	ck_assert(has_change(ch, n, "added bridge br1"));
	// p4 is unchanged in the file: retried as pending, fails again.
	ck_assert(has_change_prefix(ch, n, "could not add port p4 to br0: "));
	state_changes_free(ch, n);
	ck_assert_int_eq(access(pcap, F_OK), 0);

	snprintf(yaml, sizeof(yaml),
		"bridges:\n"
		"  - name: br0\n"
		"    options: {mac-aging: 100}\n"
		"    ports:\n"
		"      - {name: p2, type: \"null\", options: {rx: false, tag: 20, flows: 2}}\n"
		"      - {name: p3, type: pcap, options: {tx: %s}}\n"
		"      - {name: p4, type: \"null\", options: {rx: false, size: 1}}\n"
		"  - name: br1\n",
		pcap);
	apply(yaml, &ch, &n);
	dump_changes(ch, n);
	ck_assert(has_change(ch, n, "deleted bridge br0 to re-create it (options changed)"));
	ck_assert(has_change(ch, n, "added bridge br0 with mac-aging=100"));
	ck_assert(has_change(ch, n, "added port rt1 to br0 (type null)"));
	state_changes_free(ch, n);
	snprintf(yaml, sizeof(yaml),
		"[br1{}] [br0{mac-aging=100}] br0/rt1:null{rx=false} "
		"br0/p2:null{rx=false,tag=20,flows=2} br0/p3:pcap{tx=%s}",
		pcap);
	ck_assert_str_eq(dp_text(), yaml);

	// Restart: the datapath starts empty, the state file brings back the run-time port rt1
	// and retries the pending p4; the file's removal of p2's tag is applied in place.
	dp_set_change_hook(NULL, NULL);
	dp_fini();
	state_fini();
	dp_start();
	ck_assert_msg(state_init(tmpdir, &err) == 0, "%s", err.msg);
	dp_set_change_hook(state_change_hook, NULL);
	snprintf(yaml, sizeof(yaml),
		"bridges:\n"
		"  - name: br0\n"
		"    options: {mac-aging: 100}\n"
		"    ports:\n"
		"      - {name: p2, type: \"null\", options: {rx: false, flows: 2}}\n"
		"      - {name: p3, type: pcap, options: {tx: %s}}\n"
		"      - {name: p4, type: \"null\", options: {rx: false, size: 1}}\n"
		"  - name: br1\n",
		pcap);
	apply(yaml, &ch, &n);
	dump_changes(ch, n);
	ck_assert(has_change(ch, n, "added bridge br1"));
	ck_assert(has_change(ch, n, "added bridge br0 with mac-aging=100"));
	ck_assert(has_change(ch, n, "added port rt1 to br0 (type null)"));
	ck_assert(has_change(ch, n, "added port p2 to br0 (type null)"));
	ck_assert(has_change_prefix(ch, n, "could not add port p4 to br0: "));
	state_changes_free(ch, n);
	// p2 was re-created from the merged state with its file options (tag removed in the file
	// while the datapath was down: the merge already dropped it).
	snprintf(pcap, sizeof(pcap), "%s", dp_text());
	ck_assert_ptr_nonnull(strstr(pcap, "br0/p2:null{rx=false,flows=2}"));
	ck_assert_ptr_nonnull(strstr(pcap, "br0/rt1:null{rx=false}"));

	// Removing a datapath option in the file while running: dp_port_set with an empty value.
	apply("bridges:\n"
	      "  - name: br0\n"
	      "    options: {mac-aging: 100}\n"
	      "    ports:\n"
	      "      - {name: p2, type: \"null\", options: {rx: false, flows: 2, tag: 7}}\n"
	      "      - {name: p4, type: \"null\", options: {rx: false, size: 1}}\n"
	      "  - name: br1\n",
		&ch, &n);
	dump_changes(ch, n);
	ck_assert(has_change(ch, n, "changed port p2 options: tag=7"));
	ck_assert(has_change(ch, n, "deleted port p3 from br0"));
	state_changes_free(ch, n);
	apply("bridges:\n"
	      "  - name: br0\n"
	      "    options: {mac-aging: 100}\n"
	      "    ports:\n"
	      "      - {name: p2, type: \"null\", options: {rx: false, flows: 2}}\n"
	      "      - {name: p4, type: \"null\", options: {rx: false, size: 1}}\n"
	      "  - name: br1\n",
		&ch, &n);
	dump_changes(ch, n);
	ck_assert(has_change(ch, n, "changed port p2 options: tag removed"));
	state_changes_free(ch, n);
	ck_assert_ptr_nonnull(strstr(dp_text(), "br0/p2:null{rx=false,flows=2}"));

	// The pending p4 can be forgotten (what port.del does when the datapath says -ENOENT).
	ck_assert_ptr_nonnull(strstr(saved_bridges(), "p4:null"));
	ck_assert_int_eq(state_forget("p4", &err), 0);
	ck_assert_ptr_null(strstr(saved_bridges(), "p4:null"));
	ck_assert_int_eq(state_forget("p4", &err), -ENOENT);
	// A run-time deletion of a bridge is saved by the hook.
	ck_assert_int_eq(dp_bridge_del("br1", &err), 0);
	ck_assert_ptr_null(strstr(saved_bridges(), "br1"));
	ck_assert_int_eq(state_save(&err), 0);

	dp_set_change_hook(NULL, NULL);
	dp_fini();
	state_fini();
	mem_fini();
	rm_tmpdir();
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *merge = tcase_create("merge"), *file = tcase_create("file"),
	      *dpc = tcase_create("apply");

	tcase_add_test(merge, test_merge_first_start);
	tcase_add_test(merge, test_merge_runtime_survives);
	tcase_add_test(merge, test_merge_file_edits);
	tcase_add_test(merge, test_merge_bridges);
	tcase_add_test(merge, test_merge_conflicts);
	tcase_add_test(file, test_file_round_trip);
	tcase_add_test(file, test_file_invalid);
	tcase_add_test(file, test_crash_before_rename);
	tcase_add_test(file, test_corrupt_moved_aside);
	tcase_add_test(file, test_init_errors);
	tcase_add_test(dpc, test_apply_dp);
	tcase_set_timeout(dpc, 30);
	suite_add_tcase(s, merge);
	suite_add_tcase(s, file);
	suite_add_tcase(s, dpc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(state_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
