/* procfs: the system-wide files (/proc/meminfo, cpuinfo, stat, uptime, loadavg,
 * version, filesystems, locks and the /proc/sys settings). Their numbers are the sandbox's
 * own, consistent with what sysinfo(2), uname(2) and sched_getaffinity(2) report;
 * only cpuinfo describes the host's CPU, read with the cpuid instruction. */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "sentry/fs/procfs_impl.h"
#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"
#include "sentry/mm/memfile.h"
#include "sentry/vfs/lock.h"

/* ---- CPUs ---- */

int procfs_ncpus(void)
{
    return kernel_ncpus();
}

/* ---- time and tasks ---- */

/* uptime: time since the sandbox booted. */
static struct timespec uptime(void)
{
    struct timespec now;
    clock_gettime(CLOCK_BOOTTIME, &now);
    struct timespec d = { now.tv_sec - g_kernel.boot_time.tv_sec,
                          now.tv_nsec - g_kernel.boot_time.tv_nsec };
    if (d.tv_nsec < 0) {
        d.tv_sec--;
        d.tv_nsec += 1000000000L;
    }
    if (d.tv_sec < 0)
        d = (struct timespec){ 0, 0 };
    return d;
}

/* count_tasks: threads and processes of the sandbox. */
static void count_tasks(int *threads, int *procs, int *last)
{
    *threads = *procs = 0;
    pthread_mutex_lock(&g_kernel.mu);
    for (int i = 1; i < PID_MAX; i++) {
        struct task *t = g_kernel.tasks[i];
        if (!t)
            continue;
        (*threads)++;
        if (t->tg->tgid == i)
            (*procs)++;
    }
    *last = g_kernel.last_tid;
    pthread_mutex_unlock(&g_kernel.mu);
}

/* ---- meminfo ---- */

static void gen_meminfo(struct sbuf *b)
{
    /* the same ceiling and use as sys_sysinfo (syscalls/sys.c): the machine's memory,
     * of which the memory file holds what the guests use */
    long pages = sysconf(_SC_PHYS_PAGES);
    uint64_t total = pages > 0 ? (uint64_t)pages * PAGE_SIZE : 0;
    uint64_t used = MIN(memfile_used(), total);
    uint64_t free_ = total - used;
    struct { const char *name; uint64_t bytes; } rows[] = {
        { "MemTotal", total }, { "MemFree", free_ }, { "MemAvailable", free_ },
        { "Buffers", 0 }, { "Cached", 0 }, { "SwapCached", 0 },
        { "Active", used }, { "Inactive", 0 }, { "Active(anon)", used },
        { "Inactive(anon)", 0 }, { "Active(file)", 0 }, { "Inactive(file)", 0 },
        { "Unevictable", 0 }, { "Mlocked", 0 }, { "SwapTotal", 0 }, { "SwapFree", 0 },
        { "Dirty", 0 }, { "Writeback", 0 }, { "AnonPages", used }, { "Mapped", 0 },
        { "Shmem", 0 }, { "KReclaimable", 0 }, { "Slab", 0 }, { "SReclaimable", 0 },
        { "SUnreclaim", 0 }, { "KernelStack", 0 }, { "PageTables", 0 },
        { "NFS_Unstable", 0 }, { "Bounce", 0 }, { "WritebackTmp", 0 },
        { "CommitLimit", total }, { "Committed_AS", used },
        { "VmallocTotal", 34359738367ULL * 1024 }, { "VmallocUsed", 0 },
        { "VmallocChunk", 0 }, { "Percpu", 0 }, { "AnonHugePages", 0 },
        { "ShmemHugePages", 0 }, { "ShmemPmdMapped", 0 }, { "FileHugePages", 0 },
        { "FilePmdMapped", 0 },
    };
    char name[32];
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        /* show_val_kb: the name and colon in 16 columns, the number in 8 */
        snprintf(name, sizeof(name), "%s:", rows[i].name);
        sb_printf(b, "%-16s%8llu kB\n", name, (unsigned long long)(rows[i].bytes >> 10));
    }
    sb_printf(b, "HugePages_Total:       0\nHugePages_Free:        0\n"
                 "HugePages_Rsvd:        0\nHugePages_Surp:        0\n"
                 "Hugepagesize:       2048 kB\nHugetlb:               0 kB\n");
}

