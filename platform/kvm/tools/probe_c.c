/* Path C: guest syscall with EFER.SCE=0 -> #UD -> ring-0 stub "hlt; iretq" -> exit. */
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
 uint64_t *g=(uint64_t*)(mem+0x5000);
 g[2]=0x00af9b000000ffffULL; g[3]=0x00cf93000000ffffULL; g[4]=0x00cffb000000ffffULL; g[5]=0x00cff3000000ffffULL; g[6]=0x00affb000000ffffULL;
 uint64_t tss=0x5400; *(uint64_t*)(mem+tss+4)=0x7ff0; *(uint16_t*)(mem+tss+0x66)=0x68;
 g[7]=0x0000890000000067ULL | ((tss&0xffffff)<<16); g[8]=0;
 for(int v=0;v<256;v++){ uint64_t h=0x6800+v*16; uint64_t lo=(h&0xffff)|(0x10ULL<<16)|(0x8eULL<<40)|((h>>16&0xffff)<<48); if(v==3||v==4) lo|=3ULL<<45; *(uint64_t*)(mem+0x5800+v*16)=lo; int ec=(v==8||(v>=10&&v<=14)||v==17||v==21||v==29||v==30); if(ec){uint8_t b[]={0xf4,0x48,0x83,0xc4,0x08,0x48,0xcf}; memcpy(mem+h,b,7);} else {mem[h]=0xf4; mem[h+1]=0x48; mem[h+2]=0xcf;} }
 uint8_t *u=mem+0x8000; for(int i=0;i<0x800;i+=2){u[i]=0x0f;u[i+1]=0x05;} u[0x800]=0xcc; u[0x801]=0xeb; u[0x802]=0xfd; /* syscalls */
 struct kvm_sregs s; ioctl(vcpu,KVM_GET_SREGS,&s);
 s.cr0=0x80050033; s.cr4=0x20|0x10000|0x200|0x400|0x40000; s.efer=(argc>1?0x501:0x500)|0x800; s.cr3=0x1000;
 s.gdt.base=0x5000; s.gdt.limit=9*8-1; s.idt.base=0x5800; s.idt.limit=256*16-1;
 s.tr=(struct kvm_segment){.base=tss,.limit=0x67,.selector=0x38,.type=0xb,.present=1};
 struct kvm_segment cs={.limit=0xffffffff,.selector=0x10,.type=0xb,.present=1,.dpl=0,.s=1,.l=1,.g=1};
 struct kvm_segment ds={.limit=0xffffffff,.selector=0x18,.type=0x3,.present=1,.dpl=0,.db=1,.s=1,.g=1};
 s.cs=cs; s.ss=ds; s.ds=ds; s.es=ds; s.fs=ds; s.gs=ds; if(ioctl(vcpu,KVM_SET_SREGS,&s)) perror("sregs");
 set_msr(0xc0000081,(0x23ULL<<48)|(0x10ULL<<32)); set_msr(0xc0000082,0xb000);
 ioctl(vcpu,KVM_GET_SREGS,&s); printf("efer now %llx\n",s.efer);
 uint64_t *f=(uint64_t*)(mem+0x7f00); f[0]=0x8000; f[1]=0x33; f[2]=0x202; f[3]=0x9ff0; f[4]=0x2b;
 struct kvm_regs r={.rflags=2,.rsp=0x7f00,.rip=0x6801}; ioctl(vcpu,KVM_SET_REGS,&r);
 ioctl(vcpu,KVM_RUN,0); ioctl(vcpu,KVM_GET_REGS,&r); printf("exit %d rip %llx rsp %llx frame %llx %llx\n",run->exit_reason,r.rip,r.rsp,*(uint64_t*)(mem+r.rsp),*(uint64_t*)(mem+r.rsp+8));
 int N=atoi(argv[argc>2?2:1]?argv[argc-1]:"2000"); if(N<10)N=2000;
 double t0=now(); for(int i=0;i<N;i++){ uint64_t *fr=(uint64_t*)(mem+0x7fc8); struct kvm_regs q; ioctl(vcpu,KVM_GET_REGS,&q); fr[0]=q.rcx; fr[2]=q.r11; ioctl(vcpu,KVM_RUN,0);} double t1=now();
 ioctl(vcpu,KVM_GET_REGS,&r); printf("exit %d rip %llx: syscall via #UD round trip %.2f us\n",run->exit_reason,r.rip,(t1-t0)/N/1000);
 /* same with KVM_SET_REGS + GET_REGS each time (what a platform does) */
 t0=now(); for(int i=0;i<N;i++){ uint64_t *fr=(uint64_t*)(mem+0x7fc8); ioctl(vcpu,KVM_GET_REGS,&r); fr[0]=r.rcx; fr[2]=r.r11; ioctl(vcpu,KVM_SET_REGS,&r); ioctl(vcpu,KVM_RUN,0);} t1=now();
 printf("  with get+set regs %.2f us\n",(t1-t0)/N/1000);
 /* int3 loop: frame at 0x7fd8 (no errcode) */
 { uint64_t *fr=(uint64_t*)(mem+0x7fd8); ioctl(vcpu,KVM_GET_REGS,&r); r.rip=0x6800+3*16+1; r.rsp=0x7fd8; fr[0]=0x8800; fr[1]=0x33; fr[2]=0x202; fr[3]=0x9ff0; fr[4]=0x2b; ioctl(vcpu,KVM_SET_REGS,&r); ioctl(vcpu,KVM_RUN,0); ioctl(vcpu,KVM_GET_REGS,&r); printf("int3 first: exit %d rip %llx rsp %llx fr0 %llx\n",run->exit_reason,r.rip,r.rsp,fr[0]);
   t0=now(); for(int i=0;i<N;i++){ ioctl(vcpu,KVM_RUN,0);} t1=now(); ioctl(vcpu,KVM_GET_REGS,&r); printf("int3 loop exit %d rip %llx: %.2f us\n",run->exit_reason,r.rip,(t1-t0)/N/1000); }
 return 0;}
