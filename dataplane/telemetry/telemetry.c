/* /qkd/... DPDK telemetry commands over the control plane's statistics object. */
#include "dp_telemetry.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <rte_telemetry.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static dp_telemetry_stats_fn source;
static void *source_ctx;

static json_t *stats(void)
{
	pthread_mutex_lock(&lock);
	dp_telemetry_stats_fn fn = source;
	void *ctx = source_ctx;
	pthread_mutex_unlock(&lock);
	return fn ? fn(ctx) : NULL;
}

static void add_value(struct rte_tel_data *d, const char *name, const json_t *v)
{
	char buf[64];
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		rte_tel_data_add_dict_u64(d, name, (uint64_t)json_integer_value(v));
	} else if (json_is_number(v)) {
		double x = json_number_value(v);
		if (x >= 0 && x < 1.8e19 && x == floor(x)) {
			rte_tel_data_add_dict_u64(d, name, (uint64_t)x);
		} else {
			snprintf(buf, sizeof(buf), "%.6g", x);
			rte_tel_data_add_dict_string(d, name, buf);
		}
	} else if (json_is_string(v)) {
		rte_tel_data_add_dict_string(d, name, json_string_value(v));
	} else if (json_is_boolean(v)) {
		rte_tel_data_add_dict_u64(d, name, json_is_true(v));
	}
}

static void add_object(struct rte_tel_data *d, const json_t *o)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v) add_value(d, k, v);
}

static int cmd_node(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *s = stats();
	if (!s)
		return -ENOENT;
	rte_tel_data_start_dict(d);
	add_value(d, "node", json_object_get(s, "node"));
	add_value(d, "generation", json_object_get(s, "generation"));
	add_object(d, json_object_get(s, "sessions"));
	rte_tel_data_add_dict_u64(d, "alarms", json_array_size(json_object_get(s, "alarms")));
	json_decref(s);
	return 0;
}

static int cmd_links(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *s = stats();
	if (!s)
		return -ENOENT;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(s, "links"), i, l)
		rte_tel_data_add_array_string(d, json_string_value(json_object_get(l, "name")));
	json_decref(s);
	return 0;
}

static int cmd_link(const char *cmd, const char *params, struct rte_tel_data *d)
{
	if (!params || !params[0])
		return -EINVAL;
	json_t *s = stats();
	if (!s)
		return -ENOENT;
	int rc = -ENOENT;
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(s, "links"), i, l)
	{
		if (strcmp(json_string_value(json_object_get(l, "name")), params))
			continue;
		rte_tel_data_start_dict(d);
		add_object(d, l);
		rc = 0;
		break;
	}
	json_decref(s);
	return rc;
}

static int cmd_counters(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *s = stats();
	if (!s)
		return -ENOENT;
	rte_tel_data_start_dict(d);
	add_object(d, json_object_get(s, "counters"));
	json_decref(s);
	return 0;
}

static int cmd_alarms(const char *cmd, const char *params, struct rte_tel_data *d)
{
	json_t *s = stats();
	if (!s)
		return -ENOENT;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(s, "alarms"), i, a)
	{
		char buf[RTE_TEL_MAX_STRING_LEN];
		snprintf(buf, sizeof(buf), "%s %s: %s",
			 json_string_value(json_object_get(a, "alarm")),
			 json_string_value(json_object_get(a, "object")),
			 json_string_value(json_object_get(a, "detail")));
		rte_tel_data_add_array_string(d, buf);
	}
	json_decref(s);
	return 0;
}

int dp_telemetry_register(dp_telemetry_stats_fn fn, void *ctx)
{
	static int registered;
	pthread_mutex_lock(&lock);
	source = fn;
	source_ctx = ctx;
	int first = !registered;
	registered = 1;
	pthread_mutex_unlock(&lock);
	if (!first)
		return 0;
	int rc = rte_telemetry_register_cmd("/qkd/node", cmd_node,
					    "Node id, snapshot generation, sessions, alarm count");
	rc = rc ? rc : rte_telemetry_register_cmd("/qkd/links", cmd_links, "KM link names");
	rc = rc ? rc : rte_telemetry_register_cmd("/qkd/link", cmd_link,
						  "One KM link's state and counters. Parameters: name");
	rc = rc ? rc : rte_telemetry_register_cmd("/qkd/counters", cmd_counters,
						  "Control-thread counters");
	rc = rc ? rc : rte_telemetry_register_cmd("/qkd/alarms", cmd_alarms, "Active alarms");
	return rc;
}
