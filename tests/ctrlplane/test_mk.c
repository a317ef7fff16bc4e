/* Q.QKDN_Mk messages: encode/decode round trips of all four types, the committed wire form, the
 * M/O columns of tables 2-5 enforced in both directions, malformed and unknown input answered
 * with a failure response. */
#include <string.h>

#include "cp_mk.h"
#include "unit.h"

static void test_round_trip(void)
{
	for (int t = CP_MK_STATUS_REPORT; t <= CP_MK_STATUS_REQUEST_RESPONSE; t++)
		for (int i = CP_MK_MQ; i <= CP_MK_MX; i++) {
			struct cp_mk_msg m = {.type = t, .iface = i, .seq = 1000 + t};
			strcpy(m.component_id, "node-A-km");
			if (t == CP_MK_STATUS_REPORT_RESPONSE || t == CP_MK_STATUS_REQUEST_RESPONSE)
				strcpy(m.response, "success");
			m.extension = json_pack("[{s:s,s:f,s:I}]", "type", "qkd_link", "qber", 0.031,
						"skr_bps", (json_int_t)123456);
			char *s = cp_mk_encode(&m);
			CU_ASSERT_PTR_NOT_NULL_FATAL(s);
			struct cp_mk_msg d;
			char why[256] = "";
			CU_ASSERT_EQUAL(cp_mk_decode(s, strlen(s), &d, why, sizeof(why)), 0);
			CU_ASSERT_EQUAL(d.type, m.type);
			CU_ASSERT_EQUAL(d.iface, m.iface);
			CU_ASSERT_STRING_EQUAL(d.component_id, m.component_id);
			CU_ASSERT_STRING_EQUAL(d.response, m.response);
			CU_ASSERT_EQUAL(d.seq, m.seq);
			CU_ASSERT(json_equal(d.extension, m.extension));
			cp_mk_msg_clear(&d);
			cp_mk_msg_clear(&m);
			free(s);
		}
}

static void test_wire_form(void)
{
	struct cp_mk_msg m = {.type = CP_MK_STATUS_REPORT_RESPONSE, .iface = CP_MK_MK, .seq = 5};
	strcpy(m.component_id, "A-km");
	strcpy(m.response, "success");
	char *s = cp_mk_encode(&m);
	CU_ASSERT_STRING_EQUAL(s, "{\"message\":\"status_report_response\",\"interface\":\"Mk\","
				  "\"component_id\":\"A-km\",\"response\":\"success\",\"seq\":5}");
	free(s);
	/* table 4: a request may omit the component id */
	struct cp_mk_msg r = {.type = CP_MK_STATUS_REQUEST, .iface = CP_MK_MC, .seq = -1};
	s = cp_mk_encode(&r);
	CU_ASSERT_STRING_EQUAL(s, "{\"message\":\"status_report_request\",\"interface\":\"Mc\"}");
	free(s);
	CU_ASSERT_STRING_EQUAL(cp_mk_component_kind(CP_MK_MK), "KM ID");
	CU_ASSERT_STRING_EQUAL(cp_mk_component_kind(CP_MK_MC), "QKD controller ID");
	CU_ASSERT_STRING_EQUAL(cp_mk_component_kind(CP_MK_MQ), "QKD module ID");
	CU_ASSERT_STRING_EQUAL(cp_mk_component_kind(CP_MK_MOPS), "QKD link ID");
	CU_ASSERT_STRING_EQUAL(cp_mk_component_kind(CP_MK_MX), "Corresponding QKDN manager ID");
}

static void test_encode_enforces(void)
{
	struct cp_mk_msg m = {.type = CP_MK_STATUS_REPORT, .iface = CP_MK_MK, .seq = -1};
	CU_ASSERT_PTR_NULL(cp_mk_encode(&m)); /* table 2: component id M */
	strcpy(m.component_id, "x");
	char *s = cp_mk_encode(&m);
	CU_ASSERT_PTR_NOT_NULL(s);
	free(s);
	m.type = CP_MK_STATUS_REQUEST_RESPONSE; /* table 5: response M */
	CU_ASSERT_PTR_NULL(cp_mk_encode(&m));
	m.type = CP_MK_STATUS_REPORT_RESPONSE; /* table 3: response M */
	CU_ASSERT_PTR_NULL(cp_mk_encode(&m));
	strcpy(m.response, "success");
	m.extension = json_pack("[i]", 1); /* extension: array of objects */
	CU_ASSERT_PTR_NULL(cp_mk_encode(&m));
	cp_mk_msg_clear(&m);
	m.iface = 0;
	CU_ASSERT_PTR_NULL(cp_mk_encode(&m));
}

struct bad {
	const char *json;
	const char *why; /* expected start of the reason */
	enum cp_mk_type reply;
	const char *component;
};

