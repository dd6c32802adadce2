/* Loading a program: validate (elf.c), map segments and copy their file contents into
 * guest memory, build the stack (stack.c), set the entry registers. */
#include "sentry/loader/load.h"

#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/loader/elf.h"
#include "sentry/loader/stack.h"
#include "sentry/mm/mm.h"
#include "sentry/vfs/file.h"

/* The most of a file we read to find its program headers. */
#define HEADER_READ_MAX (1U << 20)
/* argv + envp may take at most this much (Linux: a quarter of RLIMIT_STACK). */
#define ARG_MAX_BYTES (STACK_SIZE / 4)
/* x86-64 user segment selectors and the initial flags (IF set). */
#define USER_CS 0x33
#define USER_SS 0x2b
#define INIT_EFLAGS 0x202

/* read_full: reads n bytes at off, or fails. */
static int read_full(struct file *f, void *buf, size_t n, uint64_t off)
{
    ssize_t r = vfs_kernel_read(f, buf, n, (int64_t)off);
    if (r < 0)
        return (int)r;
    return (size_t)r == n ? 0 : -EIO;
}

/* load_segment: maps one PT_LOAD from the file (private, copy-on-write), zeroes the
 * rest of its last file page and maps anonymous memory for the rest of memsz. */
static int load_segment(struct task *t, struct mappable *obj, const struct elf_segment *s,
                        uint64_t bias)
{
    uint64_t vstart = s->vaddr + bias;
    uint64_t start = page_down(vstart);
    uint64_t end = page_up(vstart + s->memsz);
    uint64_t lead = vstart - start;
    uint64_t file_end = page_up(vstart + s->filesz);
    int64_t r;
    if (s->filesz) {
        r = mm_mmap_object(t->mm, start, file_end - start, s->prot, MAP_PRIVATE | MAP_FIXED,
                           obj, (s->offset - lead) >> PAGE_SHIFT,
                           PROT_READ | PROT_WRITE | PROT_EXEC);
        if (r < 0)
            return (int)r;
        /* the rest of the last file page is bss, and zero to its end as Linux's
         * padzero leaves it: ld.so's startup allocator hands out that space
         * assuming it is clear */
        uint64_t tail = vstart + s->filesz;
        if (s->memsz > s->filesz && (tail & (PAGE_SIZE - 1))) {
            static const char zeroes[PAGE_SIZE];
            size_t n = (size_t)(file_end - tail);
            if (mm_copy_out(t->mm, tail, zeroes, n, 1) < 0)
                return -EFAULT;
        }
    } else {
        file_end = start;
    }
    if (end > file_end) {
        r = mm_mmap(t->mm, file_end, end - file_end, s->prot,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
        if (r < 0)
            return (int)r;
    }
    return 0;
}

/* parse_file: reads and validates the ELF headers of f. */
static int parse_file(struct file *f, struct elf_info *info, char *err, size_t errlen)
{
    struct stat st;
    int ret = vfs_fstat(f, &st);
    if (ret < 0) {
        snprintf(err, errlen, "cannot stat the program: %s", strerror(-ret));
        return ret;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        return -EACCES;
    }
    /* read the ELF header, then enough to cover the program headers */
    Elf64_Ehdr eh;
    memset(&eh, 0, sizeof(eh));
    size_t want = (size_t)MIN((uint64_t)st.st_size, 65536);
    if ((uint64_t)st.st_size >= sizeof(eh) && read_full(f, &eh, sizeof(eh), 0) == 0) {
        uint64_t phend = eh.e_phoff + (uint64_t)eh.e_phnum * eh.e_phentsize;
        if (eh.e_phoff < HEADER_READ_MAX && phend <= HEADER_READ_MAX && phend > want)
            want = (size_t)MIN((uint64_t)st.st_size, phend);
    }
    char *hdr = malloc(want ? want : 1);
    if (!hdr) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    ret = read_full(f, hdr, want, 0);
    if (ret < 0) {
        snprintf(err, errlen, "cannot read the program: %s", strerror(-ret));
        free(hdr);
        return ret;
    }
    ret = elf_parse(hdr, want, (uint64_t)st.st_size, info, err, errlen);
    free(hdr);
    return ret;
}

/* map_image: maps every PT_LOAD of f with bias. */
static int map_image(struct task *t, struct file *f, const struct elf_info *info,
                     uint64_t bias, char *err, size_t errlen)
{
    struct mappable *obj;
    int maxprot;
    int ret = vfs_mmap_prepare(f, PROT_READ, MAP_PRIVATE, &obj, &maxprot);
    if (ret < 0 || !obj) {
        snprintf(err, errlen, "cannot map the program: %s", strerror(ret ? -ret : ENODEV));
        return ret ? ret : -ENODEV;
    }
    for (int i = 0; i < info->nseg && ret == 0; i++) {
        ret = load_segment(t, obj, &info->seg[i], bias);
        if (ret < 0)
            snprintf(err, errlen, "cannot load segment %d: %s", i, strerror(-ret));
    }
    obj->ops->drop(obj);
    return ret;
}

/* load_interp: loads the dynamic loader at a free place; returns its bias. */
static int load_interp(struct task *t, struct file *f, struct elf_info *info,
                       uint64_t *bias, char *err, size_t errlen)
{
    int ret = parse_file(f, info, err, errlen);
    if (ret < 0)
        return ret;
    if (info->has_interp) {
        snprintf(err, errlen, "the interpreter has an interpreter");
        return -ELIBBAD;
    }
    uint64_t lo = page_down(info->min_vaddr), hi = 0;
    for (int i = 0; i < info->nseg; i++)
        hi = MAX(hi, page_up(info->seg[i].vaddr + info->seg[i].memsz));
    uint64_t base = lo;
    if (info->type == ET_DYN) {
        /* reserve the whole span where mmap would put it, then map over it */
        int64_t r = mm_mmap(t->mm, 0, hi - lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
        if (r < 0) {
            snprintf(err, errlen, "no room for the interpreter");
            return (int)r;
        }
        base = (uint64_t)r;
    }
    *bias = base - lo;
    return map_image(t, f, info, *bias, err, errlen);
}

/* guest_strings_end: the end of the NUL-terminated strings the pointer array at
 * vec (in the stack image) points to; first gets the first string's address. */
static void string_range(const struct stack_image *img, uint64_t vec, uint64_t *first,
                         uint64_t *end)
{
    const uint64_t *p = (const uint64_t *)(img->buf + (vec - img->sp));
    *first = *end = p[0];
    for (; *p; p++) {
        const char *s = (const char *)img->buf + (*p - img->sp);
        *end = *p + strlen(s) + 1;
    }
}

/* hwcap: what AT_HWCAP says on x86-64: CPUID.1:EDX. */
static uint64_t hwcap(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    return d;
}

int loader_load(struct task *t, struct file *exe, struct file *interp,
                const char *execfn, char *const argv[], char *const envp[], char *err,
                size_t errlen)
{
    struct elf_info info;
    int ret = parse_file(exe, &info, err, errlen);
    if (ret < 0)
        return ret;
    if (info.has_interp && !interp) {
        snprintf(err, errlen, "dynamically linked, but the interpreter was not found");
        return -ENOEXEC;
    }

    uint64_t bias = info.type == ET_DYN ? ELF_ET_DYN_BASE - info.min_vaddr : 0;
    uint64_t brk = 0;
    if ((ret = map_image(t, exe, &info, bias, err, errlen)) < 0)
        return ret;
    for (int i = 0; i < info.nseg; i++)
        brk = MAX(brk, page_up(info.seg[i].vaddr + bias + info.seg[i].memsz));
    mm_set_brk_start(t->mm, brk);

    uint64_t top = t->mm->stack_top;
    int64_t r = mm_mmap(t->mm, top - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE |
                        (info.stack_exec ? PROT_EXEC : 0),
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN);
    if (r < 0) {
        snprintf(err, errlen, "cannot map the stack: %s", strerror((int)-r));
        return (int)r;
    }

    uint64_t entry = info.entry + bias, interp_base = 0;
    if (info.has_interp) {
        struct elf_info ii;
        uint64_t ibias = 0;
        char ierr[200];
        if ((ret = load_interp(t, interp, &ii, &ibias, ierr, sizeof(ierr))) < 0) {
            snprintf(err, errlen, "interpreter: %s", ierr);
            return ret;
        }
        interp_base = ii.min_vaddr + ibias;
        entry = ii.entry + ibias;
        log_debug("interpreter at %#llx, entry %#llx", (unsigned long long)interp_base,
                  (unsigned long long)entry);
    }

    uint64_t phdr = info.phdr_vaddr ? info.phdr_vaddr + bias
                                    : info.min_vaddr + bias + info.phoff;
    const struct auxv_pair auxv[] = {
        { AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ) ? getauxval(AT_MINSIGSTKSZ) : 2048 },
        { AT_HWCAP, hwcap() },
        { AT_PAGESZ, PAGE_SIZE },
        { AT_CLKTCK, 100 },
        { AT_PHDR, phdr },
        { AT_PHENT, info.phentsize },
        { AT_PHNUM, info.phnum },
        { AT_BASE, interp_base },
        { AT_FLAGS, 0 },
        { AT_ENTRY, info.entry + bias },
        { AT_UID, t->cred.ruid },
        { AT_EUID, t->cred.euid },
        { AT_GID, t->cred.rgid },
        { AT_EGID, t->cred.egid },
        { AT_SECURE, 0 },
        { AT_HWCAP2, getauxval(AT_HWCAP2) },
    };
    uint8_t rnd[16];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd));
    struct stack_spec spec = {
        .top = top,
        .argv = argv,
        .envp = envp,
        .execfn = execfn,
        .platform = "x86_64",
        .random16 = rnd,
        .auxv = auxv,
        .nauxv = (int)ARRAY_SIZE(auxv),
    };
    struct stack_image img;
    ret = stack_build(&spec, ARG_MAX_BYTES, &img);
    if (ret < 0) {
        snprintf(err, errlen, "cannot build the stack: %s", strerror(-ret));
        return ret;
    }
    ret = mm_copy_out(t->mm, img.sp, img.buf, img.size, 1);
    if (ret == 0) {
        /* where the strings went, for /proc/PID/cmdline and environ */
        struct mm *mm = t->mm;
        string_range(&img, img.argv_addr, &mm->arg_start, &mm->arg_end);
        string_range(&img, img.envp_addr, &mm->env_start, &mm->env_end);
        if (mm->env_start == 0)
            mm->env_start = mm->env_end = mm->arg_end;
        mm->auxv_start = img.auxv_addr;
        mm->auxv_end = img.auxv_addr + (ARRAY_SIZE(auxv) + 4) * 16;
    }
    free(img.buf);
    if (ret < 0) {
        snprintf(err, errlen, "cannot write the stack");
        return ret;
    }

    struct mappable *self;
    int maxprot;
    if (vfs_mmap_prepare(exe, PROT_READ, MAP_PRIVATE, &self, &maxprot) == 0 && self)
        t->mm->exe = self;   /* the reference moves to the mm */

    memset(&t->regs, 0, sizeof(t->regs));
    t->regs.rip = entry;
    t->regs.rsp = img.sp;
    t->regs.cs = USER_CS;
    t->regs.ss = USER_SS;
    t->regs.eflags = INIT_EFLAGS;
    return 0;
}

int loader_interp_path(struct file *exe, char *buf, size_t size, char *err, size_t errlen)
{
    struct elf_info info;
    int ret = parse_file(exe, &info, err, errlen);
    if (ret < 0)
        return ret;
    buf[0] = 0;
    if (!info.has_interp)
        return 0;
    if (info.interp_size > size) {
        snprintf(err, errlen, "interpreter path too long");
        return -ENAMETOOLONG;
    }
    if ((ret = read_full(exe, buf, (size_t)info.interp_size, info.interp_off)) < 0) {
        snprintf(err, errlen, "cannot read the interpreter path");
        return ret;
    }
    buf[info.interp_size - 1] = 0;   /* elf_parse checked the NUL is there */
    return 0;
}
