/* --strace: one line per guest call, "[pid TID] name(args) = result", decoded from the
 * table's argument formats, so no handler carries tracing code. The line is built in
 * a bounded local buffer and written with one write(2), so lines from different tasks
 * never interleave. Guest memory is read only through mm_copy_in/mm_copy_string_in;
 * an argument that cannot be read prints as its address. */
#include "sentry/syscalls/strace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/util.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/mm.h"

#define STRACE_LINE_MAX 1024

void strace_buf_printf(struct strace_buf *b, const char *fmt, ...)
{
    size_t room = b->size - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += MIN((size_t)n, room - 1);
}

static void buf_putc(struct strace_buf *b, char c)
{
    if (b->len + 1 < b->size) {
        b->p[b->len++] = c;
        b->p[b->len] = '\0';
    }
}

static void buf_puts(struct strace_buf *b, const char *s)
{
    strace_buf_printf(b, "%s", s);
}

/* Flag names, x86-64 guest ABI values. A name whose mask has several bits prints only
 * when all are set, so composites (O_SYNC, O_TMPFILE) come before their parts. */
struct flag_name {
    uint64_t mask;
    const char *name;
};

static const struct flag_name k_prot[] = {
    { 0x1, "PROT_READ" }, { 0x2, "PROT_WRITE" }, { 0x4, "PROT_EXEC" },
    { 0x8, "PROT_SEM" }, { 0x01000000, "PROT_GROWSDOWN" }, { 0x02000000, "PROT_GROWSUP" },
};

static const char *const k_families[] = {
    [0] = "AF_UNSPEC", [1] = "AF_UNIX", [2] = "AF_INET", [10] = "AF_INET6",
    [16] = "AF_NETLINK", [17] = "AF_PACKET",
};
static const char *const k_socktypes[] = {
    [1] = "SOCK_STREAM", [2] = "SOCK_DGRAM", [3] = "SOCK_RAW", [4] = "SOCK_RDM",
    [5] = "SOCK_SEQPACKET", [6] = "SOCK_DCCP", [10] = "SOCK_PACKET",
};
static const struct flag_name k_sockflags[] = {
    { 02000000, "SOCK_CLOEXEC" }, { 04000, "SOCK_NONBLOCK" },
};

/* The map type (low 4 bits) is printed first, apart from these. */
static const struct flag_name k_mmap[] = {
    { 0x10, "MAP_FIXED" }, { 0x20, "MAP_ANONYMOUS" }, { 0x40, "MAP_32BIT" },
    { 0x100, "MAP_GROWSDOWN" }, { 0x800, "MAP_DENYWRITE" }, { 0x1000, "MAP_EXECUTABLE" },
    { 0x2000, "MAP_LOCKED" }, { 0x4000, "MAP_NORESERVE" }, { 0x8000, "MAP_POPULATE" },
    { 0x10000, "MAP_NONBLOCK" }, { 0x20000, "MAP_STACK" }, { 0x40000, "MAP_HUGETLB" },
    { 0x80000, "MAP_SYNC" }, { 0x100000, "MAP_FIXED_NOREPLACE" },
};

/* The access mode (low 2 bits) is printed first, apart from these. */
static const struct flag_name k_open[] = {
    { 0100, "O_CREAT" }, { 0200, "O_EXCL" }, { 0400, "O_NOCTTY" }, { 01000, "O_TRUNC" },
    { 02000, "O_APPEND" }, { 04000, "O_NONBLOCK" }, { 04010000, "O_SYNC" },
    { 010000, "O_DSYNC" }, { 020000, "O_ASYNC" }, { 040000, "O_DIRECT" },
    { 0100000, "O_LARGEFILE" }, { 020200000, "O_TMPFILE" }, { 0200000, "O_DIRECTORY" },
    { 0400000, "O_NOFOLLOW" }, { 01000000, "O_NOATIME" }, { 02000000, "O_CLOEXEC" },
    { 010000000, "O_PATH" },
};

static const char *const k_signames[32] = {
    [1] = "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
    "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM",
    "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN",
    "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",
    "SIGIO", "SIGPWR", "SIGSYS",
};

/* fmt_bits: appends the names of the set bits, then any unnamed rest in hex; "0" if
 * nothing at all was printed (including by the caller, who says so in printed). */
