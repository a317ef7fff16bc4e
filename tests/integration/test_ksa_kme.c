/* Two qkdkme processes (kme-a, kme-b) over durable key stores that hold the same link keys: a
 * master SAE on kme-a gets keys for a slave SAE on kme-b, kme-b is killed with SIGKILL and
 * restarted, and the slave still gets exactly the master's key bytes, which are the next bytes of
 * kme-a's half of the link keys (km_ksa.h). Then a clean SIGTERM stop of both.
 *   usage: test_ksa_kme PATH/TO/qkdkme */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "km_ksa.h"
#include "km_store.h"
#include "unit.h"

#define KEYB 40
#define LINK_KEYS 64
#define POOL KM_POOL_LINK(7)

static const char *qkdkme;
static char dir[128];
static uint16_t ports[4]; /* a Ak, a Kx-2, b Ak, b Kx-2 */
static pid_t pid_a, pid_b;
static uint8_t ref[LINK_KEYS * KEYB]; /* kme-a's half of the link keys, in order */
static size_t ref_len, ref_off;

static const char *path(const char *name)
{
	static char buf[16][256]; /* several live at once in one json_pack() */
	static int i;
	i = (i + 1) % 16;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl))
		return 0;
	close(fd);
	return ntohs(sa.sin_port);
}

static int write_config(const char *me, uint16_t ak, uint16_t kx, const char *peer,
			uint16_t peer_kx)
{
	char listen[64], kxl[64], cert[64], key[64], store[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", ak);
	snprintf(kxl, sizeof(kxl), "127.0.0.1:%u", kx);
	snprintf(cert, sizeof(cert), "%s.pem", me);
	snprintf(key, sizeof(key), "%s.key", me);
	snprintf(store, sizeof(store), "store-%s", me);
	json_t *c = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:b,"
		" s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}], s:[{s:s, s:s, s:i, s:s}]}",
		"kme_id", me, "listen", listen, "kx_listen", kxl, "ca", path("ca.pem"), "cert",
		path(cert), "key", path(key), "store", "path", path(store), "kek_file",
		path("kek.bin"), "sync", "full", "local_pool", "peer:1000", "local_keys_from_rng", 1,
		"saes", "sae_id", "sae-a1", "kme_id", "kme-a", "sae_id", "sae-a2", "kme_id", "kme-a",
		"sae_id", "sae-b1", "kme_id", "kme-b", "peers", "kme_id", peer, "host", "127.0.0.1",
		"port", (int)peer_kx, "pool", "link:7");
	char file[64];
	snprintf(file, sizeof(file), "%s.json", me);
	int rc = c ? json_dump_file(c, path(file), JSON_INDENT(1)) : -1;
	json_decref(c);
	return rc;
}

static int put_keys(const char *name)
{
	struct km_store_config cfg = {.path = path(name), .kek_file = path("kek.bin")};
	struct km_store *st;
	if (km_store_open(&cfg, &st) != 0)
		return -1;
	int rc = 0;
	for (unsigned i = 0; i < LINK_KEYS && rc == 0; i++) {
		uint8_t mat[KEYB];
		struct km_key_in in = {.pool = POOL, .bits = KEYB * 8, .type = KM_KEY_QKD,
				       .material = mat};
		unit_fill_random(in.id, 16, 500 + i);
		unit_fill_random(mat, KEYB, 900 + i);
		rc = km_store_put(st, &in, 1);
		/* kme-a < kme-b: kme-a takes the keys whose last id byte is odd */
		if (rc == 0 && strcmp(name, "store-kme-a") == 0 && (in.id[15] & 1)) {
			memcpy(ref + ref_len, mat, KEYB);
			ref_len += KEYB;
		}
	}
	km_store_close(st);
	return rc;
}

