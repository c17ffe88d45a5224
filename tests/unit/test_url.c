/* URL parsing, redirect resolution (RFC 3986 section 5.4 examples) and
 * redaction. */
#include "check.h"
#include "ota32/http.h"

static ota32_url parse_ok(const char *text)
{
    ota32_url u;
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = ota32_url_parse(text, &u, &d);
    if (rc != OTA32_OK)
        check_fail(__FILE__, __LINE__, "parse(%s) = %d: %s", text, rc, d.msg);
    return u;
}

/* Expect a rejection with `err` and a message containing `what`. */
static void parse_bad(const char *text, int err, const char *what)
{
    ota32_url u;
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = ota32_url_parse(text, &u, &d);
    if (rc != err)
        check_fail(__FILE__, __LINE__, "parse(%s) = %d, expected %d (%s)", text, rc, err, d.msg);
    else if (!strstr(d.msg, what))
        check_fail(__FILE__, __LINE__, "parse(%s): \"%s\" lacks \"%s\"", text, d.msg, what);
}

TEST(default_ports)
{
    ota32_url u = parse_ok("http://example.com/fw.bin");
    CHECK(!u.tls);
    CHECK_STR(u.host, "example.com");
    CHECK_EQ(u.port, 80); /* not 443 */
    CHECK_STR(u.path, "/fw.bin");
    CHECK_STR(u.userinfo, "");
    u = parse_ok("https://example.com/fw.bin");
    CHECK(u.tls);
    CHECK_EQ(u.port, 443);
    u = parse_ok("HTTPS://Example.COM:8443");
    CHECK(u.tls);
    CHECK_STR(u.host, "example.com");
    CHECK_EQ(u.port, 8443);
    CHECK_STR(u.path, "/");
    u = parse_ok("http://h:/x");
    CHECK_EQ(u.port, 80);
}

TEST(query_kept_exactly)
{
    const char *q = "?X-Amz-Signature=ab%2Fcd%3D&X-Amz-Date=20240101T000000Z&a=b=c&&e";
    char text[512];
    snprintf(text, sizeof text, "https://bucket.s3.amazonaws.com/fw%%20v1.bin%s#frag", q);
    ota32_url u = parse_ok(text);
    char want[512];
    snprintf(want, sizeof want, "/fw%%20v1.bin%s", q);
    CHECK_STR(u.path, want);
    u = parse_ok("http://h?only=query");
    CHECK_STR(u.path, "/?only=query");
    u = parse_ok("http://h/a/./b/../c");
    CHECK_STR(u.path, "/a/./b/../c"); /* an absolute URL's path is sent as given */
}

TEST(ipv6)
{
    ota32_url u = parse_ok("http://[::1]:8080/fw.bin");
    CHECK_STR(u.host, "::1");
    CHECK_EQ(u.port, 8080);
    u = parse_ok("https://[2001:DB8::A:1]/x");
    CHECK_STR(u.host, "2001:db8::a:1");
    CHECK_EQ(u.port, 443);
    u = parse_ok("http://[::ffff:192.0.2.1]/");
    CHECK_STR(u.host, "::ffff:192.0.2.1");
    parse_bad("http://[::1/x", OTA32_ERR_INVALID_ARG, "closing ']'");
    parse_bad("http://[]/x", OTA32_ERR_INVALID_ARG, "empty host");
    parse_bad("http://[fe80::1%25eth0]/", OTA32_ERR_UNSUPPORTED, "zone");
    parse_bad("http://[::g]/", OTA32_ERR_INVALID_ARG, "invalid character 'g'");
    parse_bad("http://[::1]x/", OTA32_ERR_INVALID_ARG, "after the IPv6 address");
}

TEST(userinfo)
{
    ota32_url u = parse_ok("https://user:p%40ss%3Aw0rd@host.example/fw");
    CHECK_STR(u.userinfo, "user:p@ss:w0rd");
    CHECK_STR(u.host, "host.example");
    u = parse_ok("http://us@er:pw@h/");
    CHECK_STR(u.userinfo, "us@er:pw"); /* the last '@' ends the credentials */
    CHECK_STR(u.host, "h");
    parse_bad("http://u:%4@h/", OTA32_ERR_INVALID_ARG, "percent-encoding");
    parse_bad("http://u:%00@h/", OTA32_ERR_INVALID_ARG, "%00");
    char text[1200] = "http://";
    memset(text + 7, 'a', 300);
    strcpy(text + 307, "@h/");
    parse_bad(text, OTA32_ERR_TOO_BIG, "credentials longer than 255");
}

