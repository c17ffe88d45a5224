/*
 * nvs_partition_gen in C: the same page filling, the same entry bytes.
 * Structure follows the generator's model: a current page with an entry
 * counter; an item that does not fit starts a new page (the previous one is
 * marked FULL); at the end the remaining pages are left all 0xFF.
 */
#include "nvs_csv.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ota32/crc.h"
#include "ota32/nvs.h"

#define PAGE OTA32_NVS_PAGE_SIZE
#define ENTRIES OTA32_NVS_ENTRIES_PER_PAGE
#define PAGE_FULL_STATE 0xFFFFFFFCu
#define PAGE_ACTIVE_STATE 0xFFFFFFFEu

enum { OK = 0, PAGE_FULL = 1 }; /* internal: the item must go to a new page */

typedef struct gen {
    uint8_t *img;
    size_t pages_cap;  /* pages the buffer holds */
    int64_t size_left; /* bytes of pages still allowed; -1 once padding ends */
    int page;          /* current page, -1 before the first */
    unsigned entry;    /* next entry on the current page */
    uint8_t version;   /* 0xFE (v2) or 0xFF (v1) */
    unsigned ns_count;
    char ns_name[255][OTA32_NVS_KEY_MAX + 1];
    uint8_t ns_idx[255];
    int line; /* first line of the current CSV record */
    int phys; /* physical lines consumed */
    ota32_diag *diag;
} gen;

static uint8_t *page_buf(gen *g)
{
    return g->img + (size_t)g->page * PAGE;
}

static int new_page(gen *g, bool reserved, bool empty)
{
    if (g->page >= 0 && !empty) {
        uint8_t *p = page_buf(g);
        if (ota32_le32(p) == PAGE_ACTIVE_STATE)
            ota32_put_le32(p, PAGE_FULL_STATE);
    }
    if (g->size_left == 0)
        return ota32_diag_fail(g->diag, OTA32_ERR_TOO_BIG, g->line, -1,
                               "Size parameter is less than the size of data in csv. "
                               "Please increase the size.");
    if (!reserved)
        g->size_left -= PAGE;
    if ((size_t)(g->page + 1) >= g->pages_cap)
        return ota32_diag_fail(g->diag, OTA32_ERR_TOO_BIG, g->line, -1, "too many pages");
    g->page++;
    g->entry = 0;
    if (!reserved && !empty) {
        uint8_t *h = page_buf(g);
        ota32_put_le32(h, PAGE_ACTIVE_STATE);
        ota32_put_le32(h + 4, (uint32_t)g->page);
        h[8] = g->version;
        ota32_put_le32(h + 28, ota32_crc32_esp(h + 4, 24));
    }
    return OTA32_OK;
}

/* Copy `count` entries' worth of `data` (len bytes) at the current entry
 * and mark them WRITTEN. */
static void put_entries(gen *g, const uint8_t *data, size_t len, unsigned count)
{
    uint8_t *p = page_buf(g);
    memcpy(p + 64 + g->entry * 32, data, len);
    for (unsigned i = 0; i < count; i++, g->entry++)
        p[32 + g->entry / 4] &= (uint8_t) ~(1u << ((g->entry % 4) * 2));
}

static void set_crc(uint8_t e[32])
{
    uint32_t crc = ota32_crc32_le(0xFFFFFFFFu, e, 4);
    ota32_put_le32(e + 4, ota32_crc32_le(crc, e + 8, 24));
}

static void entry_init(uint8_t e[32], uint8_t ns, const char *key)
{
    memset(e, 0xFF, 32);
    e[0] = ns;
    memset(e + 8, 0, 16);
    memcpy(e + 8, key, strlen(key));
}

static const struct {
    const char *name;
    uint8_t type;
} int_types[] = {
    {"u8", 0x01},  {"i8", 0x11},  {"u16", 0x02}, {"i16", 0x12},
    {"u32", 0x04}, {"i32", 0x14}, {"u64", 0x08}, {"i64", 0x18},
};

static int int_type(const char *enc)
{
    for (size_t i = 0; i < sizeof int_types / sizeof int_types[0]; i++)
        if (!strcmp(enc, int_types[i].name))
            return int_types[i].type;
    return -1;
}

