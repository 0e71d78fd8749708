// SPDX-License-Identifier: Apache-2.0
// vsctl: the command-line client of vswitchd. Everything but main() lives in the ctl object
// library so that unit tests can drive it (ctl/vsctl.c).
#include <stdio.h>

#include "ctl/vsctl.h"

int main(int argc, char **argv)
{
	return vsctl_main(argc, argv, stdout, stderr, NULL);
}
