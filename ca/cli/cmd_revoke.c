/*
 * cmd_revoke.c — `offca revoke` and `offca unrevoke`: one transaction each (certificate record,
 * revoked index, CRL dirty flag, audit record; for keyCompromise also the key's blocklist entry
 * and, with --all-with-key, the other certificates of that key). The next `offca crl publish`
 * puts it on the CRL.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ca/cli/cli.h"
#include "ca/issue/issue.h"
#include "ca/revoke/revoke.h"
#include "crl/crl.h"
#include "templates/template.h"

const char HELP_REVOKE[] =
    "usage: offca revoke --ca NAME --serial HEX [--reason REASON] [--invalidity-date RFC3339]\n"
    "                    [--all-with-key]\n"
    "       offca revoke --batch FILE [--ca NAME] [--reason REASON] [--invalidity-date RFC3339]\n"
    "                    [--all-with-key] [--dry-run] [--skip-unknown]\n\n"
    "Revoke a certificate NAME issued (an issuing CA too: revoke it from its parent). REASON is\n"
    "one of unspecified, keyCompromise, caCompromise, affiliationChanged, superseded,\n"
    "cessationOfOperation, certificateHold, privilegeWithdrawn (default: no reason code).\n"
    "--invalidity-date is when the key is known or suspected compromised, e.g.\n"
    "2026-11-01T00:00:00Z. Then publish: offca crl publish --ca NAME.\n\n"
    "keyCompromise also blocks the key: its SubjectPublicKeyInfo SHA-256 goes on the store's\n"
    "blocklist, so no template certifies it again, and every other certificate carrying the\n"
    "same key (any CA in the store) is listed. --all-with-key (keyCompromise only) revokes\n"
    "those too, keyCompromise with the same dates, in the same transaction.\n\n"
    "--batch FILE revokes a list: JSON lines ({\"serial\": \"4f1c...\", \"reason\":\n"
    "\"superseded\"} per line; '#' lines and blank lines skipped) or CSV with a header row.\n"
    "Keys / columns: serial, or subject and/or san (\"dns:pc42.contoso.com\",\n"
    "\"upn:alice@contoso.com\") matching exactly one valid (not revoked, not expired)\n"
    "certificate; ca (optional); reason; invalidity_date (RFC 3339).\n"
    "--reason / --invalidity-date are the defaults for entries without them; --ca limits the\n"
    "match to one CA. The whole list is one transaction, one audit record per certificate;\n"
    "keyCompromise entries block their key as above (--all-with-key too). Any bad entry refuses\n"
    "the whole list, every bad line named: malformed (bad JSON/CSV field, reason, date, serial\n"
    "syntax, no or two targets, the same certificate twice: exit 3), unknown (no such serial,\n"
    "no valid certificate matches, already revoked: exit 1) or conflicting (two or more valid\n"
    "certificates match, the serial is another CA's, CA not in the store: exit 1).\n"
    "--skip-unknown skips the unknown entries only (each printed as 'skipped: FILE:LINE: ...');\n"
    "malformed and conflicting entries still refuse the list. --dry-run prints exactly the\n"
    "lines the run would print and changes nothing. Progress on a terminal.\n\n"
    "Exit codes: 0 revoked; 1 refused, nothing changed (unknown serial for NAME, another CA's\n"
    "serial, already revoked; --batch: an unknown or conflicting entry); 2 usage (bad option,\n"
    "bad serial syntax, --all-with-key without keyCompromise, CA NAME not in the store);\n"
    "3 --batch: the list is unreadable or has a malformed entry; 4 store failure.\n\n"
    "Example:\n  offca revoke --ca issuing1 --serial 4f1c...e2 --reason keyCompromise --all-with-key\n"
    "  offca revoke --batch retired-devices.csv --reason cessationOfOperation --dry-run\n";
const char HELP_UNREVOKE[] =
    "usage: offca unrevoke --ca NAME --serial HEX\n\n"
    "Release a certificate from certificateHold (only that reason can be undone); it leaves\n"
    "the next CRL (a delta CRL lists it as removeFromCRL).\n\n"
    "Exit codes: 0 released; 1 refused, nothing changed (unknown serial, not on hold); 2 usage\n"
    "(bad option or serial syntax, CA NAME not in the store); 4 store failure.\n\nExample:\n  offca unrevoke --ca issuing1 --serial 4f1c...e2\n";

/* RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (UTC only). 1 ok / 0. */
int revoke_parse_time(const char *s, time_t *out)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0')
        return 0;
    *out = timegm(&tm);
    return *out > 0;
}