static int write_int(gen *g, uint8_t ns, const char *key, uint8_t type, uint64_t v)
{
    if (g->entry >= ENTRIES)
        return PAGE_FULL;
    uint8_t e[32];
    entry_init(e, ns, key);
    e[1] = type;
    e[2] = 1;
    for (unsigned i = 0; i < (type & 0x0Fu); i++)
        e[24 + i] = (uint8_t)(v >> (8 * i));
    set_crc(e);
    put_entries(g, e, 32, 1);
    return OK;
}

static void sized(uint8_t e[32], const uint8_t *data, size_t len)
{
    ota32_put_le16(e + 24, (uint16_t)len);
    ota32_put_le32(e + 28, ota32_crc32_esp(data, len));
}

/* write_varlen_binary_data: v2 blobs as BLOB_DATA chunks plus BLOB_IDX. */
static int write_chunks(gen *g, uint8_t e[32], const uint8_t *data, size_t len)
{
    size_t off = 0, remaining = len;
    unsigned count = 0;
    for (;;) {
        size_t tailroom = (ENTRIES - g->entry - 1) * 32u; /* g->entry < ENTRIES here */
        size_t chunk = remaining < tailroom ? remaining : tailroom;
        remaining -= chunk;
        unsigned data_entries = (unsigned)((chunk + 31) / 32);
        e[1] = OTA32_NVS_BLOB_DATA;
        e[2] = (uint8_t)(data_entries + 1);
        e[3] = (uint8_t)count; /* chunk start is 0 */
        sized(e, data + off, chunk);
        set_crc(e);
        put_entries(g, e, 32, 1);
        put_entries(g, data + off, chunk, data_entries);
        count++;
        if (count > 255)
            return ota32_diag_fail(g->diag, OTA32_ERR_TOO_BIG, g->line, -1, "blob too large");
        if (remaining || tailroom - chunk < 32) {
            int rc = new_page(g, false, false);
            if (rc != OTA32_OK)
                return rc;
        }
        off += chunk;
        if (!remaining) {
            memset(e + 24, 0xFF, 8);
            e[1] = OTA32_NVS_BLOB_IDX;
            e[2] = 1;
            e[3] = 0xFF;
            ota32_put_le32(e + 24, (uint32_t)len);
            e[28] = (uint8_t)count;
            e[29] = 0;
            set_crc(e);
            put_entries(g, e, 32, 1);
            return OK;
        }
    }
}

/* write_varlen_data: strings (and v1 blobs) in one page; v2 blobs chunked. */
static int write_varlen(gen *g, uint8_t ns, const char *key, const char *enc, const uint8_t *data,
                        size_t len)
{
    bool is_str = !strcmp(enc, "string");
    size_t max = g->version == 0xFF ? 1984 : 4000;
    if ((g->version == 0xFF || is_str) && len > max)
        return ota32_diag_fail(g->diag, OTA32_ERR_TOO_BIG, g->line, -1,
                               "Input File: Size (%zu) exceeds max allowed length `%zu` bytes "
                               "for key `%s`.",
                               len, max, key);
    unsigned data_entries = (unsigned)((len + 31) / 32);
    bool chunked = g->version == 0xFE && !is_str;
    if (g->entry >= ENTRIES)
        return PAGE_FULL;
    if (g->entry + data_entries + 1 >= ENTRIES && !chunked)
        return PAGE_FULL; /* note >=: a string never fills a page to its last entry */
    uint8_t e[32];
    entry_init(e, ns, key);
    if (g->version != 0xFE || is_str)
        e[2] = (uint8_t)(data_entries + 1);
    e[1] = is_str ? OTA32_NVS_STR : OTA32_NVS_BLOB;
    if (chunked)
        return write_chunks(g, e, data, len);
    sized(e, data, len);
    set_crc(e);
    put_entries(g, e, 32, 1);
    put_entries(g, data, len, data_entries);
    return OK;
}

/* Retry once on a new page, as NVS.write_entry does. */
static int on_new_page_if_full(gen *g, int rc)
{
    if (rc != PAGE_FULL)
        return rc;
    rc = new_page(g, false, false);
    return rc != OTA32_OK ? rc : PAGE_FULL;
}

