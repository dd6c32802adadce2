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
 pml4[0]=0x2000|7; pdpt[0]=0x3000|7; pd[0]=0x4000|7; for(int i=0;i<(getenv("NPT")?atoi(getenv("NPT")):512);i++) pt[i]=(uint64_t)i*4096|7;
 pt[0x10]=0x10000000ULL|7;
 uint64_t *g=(uint64_t*)(mem+0x5000);
 g[2]=0x00af9b000000ffffULL; g[3]=0x00cf93000000ffffULL; g[4]=0x00cffb000000ffffULL; g[5]=0x00cff3000000ffffULL; g[6]=0x00affb000000ffffULL;
 uint64_t tss=0x5400; *(uint64_t*)(mem+tss+4)=0x7ff0; *(uint16_t*)(mem+tss+0x66)=0x68;
 g[7]=0x0000890000000067ULL | ((tss&0xffffff)<<16); g[8]=0;
 for(int v=0;v<256;v++){ uint64_t h=0x6800+v*8; uint64_t lo=(h&0xffff)|(0x10ULL<<16)|(0x8eULL<<40)|((h>>16&0xffff)<<48); if(v==3||v==4) lo|=3ULL<<45; *(uint64_t*)(mem+0x5800+v*16)=lo; mem[h]=0xf4; mem[h+1]=0xeb; mem[h+2]=0xfd; }
 uint8_t *u=mem+0x8000;
 u[0]=0x0f;u[1]=0x05; u[2]=0xeb; u[3]=0xfc; /* syscall loop */
 uint8_t *sp=mem+0xa000; sp[0]=0x88; sp[1]=0x04; sp[2]=0x25; *(uint32_t*)(sp+3)=0x10000; sp[7]=0xff; sp[8]=0xe1; /* mov %al,0x10000; jmp *%rcx */
 u[0x100]=0x88; u[0x101]=0x04; u[0x102]=0x25; *(uint32_t*)(u+0x103)=0x10000; u[0x107]=0xeb; u[0x108]=0xf7; /* mmio store loop */
 u[0x200]=0xe6; u[0x201]=0x80; u[0x202]=0xeb; u[0x203]=0xfc; /* out loop (ring0 only) */
 u[0x300]=0xf4; u[0x301]=0xeb; u[0x302]=0xfd; /* hlt loop (ring0) */
 u[0x400]=0xcc; u[0x401]=0xeb; u[0x402]=0xfd; /* int3 loop */
 /* vector 3 handler: dec %r15; jz 1f; iretq; 1: hlt */
 { uint8_t *h=mem+0x6800+3*8; uint64_t hh=0x6c00; uint64_t lo=(hh&0xffff)|(0x10ULL<<16)|(0xeeULL<<40)|((hh>>16&0xffff)<<48); *(uint64_t*)(mem+0x5800+3*16)=lo; (void)h;
   uint8_t code[]={0x49,0xff,0xcf, 0x74,0x02, 0x48,0xcf, 0xf4, 0xeb,0xfd}; memcpy(mem+0x6c00,code,sizeof code); }
 /* user: syscall handler in-guest: LSTAR at 0xa100: dec %r15; jz 1f; jmp *%rcx; 1: mov %al,0x10000 */
 { uint8_t code[]={0x49,0xff,0xcf, 0x74,0x02, 0xff,0xe1, 0x88,0x04,0x25,0x00,0x00,0x01,0x00, 0xeb,0xfe}; memcpy(mem+0xa100,code,sizeof code); }
 { uint8_t code[]={0x31,0xc0, 0x0f,0xa2, 0x49,0xff,0xcf, 0x75,0xf7, 0x88,0x04,0x25,0x00,0x00,0x01,0x00, 0xf4, 0xeb,0xfe}; memcpy(mem+0x8600,code,sizeof code); }
 struct kvm_sregs s; ioctl(vcpu,KVM_GET_SREGS,&s);
 s.cr0=0x80050033; s.cr4=0x20|0x10000|0x200|0x400|0x40000; s.efer=0x501|0x400|0x800; s.cr3=0x1000;
 s.gdt.base=0x5000; s.gdt.limit=9*8-1; s.idt.base=0x5800; s.idt.limit=256*16-1;
 s.tr=(struct kvm_segment){.base=tss,.limit=0x67,.selector=0x38,.type=0xb,.present=1};
 int user=argv[1][0]=='u';
 struct kvm_segment cs={.limit=0xffffffff,.selector=user?0x33:0x10,.type=0xb,.present=1,.dpl=user?3:0,.s=1,.l=1,.g=1};
 struct kvm_segment ds={.limit=0xffffffff,.selector=user?0x2b:0x18,.type=0x3,.present=1,.dpl=user?3:0,.db=1,.s=1,.g=1};
 s.cs=cs; s.ss=ds; s.ds=ds; s.es=ds; s.fs=ds; s.gs=ds; if(ioctl(vcpu,KVM_SET_SREGS,&s)) perror("sregs");
 set_msr(0xc0000081,(0x23ULL<<48)|(0x10ULL<<32)); set_msr(0xc0000082,0xa000); set_msr(0xc0000084,0x47700);
 uint64_t start=strtoul(argv[2],0,0);
 struct kvm_regs r={.rflags=0x202,.rsp=0x9ff0,.rip=start}; ioctl(vcpu,KVM_SET_REGS,&r);
 if(argc>4){ set_msr(0xc0000082,0xa100); struct kvm_regs q; ioctl(vcpu,KVM_GET_REGS,&q); q.r15=atoi(argv[4]); ioctl(vcpu,KVM_SET_REGS,&q); double a=now(); ioctl(vcpu,KVM_RUN,0); double b=now(); printf("in-guest loop: %.2f us/iter exit %d\n",(b-a)/q.r15/1000,run->exit_reason); return 0;}
 int N=argc>3?atoi(argv[3]):5000; ioctl(vcpu,KVM_RUN,0); printf("exit %d\n",run->exit_reason);
 double t0=now(); for(int i=0;i<N;i++) ioctl(vcpu,KVM_RUN,0); double t1=now();
 printf("%s %s: %.2f us/exit (exit %d)\n",argv[1],argv[2],(t1-t0)/N/1000,run->exit_reason);
 return 0;}