size_t procfs_fmt_meminfo(char *buf, size_t size)
{
    struct sbuf b = sb_fixed(buf, size);
    gen_meminfo(&b);
    return b.len;
}

/* ---- cpuinfo ---- */

/* A CPUID feature bit and the name Linux gives it in "flags". */
struct cpu_flag {
    uint32_t leaf, sub;
    uint8_t reg;        /* 0 eax, 1 ebx, 2 ecx, 3 edx */
    uint8_t bit;
    const char *name;
};

enum { EAX, EBX, ECX, EDX };

/* In Linux's order: leaf 1 edx, 0x80000001 edx, leaf 1 ecx, 0x80000001 ecx, leaf 7,
 * xsave features, leaf 7 ecx and edx. */
static const struct cpu_flag cpu_flags[] = {
    {1,0,EDX,0,"fpu"},{1,0,EDX,1,"vme"},{1,0,EDX,2,"de"},{1,0,EDX,3,"pse"},
    {1,0,EDX,4,"tsc"},{1,0,EDX,5,"msr"},{1,0,EDX,6,"pae"},{1,0,EDX,7,"mce"},
    {1,0,EDX,8,"cx8"},{1,0,EDX,9,"apic"},{1,0,EDX,11,"sep"},{1,0,EDX,12,"mtrr"},
    {1,0,EDX,13,"pge"},{1,0,EDX,14,"mca"},{1,0,EDX,15,"cmov"},{1,0,EDX,16,"pat"},
    {1,0,EDX,17,"pse36"},{1,0,EDX,18,"pn"},{1,0,EDX,19,"clflush"},{1,0,EDX,21,"dts"},
    {1,0,EDX,22,"acpi"},{1,0,EDX,23,"mmx"},{1,0,EDX,24,"fxsr"},{1,0,EDX,25,"sse"},
    {1,0,EDX,26,"sse2"},{1,0,EDX,27,"ss"},{1,0,EDX,28,"ht"},{1,0,EDX,29,"tm"},
    {1,0,EDX,30,"ia64"},{1,0,EDX,31,"pbe"},
    {0x80000001,0,EDX,11,"syscall"},{0x80000001,0,EDX,19,"mp"},
    {0x80000001,0,EDX,20,"nx"},{0x80000001,0,EDX,22,"mmxext"},
    {0x80000001,0,EDX,25,"fxsr_opt"},{0x80000001,0,EDX,26,"pdpe1gb"},
    {0x80000001,0,EDX,27,"rdtscp"},{0x80000001,0,EDX,29,"lm"},
    {0x80000001,0,EDX,30,"3dnowext"},{0x80000001,0,EDX,31,"3dnow"},
    {1,0,ECX,0,"pni"},{1,0,ECX,1,"pclmulqdq"},{1,0,ECX,2,"dtes64"},{1,0,ECX,3,"monitor"},
    {1,0,ECX,4,"ds_cpl"},{1,0,ECX,5,"vmx"},{1,0,ECX,6,"smx"},{1,0,ECX,7,"est"},
    {1,0,ECX,8,"tm2"},{1,0,ECX,9,"ssse3"},{1,0,ECX,10,"cid"},{1,0,ECX,11,"sdbg"},
    {1,0,ECX,12,"fma"},{1,0,ECX,13,"cx16"},{1,0,ECX,14,"xtpr"},{1,0,ECX,15,"pdcm"},
    {1,0,ECX,17,"pcid"},{1,0,ECX,18,"dca"},{1,0,ECX,19,"sse4_1"},{1,0,ECX,20,"sse4_2"},
    {1,0,ECX,21,"x2apic"},{1,0,ECX,22,"movbe"},{1,0,ECX,23,"popcnt"},
    {1,0,ECX,24,"tsc_deadline_timer"},{1,0,ECX,25,"aes"},{1,0,ECX,26,"xsave"},
    {1,0,ECX,28,"avx"},{1,0,ECX,29,"f16c"},{1,0,ECX,30,"rdrand"},
    {1,0,ECX,31,"hypervisor"},
    {0x80000001,0,ECX,0,"lahf_lm"},{0x80000001,0,ECX,1,"cmp_legacy"},
    {0x80000001,0,ECX,2,"svm"},{0x80000001,0,ECX,3,"extapic"},
    {0x80000001,0,ECX,4,"cr8_legacy"},{0x80000001,0,ECX,5,"abm"},
    {0x80000001,0,ECX,6,"sse4a"},{0x80000001,0,ECX,7,"misalignsse"},
    {0x80000001,0,ECX,8,"3dnowprefetch"},{0x80000001,0,ECX,9,"osvw"},
    {0x80000001,0,ECX,10,"ibs"},{0x80000001,0,ECX,11,"xop"},
    {0x80000001,0,ECX,12,"skinit"},{0x80000001,0,ECX,13,"wdt"},
    {0x80000001,0,ECX,15,"lwp"},{0x80000001,0,ECX,16,"fma4"},
    {0x80000001,0,ECX,17,"tce"},{0x80000001,0,ECX,19,"nodeid_msr"},
    {0x80000001,0,ECX,21,"tbm"},{0x80000001,0,ECX,22,"topoext"},
    {0x80000001,0,ECX,23,"perfctr_core"},{0x80000001,0,ECX,24,"perfctr_nb"},
    {0x80000001,0,ECX,26,"bpext"},{0x80000001,0,ECX,28,"perfctr_llc"},
    {0x80000001,0,ECX,29,"mwaitx"},
    {7,0,EBX,0,"fsgsbase"},{7,0,EBX,1,"tsc_adjust"},{7,0,EBX,2,"sgx"},{7,0,EBX,3,"bmi1"},
    {7,0,EBX,4,"hle"},{7,0,EBX,5,"avx2"},{7,0,EBX,7,"smep"},{7,0,EBX,8,"bmi2"},
    {7,0,EBX,9,"erms"},{7,0,EBX,10,"invpcid"},{7,0,EBX,11,"rtm"},{7,0,EBX,12,"cqm"},
    {7,0,EBX,14,"mpx"},{7,0,EBX,15,"rdt_a"},{7,0,EBX,16,"avx512f"},
    {7,0,EBX,17,"avx512dq"},{7,0,EBX,18,"rdseed"},{7,0,EBX,19,"adx"},
    {7,0,EBX,20,"smap"},{7,0,EBX,21,"avx512ifma"},{7,0,EBX,23,"clflushopt"},
    {7,0,EBX,24,"clwb"},{7,0,EBX,25,"intel_pt"},{7,0,EBX,26,"avx512pf"},
    {7,0,EBX,27,"avx512er"},{7,0,EBX,28,"avx512cd"},{7,0,EBX,29,"sha_ni"},
    {7,0,EBX,30,"avx512bw"},{7,0,EBX,31,"avx512vl"},
    {0xd,1,EAX,0,"xsaveopt"},{0xd,1,EAX,1,"xsavec"},{0xd,1,EAX,2,"xgetbv1"},
    {0xd,1,EAX,3,"xsaves"},
    {7,1,EAX,4,"avx_vnni"},{7,1,EAX,5,"avx512_bf16"},{6,0,EAX,2,"arat"},
    {7,0,ECX,1,"avx512vbmi"},{7,0,ECX,2,"umip"},{7,0,ECX,3,"pku"},{7,0,ECX,4,"ospke"},
    {7,0,ECX,5,"waitpkg"},{7,0,ECX,6,"avx512_vbmi2"},{7,0,ECX,8,"gfni"},
    {7,0,ECX,9,"vaes"},{7,0,ECX,10,"vpclmulqdq"},{7,0,ECX,11,"avx512_vnni"},
    {7,0,ECX,12,"avx512_bitalg"},{7,0,ECX,13,"tme"},{7,0,ECX,14,"avx512_vpopcntdq"},
    {7,0,ECX,22,"rdpid"},{7,0,ECX,24,"bus_lock_detect"},
    {7,0,ECX,25,"cldemote"},{7,0,ECX,27,"movdiri"},{7,0,ECX,28,"movdir64b"},
    {7,0,ECX,29,"enqcmd"},{7,0,ECX,30,"sgx_lc"},
    {7,0,EDX,2,"avx512_4vnniw"},{7,0,EDX,3,"avx512_4fmaps"},{7,0,EDX,4,"fsrm"},
    {7,0,EDX,8,"avx512_vp2intersect"},{7,0,EDX,10,"md_clear"},{7,0,EDX,14,"serialize"},
    {7,0,EDX,16,"tsxldtrk"},{7,0,EDX,18,"pconfig"},{7,0,EDX,19,"arch_lbr"},
    {7,0,EDX,22,"amx_bf16"},{7,0,EDX,23,"avx512_fp16"},{7,0,EDX,24,"amx_tile"},
    {7,0,EDX,25,"amx_int8"},{7,0,EDX,28,"flush_l1d"},{7,0,EDX,29,"arch_capabilities"},
};

