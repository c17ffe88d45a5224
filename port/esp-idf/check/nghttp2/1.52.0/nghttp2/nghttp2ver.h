/* Stand-in for nghttp2ver.h as the ESP-IDF component espressif/nghttp
 * 1.52.0 ships it (port/include/nghttp2/nghttp2ver.h): the version macros
 * it declares, for the compile check of http2_client.c's version guard.
 * Note the number: 0x015200 is not 1.52.0 (0x013400); code that compares
 * it selects the 1.61 entry points, which this release lacks. */
#ifndef NGHTTP2VER_H
#define NGHTTP2VER_H

#define NGHTTP2_VERSION "1.52.0"
#define NGHTTP2_VERSION_NUM 0x015200

/* This release has no nghttp2_ssize entry points (nghttp2 1.61 added
 * them): renamed, a call to one is an undefined symbol the check reports
 * even where the host's nghttp2.h declares them. */
#define nghttp2_session_mem_recv2 ota32_check_absent_in_1_52_0_nghttp2_session_mem_recv2
#define nghttp2_session_mem_send2 ota32_check_absent_in_1_52_0_nghttp2_session_mem_send2

#endif
