/* Stand-in for nghttp2ver.h as the ESP-IDF component espressif/nghttp
 * 1.69.0 ships it (port/include/nghttp2/nghttp2ver.h): the version macros
 * it declares, for the compile check of http2_client.c's version guard. */
#ifndef NGHTTP2VER_H
#define NGHTTP2VER_H

#define NGHTTP2_VERSION "1.69.0"
#define NGHTTP2_VERSION_NUM 0x014500

/* Entry points this release has that older host headers may lack
 * (nghttp2 1.61 added them), declared with nghttp2.h's signatures. */
#include <stddef.h>
#include <stdint.h>
typedef ptrdiff_t nghttp2_ssize;
struct nghttp2_session;
nghttp2_ssize nghttp2_session_mem_recv2(struct nghttp2_session *session, const uint8_t *in,
                                        size_t inlen);
nghttp2_ssize nghttp2_session_mem_send2(struct nghttp2_session *session, const uint8_t **data_ptr);

#endif
