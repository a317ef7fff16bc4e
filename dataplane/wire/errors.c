/* Names and descriptions of the dataplane error counters (generated from DP_ERRORS). */
#include "dp_errors.h"

static const char *const err_names[] = {
#define DP_ERR_NAME(name, text) #name,
	DP_ERRORS(DP_ERR_NAME)
#undef DP_ERR_NAME
};

static const char *const err_texts[] = {
#define DP_ERR_TEXT(name, text) text,
	DP_ERRORS(DP_ERR_TEXT)
#undef DP_ERR_TEXT
};

const char *dp_err_name(enum dp_err e)
{
	return (unsigned)e < DP_ERR__COUNT ? err_names[e] : "unknown";
}

const char *dp_err_text(enum dp_err e)
{
	return (unsigned)e < DP_ERR__COUNT ? err_texts[e] : "unknown error";
}
