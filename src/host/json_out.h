/* Writing JSON text by hand, for the host tools and the server. */
#ifndef OTA32_HOST_JSON_OUT_H
#define OTA32_HOST_JSON_OUT_H

#include <stdio.h>

/* Print `s` as a JSON string literal (with quotes, escaped) to f. */
void ota32_json_str(FILE *f, const char *s);

#endif
