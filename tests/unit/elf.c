/* elf_parse: valid images built in memory, one malformed image per check, the real
 * /bin/busybox and /bin/ls, and random mutations that must never crash. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/util.h"
#include "sentry/loader/elf.h"

#define IMG_SIZE 0x3000
#define INTERP "/lib64/ld-linux-x86-64.so.2"

/* An image under construction: headers are edited as structs, parsed as bytes. */
struct image {
    union {
        uint8_t bytes[IMG_SIZE];
        struct {
            Elf64_Ehdr eh;
            Elf64_Phdr ph[(IMG_SIZE - sizeof(Elf64_Ehdr)) / sizeof(Elf64_Phdr)];
        };
    };
    size_t len;
};

static struct image img;
static struct elf_info info;
static char err[256];

static void set_ehdr(struct image *m, int type, int phnum)
{
    memset(m, 0, sizeof(*m));
    memcpy(m->eh.e_ident, ELFMAG, SELFMAG);
    m->eh.e_ident[EI_CLASS] = ELFCLASS64;
    m->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    m->eh.e_ident[EI_VERSION] = EV_CURRENT;
    m->eh.e_type = type;
    m->eh.e_machine = EM_X86_64;
    m->eh.e_version = EV_CURRENT;
    m->eh.e_phoff = sizeof(Elf64_Ehdr);
    m->eh.e_ehsize = sizeof(Elf64_Ehdr);
    m->eh.e_phentsize = sizeof(Elf64_Phdr);
    m->eh.e_phnum = phnum;
}

static Elf64_Phdr phdr(uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
                       uint64_t filesz, uint64_t memsz)
{
    return (Elf64_Phdr){ .p_type = type, .p_flags = flags, .p_offset = off,
                         .p_vaddr = vaddr, .p_paddr = vaddr, .p_filesz = filesz,
                         .p_memsz = memsz, .p_align = PAGE_SIZE };
}

/* A static ET_EXEC: text (with the headers) and data+bss, non-executable stack. */
static void make_static(struct image *m)
{
    set_ehdr(m, ET_EXEC, 3);
    m->eh.e_entry = 0x400100;
    m->ph[0] = phdr(PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1000, 0x1000);
    m->ph[1] = phdr(PT_LOAD, PF_R | PF_W, 0x2000, 0x402000, 0x100, 0x3000);
    m->ph[2] = phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
    m->len = 0x2100;
}

/* A PIE with an interpreter: PT_PHDR, PT_INTERP, three PT_LOADs, executable stack. */
static void make_dyn(struct image *m)
{
    set_ehdr(m, ET_DYN, 6);
    m->eh.e_entry = 0x1040;
    uint64_t phsize = 6 * sizeof(Elf64_Phdr);
    m->ph[0] = phdr(PT_PHDR, PF_R, 64, 64, phsize, phsize);
    m->ph[1] = phdr(PT_INTERP, PF_R, 0x300, 0x300, sizeof(INTERP), sizeof(INTERP));
    m->ph[2] = phdr(PT_LOAD, PF_R, 0, 0, 0x1000, 0x1000);
    m->ph[3] = phdr(PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0x800, 0x800);
    m->ph[4] = phdr(PT_LOAD, PF_R | PF_W, 0x1800, 0x2800, 0x100, 0x1000);
    m->ph[5] = phdr(PT_GNU_STACK, PF_R | PF_W | PF_X, 0, 0, 0, 0);
    memcpy(m->bytes + 0x300, INTERP, sizeof(INTERP));
    m->len = 0x1900;
}

static int parse(const struct image *m)
{
    return elf_parse(m->bytes, m->len, m->len, &info, err, sizeof(err));
}

/* expect_reject: the image fails with -ENOEXEC and a message containing word. */
static void expect_reject(const struct image *m, const char *word)
{
    int rc = parse(m);
    cr_assert_eq(rc, -ENOEXEC, "rc %d, expected an error about '%s'", rc, word);
    cr_assert(err[0] != '\0', "empty message");
    cr_assert(strstr(err, word), "message '%s' lacks '%s'", err, word);
}

