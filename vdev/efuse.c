/* The virtual ESP32's eFuse: key digests (BLOCK_KEY0..2 on newer chips,
 * BLK2 on the ESP32), key-revoke bits and the anti-rollback secure version,
 * in a small file beside the flash. Layout (120 bytes, little-endian):
 *   0  "OTA32EFU"   8  u32 format 1   12 u32 revoke bits (bit N: key N)
 *   16 u32 secure version, as eFuse counts it (one bit per version)
 *   20 u32 reserved   24 3 x 32-byte key digests (all zero: not written) */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "vdev.h"

#define EFUSE_LEN 120u
#define EFUSE_MAGIC "OTA32EFU"

void vdev_efuse_path_of(const char *flash_path, char *out, size_t cap)
{
    snprintf(out, cap, "%s.efuse", flash_path);
}

static unsigned popcount32(uint32_t v)
{
    unsigned n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static bool blank(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int decode(const uint8_t *b, vdev_efuse *out, const char *path, ota32_diag *diag)
{
    if (memcmp(b, EFUSE_MAGIC, 8) != 0 || ota32_le32(b + 8) != 1)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, 0, "%s: not an ota32 eFuse file", path);
    uint32_t revoke = ota32_le32(b + 12);
    out->secure_version = popcount32(ota32_le32(b + 16));
    for (unsigned i = 0; i < OTA32_TRUSTED_KEYS_MAX; i++) {
        const uint8_t *d = b + 24 + 32 * i;
        if (blank(d, 32))
            break;
        memcpy(out->keys.digest[i], d, 32);
        out->keys.revoked[i] = revoke & (1u << i);
        out->keys.count = i + 1;
    }
    return OTA32_OK;
}

int vdev_efuse_read(const char *path, vdev_efuse *out, ota32_diag *diag)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT
                   ? OTA32_OK
                   : ota32_diag_fail(diag, OTA32_ERR_IO, 0, -1, "%s: %s", path, strerror(errno));
    uint8_t b[EFUSE_LEN];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    if (n != sizeof b)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)n,
                               "%s: %zu bytes, an eFuse file has %u", path, n, EFUSE_LEN);
    return decode(b, out, path, diag);
}

static int write_file(const char *path, const vdev_efuse *e, ota32_diag *diag)
{
    uint8_t b[EFUSE_LEN];
    memset(b, 0, sizeof b);
    memcpy(b, EFUSE_MAGIC, 8);
    ota32_put_le32(b + 8, 1);
    uint32_t revoke = 0;
    for (unsigned i = 0; i < e->keys.count; i++) {
        memcpy(b + 24 + 32 * i, e->keys.digest[i], 32);
        revoke |= e->keys.revoked[i] ? 1u << i : 0;
    }
    ota32_put_le32(b + 12, revoke);
    uint32_t bits = e->secure_version >= 32 ? 0xFFFFFFFFu : (1u << e->secure_version) - 1;
    ota32_put_le32(b + 16, bits);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(b, 1, sizeof b, f) == sizeof b;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return ota32_diag_fail(diag, OTA32_ERR_IO, 0, -1, "%s: %s", path, strerror(errno));
    }
    return OTA32_OK;
}

int vdev_efuse_burn(const char *path, const vdev_efuse *want, ota32_diag *diag)
{
    vdev_efuse now;
    int rc = vdev_efuse_read(path, &now, diag);
    if (rc != OTA32_OK)
        return rc;
    if (want->keys.count > OTA32_TRUSTED_KEYS_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "at most %u key digests",
                               OTA32_TRUSTED_KEYS_MAX);
    for (unsigned i = 0; i < want->keys.count; i++) {
        if (i < now.keys.count && memcmp(now.keys.digest[i], want->keys.digest[i], 32) != 0)
            return ota32_diag_fail(diag, OTA32_ERR_STATE, 0, -1,
                                   "%s: key block %u already holds another digest (eFuse bits "
                                   "cannot be cleared)",
                                   path, i);
        if (i < now.keys.count && now.keys.revoked[i] && !want->keys.revoked[i])
            return ota32_diag_fail(diag, OTA32_ERR_STATE, 0, -1, "%s: key %u is revoked for good",
                                   path, i);
    }
    if (want->keys.count < now.keys.count)
        return ota32_diag_fail(diag, OTA32_ERR_STATE, 0, -1,
                               "%s: %u key blocks are written; they cannot be erased", path,
                               now.keys.count);
    if (want->secure_version > VDEV_EFUSE_SECURE_VERSION_MAX)
        return ota32_diag_fail(diag, OTA32_ERR_RANGE, 0, -1,
                               "secure version %u: the ESP32's eFuse counts up to %u",
                               (unsigned)want->secure_version, VDEV_EFUSE_SECURE_VERSION_MAX);
    vdev_efuse next = *want;
    if (next.secure_version < now.secure_version)
        next.secure_version = now.secure_version; /* only rises */
    return write_file(path, &next, diag);
}