/* ---- value decoding ------------------------------------------------------- */

/* Python int(): optional whitespace, sign, decimal digits with single '_'
 * between them. */
static bool parse_pyint(const char *s, int64_t *neg_out, uint64_t *mag_out)
{
    while (isspace((unsigned char)*s))
        s++;
    int neg = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!isdigit((unsigned char)*s))
        return false;
    uint64_t v = 0;
    bool prev_digit = false;
    for (; *s && !isspace((unsigned char)*s); s++) {
        if (*s == '_' && prev_digit && isdigit((unsigned char)s[1])) {
            prev_digit = false;
            continue;
        }
        if (!isdigit((unsigned char)*s))
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        prev_digit = true;
    }
    while (isspace((unsigned char)*s))
        s++;
    if (*s)
        return false;
    *neg_out = neg;
    *mag_out = v;
    return true;
}

static bool int_in_range(uint8_t type, int64_t neg, uint64_t mag, uint64_t *out)
{
    unsigned bits = (type & 0x0Fu) * 8;
    if (type & 0x10) {
        uint64_t lim = (uint64_t)1 << (bits - 1); /* |min| */
        if ((neg && mag > lim) || (!neg && mag >= lim))
            return false;
        *out = neg ? (uint64_t)0 - mag : mag;
    } else {
        if (neg && mag != 0)
            return false;
        if (bits < 64 && mag >> bits)
            return false;
        *out = mag;
    }
    return true;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* binascii.a2b_base64, non-strict: other characters are skipped, decoding
 * ends at completed padding. */
static int base64_decode(gen *g, const uint8_t *s, size_t len, uint8_t *out, size_t *out_len)
{
    unsigned quad = 0, pads = 0;
    size_t chars = 0;
    bool padded = false;
    uint32_t acc = 0;
    size_t n = 0;
    for (size_t i = 0; i < len && !padded; i++) {
        if (s[i] == '=') {
            padded = quad >= 2 && quad + ++pads >= 4;
            continue;
        }
        int v = b64val(s[i]);
        if (v < 0)
            continue;
        pads = 0;
        chars++;
        acc = (acc << 6) | (uint32_t)v;
        if (++quad == 4) {
            out[n++] = (uint8_t)(acc >> 16);
            out[n++] = (uint8_t)(acc >> 8);
            out[n++] = (uint8_t)acc;
            quad = 0;
            acc = 0;
        }
    }
    if (quad == 1)
        return ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1,
                               "Invalid base64-encoded string: number of data characters (%zu) "
                               "cannot be 1 more than a multiple of 4",
                               chars);
    if (quad != 0 && !padded)
        return ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1, "Incorrect padding");
    if (quad == 2) {
        out[n++] = (uint8_t)(acc >> 4);
    } else if (quad == 3) {
        out[n++] = (uint8_t)(acc >> 10);
        out[n++] = (uint8_t)(acc >> 2);
    }
    *out_len = n;
    return OTA32_OK;
}

static bool ascii(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] >= 0x80)
            return false;
    return true;
}

static uint8_t *read_whole(gen *g, const char *path, size_t *len, int *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = ota32_diag_fail(g->diag, errno == ENOENT ? OTA32_ERR_NOT_FOUND : OTA32_ERR_IO,
                               g->line, -1, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0, got;
    uint8_t *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            if (cap > ((size_t)1 << 24)) { /* more than any NVS partition holds */
                free(buf);
                buf = NULL;
                break;
            }
            uint8_t *nb = realloc(buf, (cap *= 2) + 1);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int read_errno = ferror(f) ? errno : 0; /* EISDIR for a directory */
    fclose(f);
    if (buf && read_errno) {
        free(buf);
        buf = NULL;
        *err = ota32_diag_fail(g->diag, OTA32_ERR_IO, g->line, -1, "%s: %s", path,
                               strerror(read_errno));
    } else if (!buf)
        *err = ota32_diag_fail(g->diag, OTA32_ERR_TOO_BIG, g->line, -1, "%s: too large", path);
    else
        buf[n] = 0;
    *len = n;
    return buf;
}

/* hex2bin: the value's hex digits (surrounding white space ignored) as bytes
 * in a new buffer `*out` of `*out_len` bytes. */
static int hex_to_bytes(gen *g, const char *key, const uint8_t *val, size_t len, uint8_t **out,
                        size_t *out_len)
{
    size_t a = 0, b = len;
    while (a < b && isspace(val[a]))
        a++;
    while (b > a && isspace(val[b - 1]))
        b--;
    if ((b - a) % 2)
        return ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1,
                               "%s: Invalid data length. Should be multiple of 2.", key);
    uint8_t *conv = malloc((b - a) / 2 + 1);
    if (!conv)
        return OTA32_ERR_NO_MEM;
    for (size_t i = a; i < b; i += 2) {
        int hi = hexval(val[i]), lo = hexval(val[i + 1]);
        if (hi < 0 || lo < 0) {
            free(conv);
            return ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1,
                                   "%s: Non-hexadecimal digit found", key);
        }
        conv[(i - a) / 2] = (uint8_t)(hi << 4 | lo);
    }
    *out = conv;
    *out_len = (b - a) / 2;
    return OTA32_OK;
}

