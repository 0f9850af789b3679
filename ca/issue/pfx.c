/*
 * pfx.c — server-side key generation and PKCS#12 output (AES-256-CBC, PBKDF2, SHA-256 MAC;
 * never RC2 or 3DES). The password comes from a 0600 file, $OFFCA_PFX_PASS, or a no-echo prompt,
 * and is wiped after use.
 */
#include "ca/issue/issue.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>

#include "base/faultpoint.h"
#include "ca/common/common.h"
#include "ca/issue/issue_int.h"

#define PFX_ITER 600000            /* PBKDF2 iterations (OWASP 2023 guidance for SHA-256) */

static EVP_PKEY *gen_key(const char *alg)
{
    if (strcmp(alg, "rsa2048") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (strcmp(alg, "rsa3072") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    if (strcmp(alg, "rsa4096") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
    if (strcmp(alg, "p256") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (strcmp(alg, "p384") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    return NULL;
}

static int read_pass_file(const char *path, char *buf, size_t n)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t r;

    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        report("%s: PKCS#12 password file must be a regular file with mode 0600 or stricter; "
               "chmod 600 %s", path, path);
        if (fd >= 0)
            close(fd);
        return EXIT_INPUT;
    }
    r = read(fd, buf, n - 1);
    close(fd);
    if (r <= 0) {
        report("%s: PKCS#12 password file is empty; write the password into it", path);
        return EXIT_INPUT;
    }
    buf[r] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int prompt_pass(char *buf, size_t n)
{
    struct termios old, noecho;
    FILE *tty = fopen("/dev/tty", "r+");
    int ok = 0;

    if (tty == NULL) {
        report("PKCS#12 password: no --pfx-pass-file, no $OFFCA_PFX_PASS and no terminal to "
               "prompt on; give one of them");
        return EXIT_USAGE;
    }
    fputs("PKCS#12 password: ", tty);
    fflush(tty);
    if (tcgetattr(fileno(tty), &old) == 0) {
        noecho = old;
        noecho.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
        ok = fgets(buf, (int)n, tty) != NULL;
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
    }
    fputc('\n', tty);
    fclose(tty);
    buf[strcspn(buf, "\r\n")] = '\0';
    return ok ? 0 : EXIT_USAGE;
}

static int get_pass(const char *file, char *buf, size_t n)
{
    const char *env = getenv("OFFCA_PFX_PASS");
    int rc;

    if (file)
        rc = read_pass_file(file, buf, n);
    else if (env && *env)
        rc = snprintf(buf, n, "%s", env) >= (int)n ? EXIT_INPUT : 0;
    else
        rc = prompt_pass(buf, n);
    if (rc == 0 && strlen(buf) < 8) {
        report("PKCS#12 password: shorter than 8 characters; choose a longer one");
        rc = EXIT_POLICY;
    }
    return rc;
}

static unsigned char *pfx_der(EVP_PKEY *key, X509 *cert, X509 *ca, const char *pass, size_t *len)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    PKCS12 *p12 = NULL;
    unsigned char *der = NULL;
    int n;

    if (chain == NULL || !sk_X509_push(chain, ca))
        goto out;
    p12 = PKCS12_create_ex(pass, NULL, key, cert, chain, NID_aes_256_cbc, NID_aes_256_cbc,
                           PFX_ITER, -1, 0, NULL, NULL);
    if (p12 == NULL || !PKCS12_set_mac(p12, pass, -1, NULL, 0, PFX_ITER, EVP_sha256()))
        goto out;
    if ((n = i2d_PKCS12(p12, &der)) > 0)
        *len = (size_t)n;
    else
        der = NULL;
out:
    PKCS12_free(p12);
    sk_X509_free(chain);
    return der;
}

/* Stage the PKCS#12 next to out, named after the serial, and flush it, before the certificate
 * is recorded: once recorded, the file must exist (it holds the only copy of the key); a
 * directory that is read-only or full refuses the request while nothing is issued. */
static int pfx_stage(const struct issued *is, const char *out, const unsigned char *der,
                     size_t len, struct file_staged **st)
{
    char hex[2 * MAX_STORE_SERIAL + 1];
    int rc;

    serial_hex(is->rec.serial, is->rec.serial_len, hex);
    if ((rc = file_stage_flushed(out, hex, der, len, 0600, st)) != 0)
        report("%s: the PKCS#12 could not be written next to it; nothing was issued; free space "
               "or fix the directory, then run the command again", out);
    return rc;
}

int pfx_issue(struct store *store, struct hsm *h, const struct config *cfg, struct ca_signer *s,
              const struct tmpl *t, const struct pfx_req *r)
{
    char pass[MAX_PFX_PASS];
    EVP_PKEY *key = NULL;
    X509_NAME *subj = NULL;
    struct tmpl_request in;
    struct issued is;
    unsigned char *der = NULL;
    size_t len = 0;
    struct file_staged *st = NULL;
    struct sign_out_req q = {r->out, 0, 1, NULL, NULL};
    int rc, recovered = 0;

    memset(&is, 0, sizeof(is));
    if (access(r->out, F_OK) == 0) {
        report("%s: exists; remove it or choose another --pfx (nothing was issued)", r->out);
        return EXIT_USAGE;
    }
    if (!tmpl_key_alg_allowed(t, r->alg))
        return fail_tmpl();
    if ((subj = dn_parse(r->subject)) == NULL)
        return fail_tmpl();
    q.subject = subj;
    if ((rc = sign_out_recover(store, &q, &recovered)) != 0 || recovered)
        goto out;
    if ((rc = get_pass(r->pass_file, pass, sizeof(pass))) != 0)
        goto out;
    rc = EXIT_SYSTEM;
    if ((key = gen_key(r->alg)) == NULL) {
        report("--generate-key %s: key generation failed: %s", r->alg, ossl_errstr());
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.source = r->out;
    in.csr_subject = subj;
    in.pubkey = key;
    in.op_sans = r->sans;
    in.n_op_sans = r->n_sans;
    in.op_sid = r->sid;
    in.days = r->days;
    if ((rc = issue_prepare(store, h, cfg, s, t, &in, NULL, &is)) != 0)
        goto out;
    if ((der = pfx_der(key, is.cert, s->cert, pass, &len)) == NULL) {
        report("%s: building the PKCS#12 failed: %s", r->out, ossl_errstr());
        rc = EXIT_SYSTEM;
        goto out;
    }
    if ((rc = pfx_stage(&is, r->out, der, len, &st)) != 0)
        goto out;
    FAULTPOINT("sign.staged", r->out);
    if ((rc = issue_record(store, &is, 1)) != 0)
        goto out;
    FAULTPOINT("sign.committed", r->out);
    if ((rc = file_staged_place(st)) != 0) {
        sign_out_unwritten(&is.rec, r->out, file_staged_tmp(st));
        file_staged_keep(st);     /* the only copy of the key: never removed */
        st = NULL;
    }
out:
    file_staged_free(st);
    OPENSSL_cleanse(pass, sizeof(pass));
    if (der) {
        OPENSSL_cleanse(der, len);
        OPENSSL_free(der);
    }
    issued_clear(&is);
    EVP_PKEY_free(key);
    X509_NAME_free(subj);
    return rc;
}
