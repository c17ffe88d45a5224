/*
 * A bounded reader for 32-bit little-endian ELF files (Xtensa and RISC-V, as
 * ESP-IDF produces them). It never allocates and never copies: it validates
 * the file once in ota32_elf_open() and then hands out views into the
 * caller's buffer. The input is untrusted: every table, name and data range is
 * checked against the file length before it is used, and a rejection names
 * the offset and the section or program header at fault.
 */
#ifndef OTA32_HOST_ELF_H
#define OTA32_HOST_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "ota32/ota32.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA32_ELF_EHDR_LEN 0x34u /* Elf32_Ehdr */
#define OTA32_ELF_SHDR_LEN 0x28u /* Elf32_Shdr */
#define OTA32_ELF_PHDR_LEN 0x20u /* Elf32_Phdr */

#define OTA32_ELF_MACHINE_XTENSA 0x5Eu
#define OTA32_ELF_MACHINE_RISCV 0xF3u

/* Section types (sh_type) this project cares about. */
enum {
    OTA32_SHT_NULL = 0x00,
    OTA32_SHT_PROGBITS = 0x01,
    OTA32_SHT_SYMTAB = 0x02,
    OTA32_SHT_STRTAB = 0x03,
    OTA32_SHT_NOBITS = 0x08,
    OTA32_SHT_INIT_ARRAY = 0x0E,
    OTA32_SHT_FINI_ARRAY = 0x0F,
    OTA32_SHT_PREINIT_ARRAY = 0x10,
};

#define OTA32_PT_LOAD 0x01u

/* A validated file. All pointers point into the buffer given to open, which
 * must outlive this struct. */
typedef struct ota32_elf {
    const uint8_t *data;
    size_t len;
    uint16_t type;    /* e_type */
    uint16_t machine; /* e_machine */
    uint32_t entry;   /* e_entry */
    uint32_t shoff;   /* section header table */
    uint16_t shnum;
    uint16_t shstrndx;
    uint32_t phoff; /* program header table (phnum may be 0) */
    uint16_t phnum;
    const char *shstrtab; /* section name string table */
    uint32_t shstrtab_len;
} ota32_elf;

typedef struct ota32_elf_section {
    const char *name;    /* NUL-terminated, inside the file's string table */
    uint32_t type;       /* sh_type */
    uint32_t flags;      /* sh_flags */
    uint32_t addr;       /* sh_addr */
    uint32_t offset;     /* sh_offset */
    uint32_t size;       /* sh_size */
    uint32_t align;      /* sh_addralign */
    const uint8_t *data; /* file bytes [offset, offset+size); NULL for NOBITS,
                            SHT_NULL and empty sections */
} ota32_elf_section;

typedef struct ota32_elf_segment {
    uint32_t type;       /* p_type */
    uint32_t offset;     /* p_offset */
    uint32_t vaddr;      /* p_vaddr */
    uint32_t paddr;      /* p_paddr */
    uint32_t filesz;     /* p_filesz */
    uint32_t memsz;      /* p_memsz */
    uint32_t flags;      /* p_flags */
    uint32_t align;      /* p_align */
    const uint8_t *data; /* file bytes [offset, offset+filesz); NULL unless a
                            non-empty PT_LOAD */
} ota32_elf_segment;

/*
 * Validate `data` as an ELF32 LE file for Xtensa or RISC-V and fill `elf`.
 * Checks: identification bytes, machine, e_shentsize == 0x28, a non-empty
 * section header table inside the file, the section name table (index in
 * range, inside the file), every section's name (inside the table and
 * NUL-terminated) and every non-NOBITS section's data range; when program
 * headers are present, e_phentsize == 0x20, the table and each PT_LOAD
 * segment's file range.
 * Returns OTA32_OK, or OTA32_ERR_CORRUPT / OTA32_ERR_UNSUPPORTED with `diag`
 * giving the offset and what is wrong. Never reads outside [data, data+len).
 */
int ota32_elf_open(ota32_elf *elf, const uint8_t *data, size_t len, ota32_diag *diag);

/* Section `idx` (< elf->shnum) of a file accepted by ota32_elf_open. Cannot
 * fail for a valid index; returns OTA32_ERR_RANGE otherwise. */
int ota32_elf_section_get(const ota32_elf *elf, unsigned idx, ota32_elf_section *out);

/* Program header `idx` (< elf->phnum). Same contract. */
int ota32_elf_segment_get(const ota32_elf *elf, unsigned idx, ota32_elf_segment *out);

#ifdef __cplusplus
}
#endif
#endif
