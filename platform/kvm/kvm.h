/* Internals shared by the KVM platform's files. See README.md. */
#ifndef PLATFORM_KVM_KVM_H
#define PLATFORM_KVM_KVM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "platform/kvm/layout.h"
#include "platform/kvm/pagetables.h"
#include "platform/platform.h"

/* The VM, one per Sentry. */
struct kvm_vm {
    int kvm_fd, vm_fd;
    int run_size;
    uint8_t *priv;                 /* the private area, slot 1 */
    struct kvm_cpuid2 *cpuid;      /* what the guest's cpuid answers */
    uint64_t xcr0;
    unsigned xsave_size;
    int pvm;                       /* the host is PVM (kvm_pvm module) */
    int no_patch;                  /* SANDBOX_KVM_PATCH=0: no syscall patching */
    uint8_t *mem;                  /* the Sentry's mapping of the memory file */
    uint64_t mem_max;              /* its size */
};
extern struct kvm_vm g_vm;

struct plat_as {
    pthread_mutex_t mu;            /* serialises map/unmap/protect */
    struct pagetable pt;
    uint64_t id;                   /* unique, never reused */
    uint64_t gen;                  /* bumped when a TLB flush is due (atomic) */
};

/* A batch of page-table stores for the guest to make (entry.S kvm_batch). */
#define BATCH_MAX 255
struct batch {
    uint64_t n, pad;
    struct { uint64_t va, val; } e[BATCH_MAX];
};

/* vcpu.user_mode: a vCPU in ring 3 after a kick may be half-way through something
 * kvm_pvm emulates, so it goes to ring 0 before it gets new registers; after a
 * port I/O exit it is at an instruction boundary and can simply be given them. */
enum { USER_NO = 0, USER_KICKED, USER_CLEAN };

struct vcpu {
    int id, fd;
    struct kvm_run *run;
    uint64_t *stack_top;           /* host pointer just past its stack page */
    struct batch *batch;           /* host pointer to its batch page */
    int user_mode;                 /* where the vCPU stopped in ring 3: USER_* */
    uint64_t fs, gs;               /* FS/GS base the guest program has */
    uint64_t as_id, as_gen;        /* the address space in its CR3 */
    pid_t tid;                     /* thread in KVM_RUN, else 0 (atomic) */
    struct vcpu *next_free;
};

struct plat_ctx {
    struct vcpu *v;
    int interrupted;               /* atomic */
};

static inline uint64_t priv_va(uint64_t off) { return SUP_VA + off; }
static inline uint64_t priv_gpa(uint64_t off) { return PRIV_GPA + off; }
static inline void *priv_ptr(uint64_t off) { return g_vm.priv + off; }

/* vcpu.c */
struct vcpu *vcpu_get(int *err);
void vcpu_put(struct vcpu *v);
/* vcpu_thread: the vCPU of the calling thread (taken from the pool on first use). */
struct vcpu *vcpu_thread(int *err);
void vcpu_thread_drop(struct vcpu *v);
/* vcpu_batch_flush: has the guest make the stores queued in v->batch. */
int vcpu_batch_flush(struct vcpu *v);
int vcpu_switch(struct plat_ctx *c, struct plat_as *as, struct guest_regs *regs,
                struct trap *trap);
void vcpu_kick_init(void);
void vcpu_interrupt(struct plat_ctx *c);

/* kvm.c */
uint64_t kvm_sup_entry(void);      /* PML4 entry of the supervisor region */
/* pvm.c */
int pvm_detect(void);

#endif
