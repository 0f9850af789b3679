/*
 * pfx.h — the PKCS flow (Intune PKCS profiles): the subscriber key is made here, in software,
 * used once and never stored; the certificate and key leave as PKCS#12.
 */
#ifndef OFFCA_PFX_H
#define OFFCA_PFX_H

#include <stddef.h>

struct ca_signer;
struct config;
struct hsm;
struct store;
struct tmpl;
struct san;

#define MAX_PFX_PASS 1024

struct pfx_req {
    const char *alg;              /* "rsa2048" | "rsa3072" | "rsa4096" | "p256" | "p384" */
    const char *subject;          /* RFC 4514 */
    const struct san *sans;
    size_t n_sans;
    const char *sid;
    int days;
    const char *out;              /* .p12 path, written 0600 */
    const char *pass_file;        /* or NULL: $OFFCA_PFX_PASS, else a prompt */
};

/* Generate, issue (same pipeline as a CSR) with CA s in the token h, record in store, then write
 * PKCS#12 protected with AES-256-CBC + PBKDF2 (HMAC-SHA256) and a SHA-256 MAC. 0 or the exit
 * class (reported). */
int pfx_issue(struct store *store, struct hsm *h, const struct config *cfg, struct ca_signer *s,
              const struct tmpl *t, const struct pfx_req *r);

#endif
