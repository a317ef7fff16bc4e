/* Shared CUnit runner: a test file lists its suites and calls unit_run() from main(). */
#ifndef UNIT_H
#define UNIT_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

/* Run the suites with the basic verbose interface; prints CUnit's per-run summary.
 * Returns 0 when every test passed, 1 otherwise (the process exit status). */
int unit_run(CU_SuiteInfo *suites);

/* Deterministic test data: xorshift64* stream from a seed. */
static inline uint64_t unit_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}
void unit_fill_random(void *buf, size_t len, uint64_t seed);

/* Run the program 'exe' with args (NULL-terminated, without argv[0]) and wait for it. Its
 * stdout and stderr go into out / err (NUL-terminated, truncated to the buffer; either may be
 * NULL to discard). Returns the exit status, or -1 when it could not run or died of a signal. */
int unit_run_program(const char *exe, const char *const *args, char *out, size_t outlen, char *err,
		     size_t errlen);

/* Path of a file under tests/ in the source tree (TESTS_SRC_DIR set by meson). */
const char *unit_src_path(const char *rel);

#endif
