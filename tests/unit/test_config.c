/* Machine config parsing: what is accepted, and every rejection's message. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ota32/service.h"
#include "ota32/http.h"
#include "posix_alloc.h"

static ota32_ota_config cfg;
static ota32_diag diag;
static ota32_posix_alloc heap;

/* Parses with a counting allocator and checks nothing is left allocated. */
static int parse(const char *json)
{
    ota32_diag_clear(&diag);
    memset(&cfg, 0x5A, sizeof cfg);
    ota32_posix_alloc_init(&heap);
    ota32_alloc_ops ops = ota32_posix_alloc_ops(&heap);
    int rc = ota32_config_parse(json, strlen(json), &ops, &cfg, &diag);
    CHECK_EQ(heap.current, 0);
    return rc;
}

TEST(machine_config_with_ota_service)
{
    const char *j = "{\"services\":[{\"name\":\"cam\",\"namespace\":\"rdk\",\"type\":\"camera\","
                    "\"model\":\"webcam\"},"
                    "{\"name\":\"OTA\",\"namespace\":\"rdk\",\"type\":\"generic\","
                    "\"model\":\"ota_service\",\"attributes\":{\"url\":"
                    "\"http://192.168.1.10:3001/fw.bin?sig=abc\",\"version\":\"v1.2.3\"}}],"
                    "\"components\":[]}";
    CHECK_EQ(parse(j), OTA32_OK);
    CHECK_STR(cfg.url, "http://192.168.1.10:3001/fw.bin?sig=abc");
    CHECK_STR(cfg.version, "v1.2.3");
    CHECK_STR(cfg.name, "OTA");
    CHECK_EQ(cfg.index, 1);
}

TEST(triplet_model_without_namespace_and_type)
{
    CHECK_EQ(parse("{\"services\":[{\"model\":\"rdk:builtin:ota_service\",\"attributes\":"
                   "{\"url\":\"https://fw.example.com/a.bin\",\"version\":\"\"}}]}"),
             OTA32_OK);
    CHECK_STR(cfg.url, "https://fw.example.com/a.bin");
    CHECK_STR(cfg.version, ""); /* empty accepted, as Micro-RDK */
    CHECK_STR(cfg.name, "");
    /* namespace present but wrong is still an error for the triplet */
    CHECK_EQ(parse("{\"services\":[{\"model\":\"rdk:builtin:ota_service\",\"namespace\":\"acme\","
                   "\"attributes\":{\"url\":\"https://h/a\",\"version\":\"1\"}}]}"),
             OTA32_ERR_CONFIG);
    CHECK_CONTAINS(diag.msg, "services[0].namespace: \"acme\", expected \"rdk\"");
}

TEST(bare_service_object)
{
    CHECK_EQ(parse("{\"name\":\"OTA\",\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":"
                   "\"ota_service\",\"attributes\":{\"url\":\"http://h:8080/x\",\"version\":"
                   "\"2\"}}"),
             OTA32_OK);
    CHECK_EQ(cfg.index, -1);
    CHECK_STR(cfg.version, "2");
    /* errors in a bare object name fields without a services[] prefix */
    CHECK_EQ(parse("{\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":\"ota_service\","
                   "\"attributes\":{\"url\":\"http://h/x\",\"version\":7}}"),
             OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "attributes.version: not a string");
}

TEST(no_ota_service_is_distinct)
{
    CHECK_EQ(parse("{\"services\":[{\"name\":\"a\",\"model\":\"webcam\"}]}"), OTA32_ERR_NOT_FOUND);
    CHECK_EQ(parse("{\"services\":[]}"), OTA32_ERR_NOT_FOUND);
    CHECK_EQ(parse("{\"components\":[]}"), OTA32_ERR_NOT_FOUND);
    CHECK_EQ(parse("{\"services\":null}"), OTA32_ERR_NOT_FOUND);
    CHECK_EQ(parse("{\"model\":\"webcam\"}"), OTA32_ERR_NOT_FOUND);
    CHECK_STR(diag.msg, ""); /* nothing came close */
}

