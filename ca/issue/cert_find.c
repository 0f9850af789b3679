/*
 * cert_find.c — an issued certificate found by the serial an operator typed (`offca show`,
 * `export`, `mapping`): hex as 'offca list' prints it, ':' and 0x allowed, any CA.
 */
#include "ca/common/common.h"
#include "ca/issue/issue.h"

/* Find a certificate by serial text (any CA). 0 or exit class. */
int cert_lookup(struct store *st, const char *text, struct cert_rec *r)
{
    unsigned char serial[MAX_STORE_SERIAL];
    struct store_txn *t;
    size_t n;
    int found;

    if (!serial_parse(text, serial, sizeof(serial), &n)) {
        report("serial '%s': not a hex serial number of at most 20 bytes; copy it from "
               "'offca list'", text);
        return EXIT_USAGE;
    }
    if ((t = store_txn_begin(st, 0)) == NULL)
        return fail_store();
    found = store_cert_find(t, serial, n, r);
    store_txn_abort(t);
    if (found < 0)
        return fail_store();
    if (found == 0) {
        report("serial %s: no certificate with this serial in the store; see 'offca list'", text);
        return EXIT_USAGE;
    }
    return 0;
}