static int serial_arg(const char *text, unsigned char *serial, size_t *n)
{
    if (!serial_parse(text, serial, MAX_STORE_SERIAL, n)) {
        report("--serial '%s': not a hex serial number of at most 20 bytes; copy it from "
               "'offca list'", text);
        return EXIT_USAGE;
    }
    return 0;
}

/* --ca NAME must be a CA in the store: a usage error otherwise, as in every command. */
static int ca_in_store(struct store_txn *t, const char *cmd, const char *ca)
{
    struct ca_rec r;
    int found = store_ca_get(t, ca, &r);

    if (found < 0)
        return fail_store();
    if (found == 0) {
        report("%s --ca %s: CA '%s' is not in the store; see 'offca ca list' for the CAs there",
               cmd, ca, ca);
        return EXIT_USAGE;
    }
    ca_rec_clear(&r);
    return 0;
}

/* One option of revoke/unrevoke into q. 0 or EXIT_USAGE (reported). */
static int revoke_opt(struct rev_req *q, int c)
{
    if (c == 'c') {
        q->ca = optarg;
    } else if (c == 's') {
        q->sn = optarg;
    } else if (c == 'r' && !q->undo) {
        if (!crl_reason_parse(optarg, &q->reason))
            return fail_crl();
        if (q->reason == CRL_REASON_REMOVE_FROM_CRL) {
            report("revoke --reason removeFromCRL: not a revocation reason (RFC 5280 5.3.1); to "
                   "take a held certificate off the CRL use 'offca unrevoke'");
            return EXIT_USAGE;
        }
    } else if (c == 'k' && !q->undo) {
        q->all_with_key = 1;
    } else if (c == 'b' && !q->undo) {
        q->batch = optarg;
    } else if (c == 'n' && !q->undo) {
        q->dry_run = 1;
    } else if (c == 'u' && !q->undo) {
        q->skip_unknown = 1;
    } else if (c == 'i' && !q->undo) {
        if (!revoke_parse_time(optarg, &q->inval)) {
            report("revoke --invalidity-date '%s': not RFC 3339 UTC; write e.g. "
                   "2026-11-01T00:00:00Z", optarg);
            return EXIT_USAGE;
        }
    } else {
        if (c != '?')
            report("%s: option not allowed here; see 'offca %s --help'", q->cmd, q->cmd);
        return EXIT_USAGE;
    }
    return 0;
}

/* --batch FILE: no --serial (the list names the certificates), --ca only restricts. */
static int revoke_parse_batch(struct rev_req *q, int argc)
{
    if (optind != argc || q->sn) {
        report("revoke --batch: %s; the list names the certificates (see 'offca revoke --help')",
               q->sn ? "--serial is not allowed with --batch" : "unexpected argument");
        return EXIT_USAGE;
    }
    return q->ca ? ca_name_check(q->ca) : 0;
}

