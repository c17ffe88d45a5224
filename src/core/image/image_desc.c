/* esp_app_desc_t (256 bytes) and esp_bootloader_desc_t (80 bytes), decoded
 * field by field from their little-endian bytes (esp_app_desc.h,
 * esp_bootloader_desc.h). */
#include "ota32/image.h"

#include <string.h>

#include "bytes.h"

/* esp_app_desc_t field offsets. */
enum {
    APP_MAGIC = 0,
    APP_SECURE_VERSION = 4,
    APP_VERSION = 16,
    APP_PROJECT = 48,
    APP_TIME = 80,
    APP_DATE = 96,
    APP_IDF_VER = 112,
    APP_ELF_SHA = 144,
    APP_MIN_EFUSE = 176,
    APP_MAX_EFUSE = 178,
    APP_MMU_PAGE = 180,
    APP_END = 256,
};
_Static_assert(APP_END == OTA32_APP_DESC_LEN, "esp_app_desc_t is 256 bytes");

/* esp_bootloader_desc_t field offsets. */
enum {
    BL_MAGIC = 0,
    BL_SECURE_VERSION = 3,
    BL_VERSION = 4,
    BL_IDF_VER = 8,
    BL_DATE_TIME = 40,
    BL_END = 80,
};
_Static_assert(BL_END == OTA32_BOOTLOADER_DESC_LEN, "esp_bootloader_desc_t is 80 bytes");

/* A char[n] field that need not be NUL-terminated -> C string (out has n+1). */
static void copy_str(char *out, const uint8_t *raw, size_t n)
{
    size_t len = 0;
    while (len < n && raw[len])
        len++;
    memcpy(out, raw, len);
    out[len] = '\0';
}

int ota32_app_desc_decode(const uint8_t raw[OTA32_APP_DESC_LEN], ota32_app_desc *out,
                          ota32_diag *diag)
{
    if (!raw || !out)
        return OTA32_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    out->magic = ota32_le32(raw + APP_MAGIC);
    if (out->magic != OTA32_APP_DESC_MAGIC)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, OTA32_APP_DESC_OFFSET,
                               "offset 0x%x: app descriptor magic_word: 0x%08x, expected 0x%08x",
                               OTA32_APP_DESC_OFFSET, (unsigned)out->magic,
                               (unsigned)OTA32_APP_DESC_MAGIC);
    out->secure_version = ota32_le32(raw + APP_SECURE_VERSION);
    copy_str(out->version, raw + APP_VERSION, 32);
    copy_str(out->project_name, raw + APP_PROJECT, 32);
    copy_str(out->time, raw + APP_TIME, 16);
    copy_str(out->date, raw + APP_DATE, 16);
    copy_str(out->idf_ver, raw + APP_IDF_VER, 32);
    memcpy(out->app_elf_sha256, raw + APP_ELF_SHA, 32);
    out->min_efuse_blk_rev_full = ota32_le16(raw + APP_MIN_EFUSE);
    out->max_efuse_blk_rev_full = ota32_le16(raw + APP_MAX_EFUSE);
    out->mmu_page_size = raw[APP_MMU_PAGE];
    return OTA32_OK;
}

int ota32_bootloader_desc_decode(const uint8_t raw[OTA32_BOOTLOADER_DESC_LEN],
                                 ota32_bootloader_desc *out, ota32_diag *diag)
{
    if (!raw || !out)
        return OTA32_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    out->magic_byte = raw[BL_MAGIC];
    if (out->magic_byte != OTA32_BOOTLOADER_DESC_MAGIC)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, OTA32_APP_DESC_OFFSET,
                               "offset 0x%x: bootloader descriptor magic_byte: 0x%02x, "
                               "expected 0x%02x",
                               OTA32_APP_DESC_OFFSET, out->magic_byte, OTA32_BOOTLOADER_DESC_MAGIC);
    out->secure_version = raw[BL_SECURE_VERSION];
    out->version = ota32_le32(raw + BL_VERSION);
    copy_str(out->idf_ver, raw + BL_IDF_VER, 32);
    copy_str(out->date_time, raw + BL_DATE_TIME, 24);
    return OTA32_OK;
}
