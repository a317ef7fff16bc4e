#include "cp_version.h"

#include <stdio.h>

#include "dst_cpu.h"
#include "qkd_version.h"

const char *cp_version_string(char *buf, unsigned len)
{
	snprintf(buf, len, "qkdnode %s (%s, cpu %s)", "0.1.0", QKD_GIT_REV,
		 dst_cpu_level_name(dst_cpu_active()));
	return buf;
}
