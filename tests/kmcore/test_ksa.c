/* ETSI GS QKD 014 key supply over mutual TLS with three KMEs on loopback (kme-a, kme-b, kme-c),
 * each with its own durable key store holding the same link keys as its peers. Every key an SAE
 * receives is compared with the reference: the next unread bytes of the master KME's half of the
 * shared keys (odd last id byte for the KME with the smaller ID, km_ksa.h), in the order they
 * were stored. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "km_ksa.h"
#include "km_meter.h"
#include "km_store.h"
#include "unit.h"

#define KEYB 48      /* shared key length: supplied keys straddle shared keys */
#define LINK_KEYS 200
#define SELF_KEYS 100
#define POOL_AB KM_POOL_LINK(1)
/* kme-a and kme-c share relayed keys: each end names the pool after the other node */
#define POOL_AC_AT_A KM_POOL_PEER(3)
#define POOL_AC_AT_C KM_POOL_PEER(1)
#define POOL_AD KM_POOL_LINK(3)
#define POOL_LOCAL KM_POOL_PEER(1000)

static char dir[128];
static struct km_ksa *kme_a, *kme_b, *kme_c;
static struct km_store *store_a, *store_b, *store_c;
static struct km_meter *meter_a;

/* ---- reference streams ---- */
struct ref_stream {
	uint8_t ids[LINK_KEYS][16];
	uint8_t mat[LINK_KEYS][KEYB];
	unsigned n, idx, off;
};
static struct ref_stream ab, ba, ac, a_self;

static void ref_take(struct ref_stream *s, uint8_t *out, size_t n)
{
	while (n) {
		size_t k = KEYB - s->off < n ? KEYB - s->off : n;
		CU_ASSERT_FATAL(s->idx < s->n);
		memcpy(out, s->mat[s->idx] + s->off, k);
		out += k;
		n -= k;
		s->off += (unsigned)k;
		if (s->off == KEYB) {
			s->idx++;
			s->off = 0;
		}
	}
}

static uint64_t ref_left(const struct ref_stream *s)
{
	return (uint64_t)(s->n - s->idx) * KEYB - s->off;
}

static void ref_add(struct ref_stream *s, const uint8_t *id, const uint8_t *mat)
{
	memcpy(s->ids[s->n], id, 16);
	memcpy(s->mat[s->n], mat, KEYB);
	s->n++;
}

static int put_key(struct km_store *st, km_pool_id pool, const uint8_t *id, const uint8_t *mat)
{
	struct km_key_in in = {.pool = pool, .bits = KEYB * 8, .type = KM_KEY_QKD, .material = mat};
	memcpy(in.id, id, 16);
	return km_store_put(st, &in, 1);
}

/* Keys of one link into both stores, in the same order. */
static int feed_link(struct km_store *s1, const char *n1, struct km_store *s2, const char *n2,
		     km_pool_id pool1, km_pool_id pool2, struct ref_stream *s12,
		     struct ref_stream *s21, uint64_t seed)
{
	for (unsigned i = 0; i < LINK_KEYS; i++) {
		uint8_t id[16], mat[KEYB];
		unit_fill_random(id, 16, seed + i);
		unit_fill_random(mat, KEYB, seed + 100000 + i);
		if (put_key(s1, pool1, id, mat) != 0 || (s2 && put_key(s2, pool2, id, mat) != 0))
			return -1;
		bool odd = id[15] & 1;
		if (odd == (strcmp(n1, n2) < 0))
			ref_add(s12, id, mat);
		else if (s21)
			ref_add(s21, id, mat);
	}
	return 0;
}

static int feed_self(struct km_store *st, struct ref_stream *s, uint64_t seed)
{
	for (unsigned i = 0; i < SELF_KEYS; i++) {
		uint8_t id[16], mat[KEYB];
		unit_fill_random(id, 16, seed + i);
		unit_fill_random(mat, KEYB, seed + 100000 + i);
		if (put_key(st, POOL_LOCAL, id, mat) != 0)
			return -1;
		ref_add(s, id, mat);
	}
	return 0;
}

/* ---- setup ---- */
static const struct km_ksa_sae saes[] = {
	{"sae-a1", "kme-a"}, {"sae-a2", "kme-a"}, {"sae-a3", "kme-a"}, {"sae-b1", "kme-b"},
	{"sae-b2", "kme-b"}, {"sae-c1", "kme-c"}, {"sae-d1", "kme-d"},
};

static const char *path(const char *name, const char *ext)
{
	static char buf[4][256];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s.%s", dir, name, ext);
	return buf[i];
}