static void fmt_bits(struct strace_buf *b, uint64_t v, const struct flag_name *names,
                     size_t count, int printed)
{
    for (size_t i = 0; i < count; i++) {
        if ((v & names[i].mask) == names[i].mask) {
            strace_buf_printf(b, "%s%s", printed ? "|" : "", names[i].name);
            v &= ~names[i].mask;
            printed = 1;
        }
    }
    if (v)
        strace_buf_printf(b, "%s%#llx", printed ? "|" : "", (unsigned long long)v);
    else if (!printed)
        buf_putc(b, '0');
}

void strace_fmt_value(struct strace_buf *b, enum arg_fmt fmt, uint64_t v)
{
    static const char *const map_types[4] = {
        NULL, "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE" };
    static const char *const acc_modes[4] = {
        "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };

    switch (fmt) {
    case AF_INT:
        /* An int argument arrives zero-extended; a 64-bit one (offsets) may not. */
        if (v >> 32 == 0)
            strace_buf_printf(b, "%d", (int)(uint32_t)v);
        else
            strace_buf_printf(b, "%lld", (long long)v);
        break;
    case AF_UINT:
        strace_buf_printf(b, "%llu", (unsigned long long)v);
        break;
    case AF_PTR:
        if (v == 0) {
            buf_puts(b, "NULL");
            break;
        }
        /* fall through */
    case AF_HEX:
    default:
        strace_buf_printf(b, "%#llx", (unsigned long long)v);
        break;
    case AF_OCT:
        strace_buf_printf(b, "0%03llo", (unsigned long long)v);
        break;
    case AF_SIG:
        if (v < ARRAY_SIZE(k_signames) && k_signames[v])
            buf_puts(b, k_signames[v]);
        else if (v == 32)
            buf_puts(b, "SIGRTMIN");
        else if (v > 32 && v <= 64)
            strace_buf_printf(b, "SIGRT_%d", (int)v - 32);
        else
            strace_buf_printf(b, "%d", (int)v);
        break;
    case AF_PROT:
        if (v == 0)
            buf_puts(b, "PROT_NONE");
        else
            fmt_bits(b, v, k_prot, ARRAY_SIZE(k_prot), 0);
        break;
    case AF_MMAPF: {
        const char *type = (v & 0xf) < 4 ? map_types[v & 0xf] : NULL;
        if (type) {
            buf_puts(b, type);
            v &= ~(uint64_t)0xf;
        }
        fmt_bits(b, v, k_mmap, ARRAY_SIZE(k_mmap), type != NULL);
        break;
    }
    case AF_OPENF:
        buf_puts(b, acc_modes[v & 3]);
        fmt_bits(b, v & ~(uint64_t)3, k_open, ARRAY_SIZE(k_open), 1);
        break;
    case AF_SOCKFAM:
        if (v < ARRAY_SIZE(k_families) && k_families[v])
            buf_puts(b, k_families[v]);
        else
            strace_buf_printf(b, "%d", (int)v);
        break;
    case AF_SOCKTYPE: {
        unsigned ty = (unsigned)v & 0xf;
        if (ty < ARRAY_SIZE(k_socktypes) && k_socktypes[ty])
            buf_puts(b, k_socktypes[ty]);
        else
            strace_buf_printf(b, "%u", ty);
        fmt_bits(b, v & ~(uint64_t)0xf, k_sockflags, ARRAY_SIZE(k_sockflags), 1);
        break;
    }
    }
}

void strace_fmt_bytes(struct strace_buf *b, const char *s, size_t n, int more)
{
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':  buf_puts(b, "\\\""); break;
        case '\\': buf_puts(b, "\\\\"); break;
        case '\n': buf_puts(b, "\\n"); break;
        case '\t': buf_puts(b, "\\t"); break;
        case '\r': buf_puts(b, "\\r"); break;
        case '\v': buf_puts(b, "\\v"); break;
        case '\f': buf_puts(b, "\\f"); break;
        default:
            if (c >= 0x20 && c < 0x7f) {
                buf_putc(b, (char)c);
            } else {
                /* Short octal like strace, unless a digit follows and would join it. */
                int digit_next = i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7';
                strace_buf_printf(b, digit_next ? "\\%03o" : "\\%o", c);
            }
        }
    }
    buf_putc(b, '"');
    if (more)
        buf_puts(b, "...");
}

