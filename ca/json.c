/*
 * json.c — JSON string escaping for --json output.
 */
#include "ca/json.h"

void json_str(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void json_kv(FILE *f, int first, const char *key, const char *value)
{
    if (!first)
        fputc(',', f);
    json_str(f, key);
    fputc(':', f);
    json_str(f, value);
}

void json_kv_int(FILE *f, int first, const char *key, long long value)
{
    if (!first)
        fputc(',', f);
    json_str(f, key);
    fprintf(f, ":%lld", value);
}