Test(elf, static_exec)
{
    make_static(&img);
    cr_assert_eq(parse(&img), 0, "%s", err);
    cr_assert_eq(info.type, ET_EXEC);
    cr_assert_eq(info.entry, 0x400100);
    cr_assert_eq(info.phoff, 64);
    cr_assert_eq(info.phnum, 3);
    cr_assert_eq(info.phentsize, sizeof(Elf64_Phdr));
    cr_assert_eq(info.phdr_vaddr, 0x400040, "derived from the text segment");
    cr_assert_eq(info.nseg, 2);
    cr_assert_eq(info.seg[0].vaddr, 0x400000);
    cr_assert_eq(info.seg[0].prot, PROT_READ | PROT_EXEC);
    cr_assert_eq(info.seg[1].vaddr, 0x402000);
    cr_assert_eq(info.seg[1].offset, 0x2000);
    cr_assert_eq(info.seg[1].filesz, 0x100);
    cr_assert_eq(info.seg[1].memsz, 0x3000);
    cr_assert_eq(info.seg[1].prot, PROT_READ | PROT_WRITE);
    cr_assert_eq(info.min_vaddr, 0x400000);
    cr_assert_eq(info.max_vaddr, 0x405000);
    cr_assert_eq(info.has_interp, 0);
    cr_assert_eq(info.stack_exec, 0);
}

Test(elf, dyn_with_interp)
{
    make_dyn(&img);
    cr_assert_eq(parse(&img), 0, "%s", err);
    cr_assert_eq(info.type, ET_DYN);
    cr_assert_eq(info.entry, 0x1040);
    cr_assert_eq(info.phnum, 6);
    cr_assert_eq(info.phdr_vaddr, 64, "from PT_PHDR");
    cr_assert_eq(info.nseg, 3);
    cr_assert_eq(info.seg[0].prot, PROT_READ);
    cr_assert_eq(info.seg[1].prot, PROT_READ | PROT_EXEC);
    cr_assert_eq(info.seg[2].vaddr, 0x2800);
    cr_assert_eq(info.min_vaddr, 0);
    cr_assert_eq(info.max_vaddr, 0x4000);
    cr_assert_eq(info.has_interp, 1);
    cr_assert_eq(info.interp_off, 0x300);
    cr_assert_eq(info.interp_size, sizeof(INTERP));
    cr_assert_str_eq((const char *)img.bytes + info.interp_off, INTERP);
    cr_assert_eq(info.stack_exec, 1);
}

