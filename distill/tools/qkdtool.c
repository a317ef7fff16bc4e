/* qkdtool: offline simulate / sift / estimate / pa / verify / reconcile / distill. */
#include <stdio.h>
#include <string.h>

#include "dst_cpu.h"
#include "qkdtool.h"

static struct qkdtool_cmd *cmds;

void qkdtool_register(struct qkdtool_cmd *c)
{
	struct qkdtool_cmd **p = &cmds;
	while (*p && strcmp((*p)->name, c->name) < 0)
		p = &(*p)->next;
	c->next = *p;
	*p = c;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: qkdtool [--cpu=generic|avx2|vpclmul|native] COMMAND [ARGS]\n\ncommands:\n");
	for (struct qkdtool_cmd *c = cmds; c; c = c->next)
		fprintf(f, "  %-10s %s\n", c->name, c->usage);
}

int main(int argc, char **argv)
{
	if (dst_cpu_parse_args(&argc, argv))
		return QKDTOOL_BAD_INPUT;
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? QKDTOOL_BAD_INPUT : QKDTOOL_OK;
	}
	for (struct qkdtool_cmd *c = cmds; c; c = c->next)
		if (!strcmp(c->name, argv[1]))
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "qkdtool: unknown command '%s' (qkdtool --help lists them)\n", argv[1]);
	return QKDTOOL_BAD_INPUT;
}
