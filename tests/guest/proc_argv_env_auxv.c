/* The initial stack: argv, envp and the auxiliary vector the loader builds. */
// runs: | one | two words | -x --y= z
#include "guest.h"

#include <elf.h>
#include <sys/auxv.h>

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

extern char **environ;
extern char _start[];

/* aux: getauxval(type), failing the test if the entry is absent. */
static unsigned long aux(unsigned long type, const char *name)
{
    errno = 0;
    unsigned long v = getauxval(type);
    if (v == 0 && errno == ENOENT) {
        say("FAIL auxv entry %s is missing\n", name);
        exit(1);
    }
    return v;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void check_args(int argc, char **argv, char **envp)
{
    say("argc=%d\n", argc);
    /* argv[0] is the path the runner used; the directory part is not ours to print. */
    say("argv[0] basename=%s\n", base_name(argv[0]));
    for (int i = 1; i < argc; i++)
        say("argv[%d]=\"%s\"\n", i, argv[i]);
    CHECK(argv[argc] == NULL);
    /* envp follows argv's NULL on the stack, and libc's environ starts as envp. */
    CHECK(envp == argv + argc + 1);
    CHECK(environ == envp);

    int found = 0;
    for (char **e = envp; *e; e++)
        if (strcmp(*e, "SANDBOX_TEST=1") == 0)
            found = 1;
    CHECK(found);
    const char *v = getenv("SANDBOX_TEST");
    CHECK(v != NULL);
    say("env SANDBOX_TEST=%s\n", v);
}

static void check_auxv(const char *argv0)
{
    CHECK(aux(AT_PAGESZ, "AT_PAGESZ") == 4096);
    say("ok AT_PAGESZ\n");

    const Elf64_Phdr *phdr = (const Elf64_Phdr *)aux(AT_PHDR, "AT_PHDR");
    unsigned long phent = aux(AT_PHENT, "AT_PHENT"), phnum = aux(AT_PHNUM, "AT_PHNUM");
    CHECK(phdr != NULL && phent == sizeof(Elf64_Phdr) && phent == 56 && phnum > 0);
    /* AT_PHDR points at this program's own headers, mapped and readable. */
    int loads = 0, interp = 0;
    for (unsigned long i = 0; i < phnum; i++) {
        loads += phdr[i].p_type == PT_LOAD;
        interp += phdr[i].p_type == PT_INTERP;
    }
    CHECK(loads > 0);
    say("ok AT_PHDR AT_PHENT AT_PHNUM\n");

    CHECK(aux(AT_ENTRY, "AT_ENTRY") == (unsigned long)_start);
    say("ok AT_ENTRY\n");
    /* A program without an interpreter has no interpreter base. */
    if (!interp)
        CHECK(aux(AT_BASE, "AT_BASE") == 0);
    say("ok AT_BASE\n");

    CHECK(aux(AT_UID, "AT_UID") == getuid() && aux(AT_EUID, "AT_EUID") == geteuid());
    CHECK(aux(AT_GID, "AT_GID") == getgid() && aux(AT_EGID, "AT_EGID") == getegid());
    say("ok AT_UID AT_EUID AT_GID AT_EGID\n");

    const unsigned char *rnd = (const unsigned char *)aux(AT_RANDOM, "AT_RANDOM");
    CHECK(rnd != NULL && can_read(rnd) && can_read(rnd + 8));
    unsigned bits = 0;
    for (int i = 0; i < 16; i++)
        bits |= rnd[i];
    CHECK(bits != 0);
    say("ok AT_RANDOM\n");

    const char *execfn = (const char *)aux(AT_EXECFN, "AT_EXECFN");
    CHECK(execfn != NULL && ends_with(execfn, base_name(argv0)));
    say("ok AT_EXECFN\n");

    const char *platform = (const char *)aux(AT_PLATFORM, "AT_PLATFORM");
    CHECK(platform != NULL && strcmp(platform, "x86_64") == 0);
    say("ok AT_PLATFORM=%s\n", platform);

    CHECK(aux(AT_CLKTCK, "AT_CLKTCK") == 100);
    say("ok AT_CLKTCK\n");
    CHECK(aux(AT_HWCAP, "AT_HWCAP") != 0);
    say("ok AT_HWCAP\n");
    CHECK(aux(AT_SECURE, "AT_SECURE") == 0);
    say("ok AT_SECURE\n");
    CHECK(aux(AT_MINSIGSTKSZ, "AT_MINSIGSTKSZ") != 0);
    say("ok AT_MINSIGSTKSZ\n");

    errno = 0;
    CHECK(getauxval(0x7fff) == 0 && errno == ENOENT);
    say("ok absent entry\n");
}

int main(int argc, char **argv, char **envp)
{
    check_args(argc, argv, envp);
    check_auxv(argv[0]);
    return 0;
}
