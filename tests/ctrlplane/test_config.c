/* Configuration: a complete file parses to the documented values and defaults; each kind of
 * mistake is reported with its line number and nothing is returned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp_config.h"
#include "unit.h"

static const char *good_text =

	"; node A of the test network\n"               /* 1 */
	"[node]\n"                                      /* 2 */
	"id = A\n"                                      /* 3 */
	"listen = 127.0.0.1:7101\n"                     /* 4 */
	"control_socket = /tmp/ctrl-a.sock\n"           /* 5 */
	"lcores = 1,3-4\n"                              /* 6 */
	"routing_period_ms = 500\n"                     /* 7 */
	"\n"                                            /* 8 */
	"[qkd_link ab]\n"                               /* 9 */
	"id = 7\n"                                      /* 10 */
	"peer = B\n"                                    /* 11 */
	"port = net_ring0\n"                            /* 12 */
	"lcore = 3\n"                                   /* 13 */
	"[km_link kab]\n"                               /* 14 */
	"peer = B\n"                                    /* 15 */
	"qkd_link = ab\n"                               /* 16 */
	"address = 127.0.0.1:7102\n"                    /* 17 */
	"capacity_bits = 1048576\n"                     /* 18 */
	"low_water_bits = 4096\n"                       /* 19 */
	"[sae app1]\n"                                  /* 20 */
	"node = A\n"                                    /* 21 */
	"[policy]\n"                                    /* 22 */
	"cost_c1 = 2.5\n"                               /* 23 */
	"max_key_bits = 4096\n";                        /* 24 */
static const char *good;

