/* Fuzz the ELF reader and the ELF -> image conversion on arbitrary bytes.
 * Every view the reader hands out is touched end to end, so ASan catches any
 * view that leaves the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"
#include "elf2image.h"
#include "posix_hash.h"

static volatile uint8_t sink;

static void touch(const uint8_t *p, size_t n)
{
    if (p && n) {
        sink ^= p[0];
        sink ^= p[n - 1];
    }
}

static void convert(const uint8_t *data, size_t size, bool segments, ota32_secure_pad pad,
                    uint32_t sha_offset)
{
    ota32_elf2image_opts o;
    ota32_elf2image_opts_init(&o);
    o.hash = ota32_posix_hash();
    o.use_segments = segments;
    o.secure_pad = pad;
    o.elf_sha256_offset = sha_offset;
    uint8_t *img = NULL;
    size_t len = 0;
    ota32_diag diag;
    if (ota32_elf2image(data, size, &o, &img, &len, &diag) == OTA32_OK) {
        /* A produced image always has a header and a checksum block. */
        if (len < 24 + 16 || img[0] != 0xE9)
            abort();
        touch(img, len);
    }
    free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ota32_elf e;
    ota32_diag diag;
    if (ota32_elf_open(&e, data, size, &diag) == OTA32_OK) {
        for (unsigned i = 0; i < e.shnum; i++) {
            ota32_elf_section s;
            if (ota32_elf_section_get(&e, i, &s) != OTA32_OK)
                abort();
            touch((const uint8_t *)s.name, strlen(s.name) + 1);
            touch(s.data, s.data ? s.size : 0);
        }
        for (unsigned i = 0; i < e.phnum; i++) {
            ota32_elf_segment p;
            if (ota32_elf_segment_get(&e, i, &p) != OTA32_OK)
                abort();
            touch(p.data, p.data ? p.filesz : 0);
        }
    } else if (!diag.msg[0]) {
        abort(); /* a rejection must say where and why */
    }
    convert(data, size, false, OTA32_SECURE_PAD_NONE, 0);
    convert(data, size, true, OTA32_SECURE_PAD_NONE, 0);
    convert(data, size, false, OTA32_SECURE_PAD_V2, 0xB0);
    return 0;
}
