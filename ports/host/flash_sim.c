/*
 * Host flash simulator (see otakit/flash_sim.h for the contract).
 *
 * The flash is one byte array: malloc'ed, or a file mapped MAP_SHARED so that whatever the device
 * process wrote is in the page cache the moment the call returns and survives a SIGKILL. Every
 * operation is a bounds check and a memcpy/memcmp/memset on that array; the only syscalls are at
 * open and close (and nanosleep in realtime mode).
 *
 * A power cut is an armed op number. The program and erase entry points call begin_op(), which
 * numbers the call and tells it whether it is the one to cut; the op then either runs normally,
 * does nothing, or does a torn version of itself, and a cut op always leaves the sim dead.
 */
#include "otakit/flash_sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ota_flash_sim {
    uint8_t *mem;            /* size bytes: malloc'ed, or mmap'ed when fd >= 0 */
    int fd;                  /* backing file, or -1 for memory only */
    uint32_t size;
    uint32_t write_size;
    uint8_t erased_val;
    uint8_t n_runs;
    ota_sector_run_t *runs;  /* our copy of the geometry */
    uint32_t n_sectors;
    uint32_t *erase_count;   /* per sector, geometry order */
    uint32_t erase_us_per_4k;
    uint32_t program_us_per_256;
    int realtime;
    uint64_t cut_op;         /* 0: disarmed */
    ota_sim_cut_t cut_mode;
    uint32_t cut_seed;
    int dead;
    ota_flash_sim_stats_t st;
};

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------------------------- */

/* Deterministic PRNG for torn ops: splitmix64 to spread the seed, then xorshift64. The state is
 * never 0 because splitmix64 of anything is run through "| 1". */
static uint64_t rng_init(uint32_t seed, uint64_t op)
{
    uint64_t z = ((uint64_t)seed ^ op) + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) | 1;
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Random number in [0, n); n > 0. The modulo bias is irrelevant here. */
static uint32_t rng_below(uint64_t *x, uint32_t n)
{
    return (uint32_t)(rng_next(x) % n);
}

/* A bit set that is a proper subset of diff, picked at random: some but never all of the bits
 * that an interrupted program or erase had to flip. 0 when diff has fewer than two bits. */
static uint8_t some_bits(uint64_t *x, uint8_t diff)
{
    uint8_t sub = (uint8_t)(diff & rng_next(x));
    if (sub == diff)
        sub = (uint8_t)(diff & (diff - 1)); /* drop the lowest bit */
    return sub;
}

/* Finds the sector starting exactly at addr: its index and size. Returns 0 if there is none. */
static int sector_at(const ota_flash_sim_t *s, uint32_t addr, uint32_t *index, uint32_t *size)
{
    uint32_t base = 0, first = 0;
    unsigned i;
    for (i = 0; i < s->n_runs; i++) {
        uint32_t run = s->runs[i].count * s->runs[i].size;
        if (addr - base < run) {
            if ((addr - base) % s->runs[i].size)
                return 0;
            *index = first + (addr - base) / s->runs[i].size;
            *size = s->runs[i].size;
            return 1;
        }
        base += run;
        first += s->runs[i].count;
    }
    return 0;
}

/* Accounts the simulated busy time of one completed op: ceil(rate * bytes / unit) microseconds,
 * and sleeps that long in realtime mode. */
