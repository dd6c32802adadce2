#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
static int vcpu; static struct kvm_run *run; static uint8_t *mem;
static int set_msr(uint32_t i, uint64_t d){ struct { struct kvm_msrs h; struct kvm_msr_entry e; } m={{.nmsrs=1},{.index=i,.data=d}}; return ioctl(vcpu,KVM_SET_MSRS,&m);}
int main(int argc,char**argv){ int kvm=open("/dev/kvm",O_RDWR); int vm=ioctl(kvm,KVM_CREATE_VM,0);
 mem=mmap(0,4<<20,3,MAP_SHARED|MAP_ANONYMOUS,-1,0); struct kvm_userspace_memory_region reg={.slot=0,.memory_size=4<<20,.userspace_addr=(uint64_t)mem}; ioctl(vm,KVM_SET_USER_MEMORY_REGION,&reg);
 vcpu=ioctl(vm,KVM_CREATE_VCPU,0);
 if(argc>1){ struct kvm_cpuid2 *c=calloc(1,sizeof(*c)+sizeof(struct kvm_cpuid_entry2)*256); c->nent=256; ioctl(kvm,KVM_GET_SUPPORTED_CPUID,c); ioctl(vcpu,KVM_SET_CPUID2,c);}
 run=mmap(0,ioctl(kvm,KVM_GET_VCPU_MMAP_SIZE,0),3,MAP_SHARED,vcpu,0);
 uint64_t *pml4=(uint64_t*)(mem+0x1000),*pdpt=(uint64_t*)(mem+0x2000),*pd=(uint64_t*)(mem+0x3000),*pt=(uint64_t*)(mem+0x4000);
 pml4[0]=0x2000|7; pdpt[0]=0x3000|7; pd[0]=0x4000|7; for(int i=0;i<512;i++) pt[i]=(uint64_t)i*4096|3;
 mem[0]=0xf4; mem[0x100]=0xf4; mem[0x200]=0xf4; mem[0x300]=0xf4;
 uint8_t *k=mem+0x6000; uint8_t sc[]={0x0f,0x01,0x3c,0x25,0x50,0x56,0x4d,0xff,0x0f,0xa2,0xf4}; memcpy(k,sc,sizeof sc);
 k[0x100]=0x0f; k[0x101]=0x32; k[0x102]=0xf4; /* rdmsr; hlt */
 k[0x200]=0x0f; k[0x201]=0x30; k[0x202]=0xf4; /* wrmsr; hlt */
 k[0x300]=0x0f; k[0x301]=0xa2; k[0x302]=0xf4; /* plain cpuid; hlt */
 struct kvm_sregs s; ioctl(vcpu,KVM_GET_SREGS,&s);
 s.cr0=0x80050033; s.cr4=0x20|0x10000|0x200|0x400|0x40000; s.efer=0x501|0x400|0x800; s.cr3=0x1000;
 struct kvm_segment cs={.limit=0xffffffff,.selector=0x10,.type=0xb,.present=1,.s=1,.l=1,.g=1};
 struct kvm_segment ds={.limit=0xffffffff,.selector=0x18,.type=0x3,.present=1,.db=1,.s=1,.g=1};
 s.cs=cs; s.ss=ds; s.ds=ds; s.es=ds; s.fs=ds; s.gs=ds; ioctl(vcpu,KVM_SET_SREGS,&s);
 set_msr(0xc0000081,(0x23ULL<<48)|(0x10ULL<<32));
 struct kvm_regs r={0},o;
 uint32_t bases[]={0x40000000,0x40000100,0x40000200,0x40000f00,0x4d565000};
 for(int b=0;b<5;b++) for(uint32_t l=bases[b];l<bases[b]+4;l++){ r=(struct kvm_regs){.rflags=2,.rip=0x6000,.rsp=0x7ff0,.rax=l}; ioctl(vcpu,KVM_SET_REGS,&r); ioctl(vcpu,KVM_RUN,0); ioctl(vcpu,KVM_GET_REGS,&o);
   if(o.rax||o.rbx||o.rcx||o.rdx) printf("synth cpuid %#x: exit %d rip %llx: %08llx %08llx %08llx %08llx\n",l,run->exit_reason,o.rip,o.rax,o.rbx,o.rcx,o.rdx);}
 r=(struct kvm_regs){.rflags=2,.rip=0x6300,.rsp=0x7ff0,.rax=0x40000000}; ioctl(vcpu,KVM_SET_REGS,&r); ioctl(vcpu,KVM_RUN,0); ioctl(vcpu,KVM_GET_REGS,&o);
 printf("plain cpuid 0x40000000: exit %d rip %llx %08llx %08llx\n",run->exit_reason,o.rip,o.rax,o.rbx);
 uint32_t ms[]={0x4b564d10,0x4b564d11,0x4b564d12,0x4b564d13,0x4b564d14,0x4b564d15,0x4b564d16,0x4b564d17,0x4b564d18,0x4b564d1f,0x4b564d20,0x4b564d21,0x4b564df0,0x4b564df1,0x4b564df4};
 for(unsigned i=0;i<sizeof ms/sizeof*ms;i++){ r=(struct kvm_regs){.rflags=2,.rip=0x6100,.rsp=0x7ff0,.rcx=ms[i]}; ioctl(vcpu,KVM_SET_REGS,&r); int e=ioctl(vcpu,KVM_RUN,0); ioctl(vcpu,KVM_GET_REGS,&o);
   printf("rdmsr %#x: ret %d exit %d rip %llx edx:eax %llx:%llx\n",ms[i],e,run->exit_reason,o.rip,o.rdx,o.rax);}
 return 0;}
