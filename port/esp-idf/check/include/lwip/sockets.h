/* Declaration-only stand-in for lwIP's sockets.h as ESP-IDF configures it
 * (v5.1-v5.5: SO_RCVTIMEO/SO_SNDTIMEO take a struct timeval). */
#ifndef OTA32_CHECK_LWIP_SOCKETS_H
#define OTA32_CHECK_LWIP_SOCKETS_H

#include <stdint.h>
#include <sys/time.h>

typedef uint32_t socklen_t;

#define SOL_SOCKET 0xfff
#define SO_SNDTIMEO 0x1005
#define SO_RCVTIMEO 0x1006
#define IPPROTO_TCP 6
#define TCP_NODELAY 0x01

int setsockopt(int s, int level, int optname, const void *optval, socklen_t optlen);

#endif
