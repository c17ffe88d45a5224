#include "ota32/flash.h"

int ota32_flash_erase_range(const ota32_flash_ops *f, uint32_t addr, uint32_t len)
{
    if ((addr | len) % OTA32_FLASH_SECTOR != 0 || (uint64_t)addr + len > f->size)
        return OTA32_ERR_RANGE;
    uint32_t end = addr + len;
    while (addr < end) {
        int rc;
        if (addr % OTA32_FLASH_BLOCK == 0 && end - addr >= OTA32_FLASH_BLOCK) {
            rc = f->erase_block(f->ctx, addr);
            addr += OTA32_FLASH_BLOCK;
        } else {
            rc = f->erase_sector(f->ctx, addr);
            addr += OTA32_FLASH_SECTOR;
        }
        if (rc != OTA32_OK)
            return rc;
    }
    return OTA32_OK;
}
