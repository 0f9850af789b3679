/*
 * targets.h — the fuzz targets of offca: one function per untrusted input, each feeding hostile
 * bytes to the real parser (and, where one exists, the check that follows it).
 *
 * Used twice: tests/fuzz/fuzz_<name>.c wraps one target in LLVMFuzzerTestOneInput (clang,
 * libFuzzer, tools/fuzz.sh), and tests/unit/ca/test_fuzz_replay.c replays the committed seed and
 * regression corpora (tests/fuzz/seeds/<name>/, tests/fuzz/regress/<name>/) through the same
 * functions in `make test`.
 *
 * Every target returns 0 on any input, valid or not, and frees everything it made. A broken
 * round-trip promise (dn_parse(dn_format(x)), sid_ext_parse(sid_ext_build(s))) calls abort(): it is
 * a finding, like a sanitizer report. Targets read fixtures relative to the repository root
 * (templates/shipped/, tests/data/good/csr/) and so must run from there.
 */
#ifndef OFFCA_FUZZ_TARGETS_H
#define OFFCA_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* CSR ingest + policy: csr_parse, then tmpl_check against every shipped template; also the same
 * request re-signed with a fixed key so that policy sees mutated content past the signature. */
int fuzz_csr(const uint8_t *d, size_t n);
/* ca.toml: toml_parse + a walk of every node + toml_check_unused, then config_load (memfd). */
int fuzz_config(const uint8_t *d, size_t n);
/* Template files: tmpl_load of the bytes as "<tmp>/fuzz.toml", then tmpl_describe and tmpl_check
 * of fixed good CSRs against the template that loaded. */
int fuzz_template(const uint8_t *d, size_t n);
/* RFC 4514 names: dn_parse + dn_format round trip (same DER, else abort); DER names through
 * dn_format and dn_format_ms. */
int fuzz_dn(const uint8_t *d, size_t n);
/* SIDs: sid_check, sid_from_san_url, sid_from_binary, sid_ext_build -> sid_ext_parse round trip
 * (same SID, else abort), sid_ext_parse of the bytes as an extension value. */
int fuzz_sid(const uint8_t *d, size_t n);
/* One batch manifest line: manifest_parse_line. */
int fuzz_manifest(const uint8_t *d, size_t n);
/* AD CSV export: dircsv_parse. */
int fuzz_csv(const uint8_t *d, size_t n);
/* The lint table: the bytes as a certificate (lint_cert without and with a fixed offca issuing CA
 * as issuer) and as a TBSCertList / CertificateList (lint_crl_tbs); the same input linted twice
 * must give the same findings, else abort. */
int fuzz_lint(const uint8_t *d, size_t n);

struct fuzz_target {
    const char *name;               /* directory name under tests/fuzz/{seeds,regress,pending} */
    int (*run)(const uint8_t *d, size_t n);
    size_t max_len;                 /* -max_len for libFuzzer; replay accepts anything */
};
extern const struct fuzz_target fuzz_targets[];
extern const size_t fuzz_n_targets;
/* NULL when no target has that name. */
const struct fuzz_target *fuzz_target_find(const char *name);

/* Remove what the targets left behind (the template temp directory); safe to call twice. */
void fuzz_cleanup(void);

#endif
