/*
 * json.h — the few JSON writing helpers `--json` output needs: records are written field by field
 * as they stream out of the store; each string is encoded by libjansson (ca/json.c).
 */
#ifndef OFFCA_JSON_H
#define OFFCA_JSON_H

#include <stdio.h>

/* Write s as a JSON string (quoted, escaped, bytes that are not UTF-8 as U+FFFD; NULL, or no
 * memory, writes null). */
void json_str(FILE *f, const char *s);
/* Write "key": "value" with a leading comma unless first. */
void json_kv(FILE *f, int first, const char *key, const char *value);
void json_kv_int(FILE *f, int first, const char *key, long long value);

#endif
