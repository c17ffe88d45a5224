/* Host hashing for the core: SHA-256 and MD5 through OpenSSL's EVP API. */
#ifndef OTA32_POSIX_HASH_H
#define OTA32_POSIX_HASH_H

#include "ota32/hash.h"

/* Process-wide ops table (stateless; ctx unused). */
const ota32_hash_ops *ota32_posix_hash(void);

#endif
