/* DPDK telemetry /qkd/... commands: read over the real telemetry socket (as dpdk-telemetry.py
 * does) and compared with the statistics object they were built from. */
#include <jansson.h>
#include <rte_eal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dp_eal.h"
#include "dp_telemetry.h"
#include "unit.h"

static json_t *source_obj;
static int calls;

static json_t *source(void *ctx)
{
	calls++;
	return json_incref(source_obj);
}

static int sock_fd = -1;

static int suite_init(void)
{
	struct dp_eal_args a;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "test_telemetry_%d", (int)getpid());
	if (dp_eal_args_init(&a, "test_telemetry", prefix, "0", 64, true))
		return -1;
	if (rte_eal_init(a.argc, a.argv) < 0)
		return -1;
	json_error_t je;
	source_obj = json_loads(
		"{\"node\":\"A\",\"generation\":7,\"links\":["
		"{\"name\":\"kab\",\"peer\":\"B\",\"state\":\"up\",\"skr_bps\":125000.0,\"qber\":0.0213,"
		"\"buffer_bits\":524288,\"fill_rate_bps\":-4096.5},"
		"{\"name\":\"kac\",\"peer\":\"C\",\"state\":\"admin-down\",\"skr_bps\":0.0,\"qber\":0.0,"
		"\"buffer_bits\":0,\"fill_rate_bps\":0.0}],"
		"\"sessions\":{\"relay_active\":2,\"relay_unroutable\":1,\"app\":3},"
		"\"counters\":{\"lsa_rx\":11,\"reroutes\":4,\"last_route_us\":12.5},"
		"\"alarms\":[{\"alarm\":\"link_down\",\"object\":\"kac\",\"detail\":\"KM link kac to C is admin-down\"}]}",
		0, &je);
	if (!source_obj || dp_telemetry_register(source, NULL))
		return -1;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(path, sizeof(path), "%s/dpdk_telemetry.v2", rte_eal_get_runtime_dir());
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, path);
	sock_fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (connect(sock_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	char buf[16384];
	return recv(sock_fd, buf, sizeof(buf), 0) > 0 ? 0 : -1; /* the greeting */
}

static int suite_clean(void)
{
	close(sock_fd);
	json_decref(source_obj);
	rte_eal_cleanup();
	return 0;
}

static json_t *ask(const char *cmd)
{
	static char buf[65536];
	if (send(sock_fd, cmd, strlen(cmd), 0) < 0)
		return NULL;
	ssize_t n = recv(sock_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	json_t *o = json_loads(buf, 0, NULL);
	json_t *v = json_incref(json_object_get(o, strchr(cmd, ',') ? "/qkd/link" : cmd));
	json_decref(o);
	return v;
}

static void test_node(void)
{
	json_t *v = ask("/qkd/node");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "node")), "A");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "generation")), 7);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "relay_active")), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "relay_unroutable")), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "app")), 3);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "alarms")), 1);
	json_decref(v);
}

static void test_links(void)
{
	json_t *v = ask("/qkd/links");
	CU_ASSERT_EQUAL_FATAL(json_array_size(v), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(v, 0)), "kab");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(v, 1)), "kac");
	json_decref(v);
	v = ask("/qkd/link,kab");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "state")), "up");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "skr_bps")), 125000);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "qber")), "0.0213");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "buffer_bits")), 524288);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "fill_rate_bps")), "-4096.5");
	json_decref(v);
	v = ask("/qkd/link,nope"); /* unknown link: null data */
	CU_ASSERT(v == NULL || json_is_null(v));
	json_decref(v);
}

static void test_counters_alarms(void)
{
	json_t *v = ask("/qkd/counters");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "lsa_rx")), 11);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "reroutes")), 4);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "last_route_us")), "12.5");
	json_decref(v);
	v = ask("/qkd/alarms");
	CU_ASSERT_EQUAL_FATAL(json_array_size(v), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(v, 0)),
			       "link_down kac: KM link kac to C is admin-down");
	json_decref(v);
	CU_ASSERT(calls >= 6);
}

int main(void)
{
	CU_TestInfo tests[] = {{"/qkd/node", test_node},
			       {"/qkd/links and /qkd/link,<name>", test_links},
			       {"/qkd/counters and /qkd/alarms", test_counters_alarms},
			       CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {{"telemetry", suite_init, suite_clean, NULL, NULL, tests},
				 CU_SUITE_INFO_NULL};
	return unit_run(suites);
}
