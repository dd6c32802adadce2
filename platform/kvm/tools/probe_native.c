/* Probe the "native" (non-PVM-ABI) behaviour: user mode, syscall, MMIO exits, IDT delivery. */
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
static void dump(const char *w){ struct kvm_regs r; struct kvm_sregs s; ioctl(vcpu,KVM_GET_REGS,&r); ioctl(vcpu,KVM_GET_SREGS,&s);
 printf("%-14s exit %2d rip=%llx rsp=%llx rax=%llx rcx=%llx r11=%llx fl=%llx cs=%x/dpl%d cr2=%llx", w, run->exit_reason, r.rip, r.rsp, r.rax, r.rcx, r.r11, r.rflags, s.cs.selector, s.cs.dpl, s.cr2);
 if(run->exit_reason==KVM_EXIT_MMIO) printf(" mmio %llx len %u w %d", run->mmio.phys_addr, run->mmio.len, run->mmio.is_write);
 if(run->exit_reason==KVM_EXIT_INTERNAL_ERROR) printf(" suberr %u", run->internal.suberror);
 printf("\n"); }
static void gdt_set(uint64_t *g,int i,uint64_t v){g[i]=v;}
int main(int argc,char**argv){ int kvm=open("/dev/kvm",O_RDWR); int vm=ioctl(kvm,KVM_CREATE_VM,0);
 mem=mmap(0,4<<20,3,MAP_SHARED|MAP_ANONYMOUS,-1,0); struct kvm_userspace_memory_region reg={.slot=0,.memory_size=4<<20,.userspace_addr=(uint64_t)mem}; ioctl(vm,KVM_SET_USER_MEMORY_REGION,&reg);
 vcpu=ioctl(vm,KVM_CREATE_VCPU,0);
 struct kvm_cpuid2 *c=calloc(1,sizeof(*c)+sizeof(struct kvm_cpuid_entry2)*256); c->nent=256; ioctl(kvm,KVM_GET_SUPPORTED_CPUID,c); ioctl(vcpu,KVM_SET_CPUID2,c);
 run=mmap(0,ioctl(kvm,KVM_GET_VCPU_MMAP_SIZE,0),3,MAP_SHARED,vcpu,0);
 uint64_t *pml4=(uint64_t*)(mem+0x1000),*pdpt=(uint64_t*)(mem+0x2000),*pd=(uint64_t*)(mem+0x3000),*pt=(uint64_t*)(mem+0x4000);
 pml4[0]=0x2000|7; pdpt[0]=0x3000|7; pd[0]=0x4000|7; for(int i=0;i<512;i++) pt[i]=(uint64_t)i*4096|3;
 pt[8]|=4; pt[9]|=4; pt[0xa]|=4; /* user: 0x8000 code, 0x9000 data, 0xa000 "syscall page" */
 pt[0x10]=0x10000000ULL|7; /* user page at va 0x10000 -> GPA 256MiB: no memslot = MMIO */
 /* GDT at 0x5000 */
 uint64_t *g=(uint64_t*)(mem+0x5000);
 gdt_set(g,2,0x00af9b000000ffffULL); gdt_set(g,3,0x00cf93000000ffffULL); gdt_set(g,4,0x00cffb000000ffffULL); gdt_set(g,5,0x00cff3000000ffffULL); gdt_set(g,6,0x00affb000000ffffULL);
 /* TSS at 0x5400, rsp0 = 0x7ff0 */
 uint64_t tss=0x5400; *(uint64_t*)(mem+tss+4)=0x7ff0;
 g[7]=0x0000890000000067ULL | ((tss&0xffffff)<<16) | ((tss>>24&0xff)<<56); g[8]=tss>>32;
 /* IDT at 0x5800, handler for v at 0x6800 + v*8: hlt */
 for(int v=0;v<256;v++){ uint64_t h=0x6800+v*8; uint64_t lo=(h&0xffff)|(0x10ULL<<16)|(0x8eULL<<40)|((h>>16&0xffff)<<48); if(v==3||v==4) lo|=3ULL<<45; *(uint64_t*)(mem+0x5800+v*16)=lo; *(uint64_t*)(mem+0x5800+v*16+8)=h>>32; mem[h]=0xf4; mem[h+1]=0xeb; mem[h+2]=0xfd; }
 uint8_t *k=mem+0x6000;
 /* LSTAR 0xa000 (user page): mov %cs,%eax is not needed; store al to MMIO page */
 uint8_t *sp=mem+0xa000; sp[0]=0x88; sp[1]=0x04; sp[2]=0x25; *(uint32_t*)(sp+3)=0x10000; sp[7]=0xeb; sp[8]=0xfe; /* mov %al,0x10000; jmp . */
 k[0]=0x48; k[1]=0xcf; /* iretq at 0x6000 */
 uint8_t *u=mem+0x8000; u[0]=0x0f;u[1]=0x05; u[2]=0xeb; u[3]=0xfc; /* syscall; jmp back */
 u[0x100]=0xcc; u[0x101]=0xeb; u[0x102]=0xfd; /* int3 */
 u[0x200]=0x8b; u[0x201]=0x04; u[0x202]=0x25; *(uint32_t*)(u+0x203)=0x6000; /* mov 0x6000,%eax: supervisor page */
 u[0x300]=0xf4; u[0x301]=0xfa; u[0x302]=0xe4; u[0x303]=0x80; u[0x304]=0x0f; u[0x305]=0x30;
 u[0x400]=0x88; u[0x401]=0x04; u[0x402]=0x25; *(uint32_t*)(u+0x403)=0x10000; u[0x407]=0xeb; u[0x408]=0xf7; /* mov %al,0x10000 loop */
 u[0x500]=0x8b; u[0x501]=0x04; u[0x502]=0x25; *(uint32_t*)(u+0x503)=0x300000; /* read unmapped va 3MiB */
 struct kvm_sregs s; ioctl(vcpu,KVM_GET_SREGS,&s);
 s.cr0=0x80050033; s.cr4=0x20|0x10000|0x200|0x400|0x40000; s.efer=0x501|0x400|0x800; s.cr3=0x1000;
 s.gdt.base=0x5000; s.gdt.limit=9*8-1; s.idt.base=0x5800; s.idt.limit=256*16-1;
 s.tr=(struct kvm_segment){.base=tss,.limit=0x67,.selector=0x38,.type=0xb,.present=1};
 int user=argc>1;
 struct kvm_segment cs={.limit=0xffffffff,.selector=user?0x33:0x10,.type=0xb,.present=1,.dpl=user?3:0,.s=1,.l=1,.g=1};
 struct kvm_segment ds={.limit=0xffffffff,.selector=user?0x2b:0x18,.type=0x3,.present=1,.dpl=user?3:0,.db=1,.s=1,.g=1};
 s.cs=cs; s.ss=ds; s.ds=ds; s.es=ds; s.fs=ds; s.gs=ds; if(ioctl(vcpu,KVM_SET_SREGS,&s)) perror("sregs");
 set_msr(0xc0000081,(0x23ULL<<48)|(0x10ULL<<32)); set_msr(0xc0000082,0xa000); set_msr(0xc0000084,0x47700);
 struct kvm_regs r={.rflags=0x202,.rsp=0x9ff0};
 if(!user){ /* ring 0: iretq to user at 0x8000 */ uint64_t *f=(uint64_t*)(mem+0x7f00); f[0]=0x8000; f[1]=0x33; f[2]=0x202; f[3]=0x9ff0; f[4]=0x2b; r.rip=0x6000; r.rsp=0x7f00; r.rflags=2; }
 else r.rip=0x8000;
 ioctl(vcpu,KVM_SET_REGS,&r); ioctl(vcpu,KVM_RUN,0); dump("first syscall");
 /* resume at user with set regs only */
 int N=20000; double t0=now(); for(int i=0;i<N;i++){ struct kvm_regs q; ioctl(vcpu,KVM_GET_REGS,&q); q.rip=q.rcx; q.rflags=q.r11; ioctl(vcpu,KVM_SET_REGS,&q); ioctl(vcpu,KVM_RUN,0);} double t1=now();
 dump("loop syscall"); printf("  syscall via mmio round trip: %.2f us\n",(t1-t0)/N/1000);
 uint64_t starts[]={0x8400,0x8100,0x8200,0x8500,0x8300,0x8301,0x8302,0x8304};
 const char *names[]={"mmio store","int3","sup page rd","unmapped rd","hlt","cli","in","wrmsr"};
 for(int i=0;i<8;i++){ struct kvm_regs q; ioctl(vcpu,KVM_GET_REGS,&q); struct kvm_sregs ss; ioctl(vcpu,KVM_GET_SREGS,&ss);
   if(ss.cs.dpl==0){ uint64_t *f=(uint64_t*)(mem+0x7f00); f[0]=starts[i]; f[1]=0x33; f[2]=0x202; f[3]=0x9ff0; f[4]=0x2b; q.rip=0x6000; q.rsp=0x7f00; }
   else { q.rip=starts[i]; }
   ioctl(vcpu,KVM_SET_REGS,&q); ioctl(vcpu,KVM_RUN,0); dump(names[i]);
   uint64_t *st=(uint64_t*)(mem+0x7fc8); printf("     ring0 stack top: %llx %llx %llx %llx %llx %llx\n",st[0],st[1],st[2],st[3],st[4],st[5]); memset(mem+0x7f00,0,0xf0);
 }
 /* timing: mmio store in user */
 { struct kvm_regs q; ioctl(vcpu,KVM_GET_REGS,&q); struct kvm_sregs ss; ioctl(vcpu,KVM_GET_SREGS,&ss); printf("cpl now %d\n",ss.cs.dpl); }
 /* time int3 -> ring0 -> hlt -> iretq */
 t0=now(); for(int i=0;i<N;i++){ struct kvm_regs q; ioctl(vcpu,KVM_GET_REGS,&q); uint64_t *f=(uint64_t*)(mem+0x7f00); f[0]=0x8100; f[1]=0x33; f[2]=0x202; f[3]=0x9ff0; f[4]=0x2b; q.rip=0x6000; q.rsp=0x7f00; ioctl(vcpu,KVM_SET_REGS,&q); ioctl(vcpu,KVM_RUN,0);} t1=now();
 dump("int3 loop"); printf("  int3 via ring0 iretq round trip: %.2f us\n",(t1-t0)/N/1000);
 return 0;}
