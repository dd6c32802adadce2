/* Privileged and I/O instructions in user mode, and touching the top of the lower
 * half where a platform may keep its own pages (the KVM platform's supervisor region
 * at 0x7f8000000000): every attempt must end in the signal Linux gives, with no effect
 * on anything else. Each attempt runs in a child; the parent prints how it ended. */
#include "guest.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUPERVISOR_PAGE 0x7f8000004000UL

static void do_hlt(void) { __asm__ volatile("hlt"); }
static void do_cli(void) { __asm__ volatile("cli"); }
static void do_sti(void) { __asm__ volatile("sti"); }
static void do_in(void) { __asm__ volatile("inb $0x80, %%al" ::: "rax"); }
static void do_out(void) { __asm__ volatile("outb %%al, $0x80" ::: "rax"); }
static void do_wrmsr(void) { __asm__ volatile("wrmsr" :: "c"(0xc0000082), "a"(0), "d"(0)); }
static void do_rdmsr(void) { __asm__ volatile("rdmsr" :: "c"(0xc0000082) : "rax", "rdx"); }
static void do_mov_cr3(void) { __asm__ volatile("mov %%cr3, %%rax" ::: "rax"); }
static void do_lgdt(void) { static uint8_t d[10]; __asm__ volatile("lgdt %0" :: "m"(d)); }
static void do_invlpg(void) { __asm__ volatile("invlpg (%0)" :: "r"(0x1000UL)); }
static void do_int_80_high(void) { __asm__ volatile("int $0x81"); }
static void do_ud2(void) { __asm__ volatile("ud2"); }
static void do_read_sup(void) { (void)*(volatile uint64_t *)SUPERVISOR_PAGE; }
static void do_write_sup(void) { *(volatile uint64_t *)SUPERVISOR_PAGE = 1; }
static void do_jump_sup(void) { ((void (*)(void))SUPERVISOR_PAGE)(); }

static void run(const char *name, void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);   /* it did not trap */
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
        printf("%-12s %s\n", name, strsignal(WTERMSIG(st)));
    else
        printf("%-12s exited %d\n", name, WEXITSTATUS(st));
}

int main(void)
{
    run("hlt", do_hlt);
    run("cli", do_cli);
    run("sti", do_sti);
    run("in", do_in);
    run("out", do_out);
    run("wrmsr", do_wrmsr);
    run("rdmsr", do_rdmsr);
    run("mov cr3", do_mov_cr3);
    run("lgdt", do_lgdt);
    run("invlpg", do_invlpg);
    run("int $0x81", do_int_80_high);
    run("ud2", do_ud2);
    run("read sup", do_read_sup);
    run("write sup", do_write_sup);
    run("jump sup", do_jump_sup);
    printf("parent still fine\n");
    return 0;
}