static int revoke_parse(struct rev_req *q, int argc, char **argv)
{
    static const struct option lo[] = {{"ca", 1, 0, 'c'}, {"serial", 1, 0, 's'},
                                       {"reason", 1, 0, 'r'}, {"invalidity-date", 1, 0, 'i'},
                                       {"all-with-key", 0, 0, 'k'}, {"batch", 1, 0, 'b'},
                                       {"dry-run", 0, 0, 'n'}, {"skip-unknown", 0, 0, 'u'},
                                       {0, 0, 0, 0}};
    int c, rc;

    while ((c = opt_next(argc, argv, q->cmd, ":", lo)) != -1)
        if ((rc = revoke_opt(q, c)) != 0)
            return rc;
    if (q->batch)
        return revoke_parse_batch(q, argc);
    if (q->dry_run || q->skip_unknown) {
        report("revoke %s: only with --batch FILE; see 'offca revoke --help'",
               q->dry_run ? "--dry-run" : "--skip-unknown");
        return EXIT_USAGE;
    }
    if (optind != argc || !q->ca || !q->sn) {
        report("%s: needs --ca NAME and --serial HEX; see 'offca %s --help'", q->cmd, q->cmd);
        return EXIT_USAGE;
    }
    if (q->all_with_key && q->reason != CRL_REASON_KEY_COMPROMISE) {
        report("revoke --all-with-key: only with --reason keyCompromise (the key is what is "
               "revoked); add --reason keyCompromise or drop --all-with-key");
        return EXIT_USAGE;
    }
    if ((rc = serial_arg(q->sn, q->serial, &q->n)) != 0)
        return rc;
    return ca_name_check(q->ca);
}

struct same_scan {
    struct store_txn *t;
    struct rev_req *q;
    int failed;
};

static int same_one(void *arg, const char *ca, const unsigned char *serial, size_t n)
{
    struct same_scan *s = arg;
    struct rev_req *q = s->q;
    struct cert_rec r;
    int got;

    if (strcmp(ca, q->ca) == 0 && n == q->n && memcmp(serial, q->serial, n) == 0)
        return 1;
    if (q->n_same == MAX_SAME_KEY) {
        q->more_same++;
        return 1;
    }
    if ((got = store_cert_get(s->t, ca, serial, n, &r)) <= 0) {
        s->failed = got < 0;
        return got == 0;
    }
    snprintf(q->same[q->n_same].ca, sizeof(q->same[0].ca), "%s", ca);
    memcpy(q->same[q->n_same].serial, serial, n);
    q->same[q->n_same].n = n;
    q->same[q->n_same++].was_revoked = r.status == CERT_REVOKED;
    cert_rec_clear(&r);
    return 1;
}

/* keyCompromise, in the revocation's transaction: block the key, find the other certificates
 * that carry it and (--all-with-key) revoke the valid ones with their audit records. 1 ok / 0. */
int revoke_key_compromise(struct store_txn *t, struct rev_req *q)
{
    struct same_scan s = { t, q, 0 };
    struct cert_rec r;
    char hex[2 * MAX_STORE_SERIAL + 1], detail[160];
    int got = store_cert_get(t, q->ca, q->serial, q->n, &r), ok;

    if (got <= 0)
        return 0;
    q->blocked = store_cert_key_hash(r.der, r.der_len, q->hash);
    cert_rec_clear(&r);
    if (!q->blocked)
        return 1;
    if (!store_key_block(t, q->hash, q->ca, q->serial, q->n, ca_now()) ||
        !store_key_foreach(t, q->hash, same_one, &s) || s.failed)
        return 0;
    for (size_t i = 0; q->all_with_key && i < q->n_same; i++) {
        struct same_key *k = &q->same[i];
        if (k->was_revoked)
            continue;
        serial_hex(k->serial, k->n, hex);
        snprintf(detail, sizeof(detail), "ca=%s reason=keyCompromise same key as %s", k->ca,
                 q->sn);
        ok = store_revoke(t, k->ca, k->serial, k->n, CRL_REASON_KEY_COMPROMISE, ca_now(),
                          q->inval) &&
             store_audit_append(t, "cert.revoke", hex, "ok", detail);
        if (!ok)
            return 0;
        k->revoked_now = 1;
    }
    return 1;
}