static struct km_store *open_store(const char *name)
{
	char p[200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	struct km_store_config cfg = {.path = p, .kek_file = path("kek", "bin"),
				      .sync = KM_SYNC_NONE};
	struct km_store *st = NULL;
	return km_store_open(&cfg, &st) == 0 ? st : NULL;
}

static struct km_ksa *start_kme(const char *id, struct km_store *st, bool rng)
{
	struct km_ksa_config cfg = {
		.kme_id = id,
		.bind_addr = "127.0.0.1",
		.kx_bind_addr = "127.0.0.1",
		.ca_file = path("ca", "pem"),
		.cert_file = path(id, "pem"),
		.key_file = path(id, "key"),
		.saes = saes,
		.n_saes = sizeof(saes) / sizeof(saes[0]),
		.store = st,
		.local_pool = POOL_LOCAL,
		.local_keys_from_rng = rng,
	};
	char err[256] = "";
	struct km_ksa *k = km_ksa_create(&cfg, err, sizeof(err));
	if (!k)
		fprintf(stderr, "km_ksa_create %s: %s\n", id, err);
	return k;
}

static int peer(struct km_ksa *k, const char *id, uint16_t port, km_pool_id pool)
{
	struct km_ksa_peer p = {id, "127.0.0.1", port, pool};
	return km_ksa_set_peer(k, &p);
}

/* Says which step failed: a suite that cannot start otherwise shows only "initialization failed". */
static int init_failed(const char *step)
{
	fprintf(stderr, "ksa suite_init: %s failed (errno %d: %s)\n", step, errno, strerror(errno));
	return 1;
}

static int suite_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ksa_test_XXXXXX");
	if (!mkdtemp(dir))
		return init_failed("mkdtemp");
	char cmd[1400];
	char script[512];
	snprintf(script, sizeof(script), "%s", unit_src_path("../scripts/make_certs.sh"));
	snprintf(cmd, sizeof(cmd),
		 "sh %s %s kme-a kme-b kme-c sae-a1 sae-a2 sae-a3 sae-b1 sae-b2 sae-c1 sae-x"
		 " >/dev/null && sh %s %s/rogue sae-a1 >/dev/null",
		 script, dir, script, dir);
	if (system(cmd) != 0)
		return init_failed("make_certs.sh");
	uint8_t kek[32];
	unit_fill_random(kek, sizeof(kek), 77);
	int fd = open(path("kek", "bin"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, kek, sizeof(kek)) != (ssize_t)sizeof(kek) || close(fd) != 0)
		return init_failed("writing the KEK file");
	store_a = open_store("store-a");
	store_b = open_store("store-b");
	store_c = open_store("store-c");
	meter_a = km_meter_create();
	if (!store_a || !store_b || !store_c || !meter_a)
		return init_failed("opening the stores");
	km_store_set_meter(store_a, meter_a);
	static struct ref_stream ca, ad;
	if (feed_link(store_a, "kme-a", store_b, "kme-b", POOL_AB, POOL_AB, &ab, &ba, 1000) ||
	    feed_link(store_a, "kme-a", store_c, "kme-c", POOL_AC_AT_A, POOL_AC_AT_C, &ac, &ca,
		      2000) ||
	    feed_link(store_a, "kme-a", NULL, "kme-d", POOL_AD, POOL_AD, &ad, NULL, 3000) ||
	    feed_self(store_a, &a_self, 4000))
		return init_failed("filling the key pools");
	kme_a = start_kme("kme-a", store_a, false);
	kme_b = start_kme("kme-b", store_b, true);
	kme_c = start_kme("kme-c", store_c, false);
	if (!kme_a || !kme_b || !kme_c)
		return init_failed("starting the KMEs");
	uint16_t pa = km_ksa_kx_port(kme_a), pb = km_ksa_kx_port(kme_b), pc = km_ksa_kx_port(kme_c);
	/* kme-d never runs: a port nobody listens on (bind, read the port, close) */
	int sfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	if (sfd < 0 || bind(sfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(sfd, (struct sockaddr *)&sa, &sl))
		return init_failed("reserving a dead port for kme-d");
	close(sfd);
	if (peer(kme_a, "kme-b", pb, POOL_AB) || peer(kme_a, "kme-c", pc, POOL_AC_AT_A) ||
	    peer(kme_a, "kme-d", ntohs(sa.sin_port), POOL_AD) || peer(kme_b, "kme-a", pa, POOL_AB) ||
	    peer(kme_c, "kme-a", pa, POOL_AC_AT_C))
		return init_failed("setting the peers");
	return km_ksa_start(kme_a) || km_ksa_start(kme_b) || km_ksa_start(kme_c);
}

static int suite_clean(void)
{
	km_ksa_free(kme_a);
	km_ksa_free(kme_b);
	km_ksa_free(kme_c);
	km_store_close(store_a);
	km_store_close(store_b);
	km_store_close(store_c);
	km_meter_free(meter_a);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) != 0;
}

/* ---- client helpers ---- */
static struct km_ksa_client *client_of(const char *sae, struct km_ksa *k, const char *kme)
{
	struct km_ksa_client *c = km_ksa_client_create(
		"127.0.0.1", km_ksa_port(k), path("ca", "pem"), sae ? path(sae, "pem") : NULL,
		sae ? path(sae, "key") : NULL, kme, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

/* Request; *out gets the parsed JSON body (NULL if none or not JSON). */
static int call(struct km_ksa_client *c, const char *method, const char *p, const char *body,
		json_t **out)
{
	char *resp = NULL;
	size_t len = 0;
	int st = km_ksa_client_request(c, method, p, body, &resp, &len);
	if (out)
		*out = resp ? json_loadb(resp, len, 0, NULL) : NULL;
	km_ksa_client_free_body(resp, len);
	return st;
}

/* An ETSI error: {"message": non-empty string} */
static void assert_error(json_t *j)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	const char *m = json_string_value(json_object_get(j, "message"));
	CU_ASSERT_PTR_NOT_NULL(m);
	CU_ASSERT(m && strlen(m) > 0);
}

static int expect_status(struct km_ksa_client *c, const char *method, const char *p,
			 const char *body, int want)
{
	json_t *j = NULL;
	int st = call(c, method, p, body, &j);
	CU_ASSERT_EQUAL(st, want);
	if (st != want)
		fprintf(stderr, "  %s %s %s -> %d, wanted %d\n", method, p, body ? body : "", st,
			want);
	if (want >= 400)
		assert_error(j);
	json_decref(j);
	return st;
}

struct got_key {
	char id[40];
	uint8_t mat[1024];
	size_t len;
};

/* Decode a key container into keys[]; returns the count or -1. */
static int container(json_t *j, struct got_key *keys, int max)
{
	json_t *arr = json_object_get(j, "keys");
	if (!json_is_array(arr) || (int)json_array_size(arr) > max)
		return -1;
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		const char *id = json_string_value(json_object_get(e, "key_ID"));
		const char *b64 = json_string_value(json_object_get(e, "key"));
		if (!id || !b64 || strlen(id) != 36 || strlen(b64) > 1360)
			return -1;
		strcpy(keys[i].id, id);
		size_t bl = strlen(b64);
		int n = EVP_DecodeBlock(keys[i].mat, (const unsigned char *)b64, (int)bl);
		if (n < 0)
			return -1;
		size_t pad = (bl && b64[bl - 1] == '=') + (bl > 1 && b64[bl - 2] == '=');
		keys[i].len = (size_t)n - pad;
	}
	return (int)json_array_size(arr);
}

