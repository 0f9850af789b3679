/*
 * p11.c — PKCS#11 module, token, session, login, objects, keygen and sign. The ONLY file in
 * offca that calls C_* functions (PKCS#11 v2.40 base specification). CK_RV codes are turned
 * into "<object>: <rule>: <problem>; <what to do>" text here and go no further.
 */
#include "hsm/hsm.h"
#include "hsm/hsm_err.h"
#include "hsm/p11.h"
#include "hsm/trust.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#define MAX_P11_MODULES 4          /* distinct modules one process may have open */

/* Session pool: session 0 is opened first and logged in; helper
 * sessions are opened on demand, one per concurrent caller, and are logged in already (login
 * state is per application and token). Helpers are closed, never logged out: C_Logout on any
 * session logs them all out. An operation takes an idle session for its whole C_*Init..C_*Final
 * sequence and gives it back; the pool lock is never held across a C_* call that does work. */
struct p11 {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE sess[MAX_P11_SESSIONS];
    int busy[MAX_P11_SESSIONS];
    size_t n_sess;                 /* sess[0..n_sess) are open */
    size_t max_sess;               /* limit for this handle (token's max, or MAX_P11_SESSIONS) */
    pid_t pid;
    pthread_mutex_t lock;          /* guards sess/busy/n_sess */
    pthread_cond_t idle;           /* signalled when a session is given back */
    char module[256];
    char label[33];
    char serial[17];
    char want_label[HSM_MAX_LABEL + 1];  /* what p11_open was asked for ("" = not given) */
    char want_serial[17];
};

/* Module users: C_Finalize only when the last handle on a module closes. */
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { CK_FUNCTION_LIST_PTR f; int refs; } modules[MAX_P11_MODULES];

/* Wrong PINs this process sent, over every handle, CA and session. Once the token has said
 * CKR_PIN_INCORRECT no C_Login is made again until exit: the PIN source is the same for every
 * CA, and a cron run over three CAs would otherwise spend three tries of a real HSM's counter
 * (often its whole limit) in one go. login_lock makes check-and-login one step. */
static pthread_mutex_t login_lock = PTHREAD_MUTEX_INITIALIZER;
static int pins_refused;

struct rv_info { CK_RV rv; const char *name; const char *hint; };

