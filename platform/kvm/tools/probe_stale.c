/* Are host-side writes to guest page tables seen by PVM's shadow MMU? */
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
static uint64_t *pt;
static void user_read(uint64_t va, const char *what){
 uint64_t *f=(uint64_t*)(mem+0x7fd8); f[0]=0x8000; f[1]=0x33; f[2]=0x202; f[3]=0x9ff0; f[4]=0x2b;
 struct kvm_regs r={.rflags=2,.rsp=0x7fd8,.rip=0x6000,.rbx=va,.rax=0}; ioctl(vcpu,KVM_SET_REGS,&r); ioctl(vcpu,KVM_RUN,0); ioctl(vcpu,KVM_GET_REGS,&r);
 printf("%-28s exit %d rip %llx rax %llx\n",what,run->exit_reason,r.rip,r.rax);}
int main(int argc,char**argv){ int kvm=open("/dev/kvm",O_RDWR); int vm=ioctl(kvm,KVM_CREATE_VM,0);
 mem=mmap(0,4<<20,3,MAP_SHARED|MAP_ANONYMOUS,-1,0); struct kvm_userspace_memory_region reg={.slot=0,.memory_size=4<<20,.userspace_addr=(uint64_t)mem}; ioctl(vm,KVM_SET_USER_MEMORY_REGION,&reg);
 vcpu=ioctl(vm,KVM_CREATE_VCPU,0);
 struct kvm_cpuid2 *c=calloc(1,sizeof(*c)+sizeof(struct kvm_cpuid_entry2)*256); c->nent=256; ioctl(kvm,KVM_GET_SUPPORTED_CPUID,c); ioctl(vcpu,KVM_SET_CPUID2,c);
 run=mmap(0,ioctl(kvm,KVM_GET_VCPU_MMAP_SIZE,0),3,MAP_SHARED,vcpu,0);
 uint64_t *pml4=(uint64_t*)(mem+0x1000),*pdpt=(uint64_t*)(mem+0x2000),*pd=(uint64_t*)(mem+0x3000); pt=(uint64_t*)(mem+0x4000);
 pml4[0]=0x2000|7; pdpt[0]=0x3000|7; pd[0]=0x4000|7; for(int i=0;i<512;i++) pt[i]=(uint64_t)i*4096|3;
 pt[8]|=4; pt[9]|=4; pt[0x20]=0x21000|7; *(uint64_t*)(mem+0x21000)=0x1111; *(uint64_t*)(mem+0x22000)=0x2222;
 uint64_t *g=(uint64_t*)(mem+0x5000);
 g[2]=0x00af9b000000ffffULL; g[3]=0x00cf93000000ffffULL; g[4]=0x00cffb000000ffffULL; g[5]=0x00cff3000000ffffULL; g[6]=0x00affb000000ffffULL;
 uint64_t tss=0x5400; *(uint64_t*)(mem+tss+4)=0x7ff0; *(uint16_t*)(mem+tss+0x66)=0x68;
 g[7]=0x0000890000000067ULL | ((tss&0xffffff)<<16); g[8]=0;
 for(int v=0;v<256;v++){ uint64_t h=0x6800+v*16; uint64_t lo=(h&0xffff)|(0x10ULL<<16)|(0x8eULL<<40)|((h>>16&0xffff)<<48); *(uint64_t*)(mem+0x5800+v*16)=lo; mem[h]=0xf4; mem[h+1]=0xeb; mem[h+2]=0xfd; }
 /* 0x6000: ring0: optionally mov cr3 reload then iretq */
 uint8_t k0[]={0x48,0xcf}; memcpy(mem+0x6000,k0,2);
 uint8_t k1[]={0x0f,0x20,0xd8, 0x0f,0x22,0xd8, 0x48,0xcf}; memcpy(mem+0x6100,k1,sizeof k1); /* mov cr3,rax; mov rax,cr3; iretq (clobbers rax) */
 uint8_t u[]={0x48,0x8b,0x03, 0xf4}; memcpy(mem+0x8000,u,sizeof u); /* mov (%rbx),%rax; hlt(->#GP) */
 struct kvm_sregs s; ioctl(vcpu,KVM_GET_SREGS,&s);
 s.cr0=0x80050033; s.cr4=0x20|0x10000|0x200|0x400|0x40000; s.efer=0xd01; s.cr3=0x1000;
 s.gdt.base=0x5000; s.gdt.limit=9*8-1; s.idt.base=0x5800; s.idt.limit=256*16-1;
 s.tr=(struct kvm_segment){.base=tss,.limit=0x67,.selector=0x38,.type=0xb,.present=1};
 struct kvm_segment cs={.limit=0xffffffff,.selector=0x10,.type=0xb,.present=1,.dpl=0,.s=1,.l=1,.g=1};
 struct kvm_segment ds={.limit=0xffffffff,.selector=0x18,.type=0x3,.present=1,.dpl=0,.db=1,.s=1,.g=1};
 s.cs=cs; s.ss=ds; s.ds=ds; s.es=ds; s.fs=ds; s.gs=ds; ioctl(vcpu,KVM_SET_SREGS,&s);
 set_msr(0xc0000081,(0x23ULL<<48)|(0x10ULL<<32)); set_msr(0xc0000082,0xb000);
 user_read(0x20000,"initial (expect 1111)");
 pt[0x20]=0x22000|7; user_read(0x20000,"host remap, no flush");
 pt[0x20]=0; user_read(0x20000,"host unmap, no flush");
 { uint64_t *f=(uint64_t*)(mem+0x7fd8); f[0]=0x8000; f[1]=0x33; f[2]=0x202; f[3]=0x9ff0; f[4]=0x2b;
   struct kvm_regs r={.rflags=2,.rsp=0x7fd8,.rip=0x6100,.rbx=0x20000}; ioctl(vcpu,KVM_SET_REGS,&r); ioctl(vcpu,KVM_RUN,0); ioctl(vcpu,KVM_GET_REGS,&r); printf("%-28s exit %d rip %llx rax %llx\n","host unmap, cr3 reload",run->exit_reason,r.rip,r.rax);}
 pt[0x20]=0x22000|7; user_read(0x20000,"host map again (2222)");
 /* ring0: mov %rdx,(%rcx); iretq */
 uint8_t k2[]={0x48,0x89,0x11, 0x48,0xcf}; memcpy(mem+0x6200,k2,sizeof k2);
 for(int t=0;t<3;t++){ uint64_t vals[]={0x22000|7,0,0x21000|7}; const char*n[]={"guest remap (2222)","guest unmap (fault)","guest remap (1111)"};
   uint64_t *f=(uint64_t*)(mem+0x7fd8); f[0]=0x8000; f[1]=0x33; f[2]=0x202; f[3]=0x9ff0; f[4]=0x2b;
   struct kvm_regs r={.rflags=2,.rsp=0x7fd8,.rip=0x6200,.rbx=0x20000,.rcx=0x4000+0x20*8,.rdx=vals[t]}; ioctl(vcpu,KVM_SET_REGS,&r); ioctl(vcpu,KVM_RUN,0); ioctl(vcpu,KVM_GET_REGS,&r); printf("%-28s exit %d rip %llx rax %llx\n",n[t],run->exit_reason,r.rip,r.rax);}
 return 0;}