static int get_keys(struct km_ksa_client *c, const char *method, const char *p, const char *body,
		    struct got_key *keys, int max)
{
	json_t *j = NULL;
	int st = call(c, method, p, body, &j);
	CU_ASSERT_EQUAL(st, 200);
	int n = st == 200 ? container(j, keys, max) : -1;
	json_decref(j);
	return n;
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static void assert_ref(struct ref_stream *s, const struct got_key *k, int n, size_t bytes)
{
	for (int i = 0; i < n; i++) {
		uint8_t want[1024];
		CU_ASSERT_EQUAL_FATAL(k[i].len, bytes);
		ref_take(s, want, bytes);
		CU_ASSERT(memcmp(want, k[i].mat, bytes) == 0);
		CU_ASSERT(is_uuid(k[i].id));
	}
}

static char *ids_body(const struct got_key *k, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s}", "key_ID", k[i].id));
	json_t *o = json_pack("{s:o}", "key_IDs", a);
	char *s = json_dumps(o, 0);
	json_decref(o);
	return s;
}

/* ---- tests ---- */
static void test_status(void)
{
	struct km_ksa_client *c = client_of("sae-a1", kme_a, "kme-a");
	json_t *j = NULL;
	CU_ASSERT_EQUAL(call(c, "GET", "/api/v1/keys/sae-a2/status", NULL, &j), 200);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "source_KME_ID")), "kme-a");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "target_KME_ID")), "kme-a");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "master_SAE_ID")), "sae-a1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "slave_SAE_ID")), "sae-a2");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "key_size")), 256);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "stored_key_count")),
			(json_int_t)(ref_left(&a_self) / 32));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "max_key_count")), 100000);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "max_key_per_request")), 128);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "max_key_size")), 8192);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "min_key_size")), 64);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "max_SAE_ID_count")), 7);
	json_decref(j);
	CU_ASSERT_EQUAL(call(c, "GET", "/api/v1/keys/sae-b1/status", NULL, &j), 200);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "target_KME_ID")), "kme-b");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "stored_key_count")),
			(json_int_t)(ref_left(&ab) / 32));
	json_decref(j);
	expect_status(c, "POST", "/api/v1/keys/sae-a2/status", "{}", 405);
	expect_status(c, "GET", "/api/v1/keys/nobody/status", NULL, 400);
	expect_status(c, "GET", "/api/v1/keys/sae-a1/status", NULL, 400); /* itself */
	expect_status(c, "GET", "/api/v1/keys/sae-a2/other", NULL, 404);
	expect_status(c, "GET", "/api/v2/keys/sae-a2/status", NULL, 404);
	km_ksa_client_free(c);
}