/* cpuid: the four registers of leaf/sub, zero for a leaf the CPU does not have. */
static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    uint32_t max = __get_cpuid_max(leaf & 0x80000000u, NULL);
    r[0] = r[1] = r[2] = r[3] = 0;
    if (leaf <= max)
        __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}

/* What every block of cpuinfo shares, read once. */
static struct cpu_desc {
    char vendor[13];
    char model_name[49];
    unsigned family, model, stepping, level, mhz, cache_kb, clflush, phys_bits, virt_bits;
    char flags[2048];
} cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void read_cpu(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    cpu.level = r[0];
    memcpy(cpu.vendor, &r[1], 4);
    memcpy(cpu.vendor + 4, &r[3], 4);
    memcpy(cpu.vendor + 8, &r[2], 4);
    cpuid(1, 0, r);
    unsigned base_family = (r[0] >> 8) & 0xf, base_model = (r[0] >> 4) & 0xf;
    cpu.family = base_family == 0xf ? base_family + ((r[0] >> 20) & 0xff) : base_family;
    cpu.model = base_family == 0x6 || base_family == 0xf
                    ? base_model + (((r[0] >> 16) & 0xf) << 4) : base_model;
    cpu.stepping = r[0] & 0xf;
    cpu.clflush = ((r[1] >> 8) & 0xff) * 8;
    char name[49] = { 0 };
    for (uint32_t i = 0; i < 3; i++) {
        cpuid(0x80000002 + i, 0, r);
        memcpy(name + 16 * i, r, 16);
    }
    const char *n = name;
    while (*n == ' ')
        n++;
    snprintf(cpu.model_name, sizeof(cpu.model_name), "%s", *n ? n : "unknown");
    /* the base frequency: leaf 0x16, a hypervisor's timing leaf (TSC kHz), else
     * the "@ 2.30GHz" of the model name */
    cpuid(0x16, 0, r);
    cpu.mhz = r[0] & 0xffff;
    cpuid(1, 0, r);
    if (!cpu.mhz && (r[2] >> 31)) {
        __cpuid(0x40000000, r[0], r[1], r[2], r[3]);
        if (r[0] >= 0x40000010 && r[0] < 0x40000100) {
            __cpuid(0x40000010, r[0], r[1], r[2], r[3]);
            cpu.mhz = r[0] / 1000;
        }
    }
    const char *at = strstr(cpu.model_name, "@ ");
    double ghz;
    if (!cpu.mhz && at && sscanf(at + 2, "%lfGHz", &ghz) == 1)
        cpu.mhz = (unsigned)(ghz * 1000 + 0.5);
    /* the largest cache: deterministic cache parameters (leaf 4), else AMD's L2 */
    for (uint32_t i = 0; i < 16; i++) {
        cpuid(4, i, r);
        if ((r[0] & 0x1f) == 0)
            break;
        uint64_t size = (uint64_t)(((r[1] >> 22) & 0x3ff) + 1) * (((r[1] >> 12) & 0x3ff) + 1) *
                        ((r[1] & 0xfff) + 1) * ((uint64_t)r[2] + 1);
        cpu.cache_kb = (unsigned)MAX(cpu.cache_kb, size / 1024);
    }
    if (!cpu.cache_kb) {
        cpuid(0x80000006, 0, r);
        cpu.cache_kb = r[2] >> 16;
    }
    cpuid(0x80000008, 0, r);
    cpu.phys_bits = r[0] & 0xff;
    cpu.virt_bits = (r[0] >> 8) & 0xff;
    size_t at_flag = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cpu_flags); i++) {
        const struct cpu_flag *f = &cpu_flags[i];
        cpuid(f->leaf, f->sub, r);
        if (!(r[f->reg] >> f->bit & 1))
            continue;
        int w = snprintf(cpu.flags + at_flag, sizeof(cpu.flags) - at_flag, "%s%s",
                         at_flag ? " " : "", f->name);
        if (w < 0 || (size_t)w >= sizeof(cpu.flags) - at_flag)
            break;
        at_flag += (size_t)w;
    }
}

