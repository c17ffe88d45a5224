/* The device's signature check against the SHA-256 pass it follows: for a
 * signed image file, the time of hashing the bytes before the signature
 * sector (what the stream hash does anyway) and the time of the check that
 * comes on top once that digest is known (sector parse, key digests, trust,
 * the platform's RSA-PSS or ECDSA verify), both with OpenSSL, best of N.
 * Prints "sha256_us check_us scheme". Used by bench/bench_ota_signed.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ota32/signature.h"
#include "posix_hash.h"
#include "posix_sig.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

int main(int argc, char **argv)
{
    size_t len = 0;
    uint8_t *img = argc > 1 ? read_all(argv[1], &len) : NULL;
    int runs = argc > 2 ? atoi(argv[2]) : 20;
    if (!img || len < 2 * OTA32_SIG_SECTOR_LEN || runs < 1) {
        fprintf(stderr, "usage: bench_sig SIGNED.bin [RUNS]\n");
        return 2;
    }
    size_t at = len - OTA32_SIG_SECTOR_LEN;
    const ota32_hash_ops *h = ota32_posix_hash();
    ota32_sig_sector sec;
    if (ota32_sig_sector_parse(img + at, OTA32_SIG_SECTOR_LEN, &sec, NULL) != OTA32_OK ||
        sec.count == 0) {
        fprintf(stderr, "bench_sig: %s: no signature sector\n", argv[1]);
        return 1;
    }
    ota32_trusted_keys keys = {.count = 1};
    ota32_sig_key_digest(h, &sec.blocks[0], keys.digest[0]);
    ota32_secure_ops ops = {.verify = ota32_posix_sig_verify};
    uint8_t digest[OTA32_SHA256_LEN];
    double best_sha = 1e18, best_check = 1e18;
    for (int i = 0; i < runs; i++) {
        double t0 = now_us();
        ota32_hash_buf(h, OTA32_HASH_SHA256, img, at, digest);
        double t1 = now_us();
        ota32_sig_sector s2;
        ota32_sig_result res;
        int rc = ota32_sig_sector_parse(img + at, OTA32_SIG_SECTOR_LEN, &s2, NULL);
        if (rc == OTA32_OK)
            rc = ota32_sig_check(&s2, digest, NULL, h, &ops, &keys, &res, NULL);
        double t2 = now_us();
        if (rc != OTA32_OK) {
            fprintf(stderr, "bench_sig: the signature does not verify\n");
            return 1;
        }
        best_sha = t1 - t0 < best_sha ? t1 - t0 : best_sha;
        best_check = t2 - t1 < best_check ? t2 - t1 : best_check;
    }
    printf("%.1f %.1f %s\n", best_sha, best_check, ota32_sig_scheme_name(sec.blocks[0].scheme));
    free(img);
    return 0;
}