/* A string, binary, hex2bin or base64 row: `data` as decoded, `raw_ascii`
 * whether the undecoded value is plain ASCII. */
static int varlen_row(gen *g, uint8_t ns, const char *key, const char *enc, const uint8_t *data,
                      size_t dlen, bool raw_ascii)
{
    /* The generator counts characters, not bytes: only ASCII agrees. */
    if ((!strcmp(enc, "string") || !strcmp(enc, "binary")) && !raw_ascii)
        return ota32_diag_fail(g->diag, OTA32_ERR_UNSUPPORTED, g->line, -1,
                               "%s: non-ASCII text is not supported (the generator miscounts "
                               "UTF-8 lengths)",
                               key);
    int rc = on_new_page_if_full(g, write_varlen(g, ns, key, enc, data, dlen));
    if (rc == PAGE_FULL)
        rc = write_varlen(g, ns, key, enc, data, dlen);
    if (rc == PAGE_FULL)
        rc = ota32_diag_fail(g->diag, OTA32_ERR_TOO_BIG, g->line, -1, "%s: does not fit in a page",
                             key);
    return rc;
}

/* An integer row of `type`. */
static int int_row(gen *g, uint8_t ns, const char *key, const char *enc, uint8_t type,
                   const char *val)
{
    int64_t neg;
    uint64_t mag, v;
    if (!parse_pyint(val, &neg, &mag))
        return ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1,
                               "%s: invalid literal for int(): '%s'", key, val);
    if (!int_in_range(type, neg, mag, &v))
        return ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1,
                               "%s: value %s out of range for %s", key, val, enc);
    int rc = on_new_page_if_full(g, write_int(g, ns, key, type, v));
    if (rc == PAGE_FULL)
        rc = write_int(g, ns, key, type, v);
    return rc;
}

/* One data/file row: NVS.write_entry. `val` is owned by the caller. */
static int data_row(gen *g, const char *key, const char *enc_raw, uint8_t *val, size_t len)
{
    uint8_t *conv = NULL;
    const uint8_t *data = val;
    size_t dlen = len;
    int rc = OTA32_OK;
    if (!strcmp(enc_raw, "hex2bin")) {
        rc = hex_to_bytes(g, key, val, len, &conv, &dlen);
        if (rc != OTA32_OK)
            return rc;
        data = conv;
    } else if (!strcmp(enc_raw, "base64")) {
        conv = malloc(len / 4 * 3 + 3);
        if (!conv)
            return OTA32_ERR_NO_MEM;
        rc = base64_decode(g, val, len, conv, &dlen);
        data = conv;
    } else if (!strcmp(enc_raw, "string")) {
        dlen = len + 1; /* the NUL terminator */
    }
    char enc[16];
    size_t el = strlen(enc_raw);
    for (size_t i = 0; i < sizeof enc - 1 && i <= el; i++)
        enc[i] = (char)tolower((unsigned char)enc_raw[i]);
    enc[sizeof enc - 1] = 0;
    if (el >= sizeof enc)
        enc[0] = 0;
    /* Rows use the newest namespace index (as the generator does). */
    uint8_t ns = (uint8_t)g->ns_count;
    int type = int_type(enc);
    if (rc != OTA32_OK) {
        /* base64 error already reported */
    } else if (!strcmp(enc, "string") || !strcmp(enc, "binary") || !strcmp(enc, "hex2bin") ||
               !strcmp(enc, "base64")) {
        rc = varlen_row(g, ns, key, enc, data, dlen, conv || ascii(data, len));
    } else if (type >= 0) {
        rc = int_row(g, ns, key, enc, (uint8_t)type, (const char *)val);
    } else {
        rc = ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1, "%s: Unsupported encoding",
                             enc_raw);
    }
    free(conv);
    return rc;
}

