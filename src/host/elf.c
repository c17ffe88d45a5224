/* ELF32 LE reader: validation up front, then views into the caller's buffer. */
#include "elf.h"

#include <stdbool.h>
#include <string.h>

#include "bytes.h"

/* e_ident and Elf32_Ehdr field offsets. */
enum {
    EI_CLASS = 4,
    EI_DATA = 5,
    EI_VERSION = 6,
    ELFCLASS32 = 1,
    ELFDATA2LSB = 1,
    EH_TYPE = 0x10,
    EH_MACHINE = 0x12,
    EH_ENTRY = 0x18,
    EH_PHOFF = 0x1C,
    EH_SHOFF = 0x20,
    EH_PHENTSIZE = 0x2A,
    EH_PHNUM = 0x2C,
    EH_SHENTSIZE = 0x2E,
    EH_SHNUM = 0x30,
    EH_SHSTRNDX = 0x32,
};

_Static_assert(OTA32_ELF_EHDR_LEN == EH_SHSTRNDX + 2, "Elf32_Ehdr is 52 bytes");
_Static_assert(OTA32_ELF_SHDR_LEN == 10 * 4, "Elf32_Shdr is 10 words");
_Static_assert(OTA32_ELF_PHDR_LEN == 8 * 4, "Elf32_Phdr is 8 words");

/* true when [off, off+size) lies inside a file of `len` bytes (no overflow). */
static bool in_file(size_t len, uint64_t off, uint64_t size)
{
    return off <= len && size <= len - off;
}

static void decode_section(const ota32_elf *elf, unsigned idx, ota32_elf_section *s)
{
    const uint8_t *h = elf->data + elf->shoff + (size_t)idx * OTA32_ELF_SHDR_LEN;
    uint32_t name = ota32_le32(h);
    s->type = ota32_le32(h + 4);
    s->flags = ota32_le32(h + 8);
    s->addr = ota32_le32(h + 12);
    s->offset = ota32_le32(h + 16);
    s->size = ota32_le32(h + 20);
    s->align = ota32_le32(h + 32);
    /* ota32_elf_open checked these for every section but SHT_NULL ones;
     * re-check so that no index can yield a view outside the file. */
    s->name = "";
    if (elf->shstrtab && name < elf->shstrtab_len &&
        memchr(elf->shstrtab + name, 0, elf->shstrtab_len - name))
        s->name = elf->shstrtab + name;
    s->data = NULL;
    if (s->type != OTA32_SHT_NOBITS && s->type != OTA32_SHT_NULL && s->size &&
        in_file(elf->len, s->offset, s->size))
        s->data = elf->data + s->offset;
}

static void decode_segment(const ota32_elf *elf, unsigned idx, ota32_elf_segment *p)
{
    const uint8_t *h = elf->data + elf->phoff + (size_t)idx * OTA32_ELF_PHDR_LEN;
    p->type = ota32_le32(h);
    p->offset = ota32_le32(h + 4);
    p->vaddr = ota32_le32(h + 8);
    p->paddr = ota32_le32(h + 12);
    p->filesz = ota32_le32(h + 16);
    p->memsz = ota32_le32(h + 20);
    p->flags = ota32_le32(h + 24);
    p->align = ota32_le32(h + 28);
    p->data = NULL;
    if (p->type == OTA32_PT_LOAD && p->filesz && in_file(elf->len, p->offset, p->filesz))
        p->data = elf->data + p->offset;
}

