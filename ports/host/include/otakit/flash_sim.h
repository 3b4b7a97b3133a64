/*
 * Host flash simulator: an ota_flash_t backed by memory or by an mmap'ed file, with the rules of
 * real NOR flash enforced, power cuts injected at a chosen operation, and a timing model.
 *
 * Two users: the power-cut harness (memory backed, thousands of cuts, so every operation is a
 * bounds check plus memcpy/memcmp, no syscalls) and the simulated device process (file backed, so
 * the flash survives a process restart or a SIGKILL: the file is mapped MAP_SHARED).
 *
 * Rules enforced, each a "violation" when broken (the operation fails and changes nothing):
 *   - program: addr and len multiples of write_size and inside the flash; every target byte must
 *     be erased (no programming twice, as on flash with ECC);
 *   - erase: addr must be the start of a sector of the geometry;
 *   - read: inside the flash.
 *
 * Power cuts: the state-changing operations (program and erase calls) are numbered from 1 since
 * ota_flash_sim_open() or ota_flash_sim_reset_counters(); refused calls are numbered too, so
 * stats.ops after a clean run is the number of cut points to try. At the armed operation the sim
 * "loses power": the operation is skipped (OTA_SIM_CUT_BEFORE) or left half done
 * (OTA_SIM_CUT_TORN), it returns -1, and every later operation, reads included, fails until
 * ota_flash_sim_power_on(). Torn results are pseudo-random but a pure function of (seed, op, the
 * flash contents), so a failing cut point replays exactly.
 *
 * Not thread safe: one sim is used by one thread at a time.
 */
#ifndef OTAKIT_FLASH_SIM_H
#define OTAKIT_FLASH_SIM_H

#include <stdint.h>

#include "otakit/flash.h"
#include "otakit/presets.h"

typedef struct ota_flash_sim ota_flash_sim_t;

typedef struct {
    /* Backing file, mapped MAP_SHARED. Absent: created filled with erased_val. Present with the
     * right size: its contents are the flash. Other size: OTA_ERR_FILE. NULL: memory only. */
    const char *path;
    uint32_t size;                /* total bytes; must equal the sum of the runs */
    uint8_t n_runs;               /* sector geometry, as in ota_flash_t (copied by open) */
    const ota_sector_run_t *runs;
    uint32_t write_size;          /* program granularity: 1, 2, 4, 8, 16 or 32 */
    uint8_t erased_val;           /* 0xff or 0x00 */
    uint32_t erase_us_per_4k;     /* simulated erase time per 4 KiB of sector size (0 = none) */
    uint32_t program_us_per_256;  /* simulated program time per 256 bytes programmed (0 = none) */
    int realtime;                 /* 1: also sleep for the simulated time; 0: only account it */
} ota_flash_sim_cfg_t;

typedef enum {
    OTA_SIM_CUT_BEFORE = 1, /* the cut op is not performed at all */
    OTA_SIM_CUT_TORN = 2    /* the cut op is left partly done */
} ota_sim_cut_t;

typedef struct {
    uint64_t ops;              /* program + erase calls numbered (= number of the last one) */
    uint64_t writes;           /* program calls that completed */
    uint64_t erases;           /* erase calls that completed */
    uint64_t bytes_programmed; /* bytes written by completed and torn programs */
    uint64_t reads;            /* read calls that completed */
    uint64_t bytes_read;
    uint64_t violations;       /* calls refused for breaking a flash rule (see above) */
    uint64_t sim_time_us;      /* simulated busy time of completed programs and erases */
} ota_flash_sim_stats_t;

/* Zeroes *cfg, then gives it the flash of preset p (its size and sector map), write_size and
 * erased_val: memory backed, no simulated time. Set the other fields after it. */
void ota_flash_sim_cfg_preset(ota_flash_sim_cfg_t *cfg, const ota_preset_t *p, uint32_t write_size,
                              uint8_t erased_val);

/* Creates a simulator from cfg (checked like ota_flash_check(); cfg->runs is copied).
 * On OTA_OK *out owns the flash until ota_flash_sim_close(); else OTA_ERR_ARG, _FILE or _NO_MEM. */
int ota_flash_sim_open(const ota_flash_sim_cfg_t *cfg, ota_flash_sim_t **out);

/* Frees the simulator; a file-backed flash is msync'ed and unmapped first. NULL is a no-op.
 * Any ota_flash_t bound to it and any ota_flash_sim_data() pointer become invalid. */
void ota_flash_sim_close(ota_flash_sim_t *s);

/* Fills *f (ops, ctx, size, write_size, erased_val, n_runs, runs) so device code drives the sim.
 * f->runs points into s: f is valid until ota_flash_sim_close(s). */
void ota_flash_sim_bind(ota_flash_sim_t *s, ota_flash_t *f);

/* The raw contents (size bytes), owned by s, for tests and snapshots. Writes through it bypass
 * every rule and counter (useful to preload an image or to corrupt a byte on purpose). */
uint8_t *ota_flash_sim_data(ota_flash_sim_t *s);

/* Number of sectors in the geometry (sum of the run counts); sector indexes go 0..n-1 in address
 * order. Returns that number; owns nothing. */
uint32_t ota_flash_sim_sector_count(const ota_flash_sim_t *s);

/* Arms a power cut at state-changing op number op (counted as in the file comment) with the given
 * mode; seed drives the torn result. op 0 disarms. Replaces any earlier arming; returns nothing. */
void ota_flash_sim_cut_at(ota_flash_sim_t *s, uint64_t op, ota_sim_cut_t mode, uint32_t seed);

/* Returns 1 once the armed cut has happened (every op, reads too, then fails), else 0.
 * Pure query: changes and owns nothing. */
int ota_flash_sim_is_dead(const ota_flash_sim_t *s);

/* A "reboot": clears the dead state and disarms the cut. Contents, counters and the op numbering
 * are kept (reset them with ota_flash_sim_reset_counters()). Returns nothing. */
void ota_flash_sim_power_on(ota_flash_sim_t *s);

/* Copies the statistics counters into *out (see ota_flash_sim_stats_t).
 * Owns nothing; returns nothing. */
void ota_flash_sim_stats(const ota_flash_sim_t *s, ota_flash_sim_stats_t *out);

/* How many times sector sector_index (geometry order) was erased, a torn erase included.
 * Returns 0 for an index out of range. */
uint32_t ota_flash_sim_sector_erases(const ota_flash_sim_t *s, uint32_t sector_index);

/* Zeroes the statistics, the per-sector erase counters and the op numbering (the next program or
 * erase is op 1). Contents, dead state and arming are kept. Returns nothing. */
void ota_flash_sim_reset_counters(ota_flash_sim_t *s);

#endif