static pid_t spawn(const char *me)
{
	char cfg[64], log[64];
	snprintf(cfg, sizeof(cfg), "%s.json", me);
	snprintf(log, sizeof(log), "%s.log", me);
	const char *cfgp = path(cfg), *logp = path(log);
	pid_t p = fork();
	if (p == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(qkdkme, "qkdkme", "--config", cfgp, (char *)NULL);
		_exit(127);
	}
	return p;
}

/* Wait until the port accepts connections (the daemon is up), at most 10 s. */
static int wait_port(uint16_t port)
{
	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return 0;
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int suite_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ksa_kme_XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "sh %s %s kme-a kme-b sae-a1 sae-a2 sae-b1 >/dev/null",
		 unit_src_path("../scripts/make_certs.sh"), dir);
	if (system(cmd) != 0)
		return 1;
	uint8_t kek[32];
	unit_fill_random(kek, sizeof(kek), 5);
	int fd = open(path("kek.bin"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, kek, sizeof(kek)) != (ssize_t)sizeof(kek) || close(fd))
		return 1;
	if (put_keys("store-kme-a") || put_keys("store-kme-b"))
		return 1;
	for (int i = 0; i < 4; i++)
		if (!(ports[i] = free_port()))
			return 1;
	if (write_config("kme-a", ports[0], ports[1], "kme-b", ports[3]) ||
	    write_config("kme-b", ports[2], ports[3], "kme-a", ports[1]))
		return 1;
	pid_a = spawn("kme-a");
	pid_b = spawn("kme-b");
	return pid_a <= 0 || pid_b <= 0 || wait_port(ports[0]) || wait_port(ports[2]);
}

static int stop(pid_t *p, int sig)
{
	if (*p <= 0)
		return -1;
	kill(*p, sig);
	int status = 0;
	waitpid(*p, &status, 0);
	*p = 0;
	return status;
}

static int suite_clean(void)
{
	stop(&pid_a, SIGKILL);
	stop(&pid_b, SIGKILL);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) != 0;
}

static struct km_ksa_client *client(const char *sae, uint16_t port, const char *kme)
{
	char cert[64], key[64];
	snprintf(cert, sizeof(cert), "%s.pem", sae);
	snprintf(key, sizeof(key), "%s.key", sae);
	struct km_ksa_client *c = km_ksa_client_create("127.0.0.1", port, path("ca.pem"),
						       path(cert), path(key), kme, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

struct keys {
	int n;
	char id[8][40];
	uint8_t mat[8][64];
	size_t len[8];
};

static int request(struct km_ksa_client *c, const char *method, const char *p, const char *body,
		   struct keys *k)
{
	char *resp = NULL;
	size_t len = 0;
	int st = km_ksa_client_request(c, method, p, body, &resp, &len);
	json_t *j = st == 200 ? json_loadb(resp, len, 0, NULL) : NULL;
	km_ksa_client_free_body(resp, len);
	k->n = 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "keys"), i, e)
	{
		const char *id = json_string_value(json_object_get(e, "key_ID"));
		const char *b = json_string_value(json_object_get(e, "key"));
		if (i >= 8 || !id || !b || strlen(id) != 36 || strlen(b) > 84)
			break;
		strcpy(k->id[i], id);
		int n = EVP_DecodeBlock(k->mat[i], (const unsigned char *)b, (int)strlen(b));
		size_t bl = strlen(b);
		k->len[i] = (size_t)n - (bl && b[bl - 1] == '=') - (bl > 1 && b[bl - 2] == '=');
		k->n++;
	}
	json_decref(j);
	return st;
}

static char *ids_body(const struct keys *k)
{
	json_t *a = json_array();
	for (int i = 0; i < k->n; i++)
		json_array_append_new(a, json_pack("{s:s}", "key_ID", k->id[i]));
	json_t *o = json_pack("{s:o}", "key_IDs", a);
	char *s = json_dumps(o, 0);
	json_decref(o);
	return s;
}