TEST(rejections)
{
    parse_bad("ftp://h/x", OTA32_ERR_UNSUPPORTED, "scheme 'ftp'");
    parse_bad("/just/a/path", OTA32_ERR_INVALID_ARG, "no scheme");
    parse_bad("", OTA32_ERR_INVALID_ARG, "empty");
    parse_bad("http:/h/x", OTA32_ERR_INVALID_ARG, "lacks '//'");
    parse_bad("http:///x", OTA32_ERR_INVALID_ARG, "empty host");
    parse_bad("http://h:0/", OTA32_ERR_INVALID_ARG, "port 0");
    parse_bad("http://h:65536/", OTA32_ERR_INVALID_ARG, "above 65535");
    parse_bad("http://h:8o/", OTA32_ERR_INVALID_ARG, "'8o' is not a number");
    parse_bad("http://h/a b", OTA32_ERR_INVALID_ARG, "space at offset 10");
    parse_bad("http://h/a\tb", OTA32_ERR_INVALID_ARG, "control character 0x09 at offset 10");
    parse_bad("http://h/\r\nX: y", OTA32_ERR_INVALID_ARG, "control character 0x0d");
    parse_bad("http://h/\xc3\xa9", OTA32_ERR_INVALID_ARG, "non-ASCII byte 0xc3");
    parse_bad("http://ho$t/", OTA32_ERR_INVALID_ARG, "invalid character '$'");
    /* a password with an unencoded '/' is refused without being echoed */
    parse_bad("http://user:S3CRET/x@host/fw.bin", OTA32_ERR_INVALID_ARG,
              "URL credentials hold an unencoded '/', '?' or '#': percent-encode them");
    ota32_url leak;
    ota32_diag ld;
    ota32_diag_clear(&ld);
    CHECK(ota32_url_parse("http://user:S3CRET/x@host/fw.bin", &leak, &ld) != OTA32_OK);
    CHECK(strstr(ld.msg, "S3CRET") == NULL);
    CHECK(strstr(ld.msg, "user") == NULL);
    char text[3000] = "http://";
    memset(text + 7, 'a', 256);
    strcpy(text + 263, "/x");
    parse_bad(text, OTA32_ERR_TOO_BIG, "host is 256 bytes, at most 255");
    strcpy(text, "http://h/");
    memset(text + 9, 'p', 2048);
    text[9 + 2048] = '\0';
    parse_bad(text, OTA32_ERR_TOO_BIG, "2049 bytes, at most 2048");
    text[9 + 2047] = '\0';
    ota32_url u = parse_ok(text);
    CHECK_EQ(strlen(u.path), 2048);
}

static void resolve_is(const char *base, const char *ref, const char *want)
{
    ota32_url b = parse_ok(base), out;
    ota32_diag d;
    ota32_diag_clear(&d);
    int rc = ota32_url_resolve(&b, ref, &out, &d);
    if (rc != OTA32_OK) {
        check_fail(__FILE__, __LINE__, "resolve(%s, %s) = %d: %s", base, ref, rc, d.msg);
        return;
    }
    char text[4200];
    CHECK(ota32_url_format(&out, text, sizeof text) > 0);
    if (strcmp(text, want) != 0)
        check_fail(__FILE__, __LINE__, "resolve(%s, %s) = %s, expected %s", base, ref, text,
                   want);
    /* In place (out == base) gives the same answer. */
    CHECK_EQ(ota32_url_resolve(&b, ref, &b, NULL), OTA32_OK);
    char again[4200];
    CHECK(ota32_url_format(&b, again, sizeof again) > 0);
    CHECK_STR(again, text);
}

TEST(resolve_rfc3986_examples)
{
    /* RFC 3986 5.4.1 and 5.4.2, with the base http://a/b/c/d;p?q */
    const char *b = "http://a/b/c/d;p?q";
    resolve_is(b, "g", "http://a/b/c/g");
    resolve_is(b, "./g", "http://a/b/c/g");
    resolve_is(b, "g/", "http://a/b/c/g/");
    resolve_is(b, "/g", "http://a/g");
    resolve_is(b, "//g", "http://g/");
    resolve_is(b, "?y", "http://a/b/c/d;p?y");
    resolve_is(b, "g?y", "http://a/b/c/g?y");
    resolve_is(b, "#s", "http://a/b/c/d;p?q");
    resolve_is(b, "g#s", "http://a/b/c/g");
    resolve_is(b, ";x", "http://a/b/c/;x");
    resolve_is(b, ".", "http://a/b/c/");
    resolve_is(b, "./", "http://a/b/c/");
    resolve_is(b, "..", "http://a/b/");
    resolve_is(b, "../", "http://a/b/");
    resolve_is(b, "../g", "http://a/b/g");
    resolve_is(b, "../..", "http://a/");
    resolve_is(b, "../../", "http://a/");
    resolve_is(b, "../../g", "http://a/g");
    resolve_is(b, "../../../g", "http://a/g");
    resolve_is(b, "../../../../g", "http://a/g");
    resolve_is(b, "/./g", "http://a/g");
    resolve_is(b, "/../g", "http://a/g");
    resolve_is(b, "g.", "http://a/b/c/g.");
    resolve_is(b, ".g", "http://a/b/c/.g");
    resolve_is(b, "g..", "http://a/b/c/g..");
    resolve_is(b, "..g", "http://a/b/c/..g");
    resolve_is(b, "./../g", "http://a/b/g");
    resolve_is(b, "./g/.", "http://a/b/c/g/");
    resolve_is(b, "g/./h", "http://a/b/c/g/h");
    resolve_is(b, "g/../h", "http://a/b/c/h");
    resolve_is(b, "g;x=1/./y", "http://a/b/c/g;x=1/y");
    resolve_is(b, "g;x=1/../y", "http://a/b/c/y");
    resolve_is(b, "g?y/./x", "http://a/b/c/g?y/./x");
    resolve_is(b, "g?y/../x", "http://a/b/c/g?y/../x");
}

