/* The value of one digit character, for every parser that reads numbers in
 * text (JSON escapes, NVS CSV hex, Python integer literals). Shared on purpose
 * by the core and the host code (src/internal). */
#ifndef OTA32_DIGITS_H
#define OTA32_DIGITS_H

/* 0-9 for '0'-'9', 10-35 for 'a'-'z' or 'A'-'Z', -1 for anything else. */
static inline int ota32_digit36(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

/* 0-15 for a hex digit, -1 for anything else. */
static inline int ota32_hex_digit(int c)
{
    int v = ota32_digit36(c);
    return v < 16 ? v : -1;
}

#endif
