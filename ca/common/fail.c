/*
 * fail.c — a leaf's failure turned into one report and an exit class, and the OpenSSL queue as
 * text. Every room of ca/ reports through these (the store's own: store_fail.c).
 */
#include "ca/common/common.h"

#include "base/err.h"
#include "crl/crl.h"
#include "hsm/hsm.h"
#include "templates/template.h"

int fail_with(const char *msg, int code, int fallback)
{
    report("%s", msg && *msg ? msg : "internal error without a message; please report it");
    return code > 0 ? code : fallback;
}

int fail_hsm(void) { return fail_with(hsm_error(), hsm_error_code(), EXIT_SYSTEM); }
int fail_tmpl(void) { return fail_with(tmpl_error(), tmpl_error_code(), EXIT_INPUT); }
int fail_crl(void) { return fail_with(crl_error(), crl_error_code(), EXIT_SYSTEM); }
const char *ossl_errstr(void)
{
    static _Thread_local char buf[1024];   /* --workers threads report concurrently */

    base_ossl_drain(buf, sizeof(buf));
    return buf[0] ? buf : "no detail from OpenSSL";
}