static void spend(ota_flash_sim_t *s, uint32_t rate, uint64_t bytes, uint32_t unit)
{
    uint64_t us;
    struct timespec ts;
    if (!rate)
        return;
    us = (rate * bytes + unit - 1) / unit;
    s->st.sim_time_us += us;
    if (!s->realtime || !us)
        return;
    ts.tv_sec = (time_t)(us / 1000000u);
    ts.tv_nsec = (long)(us % 1000000u) * 1000;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Numbers a program or erase call. Returns the cut mode if this call is the armed one, else 0. */
static int begin_op(ota_flash_sim_t *s)
{
    s->st.ops++;
    if (s->cut_op && s->st.ops == s->cut_op) {
        s->cut_op = 0;
        return (int)s->cut_mode;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The three flash operations (ota_flash_ops_t)
 * ------------------------------------------------------------------------------------------- */

static int sim_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    ota_flash_sim_t *s = ctx;
    if (s->dead)
        return -1;
    if (addr > s->size || len > s->size - addr) {
        s->st.violations++;
        return -1;
    }
    memcpy(buf, s->mem + addr, len);
    s->st.reads++;
    s->st.bytes_read += len;
    return 0;
}

static int sim_write(void *ctx, uint32_t addr, const void *buf, uint32_t len)
{
    ota_flash_sim_t *s = ctx;
    const uint8_t *src = buf;
    uint8_t *dst;
    int cut;

    if (s->dead)
        return -1;
    cut = begin_op(s);
    if (cut)
        s->dead = 1;
    if (addr > s->size || len > s->size - addr || addr % s->write_size || len % s->write_size) {
        s->st.violations++;
        return -1;
    }
    /* Programming twice is refused as a whole, before anything changes. "All bytes erased" is
     * "the first byte is erased and every byte equals the next one": one memcmp. */
    dst = s->mem + addr;
    if (len && (dst[0] != s->erased_val || memcmp(dst, dst + 1, len - 1) != 0)) {
        s->st.violations++;
        return -1;
    }
    if (cut == OTA_SIM_CUT_BEFORE)
        return -1;
    if (cut == OTA_SIM_CUT_TORN) {
        /* k whole bytes land, then byte k may have some of its bits flipped: a strict prefix. */
        uint64_t x = rng_init(s->cut_seed, s->st.ops);
        uint32_t k = len ? rng_below(&x, len) : 0;
        memcpy(dst, src, k);
        s->st.bytes_programmed += k;
        if (k < len && (rng_next(&x) & 1))
            dst[k] = (uint8_t)(s->erased_val ^ some_bits(&x, (uint8_t)(s->erased_val ^ src[k])));
        return -1;
    }
    memcpy(dst, src, len);
    s->st.writes++;
    s->st.bytes_programmed += len;
    spend(s, s->program_us_per_256, len, 256);
    return 0;
}

static int sim_erase(void *ctx, uint32_t addr)
{
    ota_flash_sim_t *s = ctx;
    uint32_t index, size;
    uint8_t *p;
    int cut;

    if (s->dead)
        return -1;
    cut = begin_op(s);
    if (cut)
        s->dead = 1;
    if (!sector_at(s, addr, &index, &size)) {
        s->st.violations++;
        return -1;
    }
    if (cut == OTA_SIM_CUT_BEFORE)
        return -1;
    p = s->mem + addr;
    s->erase_count[index]++;
    if (cut == OTA_SIM_CUT_TORN) {
        /* A random prefix [0, n) is erased (0 < n < size), byte n has some but not all of its
         * bits erased, and c random bytes after it are erased, c being at most half of the bytes
         * after n: a fully programmed sector ends up neither erased nor unchanged. */
        uint64_t x = rng_init(s->cut_seed, s->st.ops);
        uint32_t n = size > 1 ? 1 + rng_below(&x, size - 1) : size, c, j;
        memset(p, s->erased_val, n);
        if (n < size) {
            p[n] = (uint8_t)(p[n] ^ some_bits(&x, (uint8_t)(p[n] ^ s->erased_val)));
            c = rng_below(&x, (size - n - 1) / 2 + 1);
            for (j = 0; j < c; j++)
                p[n + 1 + rng_below(&x, size - n - 1)] = s->erased_val;
        }
        return -1;
    }
    memset(p, s->erased_val, size);
    s->st.erases++;
    spend(s, s->erase_us_per_4k, size, 4096);
    return 0;
}

static const ota_flash_ops_t sim_ops = {sim_read, sim_write, sim_erase};

/* ---------------------------------------------------------------------------------------------
 * Backing store
 * ------------------------------------------------------------------------------------------- */

/* Maps fd (size bytes) shared. Returns 0 or -1. */
static int map_file(ota_flash_sim_t *s, int fd)
{
    void *m = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return -1;
    s->mem = m;
    s->fd = fd;
    return 0;
}

/* Creates path filled with the erased value. The file is built under a temporary name and renamed
 * into place, so a crash mid-creation never leaves a half-initialized flash behind. */
static int create_file(ota_flash_sim_t *s, const char *path)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    int fd, rc = OTA_ERR_FILE;
    if (!tmp)
        return OTA_ERR_NO_MEM;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0 && ftruncate(fd, (off_t)s->size) == 0 && map_file(s, fd) == 0) {
        memset(s->mem, s->erased_val, s->size);
        if (msync(s->mem, s->size, MS_SYNC) == 0 && rename(tmp, path) == 0) {
            free(tmp);
            return OTA_OK;
        }
        munmap(s->mem, s->size);
        s->mem = NULL;
        s->fd = -1;
    }
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* Opens path if it exists (it must be exactly size bytes), else creates it. */
static int open_file(ota_flash_sim_t *s, const char *path)
{
    struct stat sb;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? create_file(s, path) : OTA_ERR_FILE;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != (off_t)s->size ||
        map_file(s, fd) != 0) {
        close(fd);
        return OTA_ERR_FILE;
    }
    return OTA_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------------------------- */

/* Same rules as ota_flash_check(), restated so the sim does not depend on the device helpers. */
static int check_cfg(const ota_flash_sim_cfg_t *cfg, uint32_t *n_sectors)
{
    uint64_t total = 0, sectors = 0;
    unsigned i;
    if (!cfg->size || !cfg->n_runs || !cfg->runs)
        return 0;
    if (!cfg->write_size || cfg->write_size > OTA_FLASH_MAX_WRITE_SIZE ||
        (cfg->write_size & (cfg->write_size - 1)))
        return 0;
    if (cfg->erased_val != 0xff && cfg->erased_val != 0x00)
        return 0;
    for (i = 0; i < cfg->n_runs; i++) {
        if (!cfg->runs[i].count || !cfg->runs[i].size || cfg->runs[i].size % cfg->write_size)
            return 0;
        total += (uint64_t)cfg->runs[i].count * cfg->runs[i].size;
        sectors += cfg->runs[i].count;
        if (total > cfg->size)
            return 0;
    }
    *n_sectors = (uint32_t)sectors;
    return total == cfg->size;
}

void ota_flash_sim_cfg_preset(ota_flash_sim_cfg_t *cfg, const ota_preset_t *p, uint32_t write_size,
                              uint8_t erased_val)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->size = p->flash_size;
    cfg->n_runs = p->n_runs;
    cfg->runs = p->runs;
    cfg->write_size = write_size;
    cfg->erased_val = erased_val;
}