static void test_decode_enforces(void)
{
	static const struct bad cases[] = {
		{"{", "malformed JSON", CP_MK_STATUS_REPORT_RESPONSE, "unknown"},
		{"[1,2]", "message is not a JSON object", CP_MK_STATUS_REPORT_RESPONSE, "unknown"},
		{"{\"message\":\"hello\",\"interface\":\"Mk\",\"component_id\":\"a\"}",
		 "unknown message type 'hello'", CP_MK_STATUS_REPORT_RESPONSE, "a"},
		{"{\"interface\":\"Mk\",\"component_id\":\"a\"}", "message type missing",
		 CP_MK_STATUS_REPORT_RESPONSE, "a"},
		{"{\"message\":\"status_report\",\"component_id\":\"a\"}", "interface missing",
		 CP_MK_STATUS_REPORT_RESPONSE, "a"},
		{"{\"message\":\"status_report\",\"interface\":\"Mz\",\"component_id\":\"a\"}",
		 "unknown interface 'Mz'", CP_MK_STATUS_REPORT_RESPONSE, "a"},
		{"{\"message\":\"status_report\",\"interface\":\"Mk\"}",
		 "status_report: mandatory component_id (KM ID) missing", CP_MK_STATUS_REPORT_RESPONSE,
		 "unknown"},
		{"{\"message\":\"status_report\",\"interface\":\"Mk\",\"component_id\":7}",
		 "component_id must be a string", CP_MK_STATUS_REPORT_RESPONSE, "unknown"},
		{"{\"message\":\"status_report\",\"interface\":\"Mk\",\"component_id\":\"a\\u0000b\"}",
		 "malformed JSON", CP_MK_STATUS_REPORT_RESPONSE, "unknown"}, /* no NUL in ids */
		{"{\"message\":\"status_report\",\"interface\":\"Mk\",\"component_id\":\"\"}",
		 "component_id must be a string", CP_MK_STATUS_REPORT_RESPONSE, "unknown"},
		{"{\"message\":\"status_report_response\",\"interface\":\"Mk\",\"component_id\":\"a\"}",
		 "status_report_response: mandatory response missing", CP_MK_STATUS_REPORT_RESPONSE, "a"},
		{"{\"message\":\"status_report_request_response\",\"interface\":\"Mc\","
		 "\"component_id\":\"a\",\"response\":5}",
		 "status_report_request_response: mandatory response missing",
		 CP_MK_STATUS_REPORT_RESPONSE, "a"},
		{"{\"message\":\"status_report_request_response\",\"interface\":\"Mc\","
		 "\"response\":\"success\"}",
		 "status_report_request_response: mandatory component_id (QKD controller ID) missing",
		 CP_MK_STATUS_REPORT_RESPONSE, "unknown"},
		{"{\"message\":\"status_report\",\"interface\":\"Mk\",\"component_id\":\"a\","
		 "\"extension\":{}}",
		 "extension must be an array of objects", CP_MK_STATUS_REPORT_RESPONSE, "a"},
		{"{\"message\":\"status_report\",\"interface\":\"Mk\",\"component_id\":\"a\","
		 "\"extension\":[1]}",
		 "extension must be an array of objects", CP_MK_STATUS_REPORT_RESPONSE, "a"},
		{"{\"message\":\"status_report_request\",\"interface\":\"Mk\",\"response\":\"x\"}",
		 "status_report_request has no response", CP_MK_STATUS_REQUEST_RESPONSE, "unknown"},
		{"{\"message\":\"status_report_request\",\"interface\":\"Mk\",\"colour\":1}",
		 "unknown parameter 'colour'", CP_MK_STATUS_REQUEST_RESPONSE, "unknown"},
		{"{\"message\":\"status_report\",\"interface\":\"Mk\",\"component_id\":\"a\",\"seq\":-1}",
		 "seq must be a non-negative integer", CP_MK_STATUS_REPORT_RESPONSE, "a"},
		{"{\"message\":\"status_report\",\"message\":\"status_report\"}", "malformed JSON",
		 CP_MK_STATUS_REPORT_RESPONSE, "unknown"},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cp_mk_msg m, f;
		char why[256] = "";
		int rc = cp_mk_decode(cases[i].json, strlen(cases[i].json), &m, why, sizeof(why));
		CU_ASSERT_EQUAL(rc, -EPROTO);
		if (strncmp(why, cases[i].why, strlen(cases[i].why))) {
			printf("\n  case %u: got '%s' want '%s'\n", i, why, cases[i].why);
			CU_FAIL("reason");
		}
		CU_ASSERT_PTR_NULL(m.extension);
		cp_mk_failure_for(&m, why, &f);
		CU_ASSERT_EQUAL(f.type, cases[i].reply);
		CU_ASSERT_STRING_EQUAL(f.component_id, cases[i].component);
		CU_ASSERT_EQUAL(strncmp(f.response, "failure: ", 9), 0);
		char *s = cp_mk_encode(&f); /* the failure reply itself is a valid message */
		CU_ASSERT_PTR_NOT_NULL(s);
		struct cp_mk_msg back;
		CU_ASSERT_EQUAL(cp_mk_decode(s, strlen(s), &back, why, sizeof(why)), 0);
		free(s);
	}
	/* the failure reply to a bad request echoes its seq */
	const char *req = "{\"message\":\"status_report_request\",\"interface\":\"Mk\",\"seq\":9,\"x\":1}";
	struct cp_mk_msg m, f;
	char why[256];
	CU_ASSERT_EQUAL(cp_mk_decode(req, strlen(req), &m, why, sizeof(why)), -EPROTO);
	cp_mk_failure_for(&m, why, &f);
	CU_ASSERT_EQUAL(f.seq, 9);
	CU_ASSERT_EQUAL(f.type, CP_MK_STATUS_REQUEST_RESPONSE);
	/* random bytes never crash */
	uint64_t s = 99;
	char junk[200];
	for (int i = 0; i < 2000; i++) {
		size_t n = unit_rand(&s) % sizeof(junk);
		for (size_t k = 0; k < n; k++)
			junk[k] = "{}[]\":,ab01 message"[unit_rand(&s) % 20];
		CU_ASSERT_EQUAL(cp_mk_decode(junk, n, &m, why, sizeof(why)), -EPROTO);
	}
}

int main(void)
{
	CU_TestInfo tests[] = {{"round trip, all types and interfaces", test_round_trip},
			       {"committed wire form, table 1 ids", test_wire_form},
			       {"encode enforces M fields", test_encode_enforces},
			       {"decode enforces, failure responses", test_decode_enforces},
			       CU_TEST_INFO_NULL};
	CU_SuiteInfo suites[] = {{"mk", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
	return unit_run(suites);
}
