/* Build EAL command lines that work with huge pages when the machine has them and fall back to
 * --no-huge otherwise (this machine class has no hugetlbfs mounted by default). */
#include "dp_eal.h"

#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>

static bool hugetlbfs_mounted(void)
{
	FILE *f = setmntent("/proc/mounts", "r");
	if (!f)
		return false;
	bool found = false;
	struct mntent *m;
	while (!found && (m = getmntent(f)) != NULL)
		found = strcmp(m->mnt_type, "hugetlbfs") == 0;
	endmntent(f);
	return found;
}

bool dp_eal_hugepages_usable(unsigned pages)
{
	if (!hugetlbfs_mounted())
		return false;
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return false;
	char line[256];
	unsigned long free_pages = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %lu", &free_pages) == 1)
			break;
	fclose(f);
	return free_pages >= pages;
}

int dp_eal_args_add(struct dp_eal_args *a, const char *arg)
{
	if (a->argc >= DP_EAL_MAX_ARGS - 1 || strlen(arg) >= sizeof(a->store[0]))
		return -E2BIG;
	snprintf(a->store[a->argc], sizeof(a->store[0]), "%s", arg);
	a->argv[a->argc] = a->store[a->argc];
	a->argc++;
	a->argv[a->argc] = NULL;
	return 0;
}

int dp_eal_args_init(struct dp_eal_args *a, const char *prog, const char *file_prefix,
		     const char *lcores, unsigned mem_mb, bool force_no_huge)
{
	char buf[128];
	a->argc = 0;
	int rc = dp_eal_args_add(a, prog);
	snprintf(buf, sizeof(buf), "--file-prefix=%s", file_prefix);
	rc |= dp_eal_args_add(a, buf);
	rc |= dp_eal_args_add(a, "--no-pci");
	rc |= dp_eal_args_add(a, "--log-level=lib.eal:error");
	if (lcores) {
		snprintf(buf, sizeof(buf), "--lcores=%s", lcores);
		rc |= dp_eal_args_add(a, buf);
	}
	/* Enough 2 MB pages for the requested memory, else fall back to anonymous memory. */
	if (force_no_huge || !dp_eal_hugepages_usable((mem_mb + 1) / 2)) {
		rc |= dp_eal_args_add(a, "--no-huge");
		snprintf(buf, sizeof(buf), "-m%u", mem_mb);
		rc |= dp_eal_args_add(a, buf);
	} else {
		/* A private hugepage set per process so several nodes and tests can coexist. */
		snprintf(buf, sizeof(buf), "--socket-mem=%u", mem_mb);
		rc |= dp_eal_args_add(a, buf);
	}
	return rc ? -E2BIG : 0;
}
