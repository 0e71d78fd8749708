// SPDX-License-Identifier: Apache-2.0
// state.json of the state module (state.h): bridge lists to and from JSON with shape checks,
// atomic replacement (temporary file, fsync, rename, directory fsync), and the repair steps run
// at start (corrupt file moved aside, stale temporary files removed).
#include "control/state_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/flow_parse.h"
#include "dataplane/flow_table.h"
#include "dataplane/log.h"

LOG_MODULE("state");

#define STATE_MAX_FILE_SIZE (64u << 20)
#define STATE_MAX_OPT_VALUE 4096

static void (*pre_rename_hook)(const char *tmp_path);

void state_set_pre_rename_hook(void (*fn)(const char *tmp_path))
{
	pre_rename_hook = fn;
}

void state_data_free(struct state_data *d)
{
	config_bridges_free(d->bridges, d->n_bridges);
	config_bridges_free(d->file_bridges, d->n_file_bridges);
	memset(d, 0, sizeof(*d));
}

static json_t *opts_to_json(const struct port_kv *kv, unsigned n)
{
	json_t *o = json_object();

	for (unsigned i = 0; o != NULL && i < n; i++) {
		if (json_object_set_new(o, kv[i].key, json_string(kv[i].value)) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

// NULL on allocation failure. json_pack steals "o" references even when it fails.
static json_t *bridges_to_json(const struct config_bridge *b, unsigned n)
{
	json_t *arr = json_array();

	for (unsigned i = 0; arr != NULL && i < n; i++) {
		json_t *ports = json_array(), *br;

		for (unsigned p = 0; ports != NULL && p < b[i].n_ports; p++) {
			const struct config_port *port = &b[i].ports[p];
			json_t *jp = json_pack("{s:s, s:s, s:o}", "name", port->name, "type",
				port->type, "options", opts_to_json(port->opts, port->n_opts));

			if (json_array_append_new(ports, jp) < 0) {
				json_decref(ports);
				ports = NULL;
			}
		}
		br = json_pack("{s:s, s:o, s:o}", "name", b[i].name, "options",
			opts_to_json(b[i].opts, b[i].n_opts), "ports", ports);
		if (br != NULL && b[i].n_flows > 0) {
			json_t *flows = json_array();

			for (unsigned f = 0; flows != NULL && f < b[i].n_flows; f++) {
				if (json_array_append_new(flows, json_string(b[i].flows[f])) < 0) {
					json_decref(flows);
					flows = NULL;
				}
			}
			if (json_object_set_new(br, "flows", flows) < 0) {
				json_decref(br);
				br = NULL;
			}
		}
		if (json_array_append_new(arr, br) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

// Shape errors in a state file: "FILE: bridges[0].ports[1].type: expected a string".
static int __printf(4, 5)
	sf_err(struct err *err, const char *path, const char *where, const char *fmt, ...)
{
	char what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(err, -EINVAL, where, "%s: %s: %s", path, where, what);
}

static int opts_from_json(json_t *o, const char *path, const char *where, struct port_kv **out,
	unsigned *n_out, struct err *err)
{
	const char *key;
	json_t *v;
	unsigned i = 0;

	*out = NULL;
	*n_out = 0;
	if (o == NULL)
		return 0;
	if (!json_is_object(o))
		return sf_err(err, path, where, "expected an object of option strings");
	if (json_object_size(o) > PORT_ARGS_MAX)
		return sf_err(err, path, where, "too many options (max %u)", PORT_ARGS_MAX);
	if (json_object_size(o) == 0)
		return 0;
	if ((*out = calloc(json_object_size(o), sizeof(**out))) == NULL)
		return err_set(err, -ENOMEM, "", "%s: out of memory", path);
	json_object_foreach(o, key, v) {
		if (*key == '\0' || !json_is_string(v) || json_string_length(v) == 0 ||
			json_string_length(v) > STATE_MAX_OPT_VALUE)
			return sf_err(err, path, where,
				"option \"%.64s\": expected a non-empty string value", key);
		(*out)[i].key = strdup(key);
		(*out)[i].value = strdup(json_string_value(v));
		*n_out = ++i;
		if ((*out)[i - 1].key == NULL || (*out)[i - 1].value == NULL)
			return err_set(err, -ENOMEM, "", "%s: out of memory", path);
	}
	return 0;
}

static int name_from_json(
	json_t *v, size_t max, const char *path, const char *where, struct err *err)
{
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= max)
		return sf_err(err, path, where,
			"expected a non-empty string of less than %zu bytes", max);
	return 0;
}

// "flows": [rule text, ...], each checked by the flow parser.
static int flows_from_json(
	json_t *arr, const char *path, const char *where, struct config_bridge *br, struct err *err)
{
	struct flow_spec *spec;
	char fwhere[128];
	json_t *v;
	size_t i;
	int ret = 0;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > FLOW_TABLE_MAX_RULES)
		return sf_err(err, path, where,
			"flows: expected an array of at most %u rule strings",
			FLOW_TABLE_MAX_RULES);
	if ((spec = malloc(sizeof(*spec))) == NULL)
		return err_set(err, -ENOMEM, "", "%s: out of memory", path);
	json_array_foreach(arr, i, v) {
		struct err perr = {0};

		snprintf(fwhere, sizeof(fwhere), "%s.flows[%zu]", where, i);
		if (!json_is_string(v)) {
			ret = sf_err(err, path, fwhere, "expected a rule string");
			break;
		}
		if (flow_parse(json_string_value(v), json_string_length(v), FLOW_PARSE_ADD, spec,
			    &perr) < 0) {
			ret = sf_err(err, path, fwhere, "invalid flow: %s", perr.msg);
			break;
		}
		if ((ret = state_list_add_flow(br, json_string_value(v))) < 0) {
			ret = err_set(err, -ENOMEM, "", "%s: out of memory", path);
			break;
		}
	}
	free(spec);
	return ret;
}

static int bridges_from_json(json_t *arr, const char *path, const char *key,
	struct config_bridge **out, unsigned *n_out, struct err *err)
{
	char where[96];
	size_t i;
	json_t *jb;
	int ret;

	*out = NULL;
	*n_out = 0;
	if (!json_is_array(arr))
		return sf_err(err, path, key, "expected an array of bridges");
	if (json_array_size(arr) == 0)
		return 0;
	if ((*out = calloc(json_array_size(arr), sizeof(**out))) == NULL)
		return err_set(err, -ENOMEM, "", "%s: out of memory", path);
	json_array_foreach(arr, i, jb) {
		struct config_bridge *br = &(*out)[i];
		json_t *name = NULL, *opts = NULL, *ports = NULL, *flows = NULL, *jp;
		size_t p;

		*n_out = (unsigned)i + 1;
		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if (json_unpack(jb, "{s:o, s?o, s?o, s?o !}", "name", &name, "options", &opts,
			    "ports", &ports, "flows", &flows) < 0)
			return sf_err(err, path, where,
				"expected an object with name, options, ports and flows only");
		if ((ret = name_from_json(name, DP_BRIDGE_NAME_MAX, path, where, err)) < 0)
			return ret;
		if (state_br_find(*out, (unsigned)i, json_string_value(name)) != NULL)
			return sf_err(err, path, where, "duplicate bridge name \"%s\"",
				json_string_value(name));
		if ((br->name = strdup(json_string_value(name))) == NULL)
			return err_set(err, -ENOMEM, "", "%s: out of memory", path);
		if ((ret = opts_from_json(opts, path, where, &br->opts, &br->n_opts, err)) < 0)
			return ret;
		if ((ret = flows_from_json(flows, path, where, br, err)) < 0)
			return ret;
		if (ports == NULL)
			continue;
		if (!json_is_array(ports) || json_array_size(ports) > PORT_MAX)
			return sf_err(err, path, where,
				"ports: expected an array of at most %u ports", PORT_MAX);
		if (json_array_size(ports) == 0)
			continue;
		if ((br->ports = calloc(json_array_size(ports), sizeof(*br->ports))) == NULL)
			return err_set(err, -ENOMEM, "", "%s: out of memory", path);
		json_array_foreach(ports, p, jp) {
			struct config_port *port = &br->ports[p];
			json_t *pname = NULL, *type = NULL, *popts = NULL;

			snprintf(where, sizeof(where), "%s[%zu].ports[%zu]", key, i, p);
			if (json_unpack(jp, "{s:o, s:o, s?o !}", "name", &pname, "type", &type,
				    "options", &popts) < 0)
				return sf_err(err, path, where,
					"expected an object with name, type and options only");
			if ((ret = name_from_json(pname, PORT_NAME_MAX, path, where, err)) < 0 ||
				(ret = name_from_json(type, 64, path, where, err)) < 0)
				return ret;
			if (state_port_find(
				    *out, (unsigned)i + 1, json_string_value(pname), NULL) != NULL)
				return sf_err(err, path, where, "duplicate port name \"%s\"",
					json_string_value(pname));
			br->n_ports = (unsigned)p + 1; // counted once checked, for the free
			port->name = strdup(json_string_value(pname));
			port->type = strdup(json_string_value(type));
			if (port->name == NULL || port->type == NULL)
				return err_set(err, -ENOMEM, "", "%s: out of memory", path);
			if ((ret = opts_from_json(
				     popts, path, where, &port->opts, &port->n_opts, err)) < 0)
				return ret;
		}
	}
	return 0;
}

int state_file_read(const char *path, struct state_data *d, struct err *err)
{
	json_t *root = NULL, *bridges = NULL, *file_bridges = NULL;
	json_error_t jerr;
	struct stat sb;
	int version = 0, fd, ret;

	memset(d, 0, sizeof(*d));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return ret;
		return err_set(err, ret, "", "%s: cannot open: %s", path, strerror(-ret));
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > STATE_MAX_FILE_SIZE) {
		ret = err_set(err, -EINVAL, "", "%s: not a regular file of at most %u bytes", path,
			STATE_MAX_FILE_SIZE);
		goto out;
	}
	if ((root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		ret = err_set(err, -EINVAL, "", "%s: line %d, column %d: invalid JSON: %s", path,
			jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (json_unpack(root, "{s:i, s:o, s:o !}", "version", &version, "bridges", &bridges,
		    "file_bridges", &file_bridges) < 0) {
		ret = err_set(err, -EINVAL, "",
			"%s: expected an object with version, bridges and "
			"file_bridges only",
			path);
		goto out;
	}
	if (version != STATE_VERSION) {
		ret = err_set(err, -EINVAL, "version",
			"%s: version %d is not supported (this "
			"vswitchd reads version %d)",
			path, version, STATE_VERSION);
		goto out;
	}
	if ((ret = bridges_from_json(bridges, path, "bridges", &d->bridges, &d->n_bridges, err)) <
		0)
		goto out;
	ret = bridges_from_json(
		file_bridges, path, "file_bridges", &d->file_bridges, &d->n_file_bridges, err);
out:
	json_decref(root);
	close(fd);
	if (ret < 0)
		state_data_free(d);
	return ret;
}

// mkdir -p; the last component gets 0750 (it holds the run-time configuration).
int state_file_mkdir(const char *dir, struct err *err)
{
	char buf[PATH_MAX];
	struct stat sb;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return err_set(err, -ENAMETOOLONG, "state-dir", "state-dir %s: path too long", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return err_set(err, -errno, "state-dir",
				"state-dir %s: cannot create %s: %s", dir, buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return err_set(err, -errno, "state-dir", "state-dir %s: cannot create: %s", dir,
			strerror(errno));
	if (stat(dir, &sb) < 0)
		return err_set(err, -errno, "state-dir", "state-dir %s: %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return err_set(err, -ENOTDIR, "state-dir", "state-dir %s: not a directory", dir);
	if (access(dir, W_OK | X_OK) < 0)
		return err_set(err, -errno, "state-dir", "state-dir %s: not writable: %s", dir,
			strerror(errno));
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int state_file_write(const char *dir, const struct state_data *d, struct err *err)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	json_t *root;
	char *text = NULL;
	int fd = -1, dfd, ret;

	if ((ret = state_file_mkdir(dir, err)) < 0)
		return ret;
	if (snprintf(final, sizeof(final), "%s/%s", dir, STATE_FILE_NAME) >= (int)sizeof(final) ||
		snprintf(tmp, sizeof(tmp), "%s/%sXXXXXX", dir, STATE_TMP_PREFIX) >=
			(int)sizeof(tmp))
		return err_set(err, -ENAMETOOLONG, "state-dir", "state-dir %s: path too long", dir);
	root = json_pack("{s:i, s:o, s:o}", "version", STATE_VERSION, "bridges",
		bridges_to_json(d->bridges, d->n_bridges), "file_bridges",
		bridges_to_json(d->file_bridges, d->n_file_bridges));
	if (root == NULL || (text = json_dumps(root, JSON_INDENT(2))) == NULL) {
		json_decref(root);
		return err_set(err, -ENOMEM, "", "%s: out of memory", final);
	}
	json_decref(root);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		ret = err_set(err, -errno, "", "%s: cannot create a temporary file: %s", dir,
			strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0640) < 0 || (ret = write_all(fd, text, strlen(text))) < 0 ||
		(ret = write_all(fd, "\n", 1)) < 0 || fsync(fd) < 0) {
		ret = ret < 0 ? ret : -errno;
		err_set(err, ret, "", "%s: cannot write: %s", tmp, strerror(-ret));
		goto err_tmp;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = err_set(err, -errno, "", "%s: cannot write: %s", tmp, strerror(errno));
		goto err_tmp;
	}
	fd = -1;
	if (pre_rename_hook != NULL)
		pre_rename_hook(tmp);
	if (rename(tmp, final) < 0) {
		ret = err_set(err, -errno, "", "%s: cannot rename to %s: %s", tmp, final,
			strerror(errno));
		goto err_tmp;
	}
	// The rename is durable only once the directory entry is on disk.
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) < 0) {
		ret = err_set(
			err, -errno, "", "%s: cannot sync the directory: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	close(dfd);
	ret = 0;
	goto out;
err_tmp:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(text);
	return ret;
}

// Renames an unreadable state file to state.json.corrupt-<UTC time>[-N], never replacing one.
int state_file_move_aside(const char *path, char *aside, size_t size)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (unsigned n = 0; n < 100; n++) {
		int r;

		if (n == 0)
			r = snprintf(aside, size, "%s.corrupt-%s", path, stamp);
		else
			r = snprintf(aside, size, "%s.corrupt-%s-%u", path, stamp, n);
		if (r >= (int)size)
			return -ENAMETOOLONG;
		if (renameat2(AT_FDCWD, path, AT_FDCWD, aside, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EEXIST)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			return -errno;
		// File system without RENAME_NOREPLACE: check, then rename (single writer: us).
		if (access(aside, F_OK) == 0)
			continue;
		return rename(path, aside) < 0 ? -errno : 0;
	}
	return -EEXIST;
}

// Removes temporary files left by a save that was interrupted before its rename.
void state_file_remove_stale_tmp(const char *dir)
{
	struct dirent *de;
	DIR *dh = opendir(dir);

	if (dh == NULL)
		return;
	while ((de = readdir(dh)) != NULL) {
		if (strncmp(de->d_name, STATE_TMP_PREFIX, strlen(STATE_TMP_PREFIX)) != 0)
			continue;
		if (unlinkat(dirfd(dh), de->d_name, 0) == 0)
			LOG(NOTICE, "removed %s/%s left by an interrupted save", dir, de->d_name);
	}
	closedir(dh);
}
