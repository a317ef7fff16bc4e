/* qkdtool subcommand registry and the file helpers every subcommand shares. */
#ifndef QKDTOOL_H
#define QKDTOOL_H

#include <stddef.h>
#include <stdint.h>

struct qkdtool_cmd {
	const char *name;
	const char *usage; /* one line: arguments after the subcommand name */
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand; returns the exit status */
	struct qkdtool_cmd *next;
};
void qkdtool_register(struct qkdtool_cmd *c);

#define QKDTOOL_CMD(cmd_name, cmd_usage, run_fn)                                                 \
	static struct qkdtool_cmd run_fn##_cmd = {cmd_name, cmd_usage, run_fn, 0};              \
	__attribute__((constructor)) static void run_fn##_register(void)                         \
	{                                                                                        \
		qkdtool_register(&run_fn##_cmd);                                                 \
	}

/* Exit statuses: 0 ok, 1 the operation failed (e.g. a block aborted), 2 bad input or usage. */
enum { QKDTOOL_OK = 0, QKDTOOL_FAILED = 1, QKDTOOL_BAD_INPUT = 2 };

/* Print "qkdtool <cmd>: <message>" on one line to stderr and return QKDTOOL_BAD_INPUT. */
int qkdtool_bad(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read a whole file into a malloc'ed buffer (one spare zero byte after it). 0 or -errno. */
int qkdtool_read_file(const char *path, uint8_t **data, size_t *len);
/* Write a buffer to a file atomically (temporary file + rename). 0 or -errno. */
int qkdtool_write_file(const char *path, const void *data, size_t len);

/* Read and decode an event file (docs/formats.md). On failure prints the one-line error for
 * 'cmd' and returns QKDTOOL_BAD_INPUT; on success the caller owns f (dst_event_file_clear). */
struct dst_event_file;
int qkdtool_load_events(const char *cmd, const char *path, struct dst_event_file *f);

/* Strict number parsing: the whole string must be a number in [min, max]. 0 or -EINVAL. */
int qkdtool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int qkdtool_parse_double(const char *s, double min, double max, double *out);

#endif