void strace_fmt_ret(struct strace_buf *b, long ret, int hex)
{
    static const struct { int nr; const char *name, *desc; } restarts[] = {
        { ERESTARTSYS, "ERESTARTSYS", "To be restarted if SA_RESTART is set" },
        { ERESTARTNOINTR, "ERESTARTNOINTR", "To be restarted" },
        { ERESTARTNOHAND, "ERESTARTNOHAND", "To be restarted if no handler" },
        { ERESTART_RESTARTBLOCK, "ERESTART_RESTARTBLOCK", "Interrupted by signal" },
    };

    if (ret >= 0 || ret < -MAX_ERRNO) {
        if (hex)
            strace_buf_printf(b, "%#lx", (unsigned long)ret);
        else
            strace_buf_printf(b, "%ld", ret);
        return;
    }
    int err = (int)-ret;
    /* Restart codes never reach the guest; strace shows them as "?" too. */
    for (size_t i = 0; i < ARRAY_SIZE(restarts); i++) {
        if (restarts[i].nr == err) {
            strace_buf_printf(b, "? %s (%s)", restarts[i].name, restarts[i].desc);
            return;
        }
    }
    const char *name = strerrorname_np(err), *desc = strerrordesc_np(err);
    if (name)
        strace_buf_printf(b, "-1 %s (%s)", name, desc ? desc : "?");
    else
        strace_buf_printf(b, "-1 (errno %d)", err);
}

/* fmt_guest_bytes: appends up to STRACE_STR_MAX bytes of guest memory at addr, of
 * which there are len in all. */
static void fmt_guest_bytes(struct strace_buf *b, struct task *t, uint64_t addr,
                            uint64_t len)
{
    char tmp[STRACE_STR_MAX];
    size_t n = MIN(len, sizeof(tmp));
    if (!t || !t->mm || mm_copy_in(t->mm, tmp, addr, n) < 0) {
        strace_fmt_value(b, AF_PTR, addr);
        return;
    }
    strace_fmt_bytes(b, tmp, n, len > n);
}

/* fmt_guest_str: appends the guest string at addr. Only one byte more than is
 * printed is read, to know whether "..." follows. */
static void fmt_guest_str(struct strace_buf *b, struct task *t, uint64_t addr)
{
    char tmp[STRACE_STR_MAX + 2];
    if (addr == 0 || !t || !t->mm) {
        strace_fmt_value(b, AF_PTR, addr);
        return;
    }
    long n = mm_copy_string_in(t->mm, addr, tmp, sizeof(tmp));
    /* Longer than tmp: its first STRACE_STR_MAX bytes are readable, being string. */
    if (n == -ENAMETOOLONG && mm_copy_in(t->mm, tmp, addr, STRACE_STR_MAX) == 0)
        n = STRACE_STR_MAX + 1;
    if (n < 0) {
        strace_fmt_value(b, AF_PTR, addr);
        return;
    }
    strace_fmt_bytes(b, tmp, MIN((size_t)n, (size_t)STRACE_STR_MAX), n > STRACE_STR_MAX);
}

/* fmt_guest_sockaddr: appends the guest address at addr of len bytes as strace does
 * for the families it knows ({sa_family=AF_UNIX, sun_path="/x"},
 * {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}). */
static void fmt_guest_sockaddr(struct strace_buf *b, struct task *t, uint64_t addr,
                               uint64_t len)
{
    unsigned char sa[128];
    if (!addr || !t || !t->mm || len < 2 || len > sizeof(sa) ||
        mm_copy_in(t->mm, sa, addr, len) < 0) {
        strace_fmt_value(b, AF_PTR, addr);
        return;
    }
    unsigned fam = sa[0] | (unsigned)sa[1] << 8;
    buf_puts(b, "{sa_family=");
    strace_fmt_value(b, AF_SOCKFAM, fam);
    if (fam == 1 && len > 2) {
        const char *p = (const char *)sa + 2;
        size_t n = len - 2;
        if (p[0] == '\0') {
            buf_puts(b, ", sun_path=@");
            strace_fmt_bytes(b, p + 1, MIN(n - 1, (size_t)STRACE_STR_MAX), n - 1 > STRACE_STR_MAX);
        } else {
            size_t l = strnlen(p, n);
            buf_puts(b, ", sun_path=");
            strace_fmt_bytes(b, p, MIN(l, (size_t)STRACE_STR_MAX), l > STRACE_STR_MAX);
        }
    } else if (fam == 2 && len >= 8) {
        strace_buf_printf(b, ", sin_port=htons(%u), sin_addr=inet_addr(\"%u.%u.%u.%u\")",
                          (unsigned)sa[2] << 8 | sa[3], sa[4], sa[5], sa[6], sa[7]);
    } else if (fam == 10 && len >= 4) {
        strace_buf_printf(b, ", sin6_port=htons(%u), ...", (unsigned)sa[2] << 8 | sa[3]);
    }
    buf_putc(b, '}');
}