static void test_authentication(void)
{
	/* no client certificate: TLS completes, the request gets 401 */
	struct km_ksa_client *c = client_of(NULL, kme_a, "kme-a");
	expect_status(c, "GET", "/api/v1/keys/sae-a2/status", NULL, 401);
	km_ksa_client_free(c);
	/* valid certificate, SAE not registered anywhere */
	c = client_of("sae-x", kme_a, "kme-a");
	expect_status(c, "GET", "/api/v1/keys/sae-a2/status", NULL, 401);
	expect_status(c, "GET", "/api/v1/keys/sae-a2/enc_keys", NULL, 401);
	km_ksa_client_free(c);
	/* an SAE of another KME */
	c = client_of("sae-b1", kme_a, "kme-a");
	expect_status(c, "GET", "/api/v1/keys/sae-a2/enc_keys", NULL, 401);
	km_ksa_client_free(c);
	/* certificate from another CA: the handshake is refused, no HTTP answer at all */
	char cert[300], key[300];
	snprintf(cert, sizeof(cert), "%s/rogue/sae-a1.pem", dir);
	snprintf(key, sizeof(key), "%s/rogue/sae-a1.key", dir);
	c = km_ksa_client_create("127.0.0.1", km_ksa_port(kme_a), path("ca", "pem"), cert, key,
				 "kme-a", NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT(km_ksa_client_request(c, "GET", "/api/v1/keys/sae-a2/status", NULL, NULL, NULL) < 0);
	km_ksa_client_free(c);
	/* the client refuses a server whose CN is not the KME it expects */
	c = client_of("sae-a1", kme_a, "kme-b");
	CU_ASSERT(km_ksa_client_request(c, "GET", "/api/v1/keys/sae-a2/status", NULL, NULL, NULL) < 0);
	km_ksa_client_free(c);
	/* SAE certificates are not accepted on Kx-2 */
	c = km_ksa_client_create("127.0.0.1", km_ksa_kx_port(kme_b), path("ca", "pem"),
				 path("sae-a1", "pem"), path("sae-a1", "key"), "kme-b", NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	expect_status(c, "POST", "/kx2/v1/supply", "{}", 401);
	km_ksa_client_free(c);
}

/* A configuration reload replaces the SAE directory of a running KME; a bad one changes nothing. */
static void test_sae_directory_update(void)
{
	enum { N = sizeof(saes) / sizeof(saes[0]) };
	struct km_ksa_sae more[N + 1];
	memcpy(more, saes, sizeof(saes));
	more[N] = (struct km_ksa_sae){"sae-x", "kme-a"};
	struct km_ksa_client *c = client_of("sae-x", kme_a, "kme-a");
	expect_status(c, "GET", "/api/v1/keys/sae-a2/status", NULL, 401);
	char err[200] = "";
	struct km_ksa_sae dup[2] = {{"sae-x", "kme-a"}, {"sae-x", "kme-b"}};
	CU_ASSERT_EQUAL(km_ksa_set_saes(kme_a, dup, 2, err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "sae-x") != NULL);
	expect_status(c, "GET", "/api/v1/keys/sae-a2/status", NULL, 401);
	CU_ASSERT_EQUAL(km_ksa_set_saes(kme_a, more, N + 1, err, sizeof(err)), 0);
	expect_status(c, "GET", "/api/v1/keys/sae-a2/status", NULL, 200);
	CU_ASSERT_EQUAL(km_ksa_set_saes(kme_a, saes, N, err, sizeof(err)), 0);
	expect_status(c, "GET", "/api/v1/keys/sae-a2/status", NULL, 401);
	km_ksa_client_free(c);
}

static void test_local_supply(void)
{
	struct km_ksa_client *m = client_of("sae-a1", kme_a, "kme-a");
	struct km_ksa_client *s = client_of("sae-a2", kme_a, "kme-a");
	struct km_ksa_client *o = client_of("sae-a3", kme_a, "kme-a");
	struct got_key k[4], d[4];
	/* GET with parameters */
	int n = get_keys(m, "GET", "/api/v1/keys/sae-a2/enc_keys?number=2&size=128", NULL, k, 4);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	assert_ref(&a_self, k, 2, 16);
	CU_ASSERT(strcmp(k[0].id, k[1].id) != 0);
	/* GET defaults: one key of key_size bits */
	struct got_key k1;
	CU_ASSERT_EQUAL(get_keys(m, "GET", "/api/v1/keys/sae-a2/enc_keys", NULL, &k1, 1), 1);
	assert_ref(&a_self, &k1, 1, 32);
	/* the slave gets the same bytes: GET one key, POST several */
	char p[200];
	snprintf(p, sizeof(p), "/api/v1/keys/sae-a1/dec_keys?key_ID=%s", k[0].id);
	/* not a slave of these keys */
	expect_status(o, "GET", p, NULL, 401);
	CU_ASSERT_EQUAL(get_keys(s, "GET", p, NULL, d, 4), 1);
	CU_ASSERT_STRING_EQUAL(d[0].id, k[0].id);
	CU_ASSERT(d[0].len == 16 && memcmp(d[0].mat, k[0].mat, 16) == 0);
	/* never twice */
	expect_status(s, "GET", p, NULL, 400);
	struct got_key both[2] = {k[1], k1};
	char *body = ids_body(both, 2);
	CU_ASSERT_EQUAL(get_keys(s, "POST", "/api/v1/keys/sae-a1/dec_keys", body, d, 4), 2);
	CU_ASSERT(memcmp(d[0].mat, k[1].mat, 16) == 0 && memcmp(d[1].mat, k1.mat, 32) == 0);
	expect_status(s, "POST", "/api/v1/keys/sae-a1/dec_keys", body, 400);
	free(body);
	/* POST Key request */
	n = get_keys(m, "POST", "/api/v1/keys/sae-a2/enc_keys",
		     "{\"number\":3,\"size\":512,\"extension_optional\":[{\"foo\":1}]}", k, 4);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	assert_ref(&a_self, k, 3, 64);
	/* one of three is asked for with the wrong master in the URL: nothing is delivered */
	body = ids_body(k, 3);
	expect_status(s, "POST", "/api/v1/keys/sae-a3/dec_keys", body, 400);
	CU_ASSERT_EQUAL(get_keys(s, "POST", "/api/v1/keys/sae-a1/dec_keys", body, d, 4), 3);
	for (int i = 0; i < 3; i++)
		CU_ASSERT(strcmp(d[i].id, k[i].id) == 0 && memcmp(d[i].mat, k[i].mat, 64) == 0);
	free(body);
	km_ksa_client_free(m);
	km_ksa_client_free(s);
	km_ksa_client_free(o);
}

static void test_local_multicast(void)
{
	struct km_ksa_client *m = client_of("sae-a1", kme_a, "kme-a");
	struct km_ksa_client *s2 = client_of("sae-a2", kme_a, "kme-a");
	struct km_ksa_client *s3 = client_of("sae-a3", kme_a, "kme-a");
	struct got_key k[2], d[2];
	int n = get_keys(m, "POST", "/api/v1/keys/sae-a2/enc_keys",
			 "{\"number\":2,\"additional_slave_SAE_IDs\":[\"sae-a3\"]}", k, 2);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	assert_ref(&a_self, k, 2, 32);
	char *body = ids_body(k, 2);
	CU_ASSERT_EQUAL(get_keys(s3, "POST", "/api/v1/keys/sae-a1/dec_keys", body, d, 2), 2);
	CU_ASSERT(memcmp(d[0].mat, k[0].mat, 32) == 0 && memcmp(d[1].mat, k[1].mat, 32) == 0);
	expect_status(s3, "POST", "/api/v1/keys/sae-a1/dec_keys", body, 400);
	CU_ASSERT_EQUAL(get_keys(s2, "POST", "/api/v1/keys/sae-a1/dec_keys", body, d, 2), 2);
	CU_ASSERT(memcmp(d[0].mat, k[0].mat, 32) == 0 && memcmp(d[1].mat, k[1].mat, 32) == 0);
	expect_status(s2, "POST", "/api/v1/keys/sae-a1/dec_keys", body, 400);
	free(body);
	km_ksa_client_free(m);
	km_ksa_client_free(s2);
	km_ksa_client_free(s3);
}

static void test_bad_key_requests(void)
{
	struct km_ksa_client *m = client_of("sae-a1", kme_a, "kme-a");
	const char *e = "/api/v1/keys/sae-a2/enc_keys";
	uint64_t before = ref_left(&a_self);
	expect_status(m, "GET", "/api/v1/keys/sae-a2/enc_keys?size=100", NULL, 400);
	expect_status(m, "GET", "/api/v1/keys/sae-a2/enc_keys?number=0", NULL, 400);
	expect_status(m, "GET", "/api/v1/keys/sae-a2/enc_keys?number=abc", NULL, 400);
	expect_status(m, "GET", "/api/v1/keys/sae-a2/enc_keys?number=-1", NULL, 400);
	expect_status(m, "GET", "/api/v1/keys/sae-a2/enc_keys?number=129", NULL, 400);
	expect_status(m, "GET", "/api/v1/keys/sae-a2/enc_keys?size=8200", NULL, 400);
	expect_status(m, "GET", "/api/v1/keys/sae-a2/enc_keys?size=56", NULL, 400);
	expect_status(m, "GET", "/api/v1/keys/sae-a2/enc_keys?count=1", NULL, 400);
	expect_status(m, "GET", "/api/v1/keys/sae-a2/enc_keys?number=99999999999", NULL, 400);
	expect_status(m, "GET", "/api/v1/keys/nobody/enc_keys", NULL, 400);
	expect_status(m, "POST", e, "{\"number\":0}", 400);
	expect_status(m, "POST", e, "{\"size\":250}", 400);
	expect_status(m, "POST", e, "{\"number\":\"2\"}", 400);
	expect_status(m, "POST", e, "{\"number\":1.5}", 400);
	expect_status(m, "POST", e, "{\"number\":1,", 400);
	expect_status(m, "POST", e, "[1,2]", 400);
	expect_status(m, "POST", e, "", 400);
	expect_status(m, "POST", e, "{\"number\":1,\"number\":2}", 400);
	expect_status(m, "POST", e, "{\"additional_slave_SAE_IDs\":[]}", 400);
	expect_status(m, "POST", e, "{\"additional_slave_SAE_IDs\":\"sae-a3\"}", 400);
	expect_status(m, "POST", e, "{\"additional_slave_SAE_IDs\":[\"nobody\"]}", 400);
	expect_status(m, "POST", e, "{\"additional_slave_SAE_IDs\":[\"sae-a1\"]}", 400);
	expect_status(m, "POST", e, "{\"additional_slave_SAE_IDs\":[\"sae-a2\"]}", 400);
	expect_status(m, "POST", e, "{\"additional_slave_SAE_IDs\":[\"sae-a3\",\"sae-a3\"]}", 400);
	expect_status(m, "POST", e,
		      "{\"additional_slave_SAE_IDs\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\","
		      "\"8\",\"9\"]}",
		      400);
	expect_status(m, "POST", e, "{\"extension_optional\":{\"a\":1}}", 400);
	expect_status(m, "POST", e, "{\"extension_mandatory\":[1]}", 400);
	/* an unsupported mandatory extension is named in the details */
	json_t *j = NULL;
	CU_ASSERT_EQUAL(call(m, "POST", e, "{\"extension_mandatory\":[{\"abc_route_type\":\"direct\"}]}",
			     &j),
			400);
	assert_error(j);
	json_t *names = json_object_get(json_array_get(json_object_get(j, "details"), 0),
					"extension_mandatory_unsupported");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(names, 0)), "abc_route_type");
	json_decref(j);
	expect_status(m, "PUT", e, "{}", 405);
	/* rejected requests took nothing */
	CU_ASSERT_EQUAL(ref_left(&a_self), before);
	CU_ASSERT_EQUAL(call(m, "GET", "/api/v1/keys/sae-a2/status", NULL, &j), 200);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "stored_key_count")),
			(json_int_t)(before / 32));
	json_decref(j);
	km_ksa_client_free(m);
}