static const struct rv_info rv_table[] = {
    { CKR_OK, "CKR_OK", "" },
    { CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT", "check pin_file or OFFCA_PIN" },
    { CKR_PIN_LOCKED, "CKR_PIN_LOCKED",
      "unlock with the SO PIN: softhsm2-util/pkcs11-tool --init-pin --login --login-type so" },
    { CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED", "change the user PIN with the token's tools" },
    { CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE", "the PIN length is outside the token's range" },
    { CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT", "insert or connect the token" },
    { CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED", "check the module and the token" },
    { CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED", "reconnect the token and retry" },
    { CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR", "check the HSM's health and logs" },
    { CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY", "free space on the token" },
    { CKR_HOST_MEMORY, "CKR_HOST_MEMORY", "the host is out of memory" },
    { CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED", "check the module's log (syslog for SoftHSM)" },
    { CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR", "check the module's configuration and log" },
    { CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD", "report this as an offca bug" },
    { CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID", "the key is gone; reload it by URI" },
    { CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID",
      "the key is gone from the token; check 'offca key list' and the CA's key" },
    { CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT",
      "the key type does not fit the signature scheme" },
    { CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED",
      "the key lacks CKA_SIGN; generate a signing key" },
    { CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE", "the token does not support this key size" },
    { CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID", "re-run offca" },
    { CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED", "re-run offca" },
    { CKR_SESSION_COUNT, "CKR_SESSION_COUNT", "the token has no session left; close other users" },
    { CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY", "the token is write-protected" },
    { CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED", "the token is write-protected" },
    { CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN", "re-run offca to log in again" },
    { CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN", "" },
    { CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED",
      "set the user PIN with the SO PIN: pkcs11-tool --init-pin" },
    { CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID", "report this as an offca bug" },
    { CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID",
      "the token does not support this mechanism; pick another scheme or key type" },
    { CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID",
      "the token refuses these mechanism parameters (hash/MGF/salt)" },
    { CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT", "the token refuses the key template" },
    { CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE", "the token refuses the key template" },
    { CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID", "the object lacks this attribute" },
    { CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID", "the token refuses a value" },
    { CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE", "the attribute is secret" },
    { CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE", "the input is too long for this key" },
    { CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL", "report this as an offca bug" },
    { CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE", "re-run offca" },
    { CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED", "re-run offca" },
    { CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED", "" },
    { CKR_CANT_LOCK, "CKR_CANT_LOCK", "the module cannot do OS locking; use another module" },
    { CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID", "re-run offca" },
    { CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED", "the module lacks this function" },
};

const char *p11_rv_name(CK_RV rv)
{
    size_t i;

    for (i = 0; i < sizeof(rv_table) / sizeof(rv_table[0]); i++)
        if (rv_table[i].rv == rv)
            return rv_table[i].name;
    return NULL;
}

static const char *rv_hint(CK_RV rv)
{
    size_t i;

    for (i = 0; i < sizeof(rv_table) / sizeof(rv_table[0]); i++)
        if (rv_table[i].rv == rv)
            return rv_table[i].hint;
    return "see the module's documentation for this code";
}

/* "token 'x': C_Sign: CKR_DEVICE_ERROR (0x30): failed; check the HSM's health and logs" */
static void rv_seterr(const struct p11 *p, const char *fn, CK_RV rv)
{
    const char *name = p11_rv_name(rv);
    char num[32];

    snprintf(num, sizeof(num), "CKR_0x%08lx", (unsigned long)rv);
    hsm_seterr(HE_SYSTEM, "token '%s': %s: %s: failed; %s", p->label[0] ? p->label : p->module,
               fn, name ? name : num, rv_hint(rv));
}

/* Copy a blank-padded PKCS#11 string into a C string without the padding. */
static void pad_trim(char *dst, size_t dstlen, const unsigned char *src, size_t srclen)
{
    size_t n = srclen < dstlen - 1 ? srclen : dstlen - 1;

    memcpy(dst, src, n);
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
        n--;
    dst[n] = '\0';
}

/* offca never forks after opening the HSM: a child would share sessions with its parent. */
static int p11_fork_check(const struct p11 *p)
{
    if (getpid() == p->pid)
        return 1;
    hsm_seterr(HE_SYSTEM, "token '%s': fork: handle opened by process %ld used in process %ld; "
               "open the HSM after fork(), or spawn helpers with posix_spawn/exec",
               p->label, (long)p->pid, (long)getpid());
    return 0;
}

/* Take an idle session (opening a helper when all are busy and the pool may grow; waiting
 * otherwise). Returns the pool index, or -1 with hsm_error() set. Give it back with sess_put. */
static int sess_get(struct p11 *p)
{
    CK_SESSION_HANDLE h;
    CK_RV rv;
    size_t i;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        for (i = 0; i < p->n_sess; i++)
            if (!p->busy[i]) {
                p->busy[i] = 1;
                pthread_mutex_unlock(&p->lock);
                return (int)i;
            }
        if (p->n_sess < p->max_sess)
            break;
        pthread_cond_wait(&p->idle, &p->lock);
    }
    i = p->n_sess++;               /* reserve the slot, open it without holding the lock */
    p->busy[i] = 1;
    pthread_mutex_unlock(&p->lock);
    rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
    pthread_mutex_lock(&p->lock);
    if (rv == CKR_OK) {
        p->sess[i] = h;
        pthread_mutex_unlock(&p->lock);
        return (int)i;
    }
    /* the token's own session limit: stay at what we have and wait for one (i > 0 here) */
    p->n_sess--;
    p->busy[i] = 0;
    if (rv == CKR_SESSION_COUNT && i > 0) {
        p->max_sess = i;
        pthread_mutex_unlock(&p->lock);
        return sess_get(p);
    }
    pthread_mutex_unlock(&p->lock);
    rv_seterr(p, "C_OpenSession", rv);
    return -1;
}

static void sess_put(struct p11 *p, int i)
{
    pthread_mutex_lock(&p->lock);
    p->busy[i] = 0;
    pthread_cond_signal(&p->idle);
    pthread_mutex_unlock(&p->lock);
}

/* Sessions open in the pool (tests and benchmarks). */
size_t p11_session_count(struct p11 *p)
{
    size_t n;

    pthread_mutex_lock(&p->lock);
    n = p->n_sess;
    pthread_mutex_unlock(&p->lock);
    return n;
}

static int module_ref(CK_FUNCTION_LIST_PTR f, int delta)
{
    int i, refs = -1, slot = -1;

    pthread_mutex_lock(&modules_lock);
    for (i = 0; i < MAX_P11_MODULES; i++) {
        if (modules[i].f == f) { slot = i; break; }
        if (modules[i].f == NULL && slot < 0) slot = i;
    }
    if (slot >= 0) {
        modules[slot].f = f;
        modules[slot].refs += delta;
        refs = modules[slot].refs;
        if (refs <= 0) { modules[slot].f = NULL; modules[slot].refs = 0; }
    }
    pthread_mutex_unlock(&modules_lock);
    return refs;
}

static int module_init(struct p11 *p)
{
    CK_C_INITIALIZE_ARGS args;
    CK_RV rv;

    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    rv = p->f->C_Initialize(&args);
    /* SoftHSM leaves "ENGINE_by_id rdrand" junk in the OpenSSL error queue: drop it. */
    ERR_clear_error();
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        rv_seterr(p, "C_Initialize", rv);
        return 0;
    }
    return 1;
}

/* Start-up retry n (0-based): 25/50/100 ms plus 0..15 ms of jitter, so that processes started
 * together do not rescan in lock step. */
static void start_backoff(int n)
{
    struct timespec now, ts;
    long ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (25L << n) + (long)(((unsigned long)now.tv_nsec ^ (unsigned long)getpid()) % 16);
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* SoftHSM 2.6.1 reads the token directory at C_Initialize: a process doing that while another
 * rewrites token.object may not see the token. Finalize and initialize again, but only when this
 * handle is the module's only user in the process (C_Finalize would close the others' sessions);
 * otherwise the caller only waits and tries again. */
static int module_restart(struct p11 *p)
{
    if (module_ref(p->f, 0) > 1)
        return 1;
    p->f->C_Finalize(NULL);
    return module_init(p);
}

int p11_rv_start_race(CK_RV rv)
{
    return rv == CKR_GENERAL_ERROR;
}

static int p11_module_load(struct p11 *p, const char *module)
{
    CK_C_GetFunctionList getfl;
    struct stat seen;

    snprintf(p->module, sizeof(p->module), "%s", module);
    if (!hsm_trust_module(module, &seen))
        return 0;
    p->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    if (p->dl != NULL && !hsm_trust_same(module, &seen))
        return 0;
    if (p->dl == NULL) {
        hsm_seterr(HE_SYSTEM, "module '%s': dlopen: %s; check hsm.module in ca.toml", module,
                   dlerror());
        return 0;
    }
    *(void **)&getfl = dlsym(p->dl, "C_GetFunctionList");
    if (getfl == NULL || getfl(&p->f) != CKR_OK || p->f == NULL) {
        hsm_seterr(HE_SYSTEM, "module '%s': C_GetFunctionList: missing or failed; "
                   "is this a PKCS#11 module?", module);
        return 0;
    }
    if (!module_init(p)) {
        p->f = NULL;
        return 0;
    }
    module_ref(p->f, +1);
    return 1;
}

static int token_matches(const CK_TOKEN_INFO *ti, const char *label, const char *serial,
                         char *lbuf, size_t lsize, char *sbuf, size_t ssize)
{
    pad_trim(lbuf, lsize, ti->label, sizeof(ti->label));
    pad_trim(sbuf, ssize, ti->serialNumber, sizeof(ti->serialNumber));
    if (label != NULL && strcmp(label, lbuf) != 0)
        return 0;
    return serial == NULL || strcmp(serial, sbuf) == 0;
}

/* Two tokens answer to what ca.toml names (SoftHSM lets two tokens share a label): using either
 * could sign with the wrong CA's key or log in to the wrong token; refused, naming both. */
static int token_ambiguous(struct p11 *p, const char *label, const char *serial,
                           const char *second)
{
    hsm_seterr(HE_USAGE, "module '%s': token %s%s%s: ambiguous: two tokens match (serials %s "
               "and %s); set token_serial in ca.toml to the one that holds the CA keys, or "
               "relabel the other", p->module, label ? "'" : "with serial '",
               label ? label : serial, "'", p->serial, second);
    return 0;
}

/* Find the slot whose token has this label/serial; list the labels present when none does
 * (*missing = 1 then; 0 when the slot list itself failed). */
static int p11_token_find(struct p11 *p, const char *label, const char *serial, CK_SLOT_ID *out,
                          int *missing)
{
    CK_SLOT_ID slots[MAX_P11_SLOTS];
    CK_ULONG n = MAX_P11_SLOTS, i;
    CK_TOKEN_INFO ti;
    char present[1024] = "", want[HSM_MAX_LABEL + 32], l[33], s[17];
    int found = 0;
    CK_RV rv;

    *missing = 0;
    rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK) {
        rv_seterr(p, "C_GetSlotList", rv);
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        if (token_matches(&ti, label, serial, l, sizeof(l), s, sizeof(s))) {
            if (found)
                return token_ambiguous(p, label, serial, s);
            found = 1;
            memcpy(p->label, l, sizeof(p->label));
            memcpy(p->serial, s, sizeof(p->serial));
            *out = slots[i];
            continue;
        }
        snprintf(present + strlen(present), sizeof(present) - strlen(present), "%s'%s' (serial %s)",
                 present[0] ? ", " : "", l, s);
    }
    if (found)
        return 1;
    if (label != NULL)
        snprintf(want, sizeof(want), "'%s'", label);
    else
        snprintf(want, sizeof(want), "with serial '%s'", serial);
    *missing = 1;
    hsm_seterr(HE_SYSTEM, "module '%s': token %s: not found (tokens present: %s); "
               "check token_label/token_serial in ca.toml or initialise the token",
               p->module, want, present[0] ? present : "none");
    return 0;
}

/* Find the token (with the start-up retries: finalize, wait, initialize, rescan) and open
 * session 0 of the pool. */
static int token_attach(struct p11 *p)
{
    const char *label = p->want_label[0] ? p->want_label : NULL;
    const char *serial = p->want_serial[0] ? p->want_serial : NULL;
    int n, missing = 0;
    CK_RV rv;

    for (n = 0; !p11_token_find(p, label, serial, &p->slot, &missing); n++) {
        if (!missing || n == MAX_P11_START_RETRIES)
            return 0;
        start_backoff(n);
        if (!module_restart(p))
            return 0;
    }
    rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                             &p->sess[0]);
    if (rv != CKR_OK) {
        rv_seterr(p, "C_OpenSession", rv);
        return 0;
    }
    p->n_sess = 1;
    return 1;
}

struct p11 *p11_open(const char *module, const char *token_label, const char *token_serial)
{
    struct p11 *p = NULL, *ret = NULL;

    if (module == NULL || (token_label == NULL && token_serial == NULL)) {
        hsm_seterr(HE_USAGE, "hsm: config: module and token_label or token_serial are required; "
                   "set them in ca.toml");
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        hsm_seterr(HE_SYSTEM, "hsm: memory: allocation failed; retry");
        return NULL;
    }
    p->pid = getpid();
    p->max_sess = MAX_P11_SESSIONS;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->idle, NULL);
    snprintf(p->want_label, sizeof(p->want_label), "%s", token_label ? token_label : "");
    snprintf(p->want_serial, sizeof(p->want_serial), "%s", token_serial ? token_serial : "");
    if (!p11_module_load(p, module) || !token_attach(p))
        goto out;
    ret = p;
    p = NULL;
out:
    p11_close(p);
    return ret;
}

static int pin_flags_check(struct p11 *p)
{
    CK_SESSION_INFO si;
    CK_TOKEN_INFO ti;
    CK_RV rv;
    int n;

    if ((rv = p->f->C_GetSessionInfo(p->sess[0], &si)) != CKR_OK) {
        rv_seterr(p, "C_GetSessionInfo", rv);
        return 0;
    }
    /* SoftHSM re-reads token.object here: while another process rewrites it (at its login) the
     * read fails with CKR_GENERAL_ERROR. The same start-up race as at C_Login: wait, try again. */
    for (n = 0; (rv = p->f->C_GetTokenInfo(si.slotID, &ti)) != CKR_OK; n++) {
        if (!p11_rv_start_race(rv) || n == MAX_P11_START_RETRIES) {
            rv_seterr(p, "C_GetTokenInfo", rv);
            return 0;
        }
        start_backoff(n);
    }
    if (ti.flags & CKF_USER_PIN_LOCKED) {
        hsm_seterr(HE_SYSTEM, "token '%s': CKF_USER_PIN_LOCKED: the user PIN is locked, login not "
                   "attempted; unlock with the SO PIN: softhsm2-util --init-pin or pkcs11-tool "
                   "--init-pin --login --login-type so", p->label);
        return 0;
    }
    if (ti.flags & CKF_USER_PIN_FINAL_TRY) {
        hsm_seterr(HE_SYSTEM, "token '%s': CKF_USER_PIN_FINAL_TRY: one more wrong PIN locks the "
                   "token, login not attempted; check the PIN out of band, or reset it with the "
                   "SO PIN: pkcs11-tool --init-pin --login --login-type so", p->label);
        return 0;
    }
    if (!(ti.flags & CKF_USER_PIN_INITIALIZED)) {
        hsm_seterr(HE_SYSTEM, "token '%s': CKF_USER_PIN_INITIALIZED: no user PIN is set; set it "
                   "with the SO PIN: pkcs11-tool --init-pin --login --login-type so", p->label);
        return 0;
    }
    return 1;
}

/* Session 0 again after a start-up race seen by C_Login: close it, restart the module, find
 * the token, open it. Only at login, when session 0 is the pool's only session. */
static int session_restart(struct p11 *p, int n)
{
    p->f->C_CloseSession(p->sess[0]);
    p->n_sess = 0;
    start_backoff(n);
    return module_restart(p) && token_attach(p);
}

/* The error once the PIN was refused in this run; the count is said once, by p11_login. */
static void refused_seterr(const struct p11 *p)
{
    hsm_seterr(HE_SYSTEM, "token '%s': login: not attempted: the token already refused this "
               "run's PIN (above), and a wrong PIN is never sent twice; fix pin_file or "
               "OFFCA_PIN, then re-run", p->label);
}

int p11_login_allowed(const struct p11 *p)
{
    int refused;

    pthread_mutex_lock(&login_lock);
    refused = pins_refused;
    pthread_mutex_unlock(&login_lock);
    if (refused)
        refused_seterr(p);
    return !refused;
}

int p11_login(struct p11 *p, const char *pin, size_t pin_len)
{
    int ok = 0, n;
    CK_RV rv;

    if (!p11_fork_check(p))
        return 0;
    pthread_mutex_lock(&login_lock);
    if (pins_refused) {
        pthread_mutex_unlock(&login_lock);
        refused_seterr(p);
        return 0;
    }
    /* Login happens at open, before any helper session exists: session 0 is idle. */
    pthread_mutex_lock(&p->lock);
    for (n = 0;; n++) {
        if (!pin_flags_check(p))
            goto out;
        /* One attempt per PIN: a wrong PIN costs the operator a try on the token's counter, so
         * only CKR_GENERAL_ERROR (SoftHSM reading a token file being rewritten) is tried again. */
        rv = p->f->C_Login(p->sess[0], CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pin_len);
        if (!p11_rv_start_race(rv) || n == MAX_P11_START_RETRIES || p->n_sess != 1)
            break;
        if (!session_restart(p, n))
            goto out;
    }
    if (rv == CKR_PIN_INCORRECT) {
        pins_refused++;
        hsm_seterr(HE_SYSTEM, "token '%s': CKR_PIN_INCORRECT: wrong PIN (%d attempt%s used in "
                   "total by this run, not retried: no further login until it ends); check "
                   "pin_file or OFFCA_PIN", p->label, pins_refused, pins_refused == 1 ? "" : "s");
        goto out;
    }
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        rv_seterr(p, "C_Login", rv);
        goto out;
    }
    ok = 1;
out:
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&login_lock);
    return ok;
}

void p11_close(struct p11 *p)
{
    if (p == NULL)
        return;
    if (p->f != NULL && p->pid == getpid()) {
        int last = module_ref(p->f, 0) == 1;

        for (size_t i = p->n_sess; i-- > 1;)
            p->f->C_CloseSession(p->sess[i]);  /* helpers: closed, never logged out */
        if (p->n_sess > 0) {
            if (last)
                p->f->C_Logout(p->sess[0]);    /* logs out every session of the token */
            p->f->C_CloseSession(p->sess[0]);
        }
        if (module_ref(p->f, -1) <= 0)
            p->f->C_Finalize(NULL);
    }
    /* Sanitizer builds keep the module mapped so leak reports stay symbolised. */
    if (p->dl != NULL && getenv("OFFCA_SANITIZER") == NULL)
        dlclose(p->dl);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->idle);
    free(p);
}

const char *p11_get0_label(const struct p11 *p) { return p->label; }
const char *p11_get0_serial(const struct p11 *p) { return p->serial; }

int p11_find(struct p11 *p, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out, size_t max,
             size_t *count)
{
    CK_ULONG got = 0;
    CK_RV rv;
    int ok = 0, s;

    if (!p11_fork_check(p) || (s = sess_get(p)) < 0)
        return 0;
    if ((rv = p->f->C_FindObjectsInit(p->sess[s], tmpl, n)) != CKR_OK) {
        rv_seterr(p, "C_FindObjectsInit", rv);
        goto out;
    }
    rv = p->f->C_FindObjects(p->sess[s], out, (CK_ULONG)max, &got);
    p->f->C_FindObjectsFinal(p->sess[s]);
    if (rv != CKR_OK) {
        rv_seterr(p, "C_FindObjects", rv);
        goto out;
    }
    *count = got;
    ok = 1;
out:
    sess_put(p, s);
    return ok;
}

static int attr_read(struct p11 *p, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *a)
{
    CK_RV rv;
    int s;

    if (!p11_fork_check(p) || (s = sess_get(p)) < 0)
        return 0;
    rv = p->f->C_GetAttributeValue(p->sess[s], o, a, 1);
    sess_put(p, s);
    if (rv != CKR_OK || a->ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        rv_seterr(p, "C_GetAttributeValue", rv == CKR_OK ? CKR_ATTRIBUTE_TYPE_INVALID : rv);
        hsm_err_prefix("attribute 0x%lx", (unsigned long)a->type);
        return 0;
    }
    return 1;
}

int p11_attr_get(struct p11 *p, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, unsigned char **val,
                 size_t *len)
{
    CK_ATTRIBUTE a = { type, NULL, 0 };
    unsigned char *buf = NULL;
    int ok = 0;

    if (!attr_read(p, o, &a))
        goto out;
    if (a.ulValueLen > MAX_P11_ATTR) {
        hsm_seterr(HE_SYSTEM, "token '%s': attribute 0x%lx: %lu bytes exceeds MAX_P11_ATTR; "
                   "check the object", p->label, (unsigned long)type, a.ulValueLen);
        goto out;
    }
    if ((buf = OPENSSL_malloc(a.ulValueLen + 1)) == NULL)
        goto out;
    a.pValue = buf;
    if (!attr_read(p, o, &a))
        goto out;
    *val = buf;
    *len = a.ulValueLen;
    buf = NULL;
    ok = 1;
out:
    OPENSSL_free(buf);
    return ok;
}

int p11_attr_bool(struct p11 *p, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, int *out)
{
    CK_BBOOL b = CK_FALSE;
    CK_ATTRIBUTE a = { type, &b, sizeof(b) };

    if (!attr_read(p, o, &a))
        return 0;
    *out = b == CK_TRUE;
    return 1;
}

int p11_attr_ulong(struct p11 *p, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG *out)
{
    CK_ULONG v = 0;
    CK_ATTRIBUTE a = { type, &v, sizeof(v) };

    if (!attr_read(p, o, &a))
        return 0;
    *out = v;
    return 1;
}

int p11_keypair_gen(struct p11 *p, CK_MECHANISM *mech, CK_ATTRIBUTE *pub, CK_ULONG npub,
                    CK_ATTRIBUTE *priv, CK_ULONG npriv)
{
    CK_OBJECT_HANDLE hpub, hpriv;
    CK_RV rv;
    int s;

    if (!p11_fork_check(p) || (s = sess_get(p)) < 0)
        return 0;
    rv = p->f->C_GenerateKeyPair(p->sess[s], mech, pub, npub, priv, npriv, &hpub, &hpriv);
    sess_put(p, s);
    if (rv != CKR_OK) {
        rv_seterr(p, "C_GenerateKeyPair", rv);
        return 0;
    }
    return 1;
}

int p11_sign(struct p11 *p, CK_OBJECT_HANDLE key, CK_MECHANISM *mech, const unsigned char *in,
             size_t inlen, unsigned char *sig, size_t *siglen)
{
    CK_ULONG len = (CK_ULONG)*siglen;
    CK_RV rv;
    int s;

    /* The session is ours from SignInit to Sign: one operation per session at a time, and as
     * many signatures in flight as there are callers (up to the pool's limit). */
    if (!p11_fork_check(p) || (s = sess_get(p)) < 0)
        return 0;
    rv = p->f->C_SignInit(p->sess[s], mech, key);
    if (rv == CKR_OK)
        rv = p->f->C_Sign(p->sess[s], (CK_BYTE_PTR)in, (CK_ULONG)inlen, sig, &len);
    sess_put(p, s);
    if (rv != CKR_OK) {
        rv_seterr(p, "C_Sign", rv);
        return 0;
    }
    *siglen = len;
    return 1;
}
