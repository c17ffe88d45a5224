/* printf macros matching check/abi/stdint.h (newlib on ESP32). */
#ifndef OTA32_ABI_INTTYPES_H
#define OTA32_ABI_INTTYPES_H
#define _INTTYPES_H 1
#include <stdint.h>
#define PRId8 "d"
#define PRIu8 "u"
#define PRIx8 "x"
#define PRId16 "d"
#define PRIu16 "u"
#define PRIx16 "x"
#define PRId32 "ld"
#define PRIi32 "li"
#define PRIu32 "lu"
#define PRIx32 "lx"
#define PRIX32 "lX"
#define PRId64 "lld"
#define PRIi64 "lli"
#define PRIu64 "llu"
#define PRIx64 "llx"
#define PRIX64 "llX"
#endif
