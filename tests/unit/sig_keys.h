/* Signing keys made at test time with OpenSSL, as PEM files in the test's
 * temporary directory: "rsa3072_a", "rsa3072_b", "rsa3072_c" (RSA-3072) and
 * "ecdsa256" (P-256). Each is made once per test executable. */
#ifndef OTA32_TEST_SIG_KEYS_H
#define OTA32_TEST_SIG_KEYS_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static inline const char *test_key_path(const char *name)
{
    static char paths[4][512];
    static const char *const names[4] = {"rsa3072_a", "rsa3072_b", "rsa3072_c", "ecdsa256"};
    int i = 0;
    while (i < 4 && strcmp(names[i], name))
        i++;
    CHECK(i < 4);
    if (i == 4)
        return "";
    if (!paths[i][0]) {
        snprintf(paths[i], sizeof paths[i], "%s/key_%s.pem", check_tmpdir(), name);
        EVP_PKEY *k = i < 3 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072)
                            : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        FILE *f = fopen(paths[i], "w");
        CHECK(k && f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
        if (f)
            fclose(f);
        EVP_PKEY_free(k);
    }
    return paths[i];
}

#endif
