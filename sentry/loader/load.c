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

#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/loader/elf.h"
#include "sentry/loader/stack.h"
#include "sentry/mm/mm.h"

/* The most of a file we read to find its program headers. */
#define HEADER_READ_MAX (1U << 20)
/* argv + envp may take at most this much (Linux: a quarter of RLIMIT_STACK). */
#define ARG_MAX_BYTES (STACK_SIZE / 4)
/* x86-64 user segment selectors and the initial flags (IF set). */
#define USER_CS 0x33
#define USER_SS 0x2b
#define INIT_EFLAGS 0x202

/* read_full: reads n bytes at off, or fails. */
static int read_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO;
        done += (size_t)r;
    }
    return 0;
}

/* load_segment: maps one PT_LOAD and copies its file bytes (from the start of the
 * page, as a file mapping would show them). */
static int load_segment(struct task *t, int fd, const struct elf_segment *s,
                        uint64_t bias)
{
    uint64_t start = page_down(s->vaddr + bias);
    uint64_t end = page_up(s->vaddr + bias + s->memsz);
    int64_t r = mm_mmap(t->mm, start, end - start, s->prot,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    if (r < 0)
        return (int)r;
    uint64_t lead = (s->vaddr + bias) - start;
    uint64_t foff = s->offset - lead;
    uint64_t left = s->filesz + lead;
    enum { CHUNK = 1 << 16 };
    char *buf = malloc(CHUNK);
    if (!buf)
        return -ENOMEM;
    int ret = 0;
    for (uint64_t at = 0; at < left && ret == 0; at += CHUNK) {
        size_t n = (size_t)MIN((uint64_t)CHUNK, left - at);
        ret = read_full(fd, buf, n, foff + at);
        if (ret == 0 && mm_copy_out(t->mm, start + at, buf, n, 1) < 0)
            ret = -EFAULT;
    }
    free(buf);
    return ret;
}

/* hwcap: what AT_HWCAP says on x86-64: CPUID.1:EDX. */
static uint64_t hwcap(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    return d;
}

int loader_load(struct task *t, int fd, const char *execfn, char *const argv[],
                char *const envp[], char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot stat the program: %s", strerror(errno));
        return -errno;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        return -EACCES;
    }
    /* read the ELF header, then enough to cover the program headers */
    Elf64_Ehdr eh;
    memset(&eh, 0, sizeof(eh));
    size_t want = (size_t)MIN((uint64_t)st.st_size, 65536);
    if ((uint64_t)st.st_size >= sizeof(eh) && read_full(fd, &eh, sizeof(eh), 0) == 0) {
        uint64_t phend = eh.e_phoff + (uint64_t)eh.e_phnum * eh.e_phentsize;
        if (eh.e_phoff < HEADER_READ_MAX && phend <= HEADER_READ_MAX && phend > want)
            want = (size_t)MIN((uint64_t)st.st_size, phend);
    }
    char *hdr = malloc(want ? want : 1);
    if (!hdr) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int ret = read_full(fd, hdr, want, 0);
    if (ret < 0) {
        snprintf(err, errlen, "cannot read the program: %s", strerror(-ret));
        free(hdr);
        return ret;
    }
    struct elf_info info;
    ret = elf_parse(hdr, want, (uint64_t)st.st_size, &info, err, errlen);
    free(hdr);
    if (ret < 0)
        return ret;
    if (info.has_interp) {
        snprintf(err, errlen, "dynamically linked (PT_INTERP): the dynamic loader needs "
                 "the sandbox's file system, which is not there yet");
        return -ENOEXEC;
    }

    uint64_t bias = info.type == ET_DYN ? ELF_ET_DYN_BASE - info.min_vaddr : 0;
    uint64_t brk = 0;
    for (int i = 0; i < info.nseg; i++) {
        ret = load_segment(t, fd, &info.seg[i], bias);
        if (ret < 0) {
            snprintf(err, errlen, "cannot load segment %d: %s", i, strerror(-ret));
            return ret;
        }
        brk = MAX(brk, page_up(info.seg[i].vaddr + bias + info.seg[i].memsz));
    }
    mm_set_brk_start(t->mm, brk);

    uint64_t top = t->mm->stack_top;
    int64_t r = mm_mmap(t->mm, top - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE |
                        (info.stack_exec ? PROT_EXEC : 0),
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN);
    if (r < 0) {
        snprintf(err, errlen, "cannot map the stack: %s", strerror((int)-r));
        return (int)r;
    }

    uint64_t phdr = info.phdr_vaddr ? info.phdr_vaddr + bias
                                    : info.min_vaddr + bias + info.phoff;
    const struct auxv_pair auxv[] = {
        { AT_SYSINFO_EHDR, 0 },  /* replaced below: no vDSO yet, so dropped */
        { AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ) ? getauxval(AT_MINSIGSTKSZ) : 2048 },
        { AT_HWCAP, hwcap() },
        { AT_PAGESZ, PAGE_SIZE },
        { AT_CLKTCK, 100 },
        { AT_PHDR, phdr },
        { AT_PHENT, info.phentsize },
        { AT_PHNUM, info.phnum },
        { AT_BASE, 0 },
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
        .auxv = auxv + 1,
        .nauxv = (int)ARRAY_SIZE(auxv) - 1,
    };
    struct stack_image img;
    ret = stack_build(&spec, ARG_MAX_BYTES, &img);
    if (ret < 0) {
        snprintf(err, errlen, "cannot build the stack: %s", strerror(-ret));
        return ret;
    }
    ret = mm_copy_out(t->mm, img.sp, img.buf, img.size, 1);
    free(img.buf);
    if (ret < 0) {
        snprintf(err, errlen, "cannot write the stack");
        return ret;
    }

    memset(&t->regs, 0, sizeof(t->regs));
    t->regs.rip = info.entry + bias;
    t->regs.rsp = img.sp;
    t->regs.cs = USER_CS;
    t->regs.ss = USER_SS;
    t->regs.eflags = INIT_EFLAGS;
    return 0;
}
