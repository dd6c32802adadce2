/* user-mode only: syscall -> LSTAR on a supervisor page -> #PF with no IDT -> triple fault exit */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
static int vcpu; static struct kvm_run *run; static uint8_t *mem;
static int set_msr(uint32_t i, uint64_t d){ struct { struct kvm_msrs h; struct kvm_msr_entry e; } m={{.nmsrs=1},{.index=i,.data=d}}; return ioctl(vcpu,KVM_SET_MSRS,&m);}
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec*1e9+t.tv_nsec;}
int main(int argc,char**argv){ int kvm=open("/dev/kvm",O_RDWR); int vm=ioctl(kvm,KVM_CREATE_VM,0);
 mem=mmap(0,4<<20,3,MAP_SHARED|MAP_ANONYMOUS,-1,0); struct kvm_userspace_memory_region reg={.slot=0,.memory_size=4<<20,.userspace_addr=(uint64_t)mem}; ioctl(vm,KVM_SET_USER_MEMORY_REGION,&reg);
 vcpu=ioctl(vm,KVM_CREATE_VCPU,0);
 struct kvm_cpuid2 *c=calloc(1,sizeof(*c)+sizeof(struct kvm_cpuid_entry2)*256); c->nent=256; ioctl(kvm,KVM_GET_SUPPORTED_CPUID,c); ioctl(vcpu,KVM_SET_CPUID2,c);
 run=mmap(0,ioctl(kvm,KVM_GET_VCPU_MMAP_SIZE,0),3,MAP_SHARED,vcpu,0);
 uint64_t *pml4=(uint64_t*)(mem+0x1000),*pdpt=(uint64_t*)(mem+0x2000),*pd=(uint64_t*)(mem+0x3000),*pt=(uint64_t*)(mem+0x4000);
 pml4[0]=0x2000|7; pdpt[0]=0x3000|7; pd[0]=0x4000|7; for(int i=0;i<512;i++) pt[i]=(uint64_t)i*4096|3;
 pt[8]|=4; pt[9]|=4;
 uint8_t *u=mem+0x8000; for(int i=0;i<0x800;i+=2){u[i]=0x0f;u[i+1]=0x05;}
 u[0x800]=0x8b; u[0x801]=0x04; u[0x802]=0x25; *(uint32_t*)(u+0x803)=0x300000;
 struct kvm_sregs s; ioctl(vcpu,KVM_GET_SREGS,&s);
 s.cr0=0x80050033; s.cr4=0x20|0x10000|0x200|0x400|0x40000; s.efer=0xd01; s.cr3=0x1000;
 s.gdt.base=0x5000; s.gdt.limit=0; s.idt.base=0x5800; s.idt.limit=0;
 struct kvm_segment cs={.limit=0xffffffff,.selector=0x33,.type=0xb,.present=1,.dpl=3,.s=1,.l=1,.g=1};
 struct kvm_segment ds={.limit=0xffffffff,.selector=0x2b,.type=0x3,.present=1,.dpl=3,.db=1,.s=1,.g=1};
 s.cs=cs; s.ss=ds; s.ds=ds; s.es=ds; s.fs=ds; s.gs=ds; if(ioctl(vcpu,KVM_SET_SREGS,&s)) perror("sregs");
 set_msr(0xc0000081,(0x23ULL<<48)|(0x10ULL<<32)); set_msr(0xc0000082,0xb000);
 struct kvm_regs r={.rflags=0x202,.rsp=0x9ff0,.rip=0x8000}; ioctl(vcpu,KVM_SET_REGS,&r);
 ioctl(vcpu,KVM_RUN,0); ioctl(vcpu,KVM_GET_REGS,&r); ioctl(vcpu,KVM_GET_SREGS,&s);
 printf("exit %d rip %llx rcx %llx r11 %llx cr2 %llx cpl %d\n",run->exit_reason,r.rip,r.rcx,r.r11,s.cr2,s.cs.dpl);
 struct kvm_vcpu_events ev; ioctl(vcpu,KVM_GET_VCPU_EVENTS,&ev); printf("events: exc inj %d nr %d has_err %d err %x pending %d\n",ev.exception.injected,ev.exception.nr,ev.exception.has_error_code,ev.exception.error_code,ev.exception.pending);
 int N=2000; double t0=now(); for(int i=0;i<N;i++){ r.rip=0x8000+((i*2)&0x7ff); ioctl(vcpu,KVM_SET_REGS,&r); ioctl(vcpu,KVM_RUN,0);} double t1=now();
 ioctl(vcpu,KVM_GET_REGS,&r); printf("exit %d rip %llx: syscall via shutdown %.2f us\n",run->exit_reason,r.rip,(t1-t0)/N/1000);
 r.rip=0x8800; ioctl(vcpu,KVM_SET_REGS,&r); ioctl(vcpu,KVM_RUN,0); ioctl(vcpu,KVM_GET_REGS,&r); ioctl(vcpu,KVM_GET_SREGS,&s);
 printf("unmapped read: exit %d rip %llx cr2 %llx cpl %d\n",run->exit_reason,r.rip,s.cr2,s.cs.dpl);
 return 0;}