int ota_flash_sim_open(const ota_flash_sim_cfg_t *cfg, ota_flash_sim_t **out)
{
    ota_flash_sim_t *s;
    uint32_t n_sectors = 0;
    int rc;

    if (!out)
        return OTA_ERR_ARG;
    *out = NULL;
    if (!cfg || !check_cfg(cfg, &n_sectors))
        return OTA_ERR_ARG;
    if (!(s = calloc(1, sizeof *s)))
        return OTA_ERR_NO_MEM;
    s->fd = -1;
    s->size = cfg->size;
    s->write_size = cfg->write_size;
    s->erased_val = cfg->erased_val;
    s->n_runs = cfg->n_runs;
    s->n_sectors = n_sectors;
    s->erase_us_per_4k = cfg->erase_us_per_4k;
    s->program_us_per_256 = cfg->program_us_per_256;
    s->realtime = cfg->realtime;
    s->runs = malloc(cfg->n_runs * sizeof *s->runs);
    s->erase_count = calloc(n_sectors, sizeof *s->erase_count);
    if (!s->runs || !s->erase_count) {
        ota_flash_sim_close(s);
        return OTA_ERR_NO_MEM;
    }
    memcpy(s->runs, cfg->runs, cfg->n_runs * sizeof *s->runs);

    if (cfg->path) {
        rc = open_file(s, cfg->path);
    } else if ((s->mem = malloc(s->size)) != NULL) {
        memset(s->mem, s->erased_val, s->size);
        rc = OTA_OK;
    } else {
        rc = OTA_ERR_NO_MEM;
    }
    if (rc != OTA_OK) {
        ota_flash_sim_close(s);
        return rc;
    }
    *out = s;
    return OTA_OK;
}

void ota_flash_sim_close(ota_flash_sim_t *s)
{
    if (!s)
        return;
    if (s->fd >= 0) {
        msync(s->mem, s->size, MS_SYNC);
        munmap(s->mem, s->size);
        close(s->fd);
    } else {
        free(s->mem);
    }
    free(s->runs);
    free(s->erase_count);
    free(s);
}

void ota_flash_sim_bind(ota_flash_sim_t *s, ota_flash_t *f)
{
    f->ops = &sim_ops;
    f->ctx = s;
    f->size = s->size;
    f->write_size = s->write_size;
    f->erased_val = s->erased_val;
    f->n_runs = s->n_runs;
    f->runs = s->runs;
}

uint8_t *ota_flash_sim_data(ota_flash_sim_t *s)
{
    return s->mem;
}

uint32_t ota_flash_sim_sector_count(const ota_flash_sim_t *s)
{
    return s->n_sectors;
}

void ota_flash_sim_cut_at(ota_flash_sim_t *s, uint64_t op, ota_sim_cut_t mode, uint32_t seed)
{
    s->cut_op = op;
    s->cut_mode = mode;
    s->cut_seed = seed;
}

int ota_flash_sim_is_dead(const ota_flash_sim_t *s)
{
    return s->dead;
}

void ota_flash_sim_power_on(ota_flash_sim_t *s)
{
    s->dead = 0;
    s->cut_op = 0;
}

void ota_flash_sim_stats(const ota_flash_sim_t *s, ota_flash_sim_stats_t *out)
{
    *out = s->st;
}

uint32_t ota_flash_sim_sector_erases(const ota_flash_sim_t *s, uint32_t sector_index)
{
    return sector_index < s->n_sectors ? s->erase_count[sector_index] : 0;
}

void ota_flash_sim_reset_counters(ota_flash_sim_t *s)
{
    memset(&s->st, 0, sizeof s->st);
    memset(s->erase_count, 0, s->n_sectors * sizeof *s->erase_count);
}
