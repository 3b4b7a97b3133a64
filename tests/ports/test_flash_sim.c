/*
 * The host flash simulator behaves like real NOR flash and like its header says: erased on
 * creation, program-once with alignment rules, sector erases on a mixed geometry, power cuts
 * (skipped or torn ops, deterministic per seed, dead until power on), file persistence, the
 * timing model and the counters; and the device flash helpers work through it.
 *
 * Usage: test_flash_sim   (file-backed tests use a fresh directory under $TMPDIR or /tmp)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "otakit/err.h"
#include "otakit/flash.h"
#include "otakit/flash_sim.h"
#include "otakit/presets.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

#define KB 1024u

static const ota_sector_run_t uniform_4k[] = {{16, 4 * KB}}; /* 64 KiB of 4 KiB sectors */

/* A memory-backed 64 KiB flash of 4 KiB sectors. */
static ota_flash_sim_cfg_t small_cfg(uint32_t write_size, uint8_t erased_val)
{
    ota_flash_sim_cfg_t c;
    memset(&c, 0, sizeof c);
    c.size = 64 * KB;
    c.n_runs = 1;
    c.runs = uniform_4k;
    c.write_size = write_size;
    c.erased_val = erased_val;
    return c;
}

/* The stm32f4-1m preset geometry (4x16K, 1x64K, 7x128K), memory backed, 0xff erased. */
static ota_flash_sim_cfg_t stm32_cfg(void)
{
    const ota_preset_t *p = ota_preset_find("stm32f4-1m");
    ota_flash_sim_cfg_t c;
    assert_non_null(p);
    ota_flash_sim_cfg_preset(&c, p, 4, 0xff);
    return c;
}

static ota_flash_sim_t *open_ok(const ota_flash_sim_cfg_t *c, ota_flash_t *f)
{
    ota_flash_sim_t *s = NULL;
    assert_int_equal(ota_flash_sim_open(c, &s), OTA_OK);
    assert_non_null(s);
    if (f)
        ota_flash_sim_bind(s, f);
    return s;
}

