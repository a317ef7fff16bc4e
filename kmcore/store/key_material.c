/* Key material memory: whole pages of their own, locked so they never reach swap, left out of
 * core dumps and wiped in a forked child; zeroized before they are released. Locking can fail
 * when RLIMIT_MEMLOCK is exhausted: the memory is still usable and the shortfall is counted. */
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "km_key.h"
#include "km_store.h"

static atomic_ulong unlocked_allocs;

static size_t round_pages(uint32_t bytes)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	return ((size_t)bytes + pg - 1) / pg * pg;
}

uint8_t *km_key_material_alloc(uint32_t bytes)
{
	if (bytes == 0)
		return NULL;
	size_t len = round_pages(bytes);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_DONTDUMP);
	madvise(p, len, MADV_WIPEONFORK);
	if (mlock(p, len) != 0)
		atomic_fetch_add(&unlocked_allocs, 1);
	return p; /* anonymous pages start zeroed */
}

void km_key_material_free(uint8_t *material, uint32_t bytes)
{
	if (!material)
		return;
	size_t len = round_pages(bytes);
	OPENSSL_cleanse(material, len);
	munlock(material, len);
	munmap(material, len);
}

unsigned long km_key_material_unlocked(void)
{
	return atomic_load(&unlocked_allocs);
}
