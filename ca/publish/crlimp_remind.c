/*
 * crlimp_remind.c — `offca doctor` on the issuing machine: when is the next root ceremony due?
 * For each parent that lives on another machine, the last root CRL available here (published,
 * or pre-signed and waiting) runs out at its Next CRL Publish (its nextUpdate when it has none):
 * a warning [publish] ceremony_warn_days before that, naming the date; an error once the
 * published one is past its nextUpdate (NPS refuses every logon through the issuing CA).
 */
#include "ca/publish/publish.h"

#include <stdio.h>
#include <string.h>

#include "ca/common/common.h"
#include "ca/issue/issue.h"
#include "crl/crl.h"

static const char RULE[] = "root ceremony (imported root CRL)";
static const char FIX_CEREMONY[] =
    "on the root machine: offca crl publish --ca ROOT --force --out DIR, then offca crl "
    "presign --ca ROOT --count N --out DIR; here: offca crl import DIR/*.crl";

/* One parent's findings. */
static void remind_one(struct doctor_report *rep, const struct crlimp_parent *p,
                       const struct crlimp_horizon *h, int warn_days, time_t now)
{
    char by[32], nu[32], from[32];

    time_iso(h->ceremony_by, by);
    time_iso(h->pub_next_update, nu);
    time_iso(h->ceremony_by - (time_t)warn_days * 86400, from);
    if (!h->any || h->pub_number == 0) {
        /* info only: a root with web servers of its own (AD CS) publishes its CRL itself; when
         * the CDP points here, the chain check above already reports the missing file */
        doctor_add(rep, DOCTOR_INFO, p->label, RULE, "offca crl import FILE (the root's CRL, "
                   "carried from the root machine), unless the root publishes it itself",
                   "no CRL of this root is published here (%s)",
                   p->n_files ? p->files[0] : "no CDP");
    } else if (now >= h->pub_next_update) {
        doctor_add(rep, DOCTOR_ERROR, p->label, RULE, FIX_CEREMONY, "root CRL #%llu expired at "
                   "%s: NPS refuses every logon through the issuing CA (reason 258); the root "
                   "ceremony is overdue", (unsigned long long)h->pub_number, nu);
    } else if (now >= h->ceremony_by - (time_t)warn_days * 86400) {
        doctor_add(rep, DOCTOR_WARN, p->label, RULE, FIX_CEREMONY, "the root ceremony must happen "
                   "by %s: the last root CRL here (#%llu, %zu pre-signed waiting) reaches its "
                   "Next CRL Publish then", by, (unsigned long long)h->last_number, h->waiting);
    } else {
        doctor_add(rep, DOCTOR_OK, p->label, RULE, "", "root CRL #%llu published (nextUpdate "
                   "%s); with the last one here, #%llu (%zu pre-signed waiting), the ceremony is "
                   "due by %s (warnings from %s)", (unsigned long long)h->pub_number, nu,
                   (unsigned long long)h->last_number, h->waiting, by, from);
    }
}

/* See publish.h. */
int crlimp_doctor(struct store_txn *t, int warn_days, time_t now, struct doctor_report *rep)
{
    static struct crlimp_parents ps;
    struct crlimp_horizon h;
    int rc = crlimp_parents_load(t, &ps);

    for (size_t i = 0; rc == 0 && i < ps.n; i++) {
        if (!crlimp_horizon_get(t, ps.p[i].id, &h))
            rc = fail_store();
        else
            remind_one(rep, &ps.p[i], &h, warn_days, now);
    }
    crlimp_parents_free(&ps);
    return rc;
}