TEST(near_miss_is_named_with_the_reason)
{
    /* a typo in the model */
    CHECK_EQ(parse("{\"services\":[{\"name\":\"cam\",\"model\":\"webcam\"},"
                   "{\"name\":\"OTA\",\"namespace\":\"rdk\",\"type\":\"generic\","
                   "\"model\":\"ota_servic\",\"attributes\":{\"url\":\"http://h/x\","
                   "\"version\":\"1\"}}]}"),
             OTA32_ERR_NOT_FOUND);
    CHECK_STR(diag.msg, "services[1] skipped: model \"ota_servic\" is not \"ota_service\" or "
                        "\"rdk:builtin:ota_service\" (a misspelt model name?)");
    CHECK_EQ(diag.line, 0);
    /* case and separators count as slips too */
    CHECK_EQ(parse("{\"services\":[{\"model\":\"OTA-Service\"}]}"), OTA32_ERR_NOT_FOUND);
    CHECK_CONTAINS(diag.msg, "services[0] skipped: model \"OTA-Service\"");
    /* the OTA model under another namespace or type */
    CHECK_EQ(parse("{\"services\":[{\"model\":\"viam:builtin:ota_service\",\"attributes\":"
                   "{\"url\":\"http://h/x\",\"version\":\"1\"}}]}"),
             OTA32_ERR_NOT_FOUND);
    CHECK_CONTAINS(diag.msg, "services[0] skipped: model \"viam:builtin:ota_service\"");
    CHECK_CONTAINS(diag.msg, "(another namespace or type than rdk:builtin)");
    CHECK_EQ(parse("{\"model\":\"rdk:component:ota_service\"}"), OTA32_ERR_NOT_FOUND);
    CHECK_CONTAINS(diag.msg, "the service skipped: model \"rdk:component:ota_service\"");
    /* the first near miss is named */
    CHECK_EQ(parse("{\"services\":[{\"model\":\"ota_srvice\"},{\"model\":\"ota_servce\"}]}"),
             OTA32_ERR_NOT_FOUND);
    CHECK_CONTAINS(diag.msg, "services[0] skipped: model \"ota_srvice\"");
    /* far from it, or close but another service: not named */
    CHECK_EQ(parse("{\"services\":[{\"model\":\"motion_service\"}]}"), OTA32_ERR_NOT_FOUND);
    CHECK_STR(diag.msg, "");
    CHECK_EQ(parse("{\"services\":[{\"model\":\"data_service\"}]}"), OTA32_ERR_NOT_FOUND);
    CHECK_STR(diag.msg, "");
    CHECK_EQ(parse("{\"services\":[{\"model\":\"o\"}]}"), OTA32_ERR_NOT_FOUND);
    CHECK_STR(diag.msg, "");
    /* a near miss beside the real service is not news */
    CHECK_EQ(parse("{\"services\":[{\"model\":\"ota_servic\"},{\"model\":"
                   "\"rdk:builtin:ota_service\",\"attributes\":{\"url\":\"http://h/x\","
                   "\"version\":\"1\"}}]}"),
             OTA32_OK);
    CHECK_STR(diag.msg, "");
    CHECK_EQ(cfg.index, 1);
}

static char big[4096];

static const char *with_version_len(size_t n, int index)
{
    char v[300];
    memset(v, 'x', n);
    v[n] = '\0';
    char *p = big;
    p += sprintf(p, "{\"services\":[");
    for (int i = 0; i < index; i++)
        p += sprintf(p, "{\"model\":\"m%d\"},", i);
    sprintf(p,
            "{\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":\"ota_service\","
            "\"attributes\":{\"url\":\"http://h/fw\",\"version\":\"%s\"}}]}",
            v);
    return big;
}

TEST(version_length_limit)
{
    CHECK_EQ(parse(with_version_len(128, 0)), OTA32_OK);
    CHECK_EQ(strlen(cfg.version), 128);
    CHECK_EQ(parse(with_version_len(131, 2)), OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "services[2].attributes.version: 131 bytes, at most 128");
    /* bytes, not characters: 43 three-byte characters = 129 bytes */
    char j[600];
    char v[200] = "";
    for (int i = 0; i < 43; i++)
        strcat(v, "\xe2\x82\xac");
    snprintf(j, sizeof j,
             "{\"services\":[{\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":\"ota_service\","
             "\"attributes\":{\"url\":\"http://h/fw\",\"version\":\"%s\"}}]}",
             v);
    CHECK_EQ(parse(j), OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "services[0].attributes.version: 129 bytes, at most 128");
}

static int svc(const char *body)
{
    char j[2048];
    snprintf(j, sizeof j, "{\"services\":[{\"model\":\"x\"},%s]}", body);
    return parse(j);
}

