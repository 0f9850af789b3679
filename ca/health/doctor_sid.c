/*
 * doctor_sid.c — `offca doctor`'s directory check: a valid certificate whose SID extension
 * (1.3.6.1.4.1.311.25.2) is not the SID the directory now has for its UPN or DNS name. The
 * account was deleted and re-created (a new SID, MS-DTYP 2.4.2): a domain controller enforcing
 * strong certificate mapping maps the certificate to the old, dead SID and refuses the logon.
 */
#include "ca/health/health.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ca/issue/issue.h"
#include "ca/store/store.h"
#include "crl/crl.h"
#include "templates/template.h"

#define DOCTOR_NAME_MAX 520             /* "upn:" + a directory name (the store keeps 400 bytes) */

struct sid_ctx {
    struct store_txn *t;
    const char *only;                     /* one CA, or NULL */
    time_t now;
    struct doctor_report *rep;
    int failed;                           /* a store error */
};

/* The first UPN or DNS name of sans ("dns:a\nupn:b") whose directory SID is not sid: 1 found
 * (kind, name, dirsid filled), 0 none, -1 store error. */
static int sid_mismatch(struct store_txn *t, const char *sans, const char *sid, char *name,
                        size_t nlen, char *dirsid, size_t slen)
{
    const char *p = sans, *nl;

    for (; p && *p; p = nl ? nl + 1 : NULL) {
        size_t len;
        int r;

        nl = strchr(p, '\n');
        len = nl ? (size_t)(nl - p) : strlen(p);
        if (len < 5 || len >= nlen || (strncmp(p, "upn:", 4) != 0 && strncmp(p, "dns:", 4) != 0))
            continue;
        memcpy(name, p, len);
        name[len] = '\0';
        name[3] = '\0';                   /* "upn\0alice@..." : kind, then the name */
        r = store_dir_lookup(t, name, name + 4, dirsid, slen);
        name[3] = ':';
        if (r < 0)
            return -1;
        if (r == 1 && strcasecmp(dirsid, sid) != 0)
            return 1;
    }
    return 0;
}

static int sid_one(void *arg, const struct cert_rec *r)
{
    struct sid_ctx *c = arg;
    char name[DOCTOR_NAME_MAX], dirsid[MAX_SID_CHARS + 1], serial[2 * MAX_STORE_SERIAL + 1];
    char cert[MAX_CA_NAME + 2 * MAX_STORE_SERIAL + 2], fix[512];
    int m;

    if ((c->only && strcmp(c->only, r->ca) != 0) || r->status != CERT_VALID ||
        r->not_after <= c->now || r->sid == NULL || r->sans == NULL)
        return 1;
    if ((m = sid_mismatch(c->t, r->sans, r->sid, name, sizeof(name), dirsid,
                          sizeof(dirsid))) < 0) {
        c->failed = 1;
        return 0;
    }
    if (m == 0)
        return 1;
    serial_hex(r->serial, r->serial_len, serial);
    snprintf(cert, sizeof(cert), "%s/%s", r->ca, serial);
    snprintf(fix, sizeof(fix), "reissue with a new request: offca sign --ca %s --template %s "
             "--csr NEW.csr (the directory gives the new SID), then revoke this one: offca "
             "revoke --ca %s --serial %s --reason superseded", r->ca,
             r->template_name ? r->template_name : "TEMPLATE", r->ca, serial);
    doctor_add(c->rep, DOCTOR_ERROR, cert, "directory SID (strong certificate mapping)", fix,
               "its SID %s is not the directory's %s for %s: the account was re-created; a "
               "domain controller maps this certificate to the old SID and refuses the logon",
               r->sid, dirsid, name);
    return 1;
}

/* Add a finding for each valid certificate (of CA only, or all) whose SID differs from the
 * directory's SID for its UPN or DNS name. 1 ok / 0 store error (store_error). */
int doctor_dir_sid_check(struct store_txn *t, const char *only, time_t now,
                     struct doctor_report *rep)
{
    struct sid_ctx c = { t, only, now, rep, 0 };

    if (store_dir_count(t) == 0)
        return 1;
    return store_cert_foreach(t, NULL, sid_one, &c) && !c.failed;
}