/* After the commit: what keyCompromise did to the key and its other certificates, on f. */
void revoke_key_compromise_print(FILE *f, const struct rev_req *q)
{
    char hex[2 * MAX_STORE_SERIAL + 1], kh[2 * STORE_KEY_HASH + 1];

    if (!q->blocked)
        return;
    keygate_hash_hex(q->hash, kh);
    fprintf(f, "key blocked: SPKI SHA-256 %s (no template certifies it again)\n", kh);
    for (size_t i = 0; i < q->n_same; i++) {
        const struct same_key *k = &q->same[i];
        serial_hex(k->serial, k->n, hex);
        if (k->revoked_now)
            fprintf(f, "same key, revoked too: %s of CA '%s'\n", hex, k->ca);
        else if (k->was_revoked)
            fprintf(f, "same key, already revoked: %s of CA '%s'\n", hex, k->ca);
        else
            fprintf(f, "same key, still valid: %s of CA '%s'; revoke it: offca revoke --ca %s "
                   "--serial %s --reason keyCompromise (or rerun with --all-with-key)\n", hex,
                   k->ca, k->ca, hex);
    }
    if (q->more_same)
        fprintf(f, "same key: %zu more certificates not listed\n", q->more_same);
}

/* One write transaction: the CA exists, the store's revocation rules, the audit record. */
static int revoke_apply(struct app *a, struct rev_req *q)
{
    struct store_txn *t = store_txn_begin(a->store, 1);
    char detail[128];
    int rc, ok;

    if (t == NULL)
        return fail_store();
    if ((rc = ca_in_store(t, q->cmd, q->ca)) != 0) {
        store_txn_abort(t);
        return rc;
    }
    snprintf(detail, sizeof(detail), "ca=%s reason=%s", q->ca,
             q->reason == CRL_REASON_NONE ? "none" : crl_reason_name(q->reason));
    ok = q->undo ? store_unrevoke(t, q->ca, q->serial, q->n)
                 : store_revoke(t, q->ca, q->serial, q->n, q->reason, ca_now(), q->inval);
    if (!ok) {
        /* refusals (unknown, foreign, already revoked, not on hold) are policy; LMDB is not */
        rc = store_error_code() == STORE_ERR_REFUSED ? EXIT_POLICY : EXIT_SYSTEM;
        store_txn_abort(t);
        report("%s", store_error());
        return rc;
    }
    if (!q->undo && q->reason == CRL_REASON_KEY_COMPROMISE && !revoke_key_compromise(t, q)) {
        rc = store_error_code() == STORE_ERR_REFUSED ? EXIT_POLICY : EXIT_SYSTEM;
        store_txn_abort(t);
        report("%s", store_error());
        return rc;
    }
    return txn_finish(t, store_audit_append(t, q->undo ? "cert.unrevoke" : "cert.revoke", q->sn,
                                            "ok", detail));
}

static int revoke_common(struct app *a, int argc, char **argv, int undo)
{
    struct rev_req q;
    int rc;

    memset(&q, 0, sizeof(q));
    q.undo = undo;
    q.cmd = undo ? "unrevoke" : "revoke";
    q.reason = CRL_REASON_NONE;
    if ((rc = revoke_parse(&q, argc, argv)) != 0 || (rc = app_store(a, 0)) != 0)
        return rc;
    if (q.batch)
        return revoke_batch(a->store, &q);
    if ((rc = revoke_apply(a, &q)) != 0)
        return rc;
    printf("%s %s of CA '%s'; publish with 'offca crl publish --ca %s'\n",
           undo ? "released from hold:" : "revoked:", q.sn, q.ca, q.ca);
    revoke_key_compromise_print(stdout, &q);
    return EXIT_OK;
}

int cmd_revoke(struct app *a, int argc, char **argv) { return revoke_common(a, argc, argv, 0); }
int cmd_unrevoke(struct app *a, int argc, char **argv) { return revoke_common(a, argc, argv, 1); }