static void test_bad_dec_requests(void)
{
	struct km_ksa_client *s = client_of("sae-a2", kme_a, "kme-a");
	const char *d = "/api/v1/keys/sae-a1/dec_keys";
	expect_status(s, "GET", d, NULL, 400);
	expect_status(s, "GET", "/api/v1/keys/sae-a1/dec_keys?key_ID=not-a-uuid", NULL, 400);
	expect_status(s, "GET",
		      "/api/v1/keys/sae-a1/dec_keys?key_ID=0c7b1f2e-9d1c-4d57-8f1a-2a8f0c0b9e7z",
		      NULL, 400);
	/* a well-formed UUID nobody supplied */
	expect_status(s, "GET",
		      "/api/v1/keys/sae-a1/dec_keys?key_ID=0c7b1f2e-9d1c-4d57-8f1a-2a8f0c0b9e7d",
		      NULL, 400);
	expect_status(s, "GET",
		      "/api/v1/keys/sae-a1/dec_keys?key_ID=0c7b1f2e-9d1c-4d57-8f1a-2a8f0c0b9e7d"
		      "&size=8",
		      NULL, 400);
	expect_status(s, "POST", d, "{\"key_IDs\":[]}", 400);
	expect_status(s, "POST", d, "{\"key_IDs\":[{\"key_ID\":\"123\"}]}", 400);
	expect_status(s, "POST", d, "{\"key_IDs\":[{\"id\":\"x\"}]}", 400);
	expect_status(s, "POST", d, "{\"key_IDs\":\"0c7b1f2e-9d1c-4d57-8f1a-2a8f0c0b9e7d\"}", 400);
	expect_status(s, "POST", d, "{key_IDs:1}", 400);
	expect_status(s, "POST", d,
		      "{\"key_IDs\":[{\"key_ID\":\"0c7b1f2e-9d1c-4d57-8f1a-2a8f0c0b9e7d\"},"
		      "{\"key_ID\":\"0c7b1f2e-9d1c-4d57-8f1a-2a8f0c0b9e7d\"}]}",
		      400);
	expect_status(s, "GET", "/api/v1/keys/nobody/dec_keys?key_ID=0c7b1f2e-9d1c-4d57-8f1a-2a8f0c0b9e7d",
		      NULL, 400);
	km_ksa_client_free(s);
}