static int namespace_row(gen *g, const char *name)
{
    for (unsigned i = 0; i < g->ns_count; i++)
        if (!strcmp(g->ns_name[i], name))
            return OTA32_OK; /* known: no new entry, and rows keep ns_count */
    if (g->ns_count >= 254)
        return ota32_diag_fail(g->diag, OTA32_ERR_TOO_BIG, g->line, -1, "too many namespaces");
    strcpy(g->ns_name[g->ns_count], name);
    g->ns_idx[g->ns_count] = (uint8_t)(g->ns_count + 1);
    g->ns_count++;
    int rc = on_new_page_if_full(g, write_int(g, 0, name, OTA32_NVS_U8, g->ns_count));
    if (rc == PAGE_FULL)
        rc = write_int(g, 0, name, OTA32_NVS_U8, g->ns_count);
    return rc;
}

/* ---- CSV ------------------------------------------------------------------ */

#define MAX_FIELDS 16

typedef struct csv_rec {
    char *field[MAX_FIELDS];
    size_t flen[MAX_FIELDS];
    unsigned count;
} csv_rec;

static void rec_free(csv_rec *r)
{
    for (unsigned i = 0; i < r->count; i++)
        free(r->field[i]);
    r->count = 0;
}

/* Python's csv module, excel dialect: quotes, doubled quotes, fields may
 * span lines inside quotes. Lines starting with '#' are skipped before
 * parsing, as the generator filters them. Returns 1 with a record, 0 at end. */
static int csv_next(gen *g, const char *s, size_t len, size_t *pos, csv_rec *r)
{
    size_t p = *pos;
    for (;;) {
        if (p >= len)
            return 0;
        g->line = ++g->phys;
        if (s[p] == '#' || s[p] == '\n' || s[p] == '\r') { /* comment or blank */
            while (p < len && s[p] != '\n')
                p++;
            p += p < len;
            continue;
        }
        break;
    }
    r->count = 0;
    for (;;) {
        if (r->count == MAX_FIELDS)
            return ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1, "too many fields");
        size_t cap = 64, n = 0;
        char *f = malloc(cap);
        if (!f)
            return OTA32_ERR_NO_MEM;
        bool quoted = p < len && s[p] == '"', in_q = quoted;
        p += quoted;
        while (p < len) {
            char c = s[p];
            if (in_q) {
                if (c == '"') {
                    if (p + 1 < len && s[p + 1] == '"') {
                        p++;
                    } else {
                        in_q = false;
                        p++;
                        continue;
                    }
                } else if (c == '\n') {
                    g->phys++;
                }
            } else if (c == ',' || c == '\n' || c == '\r') {
                break;
            }
            if (n + 2 > cap) {
                char *nf = realloc(f, cap *= 2);
                if (!nf) {
                    free(f);
                    return OTA32_ERR_NO_MEM;
                }
                f = nf;
            }
            f[n++] = c;
            p++;
        }
        f[n] = 0;
        r->field[r->count] = f;
        r->flen[r->count++] = n;
        if (in_q)
            return ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1,
                                   "unexpected end of data in a quoted field");
        if (p < len && s[p] == ',') {
            p++;
            continue;
        }
        if (p < len && s[p] == '\r')
            p++;
        if (p < len && s[p] == '\n')
            p++;
        break;
    }
    *pos = p;
    return 1;
}

