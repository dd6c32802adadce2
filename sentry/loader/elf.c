/* ELF64 validation: every header field the loader will use is checked here, once, so
 * the code that maps segments can trust struct elf_info. The checks follow what Linux
 * enforces in fs/binfmt_elf.c (or what makes its mmap calls fail), and a few more that
 * Linux skips but no real binary needs (noted where they are). Headers are read with
 * memcpy because buf may be unaligned. */
#include "sentry/loader/elf.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/util.h"

/* Linux's x86-64 TASK_SIZE: the user address space ends one page below 1 << 47. */
#define USER_ADDR_END ((1ULL << 47) - PAGE_SIZE)

/* Linux's limit on the interpreter path (PATH_MAX, including the NUL). */
#define INTERP_MAX_SIZE 4096

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -ENOEXEC;
}

static int check_ident(const Elf64_Ehdr *eh, char *err, size_t errlen)
{
    const unsigned char *id = eh->e_ident;

    if (id[EI_CLASS] == ELFCLASS32)
        return fail(err, errlen, "wrong class: 32-bit ELF");
    if (id[EI_CLASS] != ELFCLASS64)
        return fail(err, errlen, "wrong class: %u", id[EI_CLASS]);
    if (id[EI_DATA] == ELFDATA2MSB)
        return fail(err, errlen, "wrong data encoding: big-endian ELF");
    if (id[EI_DATA] != ELFDATA2LSB)
        return fail(err, errlen, "wrong data encoding: %u", id[EI_DATA]);
    if (id[EI_VERSION] != EV_CURRENT)
        return fail(err, errlen, "wrong ELF version: %u", id[EI_VERSION]);
    if (eh->e_machine != EM_X86_64)
        return fail(err, errlen, "wrong machine: %u (only x86-64 is supported)",
                    eh->e_machine);
    switch (eh->e_type) {
    case ET_EXEC:
    case ET_DYN:
        return 0;
    case ET_REL:
        return fail(err, errlen, "unsupported type ET_REL (relocatable object)");
    case ET_CORE:
        return fail(err, errlen, "unsupported type ET_CORE (core dump)");
    default:
        return fail(err, errlen, "unsupported type %u", eh->e_type);
    }
}

/* check_phdr_table: the table must lie inside the file and inside the bytes we hold. */
static int check_phdr_table(const Elf64_Ehdr *eh, size_t len, uint64_t file_size,
                            char *err, size_t errlen)
{
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return fail(err, errlen, "bad e_phentsize: %u (expected %zu)", eh->e_phentsize,
                    sizeof(Elf64_Phdr));
    if (eh->e_phnum == 0)
        return fail(err, errlen, "no program headers (e_phnum is 0)");
    if (eh->e_phnum > ELF_MAX_SEGMENTS * 2)
        return fail(err, errlen, "too many program headers: %u (at most %d)",
                    eh->e_phnum, ELF_MAX_SEGMENTS * 2);

    uint64_t size = (uint64_t)eh->e_phnum * eh->e_phentsize;
    if (size > ELF_MAX_PHDR_SIZE)
        return fail(err, errlen, "program header table too large: %llu bytes",
                    (unsigned long long)size);
    if (add_overflows(eh->e_phoff, size) || eh->e_phoff + size > file_size)
        return fail(err, errlen, "program header table outside the file");
    if (eh->e_phoff + size > len)
        return fail(err, errlen, "program header table beyond the %zu bytes read", len);
    return 0;
}

/* check_load: one PT_LOAD on its own (i is its index in the program header table). */
static int check_load(const Elf64_Ehdr *eh, const Elf64_Phdr *ph, int i,
                      uint64_t file_size, char *err, size_t errlen)
{
    if (ph->p_filesz > ph->p_memsz)
        return fail(err, errlen, "segment %d: p_filesz > p_memsz", i);
    if (add_overflows(ph->p_offset, ph->p_filesz) ||
        ph->p_offset + ph->p_filesz > file_size)
        return fail(err, errlen, "segment %d: file range outside the file", i);
    /* page_up of the end must not wrap either: max_vaddr is page-rounded. */
    if (add_overflows(ph->p_vaddr, ph->p_memsz) ||
        add_overflows(ph->p_vaddr + ph->p_memsz, PAGE_SIZE - 1))
        return fail(err, errlen, "segment %d: address overflows", i);
    /* ET_DYN addresses are relative to a load bias; only their span is checked. */
    if (eh->e_type == ET_EXEC && ph->p_vaddr + ph->p_memsz > USER_ADDR_END)
        return fail(err, errlen, "segment %d: address above the user address space", i);
    /* Linux maps each segment from page_down(p_offset) at page_down(p_vaddr); mmap
     * fails unless both sit at the same offset within their page. */
    if ((ph->p_offset - ph->p_vaddr) % PAGE_SIZE != 0)
        return fail(err, errlen, "segment %d: alignment mismatch (p_offset and p_vaddr "
                    "differ modulo page size)", i);
    return 0;
}

/* check_interp: the path is 2..PATH_MAX bytes of the file and ends in a NUL, as Linux
 * requires. The bytes are checked when they lie within buf; otherwise the caller, who
 * reads them from the file later, must check the final NUL itself. */
