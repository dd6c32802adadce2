# The one build of sandbox (non-recursive). Targets:
#   make            build/sandbox
#   make run        build, then run real programs from this machine in the sandbox
#   make test       unit, guest (native vs sandbox) and end-to-end tests
#   make asan       build/asan/sandbox with AddressSanitizer and UBSan
#   make bench      benchmarks as ratios to native (and to runsc when installed)
#   make test-kvm-hw  the guest tests on --platform=kvm inside a QEMU (TCG) VM whose
#                   emulated AMD CPU has SVM: the hardware-virtualization path
#   make deps       install the Debian packages the build needs (run by run and test)

CC      ?= gcc
CFLAGS  ?= -O2 -g
override CFLAGS += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -I. -fno-strict-aliasing \
           -fno-omit-frame-pointer -MMD -MP
LWIP_CFLAGS := $(shell pkg-config --cflags lwip 2>/dev/null || echo -I/usr/include/lwip)
LWIP_LIBS   := $(shell pkg-config --libs lwip 2>/dev/null || echo -llwip)
LDLIBS  := -lpthread -lseccomp -luring $(LWIP_LIBS)

B := build

# Every C file of the sandbox binary, found by directory: adding a file needs no edit.
SRC_DIRS := lib platform platform/ptrace platform/kvm runtime gofer netstack \
            sentry sentry/kernel sentry/mm sentry/vfs sentry/fs sentry/socket sentry/loader \
            sentry/syscalls
SRCS  := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))
ASMS  := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.S))
MAIN  := runtime/main.c
OBJS  := $(patsubst %.c,$(B)/obj/%.o,$(filter-out $(MAIN),$(SRCS))) \
         $(patsubst %.S,$(B)/obj/%.o,$(ASMS))

UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT_SRCS))
GUEST_SRCS := $(wildcard tests/guest/*.c)
GUEST_BINS := $(patsubst tests/guest/%.c,$(B)/guest/%.gcc,$(GUEST_SRCS)) \
              $(patsubst tests/guest/%.c,$(B)/guest/%.musl,$(GUEST_SRCS)) \
              $(patsubst tests/guest/%.c,$(B)/guest/%.pie,$(GUEST_SRCS)) \
              $(patsubst tests/guest/%.c,$(B)/guest/%.dyn,$(GUEST_SRCS))

DEB_PKGS := libseccomp-dev liburing-dev liblwip-dev libcriterion-dev pkg-config \
            busybox-static musl-tools python3 sqlite3 iproute2 curl

# Only for make test-kvm-hw (tests/kvm-hw/run.sh): QEMU and what builds its initramfs.
KVM_HW_PKGS := qemu-system-x86 cpio busybox-static

.PHONY: all run test unit guest e2e asan bench deps clean test-kvm-hw
all: $(B)/sandbox

$(B)/sandbox: $(B)/obj/$(MAIN:.c=.o) $(B)/libsandbox.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/libsandbox.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Only netstack/ sees lwIP's headers (they define names like `netif` and `pbuf`).
$(B)/obj/netstack/%.o: override CFLAGS += $(LWIP_CFLAGS)

$(B)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Unit tests: one Criterion binary per file, linked against the sandbox library.
# netstack_chksum calls lwIP directly.
$(B)/unit/netstack_chksum: override CFLAGS += $(LWIP_CFLAGS)
$(B)/unit/%: tests/unit/%.c $(B)/libsandbox.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libsandbox.a -lcriterion $(LDLIBS)

# Guest tests: every program built static with glibc, static with musl, as a
# static-PIE with glibc, and dynamically linked with glibc (run through ld.so, loaded by
# the sandbox from the served tree like any Debian program).
$(B)/guest/%.gcc: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(dir $@)
	gcc -O1 -g -static -pthread -Wall -Wno-unused-result -o $@ $<

$(B)/guest/%.pie: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(dir $@)
	gcc -O1 -g -static-pie -pthread -Wall -Wno-unused-result -o $@ $<

$(B)/guest/%.dyn: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(dir $@)
	gcc -O1 -g -pthread -Wall -Wno-unused-result -o $@ $<

$(B)/guest/%.musl: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(dir $@)
	musl-gcc -O1 -g -static -pthread -Wall -Wno-unused-result -o $@ $<

# install-missing PKGS: installs those Debian packages of PKGS that are not yet.
define install-missing
	@missing=""; for p in $(1); do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call install-missing,$(DEB_PKGS))

run: deps
	@$(MAKE) --no-print-directory all
	@tests/e2e/demo.sh $(B)/sandbox

unit: $(UNIT_BINS)
guest: $(B)/sandbox $(GUEST_BINS)

test: deps
	@$(MAKE) --no-print-directory all unit guest
	@tests/run-all.sh $(B)

test-kvm-hw: deps
	$(call install-missing,$(KVM_HW_PKGS))
	@$(MAKE) --no-print-directory all guest
	@tests/kvm-hw/run.sh $(B)

asan:
	@$(MAKE) --no-print-directory B=build/asan \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	    LDLIBS="-lpthread -lseccomp -luring $(LWIP_LIBS) -fsanitize=address,undefined" all

bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh $(B)

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(B)/obj/$(MAIN:.c=.d)