/* fmt_arg: appends argument i; ret is the result when returned is set. */
static void fmt_arg(struct strace_buf *b, struct task *t, const struct syscall_args *a,
                    int i, enum arg_fmt fmt, long ret, int returned)
{
    uint64_t v = a->arg[i];
    switch (fmt) {
    case AF_STR:
        fmt_guest_str(b, t, v);
        break;
    case AF_BUF:
        if (i + 1 < 6)
            fmt_guest_bytes(b, t, v, a->arg[i + 1]);
        else
            strace_fmt_value(b, AF_PTR, v);
        break;
    case AF_SOCKADDR:
        if (i + 1 < 6)
            fmt_guest_sockaddr(b, t, v, a->arg[i + 1]);
        else
            strace_fmt_value(b, AF_PTR, v);
        break;
    case AF_OBUF:
        /* Only what the call wrote is worth showing. */
        if (returned && ret > 0)
            fmt_guest_bytes(b, t, v, (uint64_t)ret);
        else
            strace_fmt_value(b, AF_PTR, v);
        break;
    default:
        strace_fmt_value(b, fmt, v);
    }
}

/* format_call: "[pid N] name(args) = " into b. */
static void format_call(struct strace_buf *b, struct task *t, const struct syscall_args *a,
                        long ret, int returned)
{
    uint64_t nr = a->nr;
    const struct syscall_entry *e =
        nr < SYSCALL_MAX && g_syscalls[nr].name ? &g_syscalls[nr] : NULL;

    strace_buf_printf(b, "[pid %d] ", t ? t->tid : 0);
    if (e) {
        strace_buf_printf(b, "%s(", e->name);
        for (int i = 0; i < 6 && e->args[i] != AF_NONE; i++) {
            if (i)
                buf_puts(b, ", ");
            fmt_arg(b, t, a, i, e->args[i], ret, returned);
        }
    } else {
        /* Unknown number: we cannot tell how many arguments, so show all six. */
        strace_buf_printf(b, "syscall_%llu(", (unsigned long long)nr);
        for (int i = 0; i < 6; i++)
            strace_buf_printf(b, "%s%#llx", i ? ", " : "",
                              (unsigned long long)a->arg[i]);
    }
    buf_puts(b, ") = ");
}

/* finish: the result (or "?") and the newline, then the line goes out. */
static void finish(struct strace_buf *b, const struct syscall_args *a, long ret,
                   int returned)
{
    uint64_t nr = a->nr;
    if (returned)
        strace_fmt_ret(b, ret, nr < SYSCALL_MAX && g_syscalls[nr].ret_hex);
    else
        buf_putc(b, '?');
    b->p[b->len++] = '\n';
    if (write(STDERR_FILENO, b->p, b->len) < 0) {
        /* stderr is gone; nothing better to do */
    }
    log_raw(b->p, b->len);   /* no-op unless a debug log is open */
}

static void emit(struct task *t, const struct syscall_args *a, long ret, int returned)
{
    char line[STRACE_LINE_MAX];
    /* One byte held back so the newline always fits, even after truncation. */
    struct strace_buf b = { .p = line, .size = sizeof(line) - 1, .len = 0 };
    format_call(&b, t, a, ret, returned);
    finish(&b, a, ret, returned);
}

long strace_call_replacing_memory(struct task *t, const struct syscall_args *a,
                                  long (*call)(struct task *, const struct syscall_args *))
{
    char line[STRACE_LINE_MAX];
    struct strace_buf b = { .p = line, .size = sizeof(line) - 1, .len = 0 };
    format_call(&b, t, a, 0, 0);
    long ret = call(t, a);
    finish(&b, a, ret, 1);
    return ret;
}

void strace_print(struct task *t, const struct syscall_args *a, long ret)
{
    emit(t, a, ret, 1);
}

void strace_print_noreturn(struct task *t, const struct syscall_args *a)
{
    emit(t, a, 0, 0);
}
