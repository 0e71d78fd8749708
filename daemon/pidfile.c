// SPDX-License-Identifier: Apache-2.0
// Pid file: locked for the daemon's lifetime; the lock, not the file's existence, means "running".
#include "daemon/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static int pid_fd = -1;
static char *pid_path;

int pidfile_create(const char *path, struct err *err)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(err, -errno, "pidfile", "cannot open pid file %s: %s", path,
			strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[r > 0 ? r : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(fd);
		if (e == EWOULDBLOCK)
			return err_set(err, -EEXIST, "pidfile",
				"another vswitchd (pid %s) holds %s; stop it first", buf, path);
		return err_set(err, -e, "pidfile", "cannot lock %s: %s", path, strerror(e));
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, n, 0) != n) {
		int e = errno;
		close(fd);
		return err_set(err, -e, "pidfile", "cannot write %s: %s", path, strerror(e));
	}
	pid_fd = fd;
	pid_path = strdup(path);
	return 0;
}

void pidfile_remove(void)
{
	if (pid_fd < 0)
		return;
	if (pid_path)
		unlink(pid_path);
	close(pid_fd);
	free(pid_path);
	pid_fd = -1;
	pid_path = NULL;
}