static int check_header(ota32_elf *elf, const uint8_t *d, size_t len, ota32_diag *diag)
{
    if (len < OTA32_ELF_EHDR_LEN)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)len,
                               "offset 0x%zx: truncated ELF header (%zu of %u bytes)", len, len,
                               OTA32_ELF_EHDR_LEN);
    if (d[0] != 0x7F || d[1] != 'E' || d[2] != 'L' || d[3] != 'F')
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, 0,
                               "offset 0x0: invalid ELF magic %02x %02x %02x %02x", d[0], d[1],
                               d[2], d[3]);
    if (d[EI_CLASS] != ELFCLASS32)
        return ota32_diag_fail(diag, OTA32_ERR_UNSUPPORTED, 0, EI_CLASS,
                               "offset 0x4: EI_CLASS %u is not ELFCLASS32", d[EI_CLASS]);
    if (d[EI_DATA] != ELFDATA2LSB)
        return ota32_diag_fail(diag, OTA32_ERR_UNSUPPORTED, 0, EI_DATA,
                               "offset 0x5: EI_DATA %u is not little-endian", d[EI_DATA]);
    elf->type = ota32_le16(d + EH_TYPE);
    elf->machine = ota32_le16(d + EH_MACHINE);
    elf->entry = ota32_le32(d + EH_ENTRY);
    elf->phoff = ota32_le32(d + EH_PHOFF);
    elf->shoff = ota32_le32(d + EH_SHOFF);
    elf->phnum = ota32_le16(d + EH_PHNUM);
    elf->shnum = ota32_le16(d + EH_SHNUM);
    elf->shstrndx = ota32_le16(d + EH_SHSTRNDX);
    if (elf->machine != OTA32_ELF_MACHINE_XTENSA && elf->machine != OTA32_ELF_MACHINE_RISCV)
        return ota32_diag_fail(diag, OTA32_ERR_UNSUPPORTED, 0, EH_MACHINE,
                               "offset 0x12: e_machine 0x%04x is neither Xtensa (0x5e) nor "
                               "RISC-V (0xf3)",
                               elf->machine);
    uint16_t shentsize = ota32_le16(d + EH_SHENTSIZE);
    if (shentsize != OTA32_ELF_SHDR_LEN)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, EH_SHENTSIZE,
                               "offset 0x2e: e_shentsize 0x%x, expected 0x%x", shentsize,
                               OTA32_ELF_SHDR_LEN);
    if (elf->shnum == 0)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, EH_SHNUM,
                               "offset 0x30: e_shnum is 0 (no section headers)");
    if (!in_file(len, elf->shoff, (uint64_t)elf->shnum * OTA32_ELF_SHDR_LEN))
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, EH_SHOFF,
                               "offset 0x20: section header table at 0x%x (%u x 0x%x bytes) "
                               "extends past the end of the file (0x%zx bytes)",
                               elf->shoff, elf->shnum, OTA32_ELF_SHDR_LEN, len);
    if (elf->phnum) {
        uint16_t phentsize = ota32_le16(d + EH_PHENTSIZE);
        if (phentsize != OTA32_ELF_PHDR_LEN)
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, EH_PHENTSIZE,
                                   "offset 0x2a: e_phentsize 0x%x, expected 0x%x", phentsize,
                                   OTA32_ELF_PHDR_LEN);
        if (!in_file(len, elf->phoff, (uint64_t)elf->phnum * OTA32_ELF_PHDR_LEN))
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, EH_PHOFF,
                                   "offset 0x1c: program header table at 0x%x (%u x 0x%x "
                                   "bytes) extends past the end of the file (0x%zx bytes)",
                                   elf->phoff, elf->phnum, OTA32_ELF_PHDR_LEN, len);
    }
    return OTA32_OK;
}

static int check_string_table(ota32_elf *elf, ota32_diag *diag)
{
    if (elf->shstrndx == 0 || elf->shstrndx >= elf->shnum)
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, EH_SHSTRNDX,
                               "offset 0x32: e_shstrndx %u is not a section (e_shnum %u)",
                               elf->shstrndx, elf->shnum);
    size_t hdr = elf->shoff + (size_t)elf->shstrndx * OTA32_ELF_SHDR_LEN;
    const uint8_t *h = elf->data + hdr;
    uint32_t type = ota32_le32(h + 4), off = ota32_le32(h + 16), size = ota32_le32(h + 20);
    if (type == OTA32_SHT_NOBITS || !in_file(elf->len, off, size))
        return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)hdr,
                               "offset 0x%zx: section [%u] (name table) at 0x%x size 0x%x "
                               "is not inside the file (0x%zx bytes)",
                               hdr, elf->shstrndx, off, size, elf->len);
    elf->shstrtab = (const char *)elf->data + off;
    elf->shstrtab_len = size;
    return OTA32_OK;
}

