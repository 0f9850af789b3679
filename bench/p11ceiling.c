/*
 * p11ceiling.c — bench-only: the token's own signing rate, the ceiling for `offca sign --batch`.
 * Raw PKCS#11 through dlopen (no OpenSSL, no offca code): C_Initialize, find the token by label,
 * C_Login once, find the private key by CKA_LABEL, then per signature exactly what offca's
 * provider asks of the token: C_SignInit + C_Sign with CKM_RSA_PKCS over a SHA-256 DigestInfo
 * (51 bytes) for RSA keys, CKM_ECDSA over a 32-byte hash for EC keys. THREADS threads sign at
 * once, one session each (login is per token, shared).
 *
 *   p11ceiling MODULE TOKEN PINFILE KEYLABEL SIGS [THREADS]   -> "<signatures/s> <wall s> <cpu s>"
 *
 * Not part of offca: built by tools/bench-sign.sh.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#define MAX_THREADS 16

static CK_FUNCTION_LIST_PTR f;
static CK_SLOT_ID slot;
static CK_OBJECT_HANDLE key;
static CK_KEY_TYPE ktype;
static long per_thread;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, CK_RV rv)
{
    fprintf(stderr, "p11ceiling: %s: CKR 0x%lx\n", what, (unsigned long)rv);
    exit(4);
}

static void *signer(void *arg)
{
    /* SHA-256 DigestInfo prefix + a fixed hash: the token does the same work for any hash */
    static const unsigned char di[51] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
        0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20, 1, 2, 3 };
    CK_MECHANISM mech = { ktype == CKK_RSA ? CKM_RSA_PKCS : CKM_ECDSA, NULL, 0 };
    CK_SESSION_HANDLE s;
    unsigned char sig[1024];
    CK_RV rv;

    (void)arg;
    if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK)
        die("C_OpenSession", rv);
    for (long i = 0; i < per_thread; i++) {
        CK_ULONG len = sizeof(sig);
        const unsigned char *in = ktype == CKK_RSA ? di : di + 19;
        CK_ULONG inlen = ktype == CKK_RSA ? 51 : 32;

        if ((rv = f->C_SignInit(s, &mech, key)) != CKR_OK)
            die("C_SignInit", rv);
        if ((rv = f->C_Sign(s, (CK_BYTE_PTR)in, inlen, sig, &len)) != CKR_OK)
            die("C_Sign", rv);
    }
    f->C_CloseSession(s);
    return NULL;
}

static void open_token(const char *module, const char *label, const char *pinfile,
                       const char *keylabel, CK_SESSION_HANDLE *login)
{
    CK_C_GetFunctionList gfl;
    CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64, got = 0;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) },
                          { CKA_LABEL, (void *)keylabel, strlen(keylabel) } };
    CK_ATTRIBUTE kt = { CKA_KEY_TYPE, &ktype, sizeof(ktype) };
    char pin[128] = "";
    void *dl = dlopen(module, RTLD_NOW);
    FILE *pf = fopen(pinfile, "r");
    CK_RV rv;

    if (dl == NULL || (*(void **)&gfl = dlsym(dl, "C_GetFunctionList")) == NULL || gfl(&f) != CKR_OK)
        die("dlopen/C_GetFunctionList", 0);
    if ((rv = f->C_Initialize(&args)) != CKR_OK)
        die("C_Initialize", rv);
    if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
        die("C_GetSlotList", rv);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        size_t l = strlen(label);
        if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && l <= 32 &&
            memcmp(ti.label, label, l) == 0 && (l == 32 || ti.label[l] == ' '))
            slot = slots[i];
    }
    if (pf == NULL || fgets(pin, sizeof(pin), pf) == NULL)
        die("pin file", 0);
    fclose(pf);
    pin[strcspn(pin, "\r\n")] = '\0';
    if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, login)) != CKR_OK ||
        (rv = f->C_Login(*login, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin))) != CKR_OK)
        die("C_OpenSession/C_Login", rv);
    if ((rv = f->C_FindObjectsInit(*login, t, 2)) != CKR_OK ||
        (rv = f->C_FindObjects(*login, &key, 1, &got)) != CKR_OK || got != 1)
        die("find key", rv);
    f->C_FindObjectsFinal(*login);
    if ((rv = f->C_GetAttributeValue(*login, key, &kt, 1)) != CKR_OK)
        die("CKA_KEY_TYPE", rv);
}

int main(int argc, char **argv)
{
    pthread_t th[MAX_THREADS];
    CK_SESSION_HANDLE login;
    struct rusage ru;
    long sigs, threads = argc > 6 ? atol(argv[6]) : 1;
    double t0, wall;

    if (argc < 6 || (sigs = atol(argv[5])) <= 0 || threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "usage: p11ceiling MODULE TOKEN PINFILE KEYLABEL SIGS [THREADS]\n");
        return 2;
    }
    open_token(argv[1], argv[2], argv[3], argv[4], &login);
    per_thread = sigs / threads;
    t0 = now_s();
    for (long i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, signer, NULL);
    for (long i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    wall = now_s() - t0;
    getrusage(RUSAGE_SELF, &ru);
    printf("%.1f %.3f %.3f\n", (double)(per_thread * threads) / wall, wall,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    f->C_Logout(login);
    f->C_CloseSession(login);
    f->C_Finalize(NULL);
    return 0;
}
