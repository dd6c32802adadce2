/* libFuzzer target for elf_parse: any input must give 0 or -ENOEXEC with a message,
 * never a crash or a read outside the bytes given. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "sentry/loader/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct elf_info info;
    char err[128];

    /* The whole file in hand. */
    int rc = elf_parse(data, size, size, &info, err, sizeof(err));
    if (rc != 0 && (rc != -ENOEXEC || err[0] == '\0'))
        abort();
    /* Only its start in hand, as the loader reads it. */
    rc = elf_parse(data, size / 2, size, &info, err, sizeof(err));
    if (rc != 0 && (rc != -ENOEXEC || err[0] == '\0'))
        abort();
    return 0;
}