static int check_sections(const ota32_elf *elf, ota32_diag *diag)
{
    for (unsigned i = 0; i < elf->shnum; i++) { /* bounded by e_shnum <= 65535 */
        size_t hdr = elf->shoff + (size_t)i * OTA32_ELF_SHDR_LEN;
        const uint8_t *h = elf->data + hdr;
        uint32_t name = ota32_le32(h), type = ota32_le32(h + 4);
        uint32_t off = ota32_le32(h + 16), size = ota32_le32(h + 20);
        if (type == OTA32_SHT_NULL)
            continue;
        if (name >= elf->shstrtab_len || !memchr(elf->shstrtab + name, 0, elf->shstrtab_len - name))
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)hdr,
                                   "offset 0x%zx: section [%u] name offset 0x%x is outside "
                                   "the name table (0x%x bytes) or not terminated",
                                   hdr, i, name, elf->shstrtab_len);
        if (type != OTA32_SHT_NOBITS && size && !in_file(elf->len, off, size))
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)hdr,
                                   "offset 0x%zx: section [%u] '%s' data at 0x%x size 0x%x "
                                   "extends past the end of the file (0x%zx bytes)",
                                   hdr, i, elf->shstrtab + name, off, size, elf->len);
    }
    return OTA32_OK;
}

static int check_segments(const ota32_elf *elf, ota32_diag *diag)
{
    for (unsigned i = 0; i < elf->phnum; i++) { /* bounded by e_phnum <= 65535 */
        size_t hdr = elf->phoff + (size_t)i * OTA32_ELF_PHDR_LEN;
        const uint8_t *h = elf->data + hdr;
        uint32_t type = ota32_le32(h), off = ota32_le32(h + 4), filesz = ota32_le32(h + 16);
        if (type == OTA32_PT_LOAD && filesz && !in_file(elf->len, off, filesz))
            return ota32_diag_fail(diag, OTA32_ERR_CORRUPT, 0, (long)hdr,
                                   "offset 0x%zx: program header [%u] (LOAD) data at 0x%x "
                                   "size 0x%x extends past the end of the file (0x%zx bytes)",
                                   hdr, i, off, filesz, elf->len);
    }
    return OTA32_OK;
}

int ota32_elf_open(ota32_elf *elf, const uint8_t *data, size_t len, ota32_diag *diag)
{
    ota32_diag_clear(diag);
    if (!elf || (!data && len))
        return OTA32_ERR_INVALID_ARG;
    memset(elf, 0, sizeof *elf);
    elf->data = data;
    elf->len = len;
    int rc = check_header(elf, data, len, diag);
    if (rc == OTA32_OK)
        rc = check_string_table(elf, diag);
    if (rc == OTA32_OK)
        rc = check_sections(elf, diag);
    if (rc == OTA32_OK)
        rc = check_segments(elf, diag);
    if (rc != OTA32_OK)
        memset(elf, 0, sizeof *elf);
    return rc;
}

int ota32_elf_section_get(const ota32_elf *elf, unsigned idx, ota32_elf_section *out)
{
    if (!elf || !out || !elf->data || idx >= elf->shnum)
        return OTA32_ERR_RANGE;
    decode_section(elf, idx, out);
    return OTA32_OK;
}

int ota32_elf_segment_get(const ota32_elf *elf, unsigned idx, ota32_elf_segment *out)
{
    if (!elf || !out || !elf->data || idx >= elf->phnum)
        return OTA32_ERR_RANGE;
    decode_segment(elf, idx, out);
    return OTA32_OK;
}
