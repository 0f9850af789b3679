/*
 * san_list.c — the SANs an operator gives (--san TYPE:VALUE, a manifest's "san" array), parsed
 * into the list a struct tmpl_request carries (see issue.h).
 */
#include "ca/issue/issue.h"

#include <stdlib.h>
#include <string.h>

#include "ca/common/common.h"
#include "templates/template.h"

int san_list_add(struct san_list *l, const char *text, const char *where)
{
    char value[1024];
    enum san_type type;

    if (l->n >= MAX_SANS) {
        report("%s: more than %d SANs; split the request", where, MAX_SANS);
        return EXIT_USAGE;
    }
    if (!san_parse(text, &type, value, sizeof(value)))
        return fail_tmpl();
    if ((l->buf[l->n] = strdup(value)) == NULL) {
        report("%s: out of memory; free memory and retry", where);
        return EXIT_SYSTEM;
    }
    l->v[l->n].type = type;
    l->v[l->n].value = l->buf[l->n];
    l->n++;
    return 0;
}

void san_list_clear(struct san_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->buf[i]);
    l->n = 0;
}
