/*
 * signer.c — open a CA for signing: store record + certificate + token key + scheme.
 */
#include "ca/issue.h"

#include <string.h>

#include "ca/app.h"

int ca_name_check(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > MAX_CA_NAME || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                                                  "tuvwxyz0123456789_-") != n) {
        report("CA name '%s': names are 1 to %d characters of A-Z a-z 0-9 _ -; they become file "
               "names in the publish directory and URLs; choose another", name, MAX_CA_NAME);
        return EXIT_USAGE;
    }
    return 0;
}

static int signer_lookup(struct app *a, const char *name, struct ca_signer *s)
{
    struct store_txn *t = store_txn_begin(a->store, 0);
    int found;

    if (t == NULL)
        return fail_store();
    found = store_ca_get(t, name, &s->rec);
    store_txn_abort(t);
    if (found < 0)
        return fail_store();
    if (found == 0) {
        report("CA '%s': not in the store; see 'offca ca list' for the CAs there", name);
        return EXIT_USAGE;
    }
    if (s->rec.state == CA_PENDING) {
        report("CA '%s': waiting for its certificate ('offca ca csr' was run); import it with "
               "'offca ca import %s --cert FILE --chain FILE'", name, name);
        return EXIT_USAGE;
    }
    if (s->rec.state == CA_RETIRED) {
        report("CA '%s': retired; it no longer signs", name);
        return EXIT_POLICY;
    }
    return 0;
}

int ca_signer_open(struct app *a, const char *name, struct ca_signer *s)
{
    struct hsm_key_info info;
    int rc;

    memset(s, 0, sizeof(*s));
    if ((rc = app_store(a, 0)) != 0 || (rc = signer_lookup(a, name, s)) != 0)
        goto fail;
    if ((s->cert = der_to_x509(s->rec.cert_der, s->rec.cert_len)) == NULL) {
        report("CA '%s': the stored certificate does not parse; the store may be damaged: run "
               "'offca audit verify'", name);
        rc = EXIT_SYSTEM;
        goto fail;
    }
    if ((rc = app_hsm(a)) != 0)
        goto fail;
    s->cfg = config_ca(a->cfg, name);
    if ((s->key = hsm_key_load(a->hsm, s->rec.key_uri, s->cfg->allow_extractable_key,
                               &info)) == NULL) {
        rc = fail_hsm();
        goto fail;
    }
    if (info.extractable || !info.sensitive)
        report_warn("CA '%s': key %s is extractable or not sensitive (allowed by "
                    "allow_extractable_key); move the CA to a non-extractable key", name,
                    s->rec.key_uri);
    if (!hsm_sig_parse(s->rec.sig, &s->sig)) {
        rc = fail_hsm();
        goto fail;
    }
    s->hash = s->rec.hash;
    return 0;
fail:
    ca_signer_close(s);
    return rc;
}

void ca_signer_close(struct ca_signer *s)
{
    X509_free(s->cert);
    EVP_PKEY_free(s->key);
    ca_rec_clear(&s->rec);
    memset(s, 0, sizeof(*s));
}
