/*
 * renewals.c — `offca report --renewals`: the work list of an Intune / AD operator: which
 * certificates of a template expire soon, whose they are, and the exact command that issues
 * the replacement (after the device or user sends a new request).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/common/common.h"
#include "ca/revoke/revoke.h"
#include "ca/issue/issue.h"

struct ren_ctx {
    struct inv_filter f;
    enum renew_format fmt;
    int want_sid;                      /* the template takes the SID from the operator */
    FILE *out;
    size_t n;
};

/* The principal: the first UPN, else the first DNS name, else the subject. */
static void principal_of(const struct cert_rec *r, char *out, size_t n)
{
    const char *kinds[] = { "upn:", "dns:" };

    for (size_t k = 0; k < 2; k++)
        for (const char *p = r->sans ? r->sans : ""; *p;) {
            size_t len = strcspn(p, "\n");
            if (strncmp(p, kinds[k], 4) == 0) {
                snprintf(out, n, "%.*s", (int)(len - 4), p + 4);
                return;
            }
            p += len + (p[len] == '\n');
        }
    snprintf(out, n, "%s", r->subject ? r->subject : "");
}

/* Append s to the command, single-quoted for the shell unless it is plainly safe. */
static void shell_arg(FILE *f, const char *s)
{
    fputc(' ', f);
    if (s[0] && s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                            "._@:=/+-,")] == '\0') {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (; *s; s++)
        fputs(*s == '\'' ? "'\\''" : (char[]){ *s, 0 }, f);
    fputc('\'', f);
}

/* "offca sign --ca CA --template T --csr P.csr --san ... [--sid SID] -o P.pem" (malloc'd). */
static char *reissue_command(const struct ren_ctx *c, const struct cert_rec *r, const char *who)
{
    char *cmd = NULL, file[600];
    size_t len = 0;
    FILE *f = open_memstream(&cmd, &len);

    if (f == NULL)
        return NULL;
    fputs("offca sign --ca", f);
    shell_arg(f, r->ca);
    fputs(" --template", f);
    shell_arg(f, r->template_name);
    snprintf(file, sizeof(file), "%s.csr", who);
    fputs(" --csr", f);
    shell_arg(f, file);
    for (const char *p = r->sans ? r->sans : ""; *p;) {
        size_t n = strcspn(p, "\n");
        char one[4096];
        snprintf(one, sizeof(one), "%.*s", (int)n, p);
        if (strncmp(one, "uri:" SID_URL_PREFIX, 4 + strlen(SID_URL_PREFIX)) != 0) {
            fputs(" --san", f);                /* the SID URL comes from the template again */
            shell_arg(f, one);
        }
        p += n + (p[n] == '\n');
    }
    if (c->want_sid && r->sid) {
        fputs(" --sid", f);
        shell_arg(f, r->sid);
    }
    snprintf(file, sizeof(file), "%s.pem", who);
    fputs(" -o", f);
    shell_arg(f, file);
    return fclose(f) == 0 ? cmd : (free(cmd), NULL);
}

static int ren_one(void *arg, const struct cert_rec *r)
{
    struct ren_ctx *c = arg;
    char who[512], hex[2 * MAX_STORE_SERIAL + 1], na[32], *cmd;

    if (!inv_match(&c->f, r))
        return 1;
    principal_of(r, who, sizeof(who));
    serial_hex(r->serial, r->serial_len, hex);
    time_iso(r->not_after, na);
    if ((cmd = reissue_command(c, r, who)) == NULL)
        return 0;
    if (c->fmt == RENEW_TEXT) {
        fprintf(c->out, "%s  %s  %s  %s%s%s\n  %s\n", na, r->ca, hex, who, r->sid ? "  " : "",
                r->sid ? r->sid : "", cmd);
    } else if (c->fmt == RENEW_CSV) {
        inv_csv_field(c->out, r->ca);
        fprintf(c->out, ",%s,%s,", hex, na);
        inv_csv_field(c->out, who);
        fputc(',', c->out);
        inv_csv_field(c->out, r->sid);
        fputc(',', c->out);
        inv_csv_field(c->out, cmd);
        fputc('\n', c->out);
    } else {
        fputs(c->n ? ",\n{" : "\n{", c->out);
        json_kv(c->out, 1, "ca", r->ca);
        json_kv(c->out, 0, "serial", hex);
        json_kv(c->out, 0, "not_after", na);
        json_kv(c->out, 0, "principal", who);
        json_kv(c->out, 0, "sid", r->sid);
        json_kv(c->out, 0, "command", cmd);
        fputc('}', c->out);
    }
    free(cmd);
    c->n++;
    return 1;
}

/* The list into buf (one read transaction). 0 or the exit class (reported). */
static int ren_build(struct store *st, struct ren_ctx *c, char **buf, size_t *len)
{
    struct store_txn *t;
    struct ca_rec cr;
    int ok, got;

    if ((t = store_txn_begin(st, 0)) == NULL)
        return fail_store();
    if (c->f.ca && (got = store_ca_get(t, c->f.ca, &cr)) <= 0) {
        store_txn_abort(t);
        if (got < 0)
            return fail_store();
        report("report --ca %s: CA '%s' is not in the store; see 'offca ca list'", c->f.ca,
               c->f.ca);
        return EXIT_USAGE;
    }
    if (c->f.ca)
        ca_rec_clear(&cr);
    if ((c->out = open_memstream(buf, len)) == NULL) {
        store_txn_abort(t);
        report("report --renewals: out of memory; free memory and retry");
        return EXIT_SYSTEM;
    }
    if (c->fmt == RENEW_CSV)
        fputs("ca,serial,not_after,principal,sid,command\n", c->out);
    else if (c->fmt == RENEW_JSON)
        fputc('[', c->out);
    ok = store_cert_foreach_expiring(t, c->f.until, ren_one, c);
    store_txn_abort(t);
    if (c->fmt == RENEW_JSON)
        fputs(c->n ? "\n]\n" : "]\n", c->out);
    if (fclose(c->out) != 0 || !ok)
        return store_error()[0] ? fail_store() : EXIT_SYSTEM;
    return 0;
}

/* `offca report --renewals` (see revoke.h). */
int renewals_list(struct store *st, const struct tmpl_set *ts, const char *ca, const char *tmpl,
                  int days, enum renew_format fmt, const char *out, int force)
{
    struct ren_ctx c;
    const struct tmpl *t;
    char *buf = NULL;
    size_t len = 0;
    int rc;

    memset(&c, 0, sizeof(c));
    if ((t = tmpl_set_find(ts, tmpl)) == NULL)
        return fail_tmpl();
    c.want_sid = tmpl_sid_source(t) == SID_SRC_OPERATOR && tmpl_sid_policy(t) != SID_FORBIDDEN;
    c.fmt = fmt;
    c.f.ca = ca;
    c.f.template_name = tmpl;
    c.f.status = INV_VALID;
    c.f.now = ca_now();
    c.f.until = c.f.now + (time_t)days * 86400;
    if ((rc = ren_build(st, &c, &buf, &len)) == 0)
        rc = file_write(out ? out : "-", buf, len, 0600, force);
    if (rc == 0 && out && strcmp(out, "-"))
        printf("report %s: %zu certificates of template %s expire within %d days\n", out, c.n,
               tmpl, days);
    free(buf);
    return rc;
}