static void gen_cpuinfo(struct sbuf *b)
{
    pthread_once(&cpu_once, read_cpu);
    int n = procfs_ncpus();
    for (int i = 0; i < n; i++) {
        sb_printf(b, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n"
                     "model name\t: %s\nstepping\t: %u\nmicrocode\t: 0x1\n"
                     "cpu MHz\t\t: %u.000\ncache size\t: %u KB\n",
                  i, cpu.vendor, cpu.family, cpu.model, cpu.model_name, cpu.stepping,
                  cpu.mhz, cpu.cache_kb);
        sb_printf(b, "physical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\n"
                     "apicid\t\t: %d\ninitial apicid\t: %d\nfpu\t\t: yes\n"
                     "fpu_exception\t: yes\ncpuid level\t: %u\nwp\t\t: yes\n",
                  n, i, n, i, i, cpu.level);
        sb_printf(b, "flags\t\t: %s\nbugs\t\t:\nbogomips\t: %u.00\nclflush size\t: %u\n"
                     "cache_alignment\t: %u\naddress sizes\t: %u bits physical, %u bits virtual\n"
                     "power management:\n\n",
                  cpu.flags, cpu.mhz * 2 /* as Linux: twice the TSC MHz */, cpu.clflush, cpu.clflush, cpu.phys_bits,
                  cpu.virt_bits);
    }
}

