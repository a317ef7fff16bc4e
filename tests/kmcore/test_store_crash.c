/* Crash safety: a child process stores keys (fsync on) and reports every acknowledged batch
 * through a pipe; the parent kills it with SIGKILL at a random moment, reopens the store and
 * checks that every acknowledged key is there with its exact material, that nothing is listed
 * twice, and that the counters agree with the listing. Repeated ROUNDS times on one store. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "store_util.h"

#define ROUNDS 25
#define KEY_BYTES 48
#define POOL KM_POOL_LINK(1)
#define SEED 77

struct ack {
	uint32_t first, n;
};

static char dir[256];

static void child(int wfd, uint32_t first)
{
	struct km_store *st = su_open(dir, KM_SYNC_FULL, NULL);
	if (!st)
		_exit(3);
	uint8_t mat[4][KEY_BYTES];
	for (uint32_t i = first;; ) {
		uint32_t n = 1 + i % 4; /* batches of 1..4 keys */
		struct km_key_in k[4];
		for (uint32_t j = 0; j < n; j++) {
			k[j] = (struct km_key_in){.pool = POOL, .bits = KEY_BYTES * 8, .type = KM_KEY_QKD,
						  .material = mat[j], .block_seq = i + j};
			su_key(SEED, i + j, k[j].id, mat[j], KEY_BYTES);
		}
		/* every other batch goes through a group commit of one put per key */
		bool group = (i / 4) % 2 == 1;
		if (group) {
			if (km_store_batch_begin(st) != 0)
				_exit(4);
			for (uint32_t j = 0; j < n; j++)
				if (km_store_put(st, &k[j], 1) != 0)
					_exit(4);
			if (km_store_batch_end(st) != 0)
				_exit(4);
		} else if (km_store_put(st, k, n) != 0) {
			_exit(4);
		}
		struct ack a = {i, n};
		if (write(wfd, &a, sizeof(a)) != sizeof(a))
			_exit(5);
		i += n;
	}
}

struct seen {
	uint32_t n, bad;
	uint8_t (*ids)[16];
};

static int collect(void *ctx, const struct km_key_meta *m)
{
	struct seen *s = ctx;
	if (m->bits != KEY_BYTES * 8 || m->state != KM_KEY_AVAILABLE)
		s->bad++;
	memcpy(s->ids[s->n++], m->id, 16);
	return 0;
}

static int cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static void test_kill9_loses_no_acknowledged_key(void)
{
	su_tmpdir(dir, sizeof(dir), "crash");
	uint64_t rnd = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
	uint8_t *acked = calloc(ROUNDS * 10000, 1);
	uint32_t total_acked = 0;
	for (int round = 0; round < ROUNDS; round++) {
		int fds[2];
		CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
		uint32_t first = (uint32_t)round * 10000;
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			child(fds[1], first);
		}
		close(fds[1]);
		/* anywhere from during open to ~100 ms of writing */
		usleep((useconds_t)(unit_rand(&rnd) % 100000));
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		struct ack a;
		while (read(fds[0], &a, sizeof(a)) == sizeof(a)) {
			CU_ASSERT_FATAL(a.first >= first && a.first + a.n <= first + 10000);
			for (uint32_t i = a.first; i < a.first + a.n; i++) {
				acked[i] = 1;
				total_acked++;
			}
		}
		close(fds[0]);

		struct km_store *st = su_open(dir, KM_SYNC_FULL, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(st);
		struct seen s = {0, 0, malloc((size_t)ROUNDS * 10000 * 16)};
		int listed = km_store_list(st, POOL, 0, collect, &s);
		CU_ASSERT_EQUAL(listed, (int)s.n);
		CU_ASSERT_EQUAL(s.bad, 0);
		qsort(s.ids, s.n, 16, cmp16);
		int dup = 0;
		for (uint32_t i = 1; i < s.n; i++)
			dup += memcmp(s.ids[i - 1], s.ids[i], 16) == 0;
		CU_ASSERT_EQUAL(dup, 0);
		struct km_pool_stats ps = {0};
		km_store_pool_stats(st, POOL, &ps);
		CU_ASSERT_EQUAL(ps.keys[KM_KEY_AVAILABLE], s.n);
		CU_ASSERT(s.n >= total_acked);
		/* every acknowledged key is present and decrypts to its exact material */
		uint32_t missing = 0, wrong = 0;
		for (uint32_t i = 0; i < (uint32_t)ROUNDS * 10000; i++) {
			if (!acked[i])
				continue;
			uint8_t id[16], want[KEY_BYTES], got[KEY_BYTES];
			su_key(SEED, i, id, want, KEY_BYTES);
			if (!bsearch(id, s.ids, s.n, 16, cmp16)) {
				missing++;
				continue;
			}
			struct km_take t = {.pool = POOL, .bytes = KEY_BYTES, .nsrc = 1};
			memcpy(t.src[0], id, 16);
			struct km_take_handle h;
			if (km_store_take_named(st, &t, got, &h) != 0 || memcmp(got, want, KEY_BYTES) != 0)
				wrong++;
			else
				km_store_take_abort(st, &h, false);
		}
		CU_ASSERT_EQUAL(missing, 0);
		CU_ASSERT_EQUAL(wrong, 0);
		free(s.ids);
		km_store_close(st);
	}
	printf("  %u acknowledged keys over %d kills\n", total_acked, ROUNDS);
	CU_ASSERT(total_acked > 0);
	free(acked);
	su_rmdir(dir);
}

static CU_TestInfo crash_tests[] = {
	{"kill -9 while writing loses no acknowledged key", test_kill9_loses_no_acknowledged_key},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"km_store_crash", NULL, NULL, NULL, NULL, crash_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