static void test_supply_survives_kill(void)
{
	struct km_ksa_client *m = client("sae-a1", ports[0], "kme-a");
	struct keys k, d;
	CU_ASSERT_EQUAL_FATAL(request(m, "GET", "/api/v1/keys/sae-b1/enc_keys?number=4&size=256",
				      NULL, &k), 200);
	CU_ASSERT_EQUAL_FATAL(k.n, 4);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_FATAL(k.len[i] == 32 && ref_off + 32 <= ref_len);
		CU_ASSERT(memcmp(k.mat[i], ref + ref_off, 32) == 0);
		ref_off += 32;
	}
	/* kme-b accepted the keys before kme-a answered: they survive SIGKILL */
	CU_ASSERT(WIFSIGNALED(stop(&pid_b, SIGKILL)));
	pid_b = spawn("kme-b");
	CU_ASSERT_EQUAL_FATAL(wait_port(ports[2]), 0);
	struct km_ksa_client *s = client("sae-b1", ports[2], "kme-b");
	char *body = ids_body(&k);
	CU_ASSERT_EQUAL(request(s, "POST", "/api/v1/keys/sae-a1/dec_keys", body, &d), 200);
	CU_ASSERT_EQUAL(d.n, 4);
	for (int i = 0; i < d.n; i++)
		CU_ASSERT(strcmp(d.id[i], k.id[i]) == 0 && memcmp(d.mat[i], k.mat[i], 32) == 0);
	/* and still only once */
	CU_ASSERT_EQUAL(request(s, "POST", "/api/v1/keys/sae-a1/dec_keys", body, &d), 400);
	free(body);
	km_ksa_client_free(s);
	/* kme-a after SIGKILL: keys for a local slave are still there, and supply goes on from
	 * where it stopped */
	CU_ASSERT_EQUAL(request(m, "GET", "/api/v1/keys/sae-a2/enc_keys?number=2", NULL, &k), 200);
	km_ksa_client_free(m);
	CU_ASSERT(WIFSIGNALED(stop(&pid_a, SIGKILL)));
	pid_a = spawn("kme-a");
	CU_ASSERT_EQUAL_FATAL(wait_port(ports[0]), 0);
	s = client("sae-a2", ports[0], "kme-a");
	body = ids_body(&k);
	CU_ASSERT_EQUAL(request(s, "POST", "/api/v1/keys/sae-a1/dec_keys", body, &d), 200);
	CU_ASSERT(d.n == 2 && memcmp(d.mat[0], k.mat[0], 32) == 0 &&
		  memcmp(d.mat[1], k.mat[1], 32) == 0);
	free(body);
	km_ksa_client_free(s);
	m = client("sae-a1", ports[0], "kme-a");
	CU_ASSERT_EQUAL(request(m, "GET", "/api/v1/keys/sae-b1/enc_keys?size=128", NULL, &k), 200);
	CU_ASSERT(k.n == 1 && k.len[0] == 16 && memcmp(k.mat[0], ref + ref_off, 16) == 0);
	ref_off += 16;
	km_ksa_client_free(m);
}

static void test_clean_stop_and_check(void)
{
	int st = stop(&pid_a, SIGTERM);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = stop(&pid_b, SIGTERM);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* a configuration error is one line and exit status 2 */
	FILE *f = fopen(path("bad.json"), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("{\"kme_id\": \"kme-a\", \"listen\": 5}", f);
	fclose(f);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "%s --config %s --check 2>/dev/null", qkdkme, path("bad.json"));
	st = system(cmd);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	snprintf(cmd, sizeof(cmd), "%s --config %s --check", qkdkme, path("kme-a.json"));
	st = system(cmd);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static CU_TestInfo tests[] = {
	{"supply across processes survives SIGKILL", test_supply_survives_kill},
	{"clean stop, config check", test_clean_stop_and_check},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"qkdkme", suite_init, suite_clean, NULL, NULL, tests},
	CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_ksa_kme PATH/TO/qkdkme\n");
		return 2;
	}
	qkdkme = argv[1];
	signal(SIGPIPE, SIG_IGN);
	return unit_run(suites);
}