size_t procfs_fmt_cpuinfo(char *buf, size_t size)
{
    struct sbuf b = sb_fixed(buf, size);
    gen_cpuinfo(&b);
    return b.len;
}

/* ---- stat, uptime, loadavg, version, filesystems ---- */

/* USER_HZ comes from cputime.h (through task.h) */

static void gen_stat(struct sbuf *b)
{
    struct timespec up = uptime();
    int n = procfs_ncpus(), threads, procs, last;
    count_tasks(&threads, &procs, &last);
    /* no CPU accounting yet: every CPU has been idle since boot */
    unsigned long long idle = (unsigned long long)up.tv_sec * USER_HZ +
                              (unsigned long long)up.tv_nsec / (1000000000 / USER_HZ);
    sb_printf(b, "cpu  0 0 0 %llu 0 0 0 0 0 0\n", idle * (unsigned)n);
    for (int i = 0; i < n; i++)
        sb_printf(b, "cpu%d 0 0 0 %llu 0 0 0 0 0 0\n", i, idle);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    sb_printf(b, "intr 0\nctxt 0\nbtime %lld\nprocesses %d\nprocs_running 1\n"
                 "procs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
              (long long)(now.tv_sec - up.tv_sec), last);
}

static void gen_uptime(struct sbuf *b)
{
    struct timespec up = uptime();
    unsigned long long cs = (unsigned long long)up.tv_sec * 100 +
                            (unsigned long long)up.tv_nsec / 10000000;
    unsigned long long idle = cs * (unsigned)procfs_ncpus();
    sb_printf(b, "%llu.%02llu %llu.%02llu\n", cs / 100, cs % 100, idle / 100, idle % 100);
}

size_t procfs_fmt_uptime(char *buf, size_t size)
{
    struct sbuf b = sb_fixed(buf, size);
    gen_uptime(&b);
    return b.len;
}

