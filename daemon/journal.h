// SPDX-License-Identifier: Apache-2.0
// Log sink for journald: structured fields (module, object, function) when stderr is the journal.
#ifndef VSWITCH_JOURNAL_H
#define VSWITCH_JOURNAL_H

#include <stdbool.h>

// True when systemd connected stderr to the journal (JOURNAL_STREAM matches stderr).
bool journal_stderr_is_journal(void);
// Installs the journald sink (log_set_sink).
void journal_install(void);

#endif
