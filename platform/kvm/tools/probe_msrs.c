#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
int main(void){
  int kvm=open("/dev/kvm",O_RDWR); if(kvm<0){perror("kvm");return 1;}
  printf("api %d\n", ioctl(kvm,KVM_GET_API_VERSION,0));
  struct kvm_msr_list *l=calloc(1,sizeof(*l)+4*2000); l->nmsrs=2000;
  if(ioctl(kvm,KVM_GET_MSR_INDEX_LIST,l)<0) perror("msrlist");
  for(unsigned i=0;i<l->nmsrs;i++) if((l->indices[i]>>8)==0x4b564d) printf("msr %#x\n",l->indices[i]);
  l->nmsrs=2000;
  if(ioctl(kvm,KVM_GET_MSR_FEATURE_INDEX_LIST,l)==0) printf("feature msrs %u\n",l->nmsrs);
  struct kvm_cpuid2 *c=calloc(1,sizeof(*c)+sizeof(struct kvm_cpuid_entry2)*256); c->nent=256;
  if(ioctl(kvm,KVM_GET_SUPPORTED_CPUID,c)<0) perror("cpuid");
  for(unsigned i=0;i<c->nent;i++){struct kvm_cpuid_entry2*e=&c->entries[i]; if(e->function>=0x40000000 && e->function<0x50000000 || e->function==1 || e->function==7 || e->function==0xd) printf("leaf %#x.%u: %08x %08x %08x %08x\n",e->function,e->index,e->eax,e->ebx,e->ecx,e->edx);}
  int vm=ioctl(kvm,KVM_CREATE_VM,0); printf("vm %d\n",vm);
  printf("vm type caps: %d\n", ioctl(kvm,KVM_CHECK_EXTENSION,235));
  int caps[]={KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_NR_MEMSLOTS, KVM_CAP_XSAVE, KVM_CAP_XSAVE2, KVM_CAP_SYNC_REGS, KVM_CAP_USER_MEMORY, KVM_CAP_EXIT_HYPERCALL, KVM_CAP_X86_USER_SPACE_MSR, KVM_CAP_MAX_VCPUS, KVM_CAP_NR_VCPUS, KVM_CAP_TSC_CONTROL, KVM_CAP_GET_TSC_KHZ, KVM_CAP_MAX_VCPU_ID,KVM_CAP_IRQCHIP};
  const char*n[]={"IMMEDIATE_EXIT","NR_MEMSLOTS","XSAVE","XSAVE2","SYNC_REGS","USER_MEMORY","EXIT_HYPERCALL","USER_SPACE_MSR","MAX_VCPUS","NR_VCPUS","TSC_CONTROL","GET_TSC_KHZ","MAX_VCPU_ID","IRQCHIP"};
  for(unsigned i=0;i<sizeof caps/sizeof*caps;i++) printf("cap %s = %d\n",n[i],ioctl(vm,KVM_CHECK_EXTENSION,caps[i]));
  return 0;}
