/* Declaration-only stand-in for ESP-IDF's
 * examples/common_components/protocol_examples_common (v5.1-v5.5). */
#ifndef OTA32_CHECK_PROTOCOL_EXAMPLES_COMMON_H
#define OTA32_CHECK_PROTOCOL_EXAMPLES_COMMON_H

#include "esp_err.h"

/* Connects Wi-Fi or Ethernet as set in menuconfig; blocks until it has an IP. */
esp_err_t example_connect(void);

#endif