Test(elf, headers_read_partially)
{
    /* The loader reads only the start of the file: the phdrs are in it, the rest not. */
    make_dyn(&img);
    cr_assert_eq(elf_parse(img.bytes, 0x400, img.len, &info, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(info.nseg, 3);
}

Test(elf, segments_sharing_a_page)
{
    /* Text ends mid-page and data starts in the same page: accepted, as by Linux. */
    make_static(&img);
    img.ph[0].p_filesz = img.ph[0].p_memsz = 0xe00;
    img.ph[1] = phdr(PT_LOAD, PF_R | PF_W, 0xe00, 0x400e00, 0x100, 0x1000);
    img.len = 0xf00;
    cr_assert_eq(parse(&img), 0, "%s", err);
    cr_assert_eq(info.max_vaddr, 0x402000);
}

Test(elf, no_gnu_stack_means_no_exec_stack)
{
    make_dyn(&img);
    img.ph[5].p_type = PT_NULL;
    cr_assert_eq(parse(&img), 0, "%s", err);
    cr_assert_eq(info.stack_exec, 0);
}

Test(elf, no_phdr_in_loads)
{
    /* No PT_PHDR and no PT_LOAD covering the table: AT_PHDR cannot be given. */
    make_static(&img);
    img.ph[0].p_offset = 0x1000;
    img.ph[0].p_filesz = img.ph[0].p_memsz = 0x800;
    cr_assert_eq(parse(&img), 0, "%s", err);
    cr_assert_eq(info.phdr_vaddr, 0);
}

Test(elf, entry_is_not_checked)
{
    make_static(&img);
    img.eh.e_entry = 0xdead0000;
    cr_assert_eq(parse(&img), 0, "%s", err);
}

/* Malformed images: one check each. */

Test(elf, empty)
{
    cr_assert_eq(elf_parse("", 0, 0, &info, err, sizeof(err)), -ENOEXEC);
    cr_assert(strstr(err, "magic"), "%s", err);
}

Test(elf, ten_bytes)
{
    make_static(&img);
    img.len = 10;
    expect_reject(&img, "truncated");
}

Test(elf, bad_magic)
{
    make_static(&img);
    img.bytes[1] = 'X';
    expect_reject(&img, "bad magic");
}

Test(elf, class32)
{
    make_static(&img);
    img.eh.e_ident[EI_CLASS] = ELFCLASS32;
    expect_reject(&img, "32-bit");
}

Test(elf, big_endian)
{
    make_static(&img);
    img.eh.e_ident[EI_DATA] = ELFDATA2MSB;
    expect_reject(&img, "big-endian");
}

Test(elf, bad_version)
{
    make_static(&img);
    img.eh.e_ident[EI_VERSION] = 7;
    expect_reject(&img, "version");
}

Test(elf, arm_machine)
{
    make_static(&img);
    img.eh.e_machine = EM_ARM;
    expect_reject(&img, "wrong machine: 40");
    img.eh.e_machine = EM_AARCH64;
    expect_reject(&img, "wrong machine: 183");
}

Test(elf, et_rel)
{
    make_static(&img);
    img.eh.e_type = ET_REL;
    expect_reject(&img, "ET_REL");
    img.eh.e_type = ET_CORE;
    expect_reject(&img, "ET_CORE");
}

Test(elf, bad_phentsize)
{
    make_static(&img);
    img.eh.e_phentsize = 32;
    expect_reject(&img, "e_phentsize");
}

Test(elf, phnum_zero)
{
    make_static(&img);
    img.eh.e_phnum = 0;
    expect_reject(&img, "program headers");
}

Test(elf, phnum_65535)
{
    make_static(&img);
    img.eh.e_phnum = 65535;
    expect_reject(&img, "too many");
}

Test(elf, phoff_past_end)
{
    make_static(&img);
    img.eh.e_phoff = img.len + 8;
    expect_reject(&img, "outside the file");
}

Test(elf, phoff_overflows)
{
    make_static(&img);
    img.eh.e_phoff = UINT64_MAX - 16;
    expect_reject(&img, "outside the file");
}

Test(elf, phdrs_beyond_bytes_read)
{
    make_static(&img);
    cr_assert_eq(elf_parse(img.bytes, 100, img.len, &info, err, sizeof(err)), -ENOEXEC);
    cr_assert(strstr(err, "program header table"), "%s", err);
}

Test(elf, filesz_gt_memsz)
{
    make_static(&img);
    img.ph[1].p_filesz = 0x4000;
    expect_reject(&img, "segment 1: p_filesz > p_memsz");
}

Test(elf, segment_offset_beyond_file)
{
    make_static(&img);
    img.ph[1].p_offset = 0x10000;
    img.ph[1].p_vaddr = 0x410000;
    expect_reject(&img, "segment 1: file range outside the file");
}

Test(elf, segment_file_range_overflows)
{
    make_static(&img);
    img.ph[1].p_offset = UINT64_MAX - 0x7f;   /* + filesz 0x100 wraps */
    img.ph[1].p_vaddr = 0x402000 + (img.ph[1].p_offset & 0xfff);
    expect_reject(&img, "file range outside the file");
}

Test(elf, vaddr_memsz_overflow)
{
    make_static(&img);
    img.ph[1].p_vaddr = 0xfffffffffffff000;
    img.ph[1].p_offset = 0;
    img.ph[1].p_memsz = 0x2000;
    expect_reject(&img, "segment 1: address overflows");
}

Test(elf, exec_above_user_space)
{
    make_static(&img);
    img.ph[1].p_vaddr = 0x7ffffffff000;
    expect_reject(&img, "user address space");
}

Test(elf, dyn_span_too_large)
{
    make_dyn(&img);
    img.ph[4].p_vaddr = 0x900000000800;
    expect_reject(&img, "span");
}

Test(elf, misaligned_offset)
{
    make_static(&img);
    img.ph[1].p_offset = 0x1f00;
    expect_reject(&img, "alignment mismatch");
}

Test(elf, overlapping_segments)
{
    make_static(&img);
    img.ph[1].p_vaddr = 0x400800;
    img.ph[1].p_offset = 0x800;
    expect_reject(&img, "segment 1 overlaps segment 0");
}

Test(elf, descending_segments)
{
    make_static(&img);
    img.ph[1].p_vaddr = 0x300000;
    expect_reject(&img, "ascending");
}

Test(elf, no_load)
{
    make_static(&img);
    img.ph[0].p_type = PT_NOTE;
    img.ph[1].p_type = PT_NOTE;
    expect_reject(&img, "no loadable segment");
}

Test(elf, too_many_loads)
{
    set_ehdr(&img, ET_EXEC, ELF_MAX_SEGMENTS + 1);
    for (int i = 0; i <= ELF_MAX_SEGMENTS; i++)
        img.ph[i] = phdr(PT_LOAD, PF_R, 0, 0x400000 + i * PAGE_SIZE, 0x100, 0x100);
    img.len = 0x1000;
    expect_reject(&img, "too many segments");
}

Test(elf, interp_too_short)
{
    make_dyn(&img);
    img.ph[1].p_filesz = 1;
    expect_reject(&img, "interpreter");
}

Test(elf, interp_too_long)
{
    make_dyn(&img);
    img.ph[1].p_filesz = 4097;
    expect_reject(&img, "interpreter");
}

Test(elf, interp_outside_file)
{
    make_dyn(&img);
    img.ph[1].p_offset = img.len - 4;
    expect_reject(&img, "interpreter");
}

Test(elf, interp_not_terminated)
{
    make_dyn(&img);
    img.ph[1].p_filesz = sizeof(INTERP) - 1;
    expect_reject(&img, "interpreter");
}

Test(elf, two_interps)
{
    make_dyn(&img);
    img.ph[5] = img.ph[1];
    expect_reject(&img, "interpreter");
}

Test(elf, null_err_buffer)
{
    make_static(&img);
    img.eh.e_machine = EM_ARM;
    cr_assert_eq(elf_parse(img.bytes, img.len, img.len, &info, NULL, 0), -ENOEXEC);
}

/* Real binaries from this machine. */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            buf = realloc(buf, cap);
            cr_assert(buf);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

static void check_real(const char *path, int want_interp)
{
    size_t len;
    uint8_t *buf = read_file(path, &len);
    if (!buf)
        cr_skip_test("%s not present", path);

    cr_assert_eq(elf_parse(buf, len, len, &info, err, sizeof(err)), 0, "%s: %s", path,
                 err);
    cr_assert(info.type == ET_EXEC || info.type == ET_DYN);
    cr_assert_gt(info.nseg, 0);
    cr_assert_lt(info.min_vaddr, info.max_vaddr);
    cr_assert_neq(info.phdr_vaddr, 0);
    cr_assert_eq(info.has_interp, want_interp, "%s", path);
    if (want_interp) {
        const char *interp = (const char *)buf + info.interp_off;
        cr_assert_eq(strnlen(interp, info.interp_size), info.interp_size - 1);
        cr_assert(strstr(interp, "ld-"), "interpreter %s", interp);
    }

    /* As the loader does it: only the first bytes of the file in hand. */
    size_t head = MIN(len, (size_t)ELF_MAX_PHDR_SIZE + 64);
    cr_assert_eq(elf_parse(buf, head, len, &info, err, sizeof(err)), 0, "%s: %s", path,
                 err);
    free(buf);
}

Test(elf, real_busybox) { check_real("/bin/busybox", 0); }
Test(elf, real_ls) { check_real("/bin/ls", 1); }

/* Random mutations of valid images: any result is fine, a crash or (under ASan) an
 * out-of-bounds read is not. Each input sits in its own exact-size allocation. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void mutate(struct image *m)
{
    int n = 1 + rnd() % 8;
    for (int k = 0; k < n; k++) {
        /* Mostly hit the headers, where the parser looks. */
        size_t span = rnd() % 4 || m->len == 0 ? 64 + 8 * sizeof(Elf64_Phdr) : m->len;
        size_t at = rnd() % span;
        switch (rnd() % 4) {
        case 0:
            m->bytes[at] ^= 1u << (rnd() % 8);
            break;
        case 1:
            m->bytes[at] = rnd();
            break;
        case 2: {   /* an interesting 64-bit value at an aligned field */
            static const uint64_t vals[] = { 0, 1, 0xfff, 0x1000, UINT64_MAX,
                                             UINT64_MAX - 0xfff, 1ULL << 47, 1ULL << 63 };
            uint64_t v = vals[rnd() % ARRAY_SIZE(vals)];
            at &= ~7ul;
            memcpy(m->bytes + at, &v, MIN(sizeof(v), (size_t)IMG_SIZE - at));
            break;
        }
        default:
            m->len = rnd() % (m->len + 1);
            break;
        }
    }
}

Test(elf, random_mutations)
{
    int accepted = 0;
    for (int i = 0; i < 2000; i++) {
        if (i % 2)
            make_static(&img);
        else
            make_dyn(&img);
        mutate(&img);

        uint8_t *copy = malloc(img.len ? img.len : 1);
        cr_assert(copy);
        memcpy(copy, img.bytes, img.len);
        uint64_t file_size = rnd() % 4 ? img.len : img.len + rnd() % 0x10000;
        int rc = elf_parse(copy, img.len, file_size, &info, err, sizeof(err));
        cr_assert(rc == 0 || (rc == -ENOEXEC && err[0]), "rc %d", rc);
        if (rc == 0) {
            accepted++;
            cr_assert(info.nseg > 0 && info.nseg <= ELF_MAX_SEGMENTS);
            cr_assert(info.min_vaddr <= info.max_vaddr);
        }
        free(copy);
    }
    cr_log_info("%d of 2000 mutated images accepted", accepted);
}
