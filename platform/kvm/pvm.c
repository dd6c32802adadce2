/* Which KVM this is. PVM ("Pagetable-based Virtual Machine", the kvm_pvm module)
 * runs guests without VT-x/AMD-V: guest "ring 0" is emulated at the CPU's ring 3.
 *
 * What this platform relies on was measured on such a host (platform/kvm/tools/):
 * the PVM event ABI of pvm-spec.rst (MSR_PVM_VCPU_STRUCT, MSR_PVM_EVENT_ENTRY,
 * ERETU, ...) is not offered there: KVM_SET_MSRS refuses those indices and a guest
 * rdmsr of them faults. Instead the vCPU behaves as an ordinary long-mode CPU with
 * IDT, TSS and iretq, with one difference: `syscall` from ring 3 arrives at LSTAR
 * still in ring 3. entry.S handles both that and hardware KVM, so the dialect is
 * only reported, never switched on. */
#include "platform/kvm/kvm.h"

#include <fcntl.h>
#include <unistd.h>

int pvm_detect(void)
{
    /* the module's sysfs directory exists whether it is built in or loaded */
    return access("/sys/module/kvm_pvm", F_OK) == 0;
}