/* Master on kme-a, slave on kme-b: Kx-2 hands the key to kme-b before the master's answer. */
static void test_two_kmes(void)
{
	struct km_ksa_client *m = client_of("sae-a1", kme_a, "kme-a");
	struct km_ksa_client *s = client_of("sae-b1", kme_b, "kme-b");
	struct km_ksa_client *o = client_of("sae-b2", kme_b, "kme-b");
	struct got_key k[3], d[3];
	int n = get_keys(m, "GET", "/api/v1/keys/sae-b1/enc_keys?number=3&size=256", NULL, k, 3);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	assert_ref(&ab, k, 3, 32);
	char *body = ids_body(k, 3);
	expect_status(o, "POST", "/api/v1/keys/sae-a1/dec_keys", body, 401);
	expect_status(s, "POST", "/api/v1/keys/sae-a2/dec_keys", body, 400);
	CU_ASSERT_EQUAL(get_keys(s, "POST", "/api/v1/keys/sae-a1/dec_keys", body, d, 3), 3);
	for (int i = 0; i < 3; i++)
		CU_ASSERT(strcmp(d[i].id, k[i].id) == 0 && memcmp(d[i].mat, k[i].mat, 32) == 0);
	expect_status(s, "POST", "/api/v1/keys/sae-a1/dec_keys", body, 400);
	free(body);
	/* the other direction: master on kme-b, keys from kme-b's half of the shared keys */
	struct km_ksa_client *mb = client_of("sae-b2", kme_b, "kme-b");
	struct km_ksa_client *sa = client_of("sae-a2", kme_a, "kme-a");
	n = get_keys(mb, "POST", "/api/v1/keys/sae-a2/enc_keys", "{\"number\":2,\"size\":1024}", k,
		     3);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	assert_ref(&ba, k, 2, 128);
	body = ids_body(k, 2);
	CU_ASSERT_EQUAL(get_keys(sa, "POST", "/api/v1/keys/sae-b2/dec_keys", body, d, 3), 2);
	CU_ASSERT(memcmp(d[0].mat, k[0].mat, 128) == 0 && memcmp(d[1].mat, k[1].mat, 128) == 0);
	free(body);
	/* a replayed Kx-2 message naming shared key bytes already used is refused */
	struct km_ksa_client *kx = km_ksa_client_create(
		"127.0.0.1", km_ksa_kx_port(kme_b), path("ca", "pem"), path("kme-a", "pem"),
		path("kme-a", "key"), "kme-b", NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(kx);
	char sid[37];
	snprintf(sid, sizeof(sid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 ab.ids[0][0], ab.ids[0][1], ab.ids[0][2], ab.ids[0][3], ab.ids[0][4], ab.ids[0][5],
		 ab.ids[0][6], ab.ids[0][7], ab.ids[0][8], ab.ids[0][9], ab.ids[0][10], ab.ids[0][11],
		 ab.ids[0][12], ab.ids[0][13], ab.ids[0][14], ab.ids[0][15]);
	char msg[600];
	const char *fmt = "{\"source_KME_ID\":\"%s\",\"supplies\":[{\"master_SAE_ID\":\"sae-a1\","
			  "\"slave_SAE_IDs\":[\"sae-b1\"],\"takes\":[{\"bytes\":32,\"src\":[\"%s\"],"
			  "\"count\":1,\"size\":256,"
			  "\"key_IDs\":[\"11111111-2222-4333-8444-555555555555\"]}]}]}";
	snprintf(msg, sizeof(msg), fmt, "kme-a", sid);
	expect_status(kx, "POST", "/kx2/v1/supply", msg, 400);
	/* claiming to be another KME than the certificate says */
	snprintf(msg, sizeof(msg), fmt, "kme-c", sid);
	expect_status(kx, "POST", "/kx2/v1/supply", msg, 400);
	km_ksa_client_free(kx);
	km_ksa_client_free(m);
	km_ksa_client_free(s);
	km_ksa_client_free(o);
	km_ksa_client_free(mb);
	km_ksa_client_free(sa);
}

/* Multicast: slaves on this KME and on one or two other KMEs all get the same keys. */
static void test_multicast_remote(void)
{
	struct km_ksa_client *m = client_of("sae-a1", kme_a, "kme-a");
	struct km_ksa_client *sb = client_of("sae-b1", kme_b, "kme-b");
	struct km_ksa_client *sa = client_of("sae-a2", kme_a, "kme-a");
	struct km_ksa_client *sc = client_of("sae-c1", kme_c, "kme-c");
	struct got_key k[2], d[2];
	int n = get_keys(m, "POST", "/api/v1/keys/sae-b1/enc_keys",
			 "{\"number\":2,\"size\":256,\"additional_slave_SAE_IDs\":[\"sae-a2\"]}", k,
			 2);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	assert_ref(&ab, k, 2, 32);
	char *body = ids_body(k, 2);
	struct km_ksa_client *cl[2] = {sb, sa};
	for (int c = 0; c < 2; c++) {
		CU_ASSERT_EQUAL(get_keys(cl[c], "POST", "/api/v1/keys/sae-a1/dec_keys", body, d, 2), 2);
		CU_ASSERT(memcmp(d[0].mat, k[0].mat, 32) == 0 && memcmp(d[1].mat, k[1].mat, 32) == 0);
		expect_status(cl[c], "POST", "/api/v1/keys/sae-a1/dec_keys", body, 400);
	}
	free(body);
	/* slaves on kme-b, kme-c and kme-a: kme-b derives the cut, kme-c imports it one-time-padded
	 * with the next bytes of its own shared keys with kme-a */
	n = get_keys(m, "POST", "/api/v1/keys/sae-b1/enc_keys",
		     "{\"number\":2,\"size\":256,\"additional_slave_SAE_IDs\":[\"sae-c1\","
		     "\"sae-a2\"]}",
		     k, 2);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	assert_ref(&ab, k, 2, 32);
	uint8_t pad[64];
	ref_take(&ac, pad, sizeof(pad)); /* the pad, used up */
	body = ids_body(k, 2);
	struct km_ksa_client *cl3[3] = {sb, sc, sa};
	for (int c = 0; c < 3; c++) {
		CU_ASSERT_EQUAL(get_keys(cl3[c], "POST", "/api/v1/keys/sae-a1/dec_keys", body, d, 2), 2);
		CU_ASSERT(memcmp(d[0].mat, k[0].mat, 32) == 0 && memcmp(d[1].mat, k[1].mat, 32) == 0);
		expect_status(cl3[c], "POST", "/api/v1/keys/sae-a1/dec_keys", body, 400);
	}
	free(body);
	/* a slave on kme-c alone: keys from the relayed keys kme-a and kme-c share */
	n = get_keys(m, "GET", "/api/v1/keys/sae-c1/enc_keys?size=64", NULL, k, 1);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	assert_ref(&ac, k, 1, 8);
	body = ids_body(k, 1);
	CU_ASSERT_EQUAL(get_keys(sc, "POST", "/api/v1/keys/sae-a1/dec_keys", body, d, 1), 1);
	CU_ASSERT(memcmp(d[0].mat, k[0].mat, 8) == 0);
	free(body);
	km_ksa_client_free(m);
	km_ksa_client_free(sb);
	km_ksa_client_free(sa);
	km_ksa_client_free(sc);
}

/* kme-b's local pairs get keys from the DRBG: master and slave still get the same bytes. */
static void test_local_rng(void)
{
	struct km_ksa_client *m = client_of("sae-b1", kme_b, "kme-b");
	struct km_ksa_client *s = client_of("sae-b2", kme_b, "kme-b");
	struct got_key k[4], d[4];
	CU_ASSERT_EQUAL_FATAL(get_keys(m, "GET", "/api/v1/keys/sae-b2/enc_keys?number=4", NULL, k, 4), 4);
	char *body = ids_body(k, 4);
	CU_ASSERT_EQUAL(get_keys(s, "POST", "/api/v1/keys/sae-b1/dec_keys", body, d, 4), 4);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT(d[i].len == 32 && memcmp(d[i].mat, k[i].mat, 32) == 0);
		CU_ASSERT(i == 0 || memcmp(k[i].mat, k[0].mat, 32) != 0);
	}
	free(body);
	json_t *j = NULL;
	CU_ASSERT_EQUAL(call(m, "GET", "/api/v1/keys/sae-b2/status", NULL, &j), 200);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "stored_key_count")), 100000);
	json_decref(j);
	km_ksa_client_free(m);
	km_ksa_client_free(s);
}

