/*
 * tmpl_err.h — private to templates/: templates/'s short names for offca's one error slot
 * (base/err.h), read back with tmpl_error(). Codes are the exit classes of template.h: 1 policy,
 * 2 usage, 3 malformed input, 4 system.
 */
#ifndef OFFCA_TMPL_ERR_H
#define OFFCA_TMPL_ERR_H

#include "base/err.h"

enum { TE_POLICY = ERRC_POLICY, TE_USAGE = ERRC_USAGE, TE_INPUT = ERRC_INPUT, TE_SYSTEM = ERRC_SYSTEM };

#define tmpl_seterr base_err_set        /* replace the message and class */
#define tmpl_seterr_ossl base_err_set_ossl /* the same, with the OpenSSL queue appended */
#define tmpl_err_prefix base_err_prefix /* "<context>: " before the current message */
#define tmpl_err_clear base_err_clear

#endif