static void gen_loadavg(struct sbuf *b)
{
    int threads, procs, last;
    count_tasks(&threads, &procs, &last);
    sb_printf(b, "0.00 0.00 0.00 1/%d %d\n", threads, last);
}

size_t procfs_fmt_loadavg(char *buf, size_t size)
{
    struct sbuf b = sb_fixed(buf, size);
    gen_loadavg(&b);
    return b.len;
}

static void gen_version(struct sbuf *b)
{
    /* "Linux version RELEASE (BUILDER@HOST) (COMPILER) VERSION", as uname reports */
    sb_printf(b, "Linux version %s (sandbox@sandbox) (gcc) %s\n", KERNEL_RELEASE,
              KERNEL_VERSION);
}

size_t procfs_fmt_version(char *buf, size_t size)
{
    struct sbuf b = sb_fixed(buf, size);
    gen_version(&b);
    return b.len;
}

/* The filesystems the sandbox implements, with the names /proc/mounts shows. */
static const char *const filesystems[] = {
    "sysfs", "tmpfs", "proc", "devtmpfs", "devpts", "pipefs", "sockfs", "9p", "overlay",
};

/* ---- locks ---- */

struct locks_gen { struct sbuf *b; int n; };

/* gen_lock: one line of /proc/locks, in Linux's format (lock_get_status). */
static int gen_lock(const struct lock_info *li, void *arg)
{
    static const char *const kinds[] = { [LI_POSIX] = "POSIX  ADVISORY ",
                                         [LI_OFD] = "OFDLCK ADVISORY ",
                                         [LI_FLOCK] = "FLOCK  ADVISORY " };
    struct locks_gen *g = arg;
    sb_printf(g->b, "%d: %s %s %d %02x:%02x:%llu ", ++g->n, kinds[li->kind],
              li->type == F_WRLCK ? "WRITE" : "READ", li->pid, major(li->dev),
              minor(li->dev), (unsigned long long)li->ino);
    if (li->end == LR_EOF)
        sb_printf(g->b, "%lld EOF\n", (long long)li->start);
    else
        sb_printf(g->b, "%lld %lld\n", (long long)li->start, (long long)li->end);
    return 0;
}

/* ---- dispatch ---- */

int proc_sys_writable(int kind)
{
    return kind == PK_SYS_HOSTNAME || kind == PK_SYS_PIDMAX || kind == PK_SYS_OVERCOMMIT ||
           kind == PK_SYS_PIPEMAX;
}

int proc_gen_sys_file(int kind, struct sbuf *b)
{
    switch (kind) {
    case PK_MEMINFO: gen_meminfo(b); break;
    case PK_CPUINFO: gen_cpuinfo(b); break;
    case PK_STAT: gen_stat(b); break;
    case PK_UPTIME: gen_uptime(b); break;
    case PK_LOADAVG: gen_loadavg(b); break;
    case PK_VERSION: gen_version(b); break;
    case PK_LOCKS: {
        struct locks_gen g = { b, 0 };
        vfs_lock_for_each(gen_lock, &g);
        break;
    }
    case PK_FILESYSTEMS:
        for (size_t i = 0; i < ARRAY_SIZE(filesystems); i++)
            sb_printf(b, "nodev\t%s\n", filesystems[i]);
        break;
    case PK_SYS_HOSTNAME: sb_printf(b, "%s\n", g_kernel.hostname); break;
    case PK_SYS_OSRELEASE: sb_printf(b, "%s\n", KERNEL_RELEASE); break;
    case PK_SYS_OSTYPE: sb_printf(b, "Linux\n"); break;
    case PK_SYS_PIDMAX: sb_printf(b, "%d\n", PID_MAX); break;
    case PK_SYS_OVERCOMMIT: sb_printf(b, "0\n"); break;
    case PK_SYS_MMAP_MIN_ADDR: sb_printf(b, "%llu\n", MMAP_MIN_ADDR); break;
    /* the pipe size ceiling Linux has by default (fs.pipe-max-size) */
    case PK_SYS_PIPEMAX: sb_printf(b, "1048576\n"); break;
    default: return -EINVAL;
    }
    return 0;
}
