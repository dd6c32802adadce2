/* ELF64 validation and the load plan. elf_parse is pure: it reads only the bytes it is
 * given, so it is unit-tested on malformed files and fuzzed without a Sentry. */
#ifndef SENTRY_LOADER_ELF_H
#define SENTRY_LOADER_ELF_H

#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGMENTS 32
#define ELF_MAX_PHDR_SIZE 4096   /* bytes of program headers we accept */

struct elf_segment {
    uint64_t vaddr;     /* p_vaddr, before the load bias */
    uint64_t memsz;
    uint64_t offset;    /* p_offset */
    uint64_t filesz;
    int prot;           /* PROT_* from p_flags */
};

struct elf_info {
    int type;                          /* ET_EXEC or ET_DYN */
    uint64_t entry;                    /* e_entry, before the bias */
    uint64_t phoff, phnum, phentsize;  /* for AT_PHDR/AT_PHNUM/AT_PHENT */
    uint64_t phdr_vaddr;               /* p_vaddr of the program headers when loaded
                                        * (PT_PHDR, or derived from the segment that
                                        * covers phoff); 0 if not loaded */
    uint64_t min_vaddr, max_vaddr;     /* page-aligned span of PT_LOAD segments */
    int nseg;
    struct elf_segment seg[ELF_MAX_SEGMENTS];
    int has_interp;                    /* PT_INTERP present */
    uint64_t interp_off, interp_size;  /* where the interpreter path is in the file;
                                        * size counts the NUL, 2..4096. Its final NUL
                                        * is checked only when it lies within buf:
                                        * otherwise the caller checks after reading */
    int stack_exec;                    /* PT_GNU_STACK has PF_X */
};

/* elf_parse: validates an ELF image and fills *info. buf holds the first len bytes of
 * the file, which is file_size bytes long; the program header table must lie within
 * buf (the caller reads at least ELF_MAX_PHDR_SIZE + 64 bytes, or the whole file).
 * Returns 0, or -ENOEXEC with a message naming the problem in err (errlen bytes). */
int elf_parse(const void *buf, size_t len, uint64_t file_size, struct elf_info *info,
              char *err, size_t errlen);

#endif
