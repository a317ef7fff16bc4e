#!/usr/bin/env bash
# Best effort: reserve 2 MB huge pages and mount hugetlbfs. Everything also runs with --no-huge
# (dp_eal_args_init falls back on its own), so failure here is reported, never fatal.
want=${QKD_HUGEPAGES:-512}
if [ "$(id -u)" -ne 0 ]; then echo "hugepages: not root, using --no-huge"; exit 0; fi
have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
if [ "$have" -lt "$want" ]; then
  echo "$want" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
fi
if ! grep -q hugetlbfs /proc/mounts; then
  mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
fi
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if grep -q hugetlbfs /proc/mounts && [ "${free:-0}" -gt 0 ]; then
  echo "hugepages: ${free} free 2 MB pages"
else
  echo "hugepages: not available here, using --no-huge"
fi
