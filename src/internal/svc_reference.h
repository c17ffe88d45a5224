/* The erase strategy the benchmarks compare ota32 against: the whole update
 * slot erased before the first write, as esp_ota_begin does with
 * OTA_SIZE_UNKNOWN (Micro-RDK's way). Not part of the public API: a device
 * always erases just ahead of the write position. For `ota32 device run
 * --erase-whole-slot` (bench/bench_ota_flash.sh). */
#ifndef OTA32_SVC_REFERENCE_H
#define OTA32_SVC_REFERENCE_H

#include <stdbool.h>

#include "ota32/service.h"

void svc_reference_erase_whole_slot(ota32_service *s, bool on);

#endif
