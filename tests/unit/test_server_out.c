/* The firmware server's output buffers: bytes queued after a file segment
 * (an HTTP/2 frame header after the previous DATA payload) must get a chain
 * sized for them, not one sized from the segment's offset in the file. */
#include "check.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "serve_internal.h"

#define FILE_SIZE (1536u * 1024u)
#define SEG_OFF (1024u * 1024u)
#define SEG_LEN (16u * 1024u)
/* Generous: a chain for a few bytes is at most a few KB. */
#define SMALL_CHAIN (64u * 1024u)

static int open_image(void)
{
    const char *path = check_tmp_path("out.bin");
    uint8_t *buf = calloc(1, FILE_SIZE);
    CHECK(buf != NULL);
    for (size_t i = 0; i < FILE_SIZE; i++)
        buf[i] = (uint8_t)(i * 7u);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, buf, FILE_SIZE), (ssize_t)FILE_SIZE);
    free(buf);
    return fd;
}

/* Space left in the chain that holds the last bytes queued. */
static size_t tail_space(struct evbuffer *out)
{
    struct evbuffer_iovec v;
    CHECK_EQ(evbuffer_reserve_space(out, 1, &v, 1), 1);
    return v.iov_len; /* not committed: nothing is added */
}

TEST(bytes_after_file_segment)
{
    int fd = open_image();
    struct evbuffer *out = evbuffer_new();
    CHECK(out != NULL);
    /* As on a socket's output: segments are kept for sendfile. */
    evbuffer_set_flags(out, EVBUFFER_FLAG_DRAINS_TO_FD);
    struct evbuffer_file_segment *seg = evbuffer_file_segment_new(fd, 0, FILE_SIZE, 0);
    CHECK(seg != NULL);

    const uint8_t hd[9] = {0, 0x3f, 0x80, 0, 0, 0, 0, 0, 1};
    for (unsigned round = 0; round < 4; round++) {
        CHECK_EQ(evbuffer_add_file_segment(out, seg, SEG_OFF + round * SEG_LEN, SEG_LEN), 0);
        CHECK_EQ(serve_out_add(out, hd, sizeof hd), 0);
        CHECK(tail_space(out) < SMALL_CHAIN);
    }
    CHECK_EQ(evbuffer_get_length(out), 4 * (SEG_LEN + sizeof hd));

    /* Order and content of the queued bytes. */
    CHECK_EQ(evbuffer_drain(out, SEG_LEN), 0);
    uint8_t got[sizeof hd];
    CHECK_EQ(evbuffer_remove(out, got, sizeof got), (int)sizeof got);
    CHECK(memcmp(got, hd, sizeof hd) == 0);

    /* Nothing to add is not an error; after ordinary bytes, appends go on. */
    CHECK_EQ(serve_out_add(out, hd, 0), 0);
    struct evbuffer *mem = evbuffer_new();
    CHECK(mem != NULL);
    CHECK_EQ(serve_out_add(mem, "abc", 3), 0);
    CHECK_EQ(serve_out_add(mem, "defg", 4), 0);
    char s[8] = "";
    CHECK_EQ(evbuffer_remove(mem, s, 7), 7);
    CHECK(memcmp(s, "abcdefg", 7) == 0);

    evbuffer_free(mem);
    evbuffer_free(out);
    evbuffer_file_segment_free(seg);
    close(fd);
}

RUN_TESTS(CASE(bytes_after_file_segment))
