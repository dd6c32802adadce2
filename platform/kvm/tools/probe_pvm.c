/* Probe: what does this host's /dev/kvm (PVM) do? Not part of the build. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int kvm, vm, vcpu; static struct kvm_run *run; static uint8_t *mem;
#define MEMSZ (4u<<20)
static int set_msr(uint32_t i, uint64_t d){ struct { struct kvm_msrs h; struct kvm_msr_entry e; } m={{.nmsrs=1},{.index=i,.data=d}}; return ioctl(vcpu,KVM_SET_MSRS,&m);}
static int get_msr(uint32_t i, uint64_t *d){ struct { struct kvm_msrs h; struct kvm_msr_entry e; } m={{.nmsrs=1},{.index=i}}; int r=ioctl(vcpu,KVM_GET_MSRS,&m); *d=m.e.data; return r;}
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec*1e9+t.tv_nsec;}
static const char *why(int r){static char b[32]; switch(r){case KVM_EXIT_HLT:return "HLT";case KVM_EXIT_IO:return "IO";case KVM_EXIT_SHUTDOWN:return "SHUTDOWN";case KVM_EXIT_INTERNAL_ERROR:return "INTERNAL";case KVM_EXIT_MMIO:return "MMIO";case KVM_EXIT_FAIL_ENTRY:return "FAIL_ENTRY";case KVM_EXIT_EXCEPTION:return "EXCEPTION";case KVM_EXIT_INTR:return "INTR";} snprintf(b,32,"%d",r); return b;}
static int go(void){ int r=ioctl(vcpu,KVM_RUN,0); if(r<0){perror("KVM_RUN");return -1;} return run->exit_reason;}
static void dump(const char *what){ struct kvm_regs r; ioctl(vcpu,KVM_GET_REGS,&r); struct kvm_sregs s; ioctl(vcpu,KVM_GET_SREGS,&s);
 printf("%s: exit %s rip=%llx rsp=%llx rax=%llx rcx=%llx r11=%llx rfl=%llx cs=%x dpl=%d cr2=%llx\n",what,why(run->exit_reason),r.rip,r.rsp,r.rax,r.rcx,r.r11,r.rflags,s.cs.selector,s.cs.dpl,s.cr2);}
struct pvcs { uint64_t event_flags, cr2, reserved0[6]; uint16_t user_cs,user_ss,event_errcode,event_vector; uint64_t user_gsbase; uint32_t eflags,pkru; uint64_t rip,rcx,r11,rsp_or_res,res2; };
int main(int argc,char**argv){
  kvm=open("/dev/kvm",O_RDWR|O_CLOEXEC); vm=ioctl(kvm,KVM_CREATE_VM,0);
  mem=mmap(0,MEMSZ,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0);
  struct kvm_userspace_memory_region reg={.slot=0,.guest_phys_addr=0,.memory_size=MEMSZ,.userspace_addr=(uint64_t)mem};
  if(ioctl(vm,KVM_SET_USER_MEMORY_REGION,&reg)<0){perror("slot");return 1;}
  vcpu=ioctl(vm,KVM_CREATE_VCPU,0);
  struct kvm_cpuid2 *c=calloc(1,sizeof(*c)+sizeof(struct kvm_cpuid_entry2)*256); c->nent=256; ioctl(kvm,KVM_GET_SUPPORTED_CPUID,c); if(ioctl(vcpu,KVM_SET_CPUID2,c)<0) perror("setcpuid");
  int rs=ioctl(kvm,KVM_GET_VCPU_MMAP_SIZE,0); run=mmap(0,rs,PROT_READ|PROT_WRITE,MAP_SHARED,vcpu,0);
  uint64_t d;
  for(uint32_t i=0x4b564d00;i<0x4b564e00;i++){ int r=get_msr(i,&d); if(r==1) printf("msr %#x readable = %#llx\n",i,(unsigned long long)d);}
  /* page tables: 4K identity map of the first 2 MiB */
  uint64_t *pml4=(uint64_t*)(mem+0x1000),*pdpt=(uint64_t*)(mem+0x2000),*pd=(uint64_t*)(mem+0x3000),*pt=(uint64_t*)(mem+0x4000);
  pml4[0]=0x2000|7; pdpt[0]=0x3000|7; pd[0]=0x4000|7;
  for(int i=0;i<512;i++) pt[i]=(uint64_t)i*4096|3; /* supervisor RW */
  pt[8]|=4; pt[9]|=4; /* user pages 0x8000 code, 0x9000 data */
  uint8_t *k=mem+0x6000;
  k[0x000]=0xf4; k[0x001]=0xeb; k[0x002]=0xfd;     /* user event entry: hlt; jmp .-1 */
  k[0x200]=0xf4; k[0x201]=0xeb; k[0x202]=0xfd;     /* supervisor event entry */
  k[0x400]=0xf4; k[0x401]=0xeb; k[0x402]=0xfd;     /* LSTAR */
  k[0x500]=0x0f; k[0x501]=0x05; k[0x502]=0xf4;     /* RETU: syscall */
  uint8_t sc[]={0x0f,0x01,0x3c,0x25,0x50,0x56,0x4d,0xff,0x0f,0xa2,0xf4}; memcpy(k+0x600,sc,sizeof sc); /* synthetic cpuid; hlt */
  uint8_t outb[]={0xe6,0x80,0xf4}; memcpy(k+0x700,outb,3);
  uint8_t *u=mem+0x8000; u[0]=0x0f;u[1]=0x05; u[2]=0xeb; u[3]=0xfc; /* syscall; jmp back */
  uint8_t ucli[]={0xfa,0xf4,0xe4,0x80,0x0f,0x30}; memcpy(u+0x100,ucli,sizeof ucli);
  u[0x200]=0x8b; u[0x201]=0x04; u[0x202]=0x25; *(uint32_t*)(u+0x203)=0x6000; /* mov 0x6000,%eax (supervisor page) */
  struct kvm_sregs s; ioctl(vcpu,KVM_GET_SREGS,&s);
  printf("initial: cs sel %x dpl %d l %d cr0 %llx cr4 %llx efer %llx\n",s.cs.selector,s.cs.dpl,s.cs.l,s.cr0,s.cr4,s.efer);
  s.cr0=0x80050033; s.cr4=0x20|0x10000|0x200|0x400|0x40000; s.efer=0x501|0x400|0x800; s.cr3=0x1000;
  struct kvm_segment cs={.base=0,.limit=0xffffffff,.selector=0x10,.type=0xb,.present=1,.dpl=0,.db=0,.s=1,.l=1,.g=1};
  struct kvm_segment ds={.base=0,.limit=0xffffffff,.selector=0x18,.type=0x3,.present=1,.dpl=0,.db=1,.s=1,.l=0,.g=1};
  s.cs=cs; s.ss=ds; s.ds=ds; s.es=ds; s.fs=ds; s.gs=ds;
  if(ioctl(vcpu,KVM_SET_SREGS,&s)<0) perror("set sregs");
  printf("msr star %d lstar %d\n", set_msr(0xc0000081,(0x23ULL<<48)|(0x10ULL<<32)), set_msr(0xc0000082,0x6400));
  struct kvm_regs r={0}; r.rflags=2; r.rip=0x6600; r.rsp=0x7ff0;
  uint32_t leaves[]={0,1,0x40000000,0x40000001,0x40000200,0x40000201,0x40000100};
  for(unsigned i=0;i<sizeof leaves/sizeof*leaves;i++){ r.rip=0x6600; r.rax=leaves[i]; r.rcx=0; ioctl(vcpu,KVM_SET_REGS,&r); int e=go(); struct kvm_regs o; ioctl(vcpu,KVM_GET_REGS,&o);
    printf("cpuid %#x: exit %s rip %llx: %08llx %08llx %08llx %08llx\n",leaves[i],why(e),o.rip,o.rax,o.rbx,o.rcx,o.rdx);}
  /* time hlt exits */
  int N=20000; double t0=now(); for(int i=0;i<N;i++){ r.rip=0x6002; /* jmp to hlt */ r.rip=0x6000; ioctl(vcpu,KVM_SET_REGS,&r); go(); } double t1=now();
  printf("hlt exit + SET_REGS: %.2f us\n",(t1-t0)/N/1000);
  t0=now(); for(int i=0;i<N;i++){ go(); } t1=now(); printf("hlt loop (no set regs): %.2f us exit %s\n",(t1-t0)/N/1000, why(run->exit_reason));
  r.rip=0x6700; ioctl(vcpu,KVM_SET_REGS,&r); int e=go(); printf("out: exit %s port %x\n",why(e),run->io.port);
  t0=now(); for(int i=0;i<N;i++){ r.rip=0x6700; ioctl(vcpu,KVM_SET_REGS,&r); go(); } t1=now(); printf("out exit + SET_REGS: %.2f us (%s)\n",(t1-t0)/N/1000,why(run->exit_reason));
  /* PVM user mode */
  struct pvcs *p=(struct pvcs*)(mem+0x5000);
  const uint32_t B=argc>1?strtoul(argv[1],0,0):0x4b564df0;
  printf("vcpu_struct %d event_entry %d retu %d\n", set_msr(B+1,0x5000), set_msr(B+4,0x6000), set_msr(B+5,0x6500));
  for(int i=0;i<16;i++){ int rr=get_msr(B+i,&d); if(rr==1) printf("  msr %#x = %#llx\n",B+i,(unsigned long long)d);}
  memset(p,0,sizeof *p); p->user_cs=0x33; p->user_ss=0x2b; p->eflags=0x202; p->rip=0x8000; p->rcx=0x1111; p->r11=0x2222; p->rsp_or_res=0x9ff0;
  p->event_vector=0x100;
  r.rip=0x6500; r.rsp=0x7ff0; r.rax=39; ioctl(vcpu,KVM_SET_REGS,&r);
  e=go(); dump("user syscall"); printf("  pvcs rip %llx rcx %llx r11 %llx vec %x err %x rsp? %llx cs %x\n",p->rip,p->rcx,p->r11,p->event_vector,p->event_errcode,p->rsp_or_res,p->user_cs);
  t0=now(); for(int i=0;i<N;i++){ p->rip=0x8000; r.rip=0x6500; ioctl(vcpu,KVM_SET_REGS,&r); go(); } t1=now(); printf("user syscall round trip: %.2f us (%s)\n",(t1-t0)/N/1000,why(run->exit_reason));
  /* privileged instructions from user */
  uint64_t tests[]={0x8100,0x8101,0x8102,0x8104,0x8200};
  for(unsigned i=0;i<5;i++){ p->rip=tests[i]; p->event_vector=0x100; r.rip=0x6500; ioctl(vcpu,KVM_SET_REGS,&r); go(); char b[32]; snprintf(b,32,"user @%llx",(unsigned long long)tests[i]); dump(b); printf("  pvcs rip %llx vec %x err %x cr2 %llx\n",p->rip,p->event_vector,p->event_errcode,p->cr2);}
  return 0;
}