static int check_interp(const uint8_t *b, size_t len, uint64_t file_size,
                        const Elf64_Phdr *ph, int i, char *err, size_t errlen)
{
    if (ph->p_filesz < 2 || ph->p_filesz > INTERP_MAX_SIZE)
        return fail(err, errlen, "segment %d: bad interpreter path size %llu", i,
                    (unsigned long long)ph->p_filesz);
    if (add_overflows(ph->p_offset, ph->p_filesz) ||
        ph->p_offset + ph->p_filesz > file_size)
        return fail(err, errlen, "segment %d: bad interpreter path (outside the file)",
                    i);
    if (ph->p_offset + ph->p_filesz <= len) {
        const uint8_t *path = b + ph->p_offset;
        if (path[ph->p_filesz - 1] != '\0' || path[0] == '\0')
            return fail(err, errlen, "segment %d: bad interpreter path (not a "
                        "NUL-terminated string)", i);
    }
    return 0;
}

static int pflags_to_prot(uint32_t flags)
{
    return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
           (flags & PF_X ? PROT_EXEC : 0);
}

/* add_load: appends a checked PT_LOAD, which must start at or after the end of the
 * previous one (the ELF spec's ascending order; Linux only assumes it). Segments may
 * share a page (text ending mid-page, data starting in the same page), but their
 * [vaddr, vaddr + memsz) ranges must not overlap. */
static int add_load(struct elf_info *info, const Elf64_Phdr *ph, int i, int *prev_i,
                    char *err, size_t errlen)
{
    if (info->nseg == ELF_MAX_SEGMENTS)
        return fail(err, errlen, "too many segments: more than %d PT_LOAD",
                    ELF_MAX_SEGMENTS);
    if (info->nseg > 0) {
        const struct elf_segment *prev = &info->seg[info->nseg - 1];
        if (ph->p_vaddr < prev->vaddr)
            return fail(err, errlen, "segment %d: PT_LOAD not in ascending address "
                        "order (below segment %d)", i, *prev_i);
        if (ph->p_vaddr < prev->vaddr + prev->memsz)
            return fail(err, errlen, "segment %d overlaps segment %d", i, *prev_i);
    }
    info->seg[info->nseg++] = (struct elf_segment){
        .vaddr = ph->p_vaddr,
        .memsz = ph->p_memsz,
        .offset = ph->p_offset,
        .filesz = ph->p_filesz,
        .prot = pflags_to_prot(ph->p_flags),
    };
    *prev_i = i;
    return 0;
}

/* phdr_from_loads: where the program headers land when no PT_PHDR says so: inside the
 * PT_LOAD whose file range covers them (what Linux 5.18+ reports as AT_PHDR). */
static uint64_t phdr_from_loads(const struct elf_info *info)
{
    uint64_t size = info->phnum * info->phentsize;

    for (int i = 0; i < info->nseg; i++) {
        const struct elf_segment *s = &info->seg[i];
        if (s->offset <= info->phoff && info->phoff + size <= s->offset + s->filesz)
            return s->vaddr + (info->phoff - s->offset);
    }
    return 0;
}

int elf_parse(const void *buf, size_t len, uint64_t file_size, struct elf_info *info,
              char *err, size_t errlen)
{
    const uint8_t *b = buf;
    Elf64_Ehdr eh;
    int rc;

    memset(info, 0, sizeof(*info));
    if (err && errlen)
        err[0] = '\0';
    /* Bytes past the end of the file are not part of it. */
    if (len > file_size)
        len = file_size;

    if (len < SELFMAG || memcmp(b, ELFMAG, SELFMAG) != 0)
        return fail(err, errlen, "not an ELF file (bad magic)");
    if (len < sizeof(eh))
        return fail(err, errlen, "truncated ELF header (%zu bytes)", len);
    memcpy(&eh, b, sizeof(eh));
    if ((rc = check_ident(&eh, err, errlen)) < 0)
        return rc;
    if ((rc = check_phdr_table(&eh, len, file_size, err, errlen)) < 0)
        return rc;

    info->type = eh.e_type;
    info->entry = eh.e_entry;   /* not checked: Linux does not either */
    info->phoff = eh.e_phoff;
    info->phnum = eh.e_phnum;
    info->phentsize = eh.e_phentsize;

    int have_phdr = 0, prev_load = -1;
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, b + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));

        switch (ph.p_type) {
        case PT_LOAD:
            if ((rc = check_load(&eh, &ph, i, file_size, err, errlen)) < 0 ||
                (rc = add_load(info, &ph, i, &prev_load, err, errlen)) < 0)
                return rc;
            break;
        case PT_INTERP:
            /* Linux takes the first and ignores the rest; two is never legitimate. */
            if (info->has_interp)
                return fail(err, errlen, "segment %d: bad interpreter path (more than "
                            "one PT_INTERP)", i);
            if ((rc = check_interp(b, len, file_size, &ph, i, err, errlen)) < 0)
                return rc;
            info->has_interp = 1;
            info->interp_off = ph.p_offset;
            info->interp_size = ph.p_filesz;
            break;
        case PT_GNU_STACK:
            /* The last one wins, as in Linux. */
            info->stack_exec = (ph.p_flags & PF_X) != 0;
            break;
        case PT_PHDR:
            if (!have_phdr) {
                info->phdr_vaddr = ph.p_vaddr;
                have_phdr = 1;
            }
            break;
        default:
            break;
        }
    }

    if (info->nseg == 0)
        return fail(err, errlen, "no loadable segment");

    const struct elf_segment *last = &info->seg[info->nseg - 1];
    info->min_vaddr = page_down(info->seg[0].vaddr);
    info->max_vaddr = page_up(last->vaddr + last->memsz);
    if (info->max_vaddr - info->min_vaddr > USER_ADDR_END)
        return fail(err, errlen, "segments span more than the user address space");
    if (!have_phdr)
        info->phdr_vaddr = phdr_from_loads(info);
    return 0;
}
