/*
 * ca_renew.h — renewing a CA (same key or new key, root rollover with link certificates) and
 * retiring one.
 */
#ifndef OFFCA_CA_RENEW_H
#define OFFCA_CA_RENEW_H

struct config;
struct hsm;
struct store;

struct ca_renew_req {
    const char *name;
    const char *new_key;          /* NULL: --same-key */
    int days;                     /* 0: default (capped by the parent) */
};

/* Renew the CA: the new generation in ONE write transaction (CA record, generations, the
 * certificate under the parent, link certificates for a root with a new key, audit). Prints a
 * summary; the command then writes its certificate files into the publish directory
 * (publish_ca_certs). h may be deferred: the token is opened (the PIN asked) only once the CA
 * was found renewable. 0 or the exit class. */
int ca_renew(struct store *st, struct hsm *h, const struct config *cfg,
             const struct ca_renew_req *r);

/* Retire the CA: no more issuance (sign and the renewal of its children are refused with the
 * reason); `crl publish` keeps each key generation's CRL fresh while its certificates live, then
 * one final CRL. One write transaction with the audit record. 0 or the exit class. */
int ca_retire(struct store *st, const char *name);

#endif
