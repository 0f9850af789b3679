#!/bin/bash
# The command line: every command and subcommand answers --help with its usage, options and an
# example (exit 0); unknown commands and options are usage errors (exit 2) naming what was wrong.
. "$(dirname "$0")/common.sh"
expect_rc 0 "offca --help" -- "$OFFCA" --help
for w in init key ca template sign list report show export directory mapping revoke unrevoke crl doctor audit status backup restore; do
    expect_in "$w" "offca --help lists '$w'"
done
expect_in "Exit codes" "offca --help documents the exit codes"
for cmd in init sign list report show export mapping revoke unrevoke doctor \
           "key generate" "key list" "ca create-root" "ca create-issuing" "ca csr" "ca import" \
           "ca list" "ca show" "ca export" "template list" "template show" "template check" \
           "directory import" "directory list" "directory show" "crl publish" "audit list" "audit verify" \
           status backup "backup verify" restore; do
    # shellcheck disable=SC2086
    expect_rc 0 "offca $cmd --help" -- "$OFFCA" $cmd --help
    check "offca $cmd --help shows usage" grep -q "^usage: offca" <<<"$OUT"
    check "offca $cmd --help has an example" grep -q "Example" <<<"$OUT"
done
for g in key ca template directory crl audit; do
    expect_rc 0 "offca $g --help lists its subcommands" -- "$OFFCA" $g --help
done
expect_rc 2 "no command" -- "$OFFCA"
expect_rc 2 "unknown command" -- "$OFFCA" frobnicate
expect_in "frobnicate" "unknown command named"
expect_rc 2 "unknown subcommand" -- "$OFFCA" ca frobnicate
expect_rc 2 "unknown global option" -- "$OFFCA" --frob list
expect_rc 2 "unknown command option" -- "$OFFCA" sign --frob
expect_in "--frob" "unknown option named"
expect_rc 2 "option without its value" -- "$OFFCA" sign --ca
expect_in "needs a value" "missing value explained"
expect_rc 0 "--version" -- "$OFFCA" --version
expect_rc 3 "missing config file" -- "$OFFCA" -c "$T/none.toml" ca list
expect_in "none.toml" "missing config named"
t_done