TEST(rejections_name_the_field)
{
    CHECK_EQ(svc("{\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":\"ota_service\","
                 "\"attributes\":{\"url\":\"ftp://h/fw\",\"version\":\"1\"}}"),
             OTA32_ERR_CONFIG);
    CHECK_CONTAINS(diag.msg, "services[1].attributes.url: ");
    CHECK_EQ(svc("{\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":\"ota_service\","
                 "\"attributes\":{\"version\":\"1\"}}"),
             OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "services[1].attributes.url: missing");
    CHECK_EQ(svc("{\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":\"ota_service\","
                 "\"attributes\":{\"url\":5,\"version\":\"1\"}}"),
             OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "services[1].attributes.url: not a string");
    CHECK_EQ(svc("{\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":\"ota_service\","
                 "\"attributes\":{\"url\":\"http://h/x\"}}"),
             OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "services[1].attributes.version: missing");
    CHECK_EQ(svc("{\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":\"ota_service\"}"),
             OTA32_ERR_CONFIG);
    CHECK_CONTAINS(diag.msg, "services[1].attributes: missing");
    CHECK_EQ(svc("{\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":\"ota_service\","
                 "\"attributes\":[]}"),
             OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "services[1].attributes: not an object");
    CHECK_EQ(svc("{\"namespace\":\"rdk\",\"type\":\"motor\",\"model\":\"ota_service\","
                 "\"attributes\":{\"url\":\"http://h/x\",\"version\":\"1\"}}"),
             OTA32_ERR_CONFIG);
    CHECK_CONTAINS(diag.msg, "services[1].type: \"motor\", expected \"generic\"");
    CHECK_EQ(svc("{\"type\":\"generic\",\"model\":\"ota_service\","
                 "\"attributes\":{\"url\":\"http://h/x\",\"version\":\"1\"}}"),
             OTA32_ERR_CONFIG);
    CHECK_CONTAINS(diag.msg, "services[1].namespace: missing");
    CHECK_EQ(parse("{\"services\":{}}"), OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "services: not an array");
    CHECK_EQ(parse("{\"services\":[{\"model\":\"a\"},3]}"), OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "services[1]: not an object");
    CHECK_EQ(parse("[1,2]"), OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "config: not a JSON object");
}

TEST(two_ota_services_are_ambiguous)
{
    const char *one = "{\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":\"ota_service\","
                      "\"attributes\":{\"url\":\"http://h/x\",\"version\":\"1\"}}";
    char j[1024];
    snprintf(j, sizeof j, "{\"services\":[%s,{\"model\":\"y\"},%s]}", one, one);
    CHECK_EQ(parse(j), OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "services[2]: a second OTA service (the first is services[0])");
}

TEST(syntax_errors_have_a_position)
{
    CHECK_EQ(parse("{\n  \"services\": [\n    {\"model\": }\n  ]\n}"), OTA32_ERR_CONFIG);
    CHECK_CONTAINS(diag.msg, "line 3");
    CHECK_CONTAINS(diag.msg, "not valid JSON");
    CHECK_EQ(diag.line, 3);
    CHECK_EQ(parse("{} x"), OTA32_ERR_CONFIG);
    CHECK_CONTAINS(diag.msg, "unexpected data after the JSON value");
    CHECK_EQ(parse(""), OTA32_ERR_CONFIG);
    /* length is honoured: the same text cut short is invalid */
    const char *j = "{\"services\":[]}";
    ota32_diag_clear(&diag);
    ota32_alloc_ops ops = ota32_posix_alloc_ops(&heap);
    CHECK_EQ(ota32_config_parse(j, 5, &ops, &cfg, &diag), OTA32_ERR_CONFIG);
    CHECK_EQ(ota32_config_parse(j, strlen(j), NULL, &cfg, &diag), OTA32_ERR_INVALID_ARG);
}

/* Memory is bounded: one scratch for the URL check, the same for a config
 * a hundred times larger; every allocation failure is reported as such. */