static int run(gen *g, const char *csv, size_t len)
{
    size_t pos = 0;
    csv_rec hdr = {{0}, {0}, 0}, row = {{0}, {0}, 0};
    int col[4] = {-1, -1, -1, -1};
    static const char *const names[4] = {"key", "type", "encoding", "value"};
    int rc = csv_next(g, csv, len, &pos, &hdr);
    if (rc <= 0) {
        rec_free(&hdr);
        return rc < 0 ? rc : ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1, "empty CSV");
    }
    for (unsigned i = 0; i < hdr.count; i++)
        for (unsigned k = 0; k < 4; k++)
            if (col[k] < 0 && !strcmp(hdr.field[i], names[k]))
                col[k] = (int)i;
    int hdr_line = g->line;
    rec_free(&hdr);
    for (unsigned k = 0; k < 4; k++)
        if (col[k] < 0)
            return ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, hdr_line, -1,
                                   "the header row lacks the column '%s'", names[k]);
    while ((rc = csv_next(g, csv, len, &pos, &row)) == 1) {
        const char *f[4];
        size_t fl[4];
        for (unsigned k = 0; k < 4; k++) {
            bool have = (unsigned)col[k] < row.count;
            f[k] = have ? row.field[col[k]] : "";
            fl[k] = have ? row.flen[col[k]] : 0;
        }
        if (strlen(f[0]) > OTA32_NVS_KEY_MAX) {
            rc = ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1,
                                 "Length of key `%s` should be <= 15 characters.", f[0]);
        } else if (!strcmp(f[1], "namespace")) {
            rc = namespace_row(g, f[0]);
        } else if (g->ns_count == 0) {
            /* the generator's rule: every key belongs to a namespace */
            rc = ota32_diag_fail(g->diag, OTA32_ERR_CORRUPT, g->line, -1,
                                 "%s: a %s row before any namespace row (add one first, e.g. "
                                 "'storage,namespace,,')",
                                 f[0], f[1]);
        } else if (!strcmp(f[1], "file")) {
            size_t n = 0;
            uint8_t *content = read_whole(g, f[3], &n, &rc);
            if (content)
                rc = data_row(g, f[0], f[2], content, n);
            free(content);
        } else {
            uint8_t empty[1] = {0};
            uint8_t *val = (unsigned)col[3] < row.count ? (uint8_t *)row.field[col[3]] : empty;
            rc = data_row(g, f[0], f[2], val, fl[3]);
        }
        rec_free(&row);
        if (rc != OTA32_OK)
            return rc;
    }
    rec_free(&row);
    return rc;
}

int ota32_nvs_csv_generate(const char *csv, size_t len, uint32_t size, int version, uint8_t **out,
                           size_t *out_len, ota32_diag *diag)
{
    ota32_diag_clear(diag);
    *out = NULL;
    *out_len = 0;
    if (size % PAGE != 0)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "Size of partition must be multiple of 4096");
    /* the generator's check_size(): two pages of data and a reserved one */
    if (size < 3 * PAGE)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1,
                               "Minimum NVS partition size needs to be 0x3000 bytes (size "
                               "given: 0x%x)",
                               (unsigned)size);
    if (version != 1 && version != 2)
        return ota32_diag_fail(diag, OTA32_ERR_INVALID_ARG, 0, -1, "version must be 1 or 2");
    gen *g = calloc(1, sizeof *g);
    if (!g)
        return OTA32_ERR_NO_MEM;
    g->pages_cap = size / PAGE;
    g->img = malloc((size_t)size);
    if (!g->img) {
        free(g);
        return OTA32_ERR_NO_MEM;
    }
    memset(g->img, 0xFF, size);
    g->size_left = size - PAGE; /* one page stays blank */
    g->page = -1;
    g->version = version == 2 ? 0xFE : 0xFF;
    g->diag = diag;
    int rc = new_page(g, false, false);
    if (rc == OTA32_OK)
        rc = run(g, csv, len);
    if (rc == OTA32_OK) {
        /* The rest stays 0xFF: empty pages while size lasts, then the
         * reserved one. */
        while (rc == OTA32_OK && g->size_left > 0)
            rc = new_page(g, false, true);
        g->size_left = -1; /* the reserved page is beyond the size count */
        if (rc == OTA32_OK)
            rc = new_page(g, true, true);
    }
    if (rc == OTA32_OK) {
        *out = g->img;
        *out_len = (size_t)(g->page + 1) * PAGE;
    } else {
        free(g->img);
    }
    free(g);
    return rc;
}
