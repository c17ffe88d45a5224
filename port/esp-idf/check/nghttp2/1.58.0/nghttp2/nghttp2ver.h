/* Stand-in for nghttp2ver.h as the ESP-IDF component espressif/nghttp
 * 1.58.0 ships it (port/include/nghttp2/nghttp2ver.h): the version macros
 * it declares, for the compile check of http2_client.c's version guard. */
#ifndef NGHTTP2VER_H
#define NGHTTP2VER_H

#define NGHTTP2_VERSION "1.58.0"
#define NGHTTP2_VERSION_NUM 0x013a00

/* This release has no nghttp2_ssize entry points (nghttp2 1.61 added
 * them): renamed, a call to one is an undefined symbol the check reports
 * even where the host's nghttp2.h declares them. */
#define nghttp2_session_mem_recv2 ota32_check_absent_in_1_58_0_nghttp2_session_mem_recv2
#define nghttp2_session_mem_send2 ota32_check_absent_in_1_58_0_nghttp2_session_mem_send2

#endif