static void test_good(void)
{
	struct cp_config *c = NULL;
	char err[300] = "";
	CU_ASSERT_EQUAL_FATAL(cp_config_parse_string(good, "a.ini", &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c->node_id, "A");
	CU_ASSERT_STRING_EQUAL(c->listen, "127.0.0.1:7101");
	CU_ASSERT_EQUAL(c->n_lcores, 3u);
	CU_ASSERT(c->lcores[0] == 1 && c->lcores[1] == 3 && c->lcores[2] == 4);
	CU_ASSERT_EQUAL(c->routing_period_ms, 500u);
	CU_ASSERT_EQUAL(c->n_qkd_links, 1u);
	CU_ASSERT_EQUAL(c->qkd_links[0].id, 7u);
	CU_ASSERT_EQUAL(c->qkd_links[0].lcore, 3u);
	CU_ASSERT_EQUAL(c->qkd_links[0].line, 9);
	CU_ASSERT_STRING_EQUAL(c->km_links[0].peer, "B");
	CU_ASSERT_EQUAL(c->km_links[0].capacity, 1048576u);
	CU_ASSERT_EQUAL(c->km_links[0].low_water, 4096u);
	CU_ASSERT_STRING_EQUAL(cp_config_sae(c, "app1")->node, "A");
	CU_ASSERT_DOUBLE_EQUAL(c->policy.cost.c1, 2.5, 0);
	CU_ASSERT_DOUBLE_EQUAL(c->policy.cost.c0, 1.0, 0); /* documented defaults */
	CU_ASSERT_EQUAL(c->policy.max_key_bits, 4096u);
	CU_ASSERT_EQUAL(c->policy.relay_key_bits, 256u); /* documented defaults */
	CU_ASSERT_EQUAL(c->policy.relay_window, 16u);
	CU_ASSERT_EQUAL(c->manager.report_period_ms, 5000u);
	CU_ASSERT_STRING_EQUAL(c->manager.km_id, "A-km");
	CU_ASSERT_STRING_EQUAL(c->manager.controller_id, "A-ctl");
	cp_config_free(c);
}

/* Replace line `line` (1-based) of the good file with `text` and expect `want` in the error. */
static void expect_error(int line, const char *text, const char *want)
{
	char buf[4096] = "", err[300] = "";
	const char *s = good;
	for (int l = 1; *s; l++) {
		size_t n = strcspn(s, "\n") + 1;
		if (l == line)
			strcat(strcat(buf, text), "\n");
		else
			strncat(buf, s, n);
		s += n;
	}
	struct cp_config *c = (struct cp_config *)0x1;
	int rc = cp_config_parse_string(buf, "a.ini", &c, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_EQUAL(c, (struct cp_config *)0x1); /* nothing returned */
	if (!strstr(err, want)) {
		printf("\n  line %d '%s': got '%s', want '%s'\n", line, text, err, want);
		CU_FAIL("error text");
	}
}

static void test_errors(void)
{
	expect_error(3, "id = bad name", "a.ini:3: node id 'bad name' is not a valid name");
	expect_error(4, "listen = nowhere", "a.ini:4: listen must be host:port");
	expect_error(4, "listen = h:70000", "a.ini:4: listen must be an integer in [0, 65535]");
	expect_error(6, "lcores = 1,1", "a.ini:6: lcore 1 listed twice");
	expect_error(6, "lcores = 4-2", "a.ini:6: lcore must be an integer in [4, 1023]");
	expect_error(7, "routing_period_ms = 5", "a.ini:7: routing_period_ms must be an integer");
	expect_error(7, "routing_period_ms = 10x", "a.ini:7: routing_period_ms must be an integer");
	expect_error(7, "colour = blue", "a.ini:7: unknown key 'colour' in [node]");
	expect_error(8, "this is not ini", "a.ini:8: syntax error");
	expect_error(8, "[weird]", "a.ini:8: unknown section [weird]");
	expect_error(10, "id = 0", "a.ini:10: qkd_link id must be an integer in [1, 4294967295]");
	expect_error(13, "lcore = 2", "a.ini:9: [qkd_link ab] lcore 2 is not in node lcores");
	expect_error(11, "peer = A", "a.ini:9: [qkd_link ab] peer is this node");
	expect_error(16, "qkd_link = zz", "a.ini:14: [km_link kab] qkd_link 'zz' is not defined");
	expect_error(15, "peer = C", "a.ini:14: [km_link kab] peer C differs from qkd_link ab peer B");
	expect_error(19, "low_water_bits = 2000000", "a.ini:14: [km_link kab] low_water_bits must be below");
	expect_error(21, "nodes = A", "a.ini:21: unknown key 'nodes' in [sae app1]");
	expect_error(23, "cost_c1 = -1", "a.ini:23: cost_c1 must be a number in [0,");
	expect_error(3, "; no id", "a.ini: [node] id is missing");
	expect_error(1, "[manager]\naddress = 127.0.0.1:1", "a.ini: [manager] address needs ca, cert");
}

static const char *numbered =
	"[node]\n"                                      /* 1 */
	"id = A\n"                                      /* 2 */
	"number = 1\n"                                  /* 3 */
	"[qkd_link ab]\n"                               /* 4 */
	"id = 12\n"                                     /* 5 */
	"peer = B\n"                                    /* 6 */
	"[qkd_link ad]\n"                               /* 7 */
	"id = 14\n"                                     /* 8 */
	"peer = D\n"                                    /* 9 */
	"[km_link kab]\n"                               /* 10 */
	"peer = B\n"                                    /* 11 */
	"qkd_link = ab\n"                               /* 12 */
	"peer_number = 2\n"                             /* 13 */
	"port = net_memif0\n"                           /* 14 */
	"[km_link kad]\n"                               /* 15 */
	"peer = D\n"                                    /* 16 */
	"qkd_link = ad\n"                               /* 17 */
	"peer_number = 4\n"                             /* 18 */
	"[relay to-c]\n"                                /* 19 */
	"peer = C\n"                                    /* 20 */
	"target_bits = 65536\n"                         /* 21 */
	"[policy]\n"                                    /* 22 */
	"relay_key_bits = 8192\n"                       /* 23 */
	"relay_window = 32\n";                          /* 24 */

static const char *keyman_text =
	"[node]\n"                                      /* 1 */
	"id = A\n"                                      /* 2 */
	"[store]\n"                                     /* 3 */
	"path = /var/lib/qkd/a.db\n"                    /* 4 */
	"kek = /etc/qkd/a.kek\n"                        /* 5 */
	"sync = none\n"                                 /* 6 */
	"[ksa]\n"                                       /* 7 */
	"listen = 127.0.0.1:8443\n"                     /* 8 */
	"id = kme-a\n"                                  /* 9 */
	"ca = /etc/qkd/ca.pem\n"                        /* 10 */
	"cert = /etc/qkd/kme-a.pem\n"                   /* 11 */
	"key = /etc/qkd/kme-a.key\n"                    /* 12 */
	"kx_listen = 127.0.0.1:8444\n"                  /* 13 */
	"sae = sae-a1@kme-a\n"                          /* 14 */
	"sae = sae-b1@kme-b\n"                          /* 15 */
	"peer = kme-b@127.0.0.1:9444/1\n";              /* 16 */

/* [store] and [ksa]: the documented values, and each mistake refused with its line. */
static void test_keyman(void)
{
	struct cp_config *c = NULL;
	char err[300] = "";
	CU_ASSERT_EQUAL_FATAL(cp_config_parse_string(keyman_text, "k.ini", &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c->store.path, "/var/lib/qkd/a.db");
	CU_ASSERT_STRING_EQUAL(c->store.kek, "/etc/qkd/a.kek");
	CU_ASSERT_EQUAL(c->store.sync, 1);
	CU_ASSERT_STRING_EQUAL(c->ksa.listen, "127.0.0.1:8443");
	CU_ASSERT_STRING_EQUAL(c->ksa.id, "kme-a");
	CU_ASSERT_STRING_EQUAL(c->ksa.ca, "/etc/qkd/ca.pem");
	CU_ASSERT_STRING_EQUAL(c->ksa.cert, "/etc/qkd/kme-a.pem");
	CU_ASSERT_STRING_EQUAL(c->ksa.key, "/etc/qkd/kme-a.key");
	CU_ASSERT_STRING_EQUAL(c->ksa.kx_listen, "127.0.0.1:8444");
	CU_ASSERT_EQUAL(c->ksa.n_saes, 2);
	CU_ASSERT_STRING_EQUAL(c->ksa.saes[1], "sae-b1@kme-b");
	CU_ASSERT_EQUAL(c->ksa.n_peers, 1);
	CU_ASSERT_STRING_EQUAL(c->ksa.peers[0], "kme-b@127.0.0.1:9444/1");
	cp_config_free(c);
	/* without the sections: no store (sync unset), no KSA */
	CU_ASSERT_EQUAL_FATAL(cp_config_parse_string("[node]\nid = A\n", "k.ini", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->store.path[0], 0);
	CU_ASSERT_EQUAL(c->store.sync, -1);
	CU_ASSERT_EQUAL(c->ksa.listen[0], 0);
	cp_config_free(c);

	const char *saved = good;
	good = keyman_text;
	expect_error(6, "sync = sometimes", "a.ini:6: sync must be full or none, got 'sometimes'");
	expect_error(6, "colour = blue", "a.ini:6: unknown key 'colour' in [store]");
	expect_error(5, "; no kek", "a.ini:3: [store] kek is missing");
	expect_error(4, "; no path", "a.ini:3: [store] path is missing");
	expect_error(8, "listen = nowhere", "a.ini:8: ksa listen must be host:port");
	expect_error(8, "; no listen", "a.ini:7: [ksa] listen is missing");
	expect_error(9, "id = kme a", "a.ini:9: ksa id 'kme a' must be 1-63 printable characters");
	expect_error(10, "; no ca", "a.ini:7: [ksa] needs id, ca, cert and key (mutual TLS)");
	expect_error(14, "sae = sae-a1", "a.ini:14: sae must be SAE@KME, got 'sae-a1'");
	expect_error(16, "peer = kme-b@127.0.0.1:9444", "a.ini:16: peer must be KME@HOST:PORT/LINK");
	expect_error(16, "peer = kme-b@127.0.0.1:9444/70000", "a.ini:16: peer link must be an integer in [0, 65535]");
	expect_error(16, "peer = kme-b@nowhere/1", "a.ini:16: peer address must be host:port");
	expect_error(3, "[nostore]", "a.ini:3: unknown section [nostore]");
	good = saved;
	/* a KSA needs a store to serve from */
	CU_ASSERT_EQUAL(cp_config_parse_string("[node]\nid = A\n[ksa]\nlisten = 127.0.0.1:1\n"
					       "id = k\nca = c\ncert = c\nkey = k\n",
					       "k.ini", &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "k.ini:3: [ksa] needs a [store] to serve keys from");
}

static void expect_numbered_error(int line, const char *text, const char *want)
{
	const char *saved = good;
	good = numbered;
	expect_error(line, text, want);
	good = saved;
}

/* The node-name -> number map: parsed values, and every inconsistency refused with its line. */
static void test_numbers(void)
{
	struct cp_config *c = NULL;
	char err[300] = "";
	CU_ASSERT_EQUAL_FATAL(cp_config_parse_string(numbered, "n.ini", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c->node_number, 1u);
	CU_ASSERT_EQUAL(c->km_links[0].peer_number, 2u);
	CU_ASSERT_STRING_EQUAL(c->km_links[0].port, "net_memif0");
	CU_ASSERT_EQUAL(c->km_links[1].peer_number, 4u);
	CU_ASSERT_STRING_EQUAL(c->km_links[1].port, "");
	CU_ASSERT_EQUAL_FATAL(c->n_relays, 1u);
	CU_ASSERT_STRING_EQUAL(c->relays[0].name, "to-c");
	CU_ASSERT_STRING_EQUAL(c->relays[0].peer, "C");
	CU_ASSERT_EQUAL(c->relays[0].target, 65536u);
	CU_ASSERT_EQUAL(c->policy.relay_key_bits, 8192u);
	CU_ASSERT_EQUAL(c->policy.relay_window, 32u);
	CU_ASSERT_EQUAL(c->relay_lcore, -1);
	cp_config_free(c);
	expect_numbered_error(3, "number = 0", "a.ini:3: node number must be an integer in [1, 4294967294]");
	expect_numbered_error(3, "number = 4294967295", "a.ini:3: node number must be an integer");
	expect_numbered_error(3, "number = 2", "a.ini:10: [km_link kab] peer_number 2 is this node's number");
	expect_numbered_error(3, "; none", "a.ini:10: [km_link kab] peer_number needs [node] number");
	expect_numbered_error(18, "peer_number = 2", "a.ini:15: [km_link kad] peer_number 2 already used by kab (peer B)");
	expect_numbered_error(13, "; none", "a.ini:10: [km_link kab] port needs peer_number");
	expect_numbered_error(13, "peer_number = x", "a.ini:13: peer_number must be an integer");
	expect_numbered_error(20, "; none", "a.ini:19: [relay to-c] peer is missing");
	expect_numbered_error(20, "peer = A", "a.ini:19: [relay to-c] peer is this node");
	expect_numbered_error(21, "target_bits = 1", "a.ini:21: target_bits must be an integer in [256,");
	expect_numbered_error(21, "colour = red", "a.ini:21: unknown key 'colour' in [relay to-c]");
	expect_numbered_error(23, "relay_key_bits = 100", "a.ini:23: relay_key_bits must be a multiple of 8");
	expect_numbered_error(23, "relay_key_bits = 65544", "a.ini:23: relay_key_bits must be an integer in [8, 65536]");
	expect_numbered_error(24, "relay_window = 0", "a.ini:24: relay_window must be an integer in [1, 256]");
	expect_numbered_error(3, "relay_lcore = 0", "a.ini:3: relay_lcore must be an integer in [1, 1023]");
}

static void test_file(void)
{
	char path[] = "/tmp/ctrl-test-config-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fputs(good, f);
	fclose(f);
	struct cp_config *c = NULL;
	char err[300];
	CU_ASSERT_EQUAL(cp_config_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(c);
	cp_config_free(c);
	unlink(path);
	c = NULL;
	CU_ASSERT_EQUAL(cp_config_load(path, &c, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
	CU_ASSERT_PTR_NULL(c);
}

int main(void)
{
	good = good_text;
	CU_TestInfo tests[] = {{"complete file", test_good},
			       {"line-numbered errors", test_errors},
			       {"node numbers and relay sessions", test_numbers},
			       {"file load", test_file},
			       {"[store] and [ksa]", test_keyman},
			       CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {{"config", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
	return unit_run(suites);
}