static void test_keys_short(void)
{
	struct km_ksa_client *m = client_of("sae-a1", kme_a, "kme-a");
	uint64_t before = ref_left(&ab);
	/* 128 keys of 8192 bits: far more than kme-a shares with kme-b */
	expect_status(m, "GET", "/api/v1/keys/sae-b1/enc_keys?number=128&size=8192", NULL, 503);
	CU_ASSERT_EQUAL(ref_left(&ab), before);
	/* 100 keys of 256 bits span 67 link keys of 48 bytes, more than one store take may combine:
	 * the KSA cuts them in smaller takes, kme-b derives them all */
	struct km_ksa_client *s = client_of("sae-b1", kme_b, "kme-b");
	struct got_key *many = calloc(100, sizeof(*many)), *dk = calloc(100, sizeof(*dk));
	CU_ASSERT_EQUAL_FATAL(get_keys(m, "GET", "/api/v1/keys/sae-b1/enc_keys?number=100", NULL,
				       many, 100), 100);
	assert_ref(&ab, many, 100, 32);
	char *body = ids_body(many, 100);
	CU_ASSERT_EQUAL(get_keys(s, "POST", "/api/v1/keys/sae-a1/dec_keys", body, dk, 100), 100);
	for (int i = 0; i < 100; i++)
		CU_ASSERT(strcmp(dk[i].id, many[i].id) == 0 && memcmp(dk[i].mat, many[i].mat, 32) == 0);
	free(body);
	free(many);
	free(dk);
	km_ksa_client_free(s);
	/* kme-d's Kx-2 endpoint does not answer: 503, and the slave can never get the keys */
	expect_status(m, "GET", "/api/v1/keys/sae-d1/enc_keys", NULL, 503);
	struct km_ksa_stats st;
	km_ksa_get_stats(kme_a, &st);
	CU_ASSERT(st.kx_failed >= 1);
	CU_ASSERT(st.rejected_503 >= 2);
	CU_ASSERT(st.keys_discarded >= 1);
	/* key supply still works afterwards */
	struct got_key k;
	CU_ASSERT_EQUAL(get_keys(m, "GET", "/api/v1/keys/sae-b1/enc_keys", NULL, &k, 1), 1);
	assert_ref(&ab, &k, 1, 32);
	km_ksa_client_free(m);
}

/* Fetch one key of 'bytes' for sae-b1 from kme-a and check it against the ab stream. */
static void supply_ab(struct km_ksa_client *m, struct km_ksa_client *s, uint32_t bytes)
{
	char p[128];
	struct got_key k, d;
	snprintf(p, sizeof(p), "/api/v1/keys/sae-b1/enc_keys?size=%u", bytes * 8);
	CU_ASSERT_EQUAL_FATAL(get_keys(m, "GET", p, NULL, &k, 1), 1);
	assert_ref(&ab, &k, 1, bytes);
	char *body = ids_body(&k, 1);
	CU_ASSERT_EQUAL(get_keys(s, "POST", "/api/v1/keys/sae-a1/dec_keys", body, &d, 1), 1);
	CU_ASSERT(memcmp(d.mat, k.mat, bytes) == 0);
	free(body);
}

/* kme-b loses the leftover of kme-a's last take (as if it had missed that supply): the next
 * supply fails, kme-a drops its copy of the leftover, and the one after works again, starting at
 * the next whole key. */
