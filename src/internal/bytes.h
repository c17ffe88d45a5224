/* Little-endian field access. Formats are decoded byte by byte, never by
 * casting packed structs, so the code is independent of host endianness and
 * alignment. Shared on purpose by the core, the ports, the host code and
 * the tests (src/internal). */
#ifndef OTA32_BYTES_H
#define OTA32_BYTES_H

#include <stdint.h>

static inline uint16_t ota32_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t ota32_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline void ota32_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void ota32_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif
