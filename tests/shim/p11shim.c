/*
 * p11shim.c — a test-only PKCS#11 module that wraps another one (SoftHSM by default) and
 * misbehaves on command, to test what SoftHSM cannot show:
 *   P11SHIM_TARGET=/path/module.so   the module to wrap (default SoftHSM's)
 *   P11SHIM_TOKEN_FLAGS=final_try|locked|count_low   OR'ed into C_GetTokenInfo's flags
 *   P11SHIM_FAIL_SIGN_AFTER=N        C_Sign returns CKR_DEVICE_ERROR after N good signatures
 *   P11SHIM_LOG=FILE                 append every C_Login's user type, PIN length (never the
 *                                    PIN) and return value, and every C_Sign, to FILE (tests
 *                                    count the calls)
 * Never built into offca; used by tests/integration only.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST shim;
static CK_FUNCTION_LIST_PTR real;
static long signs_done;

static void shim_log(const char *what, unsigned long a)
{
    const char *path = getenv("P11SHIM_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;

    if (f) {
        fprintf(f, "%s %lu\n", what, a);
        fclose(f);
    }
}

static CK_RV shim_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
    const char *flags = getenv("P11SHIM_TOKEN_FLAGS");
    CK_RV rv = real->C_GetTokenInfo(slot, info);

    if (rv == CKR_OK && flags) {
        if (strstr(flags, "final_try"))
            info->flags |= CKF_USER_PIN_FINAL_TRY;
        if (strstr(flags, "locked"))
            info->flags |= CKF_USER_PIN_LOCKED;
        if (strstr(flags, "count_low"))
            info->flags |= CKF_USER_PIN_COUNT_LOW;
    }
    return rv;
}

static CK_RV shim_login(CK_SESSION_HANDLE s, CK_USER_TYPE who, CK_UTF8CHAR_PTR pin, CK_ULONG n)
{
    CK_RV rv;

    shim_log("C_Login user", (unsigned long)who);
    shim_log("C_Login pinlen", (unsigned long)n);
    rv = real->C_Login(s, who, pin, n);
    shim_log("C_Login rv", (unsigned long)rv);
    return rv;
}

static CK_RV shim_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
                       CK_ULONG_PTR siglen)
{
    const char *after = getenv("P11SHIM_FAIL_SIGN_AFTER");

    shim_log("C_Sign", (unsigned long)signs_done);
    if (after && signs_done >= atol(after))
        return CKR_DEVICE_ERROR;
    if (sig)
        signs_done++;
    return real->C_Sign(s, data, len, sig, siglen);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    const char *target = getenv("P11SHIM_TARGET");
    CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
    void *h;

    if (real == NULL) {
        h = dlopen(target ? target : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
        if (h == NULL || (get = (CK_RV(*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(h, "C_GetFunctionList"))
                             == NULL || get(&real) != CKR_OK)
            return CKR_GENERAL_ERROR;
        shim = *real;
        shim.C_GetTokenInfo = shim_get_token_info;
        shim.C_Login = shim_login;
        shim.C_Sign = shim_sign;
    }
    *out = &shim;
    return CKR_OK;
}
