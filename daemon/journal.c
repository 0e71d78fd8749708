// SPDX-License-Identifier: Apache-2.0
// journald log sink: keeps module/object/function as fields so `journalctl VSWITCH_OBJECT=vm1`
// filters one port's messages.
#include "daemon/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "dataplane/log.h"

bool journal_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	// systemd sets JOURNAL_STREAM=<dev>:<inode> of the stream it gave us; compare so that a
	// redirected stderr (e.g. a shell inside the unit) is not mistaken for the journal.
	if (e == NULL || sscanf(e, "%lu:%lu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

static void journal_sink(enum log_level lvl, const char *module, const char *func,
	const char *object, const char *msg)
{
	if (object && *object)
		sd_journal_send("MESSAGE=%s: %s: %s", module, object, msg, "PRIORITY=%d", (int)lvl,
			"VSWITCH_MODULE=%s", module, "VSWITCH_OBJECT=%s", object, "CODE_FUNC=%s",
			func, NULL);
	else
		sd_journal_send("MESSAGE=%s: %s", module, msg, "PRIORITY=%d", (int)lvl,
			"VSWITCH_MODULE=%s", module, "CODE_FUNC=%s", func, NULL);
}

void journal_install(void)
{
	log_set_sink(journal_sink);
}