TEST(memory_is_bounded)
{
    ota32_posix_alloc a;
    ota32_posix_alloc_init(&a);
    ota32_alloc_ops ops = ota32_posix_alloc_ops(&a);
    const char *j = "{\"services\":[{\"namespace\":\"rdk\",\"type\":\"generic\",\"model\":"
                    "\"ota_service\",\"attributes\":{\"url\":\"http://h/x\",\"version\":\"1\"}}]}";
    CHECK_EQ(ota32_config_parse(j, strlen(j), &ops, &cfg, &diag), OTA32_OK);
    CHECK_EQ(a.count, 1);
    CHECK_EQ(a.peak, sizeof(ota32_url));
    CHECK_EQ(a.current, 0);
    /* 200 KB of other services and deep attributes before it. */
    size_t cap = 210 * 1024;
    char *doc = malloc(cap);
    size_t n = (size_t)sprintf(doc, "{\"services\":[");
    while (n < 200 * 1024)
        n += (size_t)sprintf(doc + n, "{\"model\":\"m\",\"attributes\":{\"a\":[[[[{\"b\":\"%0100d\"}]]]]}},",
                             7);
    sprintf(doc + n, "%s", j + strlen("{\"services\":["));
    ota32_posix_alloc_init(&a);
    CHECK_EQ(ota32_config_parse(doc, strlen(doc), &ops, &cfg, &diag), OTA32_OK);
    CHECK_STR(cfg.url, "http://h/x");
    CHECK(cfg.index > 1000);
    CHECK_EQ(a.peak, sizeof(ota32_url));
    free(doc);
    ota32_posix_alloc_init(&a);
    a.fail_at = 1;
    ota32_diag_clear(&diag);
    CHECK_EQ(ota32_config_parse(j, strlen(j), &ops, &cfg, &diag), OTA32_ERR_NO_MEM);
    CHECK_STR(diag.msg, "config: out of memory");
    CHECK_EQ(a.current, 0);
}

/* JSON details: escapes decoded (the limits count decoded bytes), strict
 * grammar, nesting bounded, the first of duplicate keys. */
TEST(json_details)
{
    CHECK_EQ(parse("{\"model\":\"ota_\\u0073ervice\",\"namespace\":\"rdk\",\"type\":\"generic\","
                   "\"attributes\":{\"url\":\"http:\\/\\/h\\/x\",\"version\":\"\\u20ac\\ud83d\\ude00\"}}"),
             OTA32_OK);
    CHECK_STR(cfg.url, "http://h/x");
    CHECK_STR(cfg.version, "\xe2\x82\xac\xf0\x9f\x98\x80");
    CHECK_EQ(parse("{\"model\":\"ota_service\",\"model\":\"x\",\"namespace\":\"rdk\","
                   "\"type\":\"generic\",\"attributes\":{\"url\":\"http://h/1\",\"url\":\"http://h/2\","
                   "\"version\":\"1\"}}"),
             OTA32_OK);
    CHECK_STR(cfg.url, "http://h/1");
    static const char *const bad[] = {"{\"a\":01}", "{\"a\":1.}", "{\"a\":[1,]}", "{\"a\" 1}",
                                      "{'a':1}", "{\"a\":tru}", "{\"a\":\"\\x\"}", "{\"a\":\"\t\"}",
                                      "{\"a\":1,}", "[", "{\"a\":\"\\u12\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(parse(bad[i]), OTA32_ERR_CONFIG);
        CHECK_CONTAINS(diag.msg, "not valid JSON");
    }
    CHECK_EQ(parse("{\"a\":[1.5e-3,-0,true,false,null,{},[]]}"), OTA32_ERR_NOT_FOUND);
    char deep[200] = "{\"a\":";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    CHECK_EQ(parse(deep), OTA32_ERR_CONFIG);
    CHECK_CONTAINS(diag.msg, "nested deeper than 64 levels");
    CHECK_EQ(parse("{\"model\":\"ota_service\",\"namespace\":\"rdk\",\"type\":\"generic\","
                   "\"attributes\":{\"url\":\"http://h/x\",\"version\":\"a\\u0000b\"}}"),
             OTA32_ERR_CONFIG);
    CHECK_STR(diag.msg, "attributes.version: contains a NUL character");
}

RUN_TESTS(CASE(machine_config_with_ota_service), CASE(triplet_model_without_namespace_and_type),
          CASE(bare_service_object), CASE(no_ota_service_is_distinct),
          CASE(near_miss_is_named_with_the_reason), CASE(version_length_limit),
          CASE(rejections_name_the_field), CASE(two_ota_services_are_ambiguous),
          CASE(syntax_errors_have_a_position), CASE(memory_is_bounded), CASE(json_details))