static void test_resync_after_failed_supply(void)
{
	struct km_ksa_client *m = client_of("sae-a1", kme_a, "kme-a");
	struct km_ksa_client *s = client_of("sae-b1", kme_b, "kme-b");
	/* finish the current shared key, then cut 8 bytes from the next one */
	uint32_t left = KEYB - ab.off;
	supply_ab(m, s, left >= 8 ? left : left + KEYB);
	CU_ASSERT_EQUAL_FATAL(ab.off, 0);
	unsigned idx = ab.idx;
	supply_ab(m, s, 8);
	uint8_t rest[1][16];
	km_store_rest_id(ab.ids[idx], 8, rest[0]);
	CU_ASSERT_EQUAL_FATAL(km_store_discard(store_b, (const uint8_t(*)[16])rest, 1), 1);
	struct km_ksa_stats before, after;
	km_ksa_get_stats(kme_a, &before);
	expect_status(m, "GET", "/api/v1/keys/sae-b1/enc_keys?size=64", NULL, 503);
	km_ksa_get_stats(kme_a, &after);
	CU_ASSERT_EQUAL(after.fronts_dropped - before.fronts_dropped, 1);
	/* the failed take used bytes 8..15 of key idx, the rest of it was dropped */
	ab.idx = idx + 1;
	ab.off = 0;
	supply_ab(m, s, 8);
	supply_ab(m, s, 64);
	km_ksa_client_free(m);
	km_ksa_client_free(s);
}

static void test_stats_and_meter(void)
{
	struct km_ksa_stats a, b;
	km_ksa_get_stats(kme_a, &a);
	km_ksa_get_stats(kme_b, &b);
	CU_ASSERT(a.requests > 50);
	CU_ASSERT(a.keys_supplied > 20);
	CU_ASSERT(a.kx_sent >= 4);
	CU_ASSERT(b.kx_received >= 3);
	/* the store meters every key handed to an SAE on kme-a: fetch one more and compare */
	struct km_meter_count m1, s1, m2, s2;
	CU_ASSERT_EQUAL(km_meter_sae(meter_a, "sae-a1", &m1), 0);
	CU_ASSERT_EQUAL(km_meter_sae(meter_a, "sae-a2", &s1), 0);
	struct km_ksa_client *m = client_of("sae-a1", kme_a, "kme-a");
	struct km_ksa_client *s = client_of("sae-a2", kme_a, "kme-a");
	struct got_key k[3];
	CU_ASSERT_EQUAL_FATAL(get_keys(m, "GET", "/api/v1/keys/sae-a2/enc_keys?number=3&size=72",
				       NULL, k, 3), 3);
	char *body = ids_body(k, 3);
	CU_ASSERT_EQUAL(get_keys(s, "POST", "/api/v1/keys/sae-a1/dec_keys", body, k, 3), 3);
	free(body);
	CU_ASSERT_EQUAL(km_meter_sae(meter_a, "sae-a1", &m2), 0);
	CU_ASSERT_EQUAL(km_meter_sae(meter_a, "sae-a2", &s2), 0);
	CU_ASSERT_EQUAL(m2.keys - m1.keys, 3);
	CU_ASSERT_EQUAL(m2.bits - m1.bits, 216);
	CU_ASSERT_EQUAL(s2.keys - s1.keys, 3);
	CU_ASSERT_EQUAL(s2.bits - s1.bits, 216);
	km_ksa_client_free(m);
	km_ksa_client_free(s);
}

/* 3000 byte-mutated Key request and Key IDs bodies (kme-b, DRBG keys, so the link key streams
 * stay untouched): every one gets a well-formed answer, 200 or 400, and the server stays up. */
static void test_mutated_requests(void)
{
	struct km_ksa_client *m = client_of("sae-b1", kme_b, "kme-b");
	const char *valid[] = {
		"{\"number\":2,\"size\":128,\"additional_slave_SAE_IDs\":[\"sae-b2\"],"
		"\"extension_optional\":[{\"x\":1}]}",
		"{\"key_IDs\":[{\"key_ID\":\"0c7b1f2e-9d1c-4d57-8f1a-2a8f0c0b9e7d\"},"
		"{\"key_ID\":\"1c7b1f2e-9d1c-4d57-8f1a-2a8f0c0b9e7d\"}]}",
	};
	const char *paths[] = {"/api/v1/keys/sae-b2/enc_keys", "/api/v1/keys/sae-a1/dec_keys"};
	uint64_t seed = 12345;
	int odd = 0;
	for (int i = 0; i < 3000; i++) {
		int which = i & 1;
		char body[256];
		size_t len = strlen(valid[which]);
		memcpy(body, valid[which], len + 1);
		int flips = 1 + (int)(unit_rand(&seed) % 3);
		for (int f = 0; f < flips && len > 0; f++) {
			size_t pos = unit_rand(&seed) % len;
			uint64_t r = unit_rand(&seed);
			if (r % 4 == 0)
				len = pos; /* truncate */
			else
				body[pos] = (char)(r % 4 == 1 ? (int)((r >> 8) % 95 + 32)
							      : body[pos] ^ (1 << (r >> 8) % 7));
			body[len] = 0;
		}
		if (strlen(body) != len)
			continue; /* a NUL was written: the client sends C strings */
		json_t *j = NULL;
		int st = call(m, "POST", paths[which], body, &j);
		if (st != 200 && st != 400) {
			odd++;
			fprintf(stderr, "  mutated %s -> %d\n", body, st);
		}
		if (st == 400)
			CU_ASSERT(json_string_value(json_object_get(j, "message")) != NULL);
		json_decref(j);
	}
	CU_ASSERT_EQUAL(odd, 0);
	expect_status(m, "GET", "/api/v1/keys/sae-b2/status", NULL, 200);
	km_ksa_client_free(m);
}

static CU_TestInfo ksa_tests[] = {
	{"status", test_status},
	{"authentication", test_authentication},
	{"SAE directory update", test_sae_directory_update},
	{"local supply", test_local_supply},
	{"local multicast", test_local_multicast},
	{"bad key requests", test_bad_key_requests},
	{"bad dec_keys requests", test_bad_dec_requests},
	{"two KMEs over Kx-2", test_two_kmes},
	{"multicast over three KMEs", test_multicast_remote},
	{"local keys from the DRBG", test_local_rng},
	{"keys short and peer down", test_keys_short},
	{"resync after a failed supply", test_resync_after_failed_supply},
	{"stats and metering", test_stats_and_meter},
	{"mutated requests", test_mutated_requests},
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{"ksa", suite_init, suite_clean, NULL, NULL, ksa_tests},
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return unit_run(suites);
}