static int all_equal(const uint8_t *p, uint32_t len, uint8_t v)
{
    uint32_t i;
    for (i = 0; i < len; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

/* Bytes that are never the erased value for either polarity (0x01..0xfe). */
static void pattern(uint8_t *p, uint32_t len, uint32_t salt)
{
    uint32_t i;
    for (i = 0; i < len; i++)
        p[i] = (uint8_t)(1 + (i * 7u + salt) % 254u);
}

static ota_flash_sim_stats_t stats(const ota_flash_sim_t *s)
{
    ota_flash_sim_stats_t st;
    ota_flash_sim_stats(s, &st);
    return st;
}

/* A fresh empty directory for file-backed tests; *dir is malloc'ed. */
static char *make_dir(void)
{
    const char *t = getenv("TMPDIR");
    char *d = malloc(4096);
    assert_non_null(d);
    snprintf(d, 4096, "%s/otakit-flash-sim-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(d));
    return d;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---------------------------------------------------------------------------------------------
 * Creation and plain operations
 * ------------------------------------------------------------------------------------------- */

static void fresh_flash_reads_erased(void **state)
{
    static const uint8_t vals[] = {0xff, 0x00};
    unsigned v;
    (void)state;
    for (v = 0; v < 2; v++) {
        ota_flash_sim_cfg_t c = small_cfg(4, vals[v]);
        ota_flash_t f;
        ota_flash_sim_t *s = open_ok(&c, &f);
        uint8_t buf[512];
        memset(buf, 0x5a, sizeof buf);
        assert_int_equal(f.ops->read(f.ctx, 0, buf, sizeof buf), 0);
        assert_true(all_equal(buf, sizeof buf, vals[v]));
        assert_true(all_equal(ota_flash_sim_data(s), c.size, vals[v]));
        ota_flash_sim_close(s);
    }
}

static void open_rejects_bad_config(void **state)
{
    static const ota_sector_run_t short_runs[] = {{15, 4 * KB}};
    ota_flash_sim_cfg_t c;
    ota_flash_sim_t *s = (ota_flash_sim_t *)&s;
    (void)state;

    c = small_cfg(3, 0xff);
    assert_int_equal(ota_flash_sim_open(&c, &s), OTA_ERR_ARG);
    assert_null(s);
    c = small_cfg(64, 0xff);
    assert_int_equal(ota_flash_sim_open(&c, &s), OTA_ERR_ARG);
    c = small_cfg(4, 0x55);
    assert_int_equal(ota_flash_sim_open(&c, &s), OTA_ERR_ARG);
    c = small_cfg(4, 0xff);
    c.runs = short_runs; /* 60 KiB of sectors for a 64 KiB flash */
    assert_int_equal(ota_flash_sim_open(&c, &s), OTA_ERR_ARG);
    c = small_cfg(4, 0xff);
    c.n_runs = 0;
    assert_int_equal(ota_flash_sim_open(&c, &s), OTA_ERR_ARG);
    assert_int_equal(ota_flash_sim_open(NULL, &s), OTA_ERR_ARG);
    c = small_cfg(4, 0xff);
    assert_int_equal(ota_flash_sim_open(&c, NULL), OTA_ERR_ARG);
    ota_flash_sim_close(NULL); /* a no-op */
}

static void program_then_read_back(void **state)
{
    ota_flash_sim_cfg_t c = small_cfg(4, 0xff);
    ota_flash_t f;
    ota_flash_sim_t *s = open_ok(&c, &f);
    uint8_t in[1000], out[1000];
    (void)state;
    pattern(in, sizeof in, 3);
    assert_int_equal(f.ops->write(f.ctx, 4096 - 500, in, sizeof in), 0); /* spans two sectors */
    assert_int_equal(f.ops->read(f.ctx, 4096 - 500, out, sizeof out), 0);
    assert_memory_equal(in, out, sizeof in);
    assert_true(all_equal(ota_flash_sim_data(s), 4096 - 500, 0xff));
    assert_true(all_equal(ota_flash_sim_data(s) + 4096 + 500, c.size - 4096 - 500, 0xff));
    /* reads out of range fail (and count as a violation) */
    assert_int_equal(f.ops->read(f.ctx, c.size - 4, out, 8), -1);
    assert_int_equal(f.ops->read(f.ctx, c.size + 4, out, 0), -1);
    assert_int_equal(f.ops->read(f.ctx, c.size, out, 0), 0);
    assert_int_equal(stats(s).violations, 2);
    ota_flash_sim_close(s);
}

static void programming_twice_is_refused(void **state)
{
    static const uint8_t vals[] = {0xff, 0x00};
    unsigned v;
    (void)state;
    for (v = 0; v < 2; v++) {
        ota_flash_sim_cfg_t c = small_cfg(1, vals[v]);
        ota_flash_t f;
        ota_flash_sim_t *s = open_ok(&c, &f);
        uint8_t a[16], b[16], *before = malloc(c.size);
        pattern(a, sizeof a, 1);
        pattern(b, sizeof b, 9);
        assert_int_equal(f.ops->write(f.ctx, 100, a, sizeof a), 0);
        memcpy(before, ota_flash_sim_data(s), c.size);

        /* over programmed bytes, partly overlapping, and even with the very same data */
        assert_int_equal(f.ops->write(f.ctx, 100, b, sizeof b), -1);
        assert_int_equal(f.ops->write(f.ctx, 90, b, sizeof b), -1);
        assert_int_equal(f.ops->write(f.ctx, 115, b, sizeof b), -1);
        assert_int_equal(f.ops->write(f.ctx, 100, a, sizeof a), -1);
        assert_int_equal(stats(s).violations, 4);
        assert_memory_equal(before, ota_flash_sim_data(s), c.size);

        /* once the sector is erased it can be programmed again */
        assert_int_equal(f.ops->erase(f.ctx, 0), 0);
        assert_int_equal(f.ops->write(f.ctx, 100, b, sizeof b), 0);
        assert_memory_equal(ota_flash_sim_data(s) + 100, b, sizeof b);
        free(before);
        ota_flash_sim_close(s);
    }
}

static void unaligned_write_is_refused(void **state)
{
    static const uint32_t sizes[] = {1, 8, 16};
    unsigned i;
    (void)state;
    for (i = 0; i < 3; i++) {
        uint32_t ws = sizes[i];
        ota_flash_sim_cfg_t c = small_cfg(ws, 0xff);
        ota_flash_t f;
        ota_flash_sim_t *s = open_ok(&c, &f);
        uint8_t buf[64];
        uint64_t viol = 0;
        pattern(buf, sizeof buf, 5);

        if (ws > 1) {
            assert_int_equal(f.ops->write(f.ctx, ws / 2, buf, ws), -1);      /* addr */
            assert_int_equal(f.ops->write(f.ctx, ws, buf, ws + 1), -1);      /* len */
            assert_int_equal(f.ops->write(f.ctx, 1, buf, 2 * ws - 1), -1);   /* both */
            viol += 3;
        } else {
            assert_int_equal(f.ops->write(f.ctx, 7, buf, 3), 0); /* any byte is aligned */
        }
        assert_int_equal(f.ops->write(f.ctx, c.size - ws, buf, 2 * ws), -1); /* past the end */
        assert_int_equal(f.ops->write(f.ctx, c.size + ws, buf, ws), -1);
        viol += 2;
        assert_int_equal(stats(s).violations, viol);
        assert_true(all_equal(ota_flash_sim_data(s) + 32, c.size - 32, 0xff));

        assert_int_equal(f.ops->write(f.ctx, 2 * ws + 32, buf, 2 * ws), 0);
        assert_memory_equal(ota_flash_sim_data(s) + 2 * ws + 32, buf, 2 * ws);
        assert_int_equal(stats(s).violations, viol);
        ota_flash_sim_close(s);
    }
}

static void erase_needs_a_sector_start(void **state)
{
    ota_flash_sim_cfg_t c = small_cfg(4, 0xff);
    ota_flash_t f;
    ota_flash_sim_t *s = open_ok(&c, &f);
    (void)state;
    memset(ota_flash_sim_data(s), 0x11, c.size);
    assert_int_equal(f.ops->erase(f.ctx, 4096 + 1), -1);
    assert_int_equal(f.ops->erase(f.ctx, 2048), -1);
    assert_int_equal(f.ops->erase(f.ctx, 4096 - 4), -1);
    assert_int_equal(f.ops->erase(f.ctx, c.size), -1);
    assert_int_equal(f.ops->erase(f.ctx, 0xfffff000u), -1);
    assert_int_equal(stats(s).violations, 5);
    assert_true(all_equal(ota_flash_sim_data(s), c.size, 0x11));
    assert_int_equal(f.ops->erase(f.ctx, c.size - 4096), 0);
    assert_true(all_equal(ota_flash_sim_data(s), c.size - 4096, 0x11));
    assert_true(all_equal(ota_flash_sim_data(s) + c.size - 4096, 4096, 0xff));
    ota_flash_sim_close(s);
}

static void mixed_geometry_erases_the_right_range(void **state)
{
    ota_flash_sim_cfg_t c = stm32_cfg();
    ota_flash_t f;
    ota_flash_sim_t *s = open_ok(&c, &f);
    uint8_t *d = ota_flash_sim_data(s);
    uint32_t i;
    (void)state;
    assert_int_equal(ota_flash_sim_sector_count(s), 12);
    memset(d, 0x00, c.size);

    /* 16K sector 3, the 64K sector (index 4) and the 128K sector index 6 */
    assert_int_equal(f.ops->erase(f.ctx, 48 * KB), 0);
    assert_int_equal(f.ops->erase(f.ctx, 64 * KB), 0);
    assert_int_equal(f.ops->erase(f.ctx, 256 * KB), 0);
    assert_int_equal(f.ops->erase(f.ctx, 256 * KB), 0);
    assert_true(all_equal(d, 48 * KB, 0x00));
    assert_true(all_equal(d + 48 * KB, 80 * KB, 0xff));         /* 48K..128K */
    assert_true(all_equal(d + 128 * KB, 128 * KB, 0x00));       /* sector 5 */
    assert_true(all_equal(d + 256 * KB, 128 * KB, 0xff));       /* sector 6 */
    assert_true(all_equal(d + 384 * KB, 640 * KB, 0x00));

    /* addresses that would start a sector in a uniform geometry do not start one here */
    assert_int_equal(f.ops->erase(f.ctx, 80 * KB), -1);  /* inside the 64K sector */
    assert_int_equal(f.ops->erase(f.ctx, 192 * KB), -1); /* inside a 128K sector */
    assert_int_equal(stats(s).violations, 2);

    for (i = 0; i < 12; i++)
        assert_int_equal(ota_flash_sim_sector_erases(s, i), i == 3 || i == 4 ? 1 : i == 6 ? 2 : 0);
    assert_int_equal(ota_flash_sim_sector_erases(s, 12), 0);
    assert_int_equal(stats(s).erases, 4);
    ota_flash_sim_close(s);
}

/* ---------------------------------------------------------------------------------------------
 * Power cuts
 * ------------------------------------------------------------------------------------------- */

static void cut_before_skips_the_op_and_kills(void **state)
{
    unsigned which;
    (void)state;
    for (which = 0; which < 2; which++) { /* the cut op is a write, then an erase */
        ota_flash_sim_cfg_t c = small_cfg(4, 0xff);
        ota_flash_t f;
        ota_flash_sim_t *s = open_ok(&c, &f);
        uint8_t buf[256], *before = malloc(c.size);
        pattern(buf, sizeof buf, 2);
        ota_flash_sim_cut_at(s, 3, OTA_SIM_CUT_BEFORE, 1234);
        assert_int_equal(f.ops->write(f.ctx, 0, buf, 256), 0);      /* op 1 */
        assert_int_equal(f.ops->write(f.ctx, 4096, buf, 256), 0);   /* op 2 */
        assert_false(ota_flash_sim_is_dead(s));
        memcpy(before, ota_flash_sim_data(s), c.size);
        if (which == 0)
            assert_int_equal(f.ops->write(f.ctx, 8192, buf, 256), -1); /* op 3: cut */
        else
            assert_int_equal(f.ops->erase(f.ctx, 0), -1);
        assert_true(ota_flash_sim_is_dead(s));
        assert_memory_equal(before, ota_flash_sim_data(s), c.size);

        /* dead: everything fails, nothing changes, nothing is numbered */
        assert_int_equal(f.ops->read(f.ctx, 0, buf, 4), -1);
        assert_int_equal(f.ops->write(f.ctx, 12288, buf, 4), -1);
        assert_int_equal(f.ops->erase(f.ctx, 4096), -1);
        assert_memory_equal(before, ota_flash_sim_data(s), c.size);
        assert_int_equal(stats(s).ops, 3);
        assert_int_equal(stats(s).violations, 0);

        /* reboot: works again, and the cut is disarmed */
        ota_flash_sim_power_on(s);
        assert_false(ota_flash_sim_is_dead(s));
        assert_int_equal(f.ops->read(f.ctx, 0, buf, 4), 0);
        assert_int_equal(f.ops->erase(f.ctx, 0), 0);
        assert_int_equal(f.ops->write(f.ctx, 8192, buf, 256), 0);
        assert_false(ota_flash_sim_is_dead(s));
        free(before);
        ota_flash_sim_close(s);
    }
}

static void cut_at_zero_and_power_on_disarm(void **state)
{
    ota_flash_sim_cfg_t c = small_cfg(4, 0xff);
    ota_flash_t f;
    ota_flash_sim_t *s = open_ok(&c, &f);
    uint32_t i;
    (void)state;
    ota_flash_sim_cut_at(s, 2, OTA_SIM_CUT_BEFORE, 0);
    ota_flash_sim_cut_at(s, 0, OTA_SIM_CUT_BEFORE, 0);
    for (i = 0; i < 16; i++)
        assert_int_equal(f.ops->erase(f.ctx, i * 4096), 0);
    assert_false(ota_flash_sim_is_dead(s));
    /* power_on disarms a cut that has not happened yet */
    ota_flash_sim_cut_at(s, stats(s).ops + 2, OTA_SIM_CUT_TORN, 0);
    ota_flash_sim_power_on(s);
    for (i = 0; i < 16; i++)
        assert_int_equal(f.ops->erase(f.ctx, i * 4096), 0);
    assert_false(ota_flash_sim_is_dead(s));
    ota_flash_sim_close(s);
}

/* Runs one torn 256-byte write at op 2 and returns a copy of the flash (malloc'ed). */
static uint8_t *torn_write(uint8_t erased, uint32_t seed, const uint8_t *buf)
{
    ota_flash_sim_cfg_t c = small_cfg(1, erased);
    ota_flash_t f;
    ota_flash_sim_t *s = open_ok(&c, &f);
    uint8_t *copy = malloc(c.size);
    ota_flash_sim_cut_at(s, 2, OTA_SIM_CUT_TORN, seed);
    assert_int_equal(f.ops->erase(f.ctx, 0), 0);
    assert_int_equal(f.ops->write(f.ctx, 1000, buf, 256), -1);
    assert_true(ota_flash_sim_is_dead(s));
    memcpy(copy, ota_flash_sim_data(s), c.size);
    ota_flash_sim_close(s);
    return copy;
}

static void cut_torn_write_programs_a_strict_prefix(void **state)
{
    static const uint8_t vals[] = {0xff, 0x00};
    uint8_t buf[256];
    unsigned v, seed, partial = 0, k_seen[257] = {0}, distinct = 0;
    (void)state;
    pattern(buf, sizeof buf, 11);
    for (v = 0; v < 2; v++) {
        uint8_t e = vals[v];
        for (seed = 0; seed < 200; seed++) {
            uint8_t *a = torn_write(e, seed, buf), *b = torn_write(e, seed, buf);
            const uint8_t *p = a + 1000;
            uint32_t k = 0;
            assert_memory_equal(a, b, 64 * KB); /* replayable */
            while (k < 256 && p[k] == buf[k])
                k++;
            assert_true(k < 256); /* never the whole write */
            if (!k_seen[k]++)
                distinct++;
            /* byte k: erased, or some (not all) of the bits that had to flip flipped */
            if (p[k] != e) {
                uint8_t want = (uint8_t)(e ^ buf[k]), got = (uint8_t)(e ^ p[k]);
                assert_int_equal(got & ~want, 0);
                assert_true(got != want);
                partial++;
            }
            assert_true(all_equal(p + k + 1, 256 - k - 1, e));
            assert_true(all_equal(a, 1000, e));
            assert_true(all_equal(a + 1256, 64 * KB - 1256, e));
            free(a);
            free(b);
        }
    }
    assert_true(distinct > 50); /* the seed really moves the cut point */
    assert_true(partial > 0);   /* and partly programmed bytes do occur */
}

/* Fills a 16K sector with programmed bytes, erases it torn at op 1 and returns a copy (malloc'ed). */
static uint8_t *torn_erase(uint8_t erased, uint32_t seed, uint32_t *erases)
{
    ota_flash_sim_cfg_t c = stm32_cfg();
    ota_flash_t f;
    ota_flash_sim_t *s;
    uint8_t *copy = malloc(c.size);
    c.erased_val = erased;
    s = open_ok(&c, &f);
    pattern(ota_flash_sim_data(s), c.size, 0);
    ota_flash_sim_cut_at(s, 1, OTA_SIM_CUT_TORN, seed);
    assert_int_equal(f.ops->erase(f.ctx, 16 * KB), -1);
    assert_true(ota_flash_sim_is_dead(s));
    *erases = ota_flash_sim_sector_erases(s, 1);
    assert_int_equal(stats(s).erases, 0); /* not a completed erase */
    memcpy(copy, ota_flash_sim_data(s), c.size);
    ota_flash_sim_close(s);
    return copy;
}

static void cut_torn_erase_leaves_a_partly_erased_sector(void **state)
{
    static const uint8_t vals[] = {0xff, 0x00};
    uint8_t *orig = malloc(1024 * KB);
    unsigned v, seed;
    (void)state;
    pattern(orig, 1024 * KB, 0);
    for (v = 0; v < 2; v++) {
        uint8_t e = vals[v];
        for (seed = 0; seed < 100; seed++) {
            uint32_t n1, n2, i, erased = 0;
            uint8_t *a = torn_erase(e, seed, &n1), *b = torn_erase(e, seed, &n2);
            const uint8_t *p = a + 16 * KB, *o = orig + 16 * KB;
            assert_memory_equal(a, b, 1024 * KB); /* replayable */
            assert_int_equal(n1, 1);             /* the attempt wore the sector */
            for (i = 0; i < 16 * KB; i++) {
                /* bits only ever move toward the erased value */
                assert_int_equal((p[i] ^ o[i]) & ~(o[i] ^ e), 0);
                erased += p[i] == e;
            }
            assert_true(erased > 0);
            assert_true(erased < 16 * KB);
            assert_memory_not_equal(p, o, 16 * KB);
            assert_memory_equal(a, orig, 16 * KB);
            assert_memory_equal(a + 32 * KB, orig + 32 * KB, 992 * KB);
            free(a);
            free(b);
        }
    }
    free(orig);
}

/* ---------------------------------------------------------------------------------------------
 * File backing, timing, counters
 * ------------------------------------------------------------------------------------------- */

static void file_backed_flash_persists(void **state)
{
    static const uint8_t vals[] = {0xff, 0x00};
    char *dir = make_dir(), path[4200];
    unsigned v;
    (void)state;
    for (v = 0; v < 2; v++) {
        ota_flash_sim_cfg_t c = stm32_cfg();
        ota_flash_t f;
        ota_flash_sim_t *s;
        struct stat sb;
        uint8_t buf[4096], out[4096];
        c.erased_val = vals[v];
        snprintf(path, sizeof path, "%s/flash%u.bin", dir, v);
        c.path = path;

        s = open_ok(&c, &f); /* created */
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_size, c.size);
        assert_true(all_equal(ota_flash_sim_data(s), c.size, vals[v]));
        pattern(buf, sizeof buf, v);
        assert_int_equal(f.ops->write(f.ctx, 900 * KB, buf, sizeof buf), 0);
        assert_int_equal(f.ops->erase(f.ctx, 0), 0);
        ota_flash_sim_close(s);

        s = open_ok(&c, &f); /* reopened: same contents, fresh counters */
        assert_int_equal(f.ops->read(f.ctx, 900 * KB, out, sizeof out), 0);
        assert_memory_equal(buf, out, sizeof buf);
        assert_true(all_equal(ota_flash_sim_data(s), 900 * KB, vals[v]));
        assert_int_equal(stats(s).ops, 0);
        assert_int_equal(f.ops->write(f.ctx, 900 * KB, buf, 4), -1); /* still programmed */
        ota_flash_sim_close(s);
        unlink(path);
    }
    rmdir(dir);
    free(dir);
}

static void wrong_size_file_is_rejected(void **state)
{
    char *dir = make_dir(), path[4200];
    ota_flash_sim_cfg_t c = small_cfg(4, 0xff);
    ota_flash_sim_t *s = NULL;
    struct stat sb;
    FILE *fp;
    (void)state;
    snprintf(path, sizeof path, "%s/short.bin", dir);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fputc(0xab, fp), 0xab);
    fclose(fp);
    c.path = path;
    assert_int_equal(ota_flash_sim_open(&c, &s), OTA_ERR_FILE);
    assert_null(s);
    assert_int_equal(stat(path, &sb), 0); /* left alone */
    assert_int_equal(sb.st_size, 1);
    c.path = dir; /* a directory */
    assert_int_equal(ota_flash_sim_open(&c, &s), OTA_ERR_FILE);
    snprintf(path, sizeof path, "%s/no/such/dir/flash.bin", dir);
    c.path = path;
    assert_int_equal(ota_flash_sim_open(&c, &s), OTA_ERR_FILE);
    snprintf(path, sizeof path, "%s/short.bin", dir);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static void timing_model_sums(void **state)
{
    ota_flash_sim_cfg_t c = stm32_cfg();
    ota_flash_t f;
    ota_flash_sim_t *s;
    uint8_t buf[600];
    uint64_t t0;
    (void)state;
    c.erase_us_per_4k = 1000;
    c.program_us_per_256 = 100;
    s = open_ok(&c, &f);
    pattern(buf, sizeof buf, 0);
    assert_int_equal(f.ops->erase(f.ctx, 0), 0);            /* 16K: 4 * 1000 */
    assert_int_equal(stats(s).sim_time_us, 4000);
    assert_int_equal(f.ops->erase(f.ctx, 128 * KB), 0);     /* 128K: 32 * 1000 */
    assert_int_equal(stats(s).sim_time_us, 36000);
    assert_int_equal(f.ops->write(f.ctx, 0, buf, 512), 0);  /* 2 * 100 */
    assert_int_equal(stats(s).sim_time_us, 36200);
    assert_int_equal(f.ops->write(f.ctx, 512, buf, 4), 0);  /* 100 * 4 / 256 = 1.56 -> 2 */
    assert_int_equal(stats(s).sim_time_us, 36202);
    assert_int_equal(f.ops->write(f.ctx, 516, buf, 300), 0); /* 117.2 -> 118 */
    assert_int_equal(stats(s).sim_time_us, 36320);
    /* refused and cut ops cost nothing */
    assert_int_equal(f.ops->write(f.ctx, 0, buf, 4), -1);
    ota_flash_sim_cut_at(s, stats(s).ops + 1, OTA_SIM_CUT_TORN, 7);
    assert_int_equal(f.ops->erase(f.ctx, 256 * KB), -1);
    assert_int_equal(stats(s).sim_time_us, 36320);
    ota_flash_sim_close(s);

    /* realtime: the op really takes (at least) that long */
    c.erase_us_per_4k = 1000; /* a 16K sector: 4 ms */
    c.realtime = 1;
    s = open_ok(&c, &f);
    t0 = now_us();
    assert_int_equal(f.ops->erase(f.ctx, 16 * KB), 0);
    assert_int_equal(f.ops->erase(f.ctx, 32 * KB), 0);
    assert_true(now_us() - t0 >= 8000);
    assert_int_equal(stats(s).sim_time_us, 8000);
    ota_flash_sim_close(s);
}

static void stats_count_ops_and_bytes(void **state)
{
    ota_flash_sim_cfg_t c = small_cfg(4, 0xff);
    ota_flash_t f;
    ota_flash_sim_t *s = open_ok(&c, &f);
    ota_flash_sim_stats_t st;
    uint8_t buf[100];
    (void)state;
    pattern(buf, sizeof buf, 0);
    assert_int_equal(f.ops->write(f.ctx, 0, buf, 100), 0);
    assert_int_equal(f.ops->write(f.ctx, 200, buf, 40), 0);
    assert_int_equal(f.ops->write(f.ctx, 0, buf, 4), -1);  /* programmed: refused */
    assert_int_equal(f.ops->write(f.ctx, 2, buf, 4), -1);  /* unaligned: refused */
    assert_int_equal(f.ops->erase(f.ctx, 4096), 0);
    assert_int_equal(f.ops->erase(f.ctx, 4097), -1);
    assert_int_equal(f.ops->read(f.ctx, 0, buf, 10), 0);
    assert_int_equal(f.ops->read(f.ctx, 50, buf, 33), 0);
    ota_flash_sim_stats(s, &st);
    assert_int_equal(st.ops, 6); /* every program and erase call is numbered */
    assert_int_equal(st.writes, 2);
    assert_int_equal(st.erases, 1);
    assert_int_equal(st.bytes_programmed, 140);
    assert_int_equal(st.reads, 2);
    assert_int_equal(st.bytes_read, 43);
    assert_int_equal(st.violations, 3);
    assert_int_equal(ota_flash_sim_sector_erases(s, 1), 1);

    /* reset: counters zero, numbering restarts (a cut at op 1 hits the very next op) */
    ota_flash_sim_reset_counters(s);
    ota_flash_sim_stats(s, &st);
    assert_int_equal(st.ops + st.writes + st.erases + st.bytes_programmed + st.reads + st.bytes_read +
                         st.violations + st.sim_time_us, 0);
    assert_int_equal(ota_flash_sim_sector_erases(s, 1), 0);
    ota_flash_sim_cut_at(s, 1, OTA_SIM_CUT_BEFORE, 0);
    assert_int_equal(f.ops->read(f.ctx, 0, buf, 4), 0); /* reads are not numbered */
    assert_int_equal(f.ops->erase(f.ctx, 0), -1);
    assert_true(ota_flash_sim_is_dead(s));
    assert_memory_equal(ota_flash_sim_data(s), buf, 4); /* not erased */
    ota_flash_sim_close(s);
}

/* ---------------------------------------------------------------------------------------------
 * Device helpers through the sim
 * ------------------------------------------------------------------------------------------- */

static void device_helpers_work_through_the_sim(void **state)
{
    ota_flash_sim_cfg_t c = stm32_cfg();
    ota_flash_t f;
    ota_flash_sim_t *s = open_ok(&c, &f);
    uint8_t buf[4096], out[4096];
    uint32_t start, size;
    (void)state;
    assert_int_equal(ota_flash_check(&f), OTA_OK);
    assert_int_equal(ota_flash_sector(&f, 100 * KB, &start, &size), OTA_OK);
    assert_int_equal(start, 64 * KB);
    assert_int_equal(size, 64 * KB);

    pattern(buf, sizeof buf, 4);
    assert_int_equal(ota_flash_is_erased(&f, 0, c.size), 1);
    assert_int_equal(ota_flash_write(&f, 60 * KB, buf, sizeof buf), OTA_OK); /* end of sector 3 */
    assert_int_equal(ota_flash_write(&f, 200 * KB, buf, sizeof buf), OTA_OK);
    assert_int_equal(ota_flash_read(&f, 60 * KB, out, sizeof out), OTA_OK);
    assert_memory_equal(buf, out, sizeof buf);
    assert_int_equal(ota_flash_is_erased(&f, 0, 60 * KB), 1);
    assert_int_equal(ota_flash_is_erased(&f, 0, 60 * KB + 1), 0);
    assert_int_equal(ota_flash_write(&f, 60 * KB, buf, 4), OTA_ERR_FLASH_WRITE); /* twice */
    assert_int_equal(ota_flash_write(&f, 2, buf, 4), OTA_ERR_FLASH_RANGE);       /* unaligned */

    /* a range must be whole sectors; [48K, 256K) is 16K + 64K + 128K */
    assert_int_equal(ota_flash_erase_range(&f, 50 * KB, 206 * KB), OTA_ERR_FLASH_RANGE);
    assert_int_equal(ota_flash_erase_range(&f, 48 * KB, 208 * KB), OTA_OK);
    assert_int_equal(ota_flash_is_erased(&f, 0, c.size), 1);
    assert_int_equal(ota_flash_sim_sector_erases(s, 3), 1);
    assert_int_equal(ota_flash_sim_sector_erases(s, 4), 1);
    assert_int_equal(ota_flash_sim_sector_erases(s, 5), 1);
    assert_int_equal(ota_flash_sim_sector_erases(s, 6), 0);
    assert_int_equal(ota_flash_erase(&f, 80 * KB), OTA_ERR_FLASH_RANGE);

    /* a power cut surfaces as the helpers' flash errors */
    ota_flash_sim_cut_at(s, stats(s).ops + 1, OTA_SIM_CUT_BEFORE, 0);
    assert_int_equal(ota_flash_write(&f, 0, buf, 16), OTA_ERR_FLASH_WRITE);
    assert_int_equal(ota_flash_erase(&f, 0), OTA_ERR_FLASH_ERASE);
    assert_int_equal(ota_flash_read(&f, 0, out, 4), OTA_ERR_FLASH_READ);
    assert_int_equal(ota_flash_is_erased(&f, 0, 16), OTA_ERR_FLASH_READ);
    ota_flash_sim_power_on(s);
    assert_int_equal(ota_flash_is_erased(&f, 0, 16), 1);
    ota_flash_sim_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_flash_reads_erased),
        cmocka_unit_test(open_rejects_bad_config),
        cmocka_unit_test(program_then_read_back),
        cmocka_unit_test(programming_twice_is_refused),
        cmocka_unit_test(unaligned_write_is_refused),
        cmocka_unit_test(erase_needs_a_sector_start),
        cmocka_unit_test(mixed_geometry_erases_the_right_range),
        cmocka_unit_test(cut_before_skips_the_op_and_kills),
        cmocka_unit_test(cut_at_zero_and_power_on_disarm),
        cmocka_unit_test(cut_torn_write_programs_a_strict_prefix),
        cmocka_unit_test(cut_torn_erase_leaves_a_partly_erased_sector),
        cmocka_unit_test(file_backed_flash_persists),
        cmocka_unit_test(wrong_size_file_is_rejected),
        cmocka_unit_test(timing_model_sums),
        cmocka_unit_test(stats_count_ops_and_bytes),
        cmocka_unit_test(device_helpers_work_through_the_sim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
