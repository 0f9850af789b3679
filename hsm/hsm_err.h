/*
 * hsm_err.h — private to hsm/: hsm/'s short names for offca's one error slot (base/err.h), read
 * back with hsm_error(). Codes are the exit classes of hsm.h: 1 policy, 2 usage, 3 malformed
 * input, 4 HSM/system.
 */
#ifndef OFFCA_HSM_ERR_H
#define OFFCA_HSM_ERR_H

#include "base/err.h"

enum { HE_POLICY = ERRC_POLICY, HE_USAGE = ERRC_USAGE, HE_INPUT = ERRC_INPUT, HE_SYSTEM = ERRC_SYSTEM };

#define hsm_seterr base_err_set          /* replace the message and class */
#define hsm_seterr_ossl base_err_set_ossl /* the same, with the OpenSSL queue appended */
#define hsm_err_prefix base_err_prefix   /* "<context>: " before the current message */
#define hsm_err_clear base_err_clear

#endif
