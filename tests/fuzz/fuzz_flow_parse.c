// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for the flow rule parser and formatter (dataplane/flow_parse.c): any input,
// in every mode, must give a rule or an error naming a column, never a crash; and a parsed rule
// printed, parsed again and printed again must give the same text (the canonical form is what
// persistence and the three-way merge compare).
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/flow_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct flow_spec spec, again;
static char text[FLOW_TEXT_MAX * 2], text2[FLOW_TEXT_MAX * 2];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum flow_parse_mode modes[] = {
		FLOW_PARSE_ADD, FLOW_PARSE_FILTER, FLOW_PARSE_PACKET};

	for (unsigned m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct err err = {0};
		int ret = flow_parse((const char *)data, size, modes[m], &spec, &err);

		if (ret < 0) {
			if (err.code != ret || err.msg[0] == '\0')
				abort();
			if (ret == -EINVAL && strncmp(err.msg, "column ", 7) != 0)
				abort();
			continue;
		}
		if (modes[m] != FLOW_PARSE_ADD)
			continue;
		// Canonical text is stable: print, parse, print again.
		if (flow_format(&spec, FLOW_FMT_ALL, text, sizeof(text)) > FLOW_TEXT_MAX)
			continue;
		memset(&err, 0, sizeof(err));
		if (flow_parse(text, strlen(text), FLOW_PARSE_ADD, &again, &err) < 0)
			abort();
		flow_format(&again, FLOW_FMT_ALL, text2, sizeof(text2));
		if (strcmp(text, text2) != 0 || !flow_spec_same_match(&spec, &again))
			abort();
		// Every rule covers itself.
		if (!flow_spec_covers(&spec, &again))
			abort();
	}
	return 0;
}
