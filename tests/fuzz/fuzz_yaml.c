// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for the vswitchd.yaml loader (control/config.c): any input must give either
// a config or an error with a message, never a crash, leak or hang.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_bridge *copy;
	struct config cfg;
	struct err err = {0};
	int ret;

	ret = config_load_buf((const char *)data, size, "fuzz.yaml", &cfg, &err);
	if (ret < 0) {
		// Every failure explains itself.
		if (err.code != ret || err.msg[0] == '\0')
			abort();
	} else {
		if (cfg.socket_path == NULL || cfg.state_dir == NULL || cfg.dp.n_workers == 0)
			abort();
		// Exercise the copy used by persistence on whatever was parsed.
		if (config_bridges_dup(cfg.bridges, cfg.n_bridges, &copy) == 0)
			config_bridges_free(copy, cfg.n_bridges);
	}
	config_free(&cfg);
	return 0;
}
