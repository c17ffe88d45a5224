/* The virtual ESP32's emulated eFuse in the device and flash commands
 * (cmd_device_efuse.c). */
#ifndef OTA32_TOOLS_EFUSE_UTIL_H
#define OTA32_TOOLS_EFUSE_UTIL_H

/* Trust the Secure Boot v2 digests of these key files (PEM). 0 or 1. */
int efuse_trust_keys(const char *dev, const char *const *keys, unsigned n);

/* "eFuse (...): secure version N, K trusted keys" and one line per key,
 * unless the device's eFuse is blank. */
void efuse_print(const char *flash_path);

#endif
