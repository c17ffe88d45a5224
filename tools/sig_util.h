/* Secure Boot v2 signatures in the image commands: listing, verifying
 * against public keys, and signing (cmd_image_sign.c). */
#ifndef OTA32_TOOLS_SIG_UTIL_H
#define OTA32_TOOLS_SIG_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ota32/image.h"
#include "ota32/signature.h"

struct cJSON;

/* Parse the signature sector of `data` (an image whose parse found
 * info->sig_present). Prints "ota32: PATH: offset ...: ..." and returns
 * non-zero when the sector is malformed or the file does not end with it. */
int sig_sector_of(const char *path, const uint8_t *data, size_t len, const ota32_image_info *in,
                  ota32_sig_sector *sec);

/* `image info`: the blocks as espsecure signature-info-v2 lists them. */
void sig_print_blocks(const char *path, const uint8_t *data, size_t len,
                      const ota32_image_info *in);
void sig_add_json(struct cJSON *sig, const uint8_t *data, size_t len, const ota32_image_info *in);

/* `image verify --key`: which block verifies with which key. Returns 0 when
 * a block verifies with one of the keys (what a device trusting them
 * accepts), 1 otherwise, having said why. */
int sig_verify_with_keys(const char *path, const uint8_t *data, size_t len,
                         const ota32_image_info *in, const char *const *keys, unsigned nkeys);

/* Every value of the repeatable option `name` ("--key") in argv, which
 * opts_parse has accepted ("--key V" or "--key=V"; none after "--"). Returns
 * how many, at most `max` (more: max + 1). */
unsigned sig_option_values(int argc, char **argv, const char *name, const char **out,
                           unsigned max);

#endif
