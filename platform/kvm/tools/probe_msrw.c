#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
static int vcpu;
static int set_msr(uint32_t i, uint64_t d){ struct { struct kvm_msrs h; struct kvm_msr_entry e; } m={{.nmsrs=1},{.index=i,.data=d}}; return ioctl(vcpu,KVM_SET_MSRS,&m);}
static int get_msr(uint32_t i, uint64_t *d){ struct { struct kvm_msrs h; struct kvm_msr_entry e; } m={{.nmsrs=1},{.index=i}}; int r=ioctl(vcpu,KVM_GET_MSRS,&m); *d=m.e.data; return r;}
int main(void){ int kvm=open("/dev/kvm",O_RDWR); int vm=ioctl(kvm,KVM_CREATE_VM,0);
 void*mem=mmap(0,1<<20,3,MAP_SHARED|MAP_ANONYMOUS,-1,0); struct kvm_userspace_memory_region reg={.slot=0,.memory_size=1<<20,.userspace_addr=(uint64_t)mem}; ioctl(vm,KVM_SET_USER_MEMORY_REGION,&reg);
 vcpu=ioctl(vm,KVM_CREATE_VCPU,0);
 uint32_t ranges[][2]={{0x4b564d08,0x4b564d40},{0x4b564df0,0x4b564e00}};
 for(int k=0;k<2;k++) for(uint32_t i=ranges[k][0];i<ranges[k][1];i++){ uint64_t d0=0,d1=0; int g0=get_msr(i,&d0); int s=set_msr(i,0x5000); int g1=get_msr(i,&d1);
   if(g0==1||s==1) printf("%#x: get %d=%#llx set(0x5000) %d get %#llx\n",i,g0,(unsigned long long)d0,s,(unsigned long long)d1);}
 struct kvm_cpuid2 *c=calloc(1,sizeof(*c)+sizeof(struct kvm_cpuid_entry2)*256); c->nent=256; ioctl(kvm,KVM_GET_SUPPORTED_CPUID,c);
 printf("nent %u\n",c->nent);
 for(unsigned i=0;i<c->nent;i++){struct kvm_cpuid_entry2*e=&c->entries[i]; if(e->function>=0x40000000) printf("leaf %#x.%u flags %x: %08x %08x %08x %08x\n",e->function,e->index,e->flags,e->eax,e->ebx,e->ecx,e->edx);}
 return 0;}
