/*
 * pin.h — private to hsm/: where the user PIN comes from (pin_file, $OFFCA_PIN, TTY prompt).
 */
#ifndef OFFCA_PIN_H
#define OFFCA_PIN_H

#include <stddef.h>

#define MAX_PIN 256                /* bytes of PIN we accept from any source */

struct hsm_config;

/* Fill pin[MAX_PIN + 1] from cfg->pin_file, else $OFFCA_PIN, else a no-echo prompt on /dev/tty
 * when cfg->allow_prompt; *len is its length. The caller wipes pin with OPENSSL_cleanse. */
int pin_get(const struct hsm_config *cfg, const char *token_label, char *pin, size_t *len)
    __attribute__((warn_unused_result));

#endif
