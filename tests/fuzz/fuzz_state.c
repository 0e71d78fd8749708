// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for the state.json reader (control/state.c): any file must give either the
// bridges it holds or an error with a message; whatever it gives must merge with itself into a
// list with unique bridge and port names, without crash, leak or hang.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// Names are global per kind (bridges among bridges, ports among all ports).
static void check_unique(const struct config_bridge *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = i + 1; j < n; j++)
			if (strcmp(b[i].name, b[j].name) == 0)
				abort();
		for (unsigned p = 0; p < b[i].n_ports; p++) {
			for (unsigned j = i; j < n; j++)
				for (unsigned q = j == i ? p + 1 : 0; q < b[j].n_ports; q++)
					if (strcmp(b[i].ports[p].name, b[j].ports[q].name) == 0)
						abort();
		}
	}
}

static void merge_check(const struct state_data *d, bool swap)
{
	const struct config_bridge *a = swap ? d->file_bridges : d->bridges;
	const struct config_bridge *b = swap ? d->bridges : d->file_bridges;
	unsigned na = swap ? d->n_file_bridges : d->n_bridges;
	unsigned nb = swap ? d->n_bridges : d->n_file_bridges;
	struct config_bridge *out;
	unsigned n_out;

	// Run time = a, file last applied = b, file now = a: a three-way merge of real lists.
	if (state_merge(a, na, b, nb, a, na, &out, &n_out) < 0)
		abort();
	check_unique(out, n_out);
	config_bridges_free(out, n_out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct state_data d;
	struct err err = {0};
	char path[64];
	int ret;

	// One in-memory file, rewritten for every input; the reader opens it by path.
	if (fd < 0 && (fd = memfd_create("fuzz_state", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = state_file_read(path, &d, &err);
	if (ret < 0) {
		// Every failure explains itself.
		if (err.code != ret || err.msg[0] == '\0')
			abort();
		return 0;
	}
	check_unique(d.bridges, d.n_bridges);
	check_unique(d.file_bridges, d.n_file_bridges);
	merge_check(&d, false);
	merge_check(&d, true);
	state_data_free(&d);
	return 0;
}
