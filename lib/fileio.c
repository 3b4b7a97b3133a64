/* File helpers for the host tools: whole files, and files read by offset (see otakit/fileio.h). */
#define _GNU_SOURCE
#include "otakit/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "otakit/err.h"

int ota_file_read(const char *path, uint8_t **buf, size_t *len)
{
    uint8_t *p = NULL, *np;
    size_t cap = 0, n = 0;
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;

    *buf = NULL;
    *len = 0;
    if (fd < 0)
        return OTA_ERR_FILE;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        errno = EISDIR;
        return OTA_ERR_FILE;
    }
    for (;;) {
        ssize_t r;
        if (cap - n < 65536 + 1) {
            cap = cap ? cap * 2 : 65536 * 2;
            if (!(np = realloc(p, cap))) {
                free(p);
                if (fd)
                    close(fd);
                return OTA_ERR_NO_MEM;
            }
            p = np;
        }
        r = read(fd, p + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(p);
            if (fd)
                close(fd);
            errno = e;
            return OTA_ERR_FILE;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (fd)
        close(fd);
    p[n] = 0;
    *buf = p;
    *len = n;
    return OTA_OK;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

int ota_file_write(const char *path, const uint8_t *buf, size_t len, unsigned mode)
{
    char *tmp;
    int fd, e;

    if (strcmp(path, "-") == 0)
        return write_all(1, buf, len) == 0 ? OTA_OK : OTA_ERR_FILE;
    if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
        return OTA_ERR_NO_MEM;
    fd = mkstemp(tmp);
    if (fd < 0) {
        e = errno;
        free(tmp);
        errno = e;
        return OTA_ERR_FILE;
    }
    if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
        e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        errno = e;
        return OTA_ERR_FILE;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        free(tmp);
        errno = e;
        return OTA_ERR_FILE;
    }
    free(tmp);
    return OTA_OK;
}

#define FILE_WINDOW 65536u

int ota_file_src_open(const char *path, ota_file_src_t *src)
{
    struct stat st;
    size_t len;
    int rc;

    memset(src, 0, sizeof *src);
    src->fd = -1;
    if (strcmp(path, "-") != 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return OTA_ERR_FILE;
        if (fstat(fd, &st) != 0) {
            int e = errno;
            close(fd);
            errno = e;
            return OTA_ERR_FILE;
        }
        if (S_ISDIR(st.st_mode)) {
            close(fd);
            errno = EISDIR;
            return OTA_ERR_FILE;
        }
        if (S_ISREG(st.st_mode)) {
            if (!(src->win = malloc(FILE_WINDOW))) {
                close(fd);
                return OTA_ERR_NO_MEM;
            }
            src->fd = fd;
            src->size = (uint64_t)st.st_size;
            return OTA_OK;
        }
        close(fd); /* a pipe or device: read it whole below */
    }
    if ((rc = ota_file_read(path, &src->mem, &len)) != OTA_OK)
        return rc;
    src->size = len;
    return OTA_OK;
}

/* pread()s exactly len bytes at off. */
static int pread_all(int fd, uint8_t *p, uint32_t len, uint64_t off)
{
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        off += (uint64_t)n;
        len -= (uint32_t)n;
    }
    return 0;
}

int ota_file_src_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
    ota_file_src_t *s = ctx;
    if ((uint64_t)off + len > s->size)
        return -1;
    if (s->mem) {
        memcpy(buf, s->mem + off, len);
        return 0;
    }
    if (len > FILE_WINDOW)
        return pread_all(s->fd, buf, len, off);
    if (off < s->win_off || (uint64_t)off + len > s->win_off + s->win_len) {
        uint64_t left = s->size - off;
        s->win_len = 0;
        if (pread_all(s->fd, s->win, left < FILE_WINDOW ? (uint32_t)left : FILE_WINDOW, off) != 0)
            return -1;
        s->win_off = off;
        s->win_len = left < FILE_WINDOW ? (uint32_t)left : FILE_WINDOW;
    }
    memcpy(buf, s->win + (off - s->win_off), len);
    return 0;
}

void ota_file_src_close(ota_file_src_t *src)
{
    if (src->fd >= 0)
        close(src->fd);
    free(src->mem);
    free(src->win);
    memset(src, 0, sizeof *src);
    src->fd = -1;
}
