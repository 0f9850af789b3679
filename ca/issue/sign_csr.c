/*
 * sign_csr.c — `offca sign --csr`: one request, from the file to the certificate in place.
 * The steps, each a function of its own file: recover what an interrupted run for the same -o
 * FILE left (sign_out.c), the request parsed and gated (csr.c), policy, key checks and the
 * signature (issue_prepare), the output staged next to FILE, the certificate recorded
 * (issue_record, one transaction), then the output moved into place.
 */
#include "ca/issue/issue.h"

#include <string.h>

#include "base/faultpoint.h"
#include "ca/common/common.h"
#include "ca/issue/issue_int.h"

/* One CSR: recover what an interrupted run for the same -o FILE left (sign_out.c), check and
 * sign, stage the output, record, then move the output into place. */
int sign_csr(struct store *store, struct hsm *h, const struct config *cfg, struct ca_signer *s,
             const struct tmpl *t, const struct sign_csr_req *o)
{
    struct csr *csr = NULL;
    X509_NAME *subj = NULL;
    struct tmpl_request in;
    struct issued is;
    struct file_staged *st = NULL;
    int rc, recovered = 0, to_file = o->out != NULL && strcmp(o->out, "-") != 0;

    memset(&is, 0, sizeof(is));
    if ((rc = sign_out_check(o->out, "sign -o")) != 0)
        return rc;
    if ((rc = csr_load(o->csr, &csr)) != 0)
        return rc;
    if (to_file) {
        struct sign_out_req q = {o->out, o->der, 0, csr->pubkey, NULL};

        if ((rc = sign_out_recover(store, &q, &recovered)) != 0 || recovered)
            goto out;
    }
    if (o->subject && (subj = dn_parse(o->subject)) == NULL) {
        rc = fail_tmpl();
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.source = o->csr;
    in.csr_subject = X509_REQ_get_subject_name(csr->req);
    in.pubkey = csr->pubkey;
    in.csr_sig_sha1 = csr->sig_sha1;
    in.csr_exts = csr->exts;
    in.subject_override = subj;
    in.op_sans = o->sans->v;
    in.n_op_sans = o->sans->n;
    in.op_sid = o->sid;
    in.days = o->days;
    if ((rc = issue_prepare(store, h, cfg, s, t, &in, &csr->key, &is)) != 0 ||
        (to_file && (rc = sign_out_stage(&is, o->out, o->der, &st)) != 0))
        goto out;
    FAULTPOINT("sign.staged", o->out ? o->out : "-");
    if ((rc = issue_record(store, &is, 1)) != 0)
        goto out;
    FAULTPOINT("sign.committed", o->out ? o->out : "-");
    if (!to_file)
        rc = sign_out_issued(&is, "-", o->der);
    else if ((rc = file_staged_place(st)) != 0)
        sign_out_unwritten(&is.rec, o->out, NULL);
out:
    file_staged_free(st);
    issued_clear(&is);
    X509_NAME_free(subj);
    csr_free(csr);
    return rc;
}
