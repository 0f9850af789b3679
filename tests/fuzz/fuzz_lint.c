/* fuzz_lint.c — libFuzzer entry point for the lint target (tests/fuzz/targets.h). Library messages
 * (report() on stderr) are silenced by tools/fuzz.sh with -close_fd_mask=2. */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_lint(data, size);
}