TEST(resolve_redirects)
{
    resolve_is("http://h:8080/dir/fw.bin", "https://cdn.example/x.bin?sig=1",
               "https://cdn.example/x.bin?sig=1");
    resolve_is("https://h/dir/fw.bin", "//cdn.example:444/y", "https://cdn.example:444/y");
    resolve_is("http://h:8080/dir/fw.bin", "/other", "http://h:8080/other");
    resolve_is("http://h:8080/dir/fw.bin?a=1", "v2/fw.bin", "http://h:8080/dir/v2/fw.bin");
    resolve_is("http://h:8080/dir/fw.bin", "../up.bin?s=%2F", "http://h:8080/up.bin?s=%2F");
    resolve_is("http://[::1]:81/a/b", "c", "http://[::1]:81/a/c");

    /* Credentials stay with the same authority, not with a new one. */
    ota32_url b = parse_ok("http://u:p@h/a/b"), out;
    CHECK_EQ(ota32_url_resolve(&b, "c", &out, NULL), OTA32_OK);
    CHECK_STR(out.userinfo, "u:p");
    CHECK_EQ(ota32_url_resolve(&b, "//other/c", &out, NULL), OTA32_OK);
    CHECK_STR(out.userinfo, "");
    CHECK_STR(out.host, "other");

    ota32_diag d;
    CHECK_EQ(ota32_url_resolve(&b, "ftp://x/", &out, &d), OTA32_ERR_UNSUPPORTED);
    CHECK_CONTAINS(d.msg, "ftp");
    CHECK_EQ(ota32_url_resolve(&b, "a b", &out, &d), OTA32_ERR_INVALID_ARG);
    CHECK_CONTAINS(d.msg, "space");
    CHECK_EQ(ota32_url_resolve(&b, "", &out, &d), OTA32_ERR_INVALID_ARG);
    CHECK_CONTAINS(d.msg, "empty");
    char big[2100];
    memset(big, 'x', 2049);
    big[2049] = '\0';
    CHECK_EQ(ota32_url_resolve(&b, big, &out, &d), OTA32_ERR_TOO_BIG);
    CHECK_CONTAINS(d.msg, "at most 2048");
}

static void redact_is(const char *in, const char *want)
{
    char out[256];
    ota32_url_redact(in, out, sizeof out);
    if (strcmp(out, want) != 0)
        check_fail(__FILE__, __LINE__, "redact(%s) = %s, expected %s", in, out, want);
}

TEST(redact)
{
    redact_is("https://user:secret@host:443/fw.bin?X-Amz-Signature=abc",
              "https://host:443/fw.bin?<redacted>");
    redact_is("http://host/fw.bin", "http://host/fw.bin");
    redact_is("http://host/fw.bin#frag", "http://host/fw.bin");
    redact_is("http://a@b@host?q", "http://host?<redacted>");
    /* userinfo with an unencoded '/', '?' or '#': redacted all the same */
    redact_is("http://user:pa/ss@host/x", "http://host/x");
    redact_is("http://user:pa?ss@host/x", "http://host/x");
    redact_is("http://user:pa#ss@host/x?q=1", "http://host/x?<redacted>");
    redact_is("http://user:S3CRET@host:8080/x", "http://host:8080/x");
    /* an '@' in a path after a host without port stays */
    redact_is("http://host/pkg@1.2/fw.bin", "http://host/pkg@1.2/fw.bin");
    redact_is("/path?token=1", "/path?<redacted>");
    redact_is("not a url", "not a url");
    char small[8];
    ota32_url_redact("https://host/fw.bin", small, sizeof small);
    CHECK_STR(small, "https:/");
    ota32_url_redact(NULL, small, sizeof small);
    CHECK_STR(small, "");
}

TEST(format)
{
    ota32_url u = parse_ok("https://u:p@h:443/a?b");
    char out[64];
    CHECK_EQ(ota32_url_format(&u, out, sizeof out), 13);
    CHECK_STR(out, "https://h/a?b");
    u = parse_ok("http://[::1]:8080/");
    CHECK(ota32_url_format(&u, out, sizeof out) > 0);
    CHECK_STR(out, "http://[::1]:8080/");
    CHECK_EQ(ota32_url_format(&u, out, 5), OTA32_ERR_TOO_BIG);
}

RUN_TESTS(CASE(default_ports), CASE(query_kept_exactly), CASE(ipv6), CASE(userinfo),
          CASE(rejections), CASE(resolve_rfc3986_examples), CASE(resolve_redirects),
          CASE(redact), CASE(format))
