// SPDX-License-Identifier: Apache-2.0
// vsctl's own commands: help [COMMAND] and list-commands (what the bash completion reads).
// They never contact vswitchd, except `help COMMAND` for the daemon's description of the method.
#include <errno.h>

#include "ctl/vsctl.h"

static int help_run(struct vsctl_ctx *ctx, int argc, char **argv)
{
	const struct vsctl_command *cmd;

	if (argc == 0) {
		vsctl_print_help(ctx->out);
		return 0;
	}
	if ((cmd = vsctl_command_lookup(argv[0])) == NULL)
		return vsctl_usage(
			ctx, "unknown command '%s' (`vsctl list-commands` lists them)", argv[0]);
	vsctl_print_command_help(ctx, cmd);
	return 0;
}

static int help_list(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *list = ctx->json ? json_array() : NULL;
	int ret = 0;

	if (ctx->json && list == NULL)
		return vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
	for (const struct vsctl_group *g = commands_table; g->title != NULL; g++) {
		for (const struct vsctl_command *c = g->commands; c->name != NULL; c++) {
			if (!ctx->json) {
				// The synopsis: the bash completion reads it (command name, then
				// options and argument names).
				vsctl_print_synopsis(ctx->out, c);
				fputc('\n', ctx->out);
				continue;
			}
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s?, s:s?}", "name",
				c->name, "group", g->title, "usage", c->usage, "help", c->help,
				"min_args", c->min_args, "max_args", c->max_args, "options",
				c->opts, "method", c->method);
			if (o == NULL || json_array_append_new(list, o) < 0) {
				ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
				goto out;
			}
		}
	}
	if (ctx->json)
		ret = vsctl_print_json(ctx, list);
out:
	json_decref(list);
	return ret;
}

const struct vsctl_command help_commands[] = {
	{
		.name = "help",
		.usage = "[COMMAND]",
		.help = "describe COMMAND (all commands without COMMAND)",
		.max_args = 1,
		.run = help_run,
	},
	{
		.name = "list-commands",
		.usage = "",
		.help = "print every command with its arguments, one per line",
		.max_args = 0,
		.run = help_list,
	},
	{0},
};
