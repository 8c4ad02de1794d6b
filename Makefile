# luallm build: the C core + Lua binding as one module (luallm_core.so).
#   make                  Lua 5.4 (Debian lua5.4 / liblua5.4-dev)
#   make LUA=luajit       LuaJIT 2.1 (what Neovim embeds)
#   make test             build, then run the busted specs
#   make test SANITIZE=1  the same under AddressSanitizer + UBSan
#   make fuzz             libFuzzer targets for the GGUF reader and tokenizer (clang)
#   make CUDA=0           leave the CUDA backend out even when nvcc is found
#   make MPI=0            leave the MPI module (luallm_mpi.so) out even when mpicc is found

LUA ?= lua5.4
ifeq ($(LUA),luajit)
  LUA_INC ?= /usr/include/luajit-2.1
  LUA_BIN ?= luajit
else
  LUA_INC ?= /usr/include/$(LUA)
  LUA_BIN ?= $(LUA)
endif

# With nvcc present, CUDA=0 builds go to their own folder (no -DLL_HAVE_CUDA).
BUILD ?= build/$(LUA)$(if $(SANITIZE),-san)$(if $(NVCC),$(if $(filter 0,$(CUDA)),-nocuda))
CC ?= cc
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA ?= $(if $(NVCC),1,0)

OPT ?= -O2
CFLAGS_BASE := -std=c11 $(OPT) -g -fPIC -pthread -Wall -Wextra -Werror \
  -D_GNU_SOURCE -Icsrc -I$(LUA_INC) -fvisibility=hidden
LDLIBS := -lm -lpthread -ldl

ifneq ($(wildcard /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h),)
  CFLAGS_BASE += -DLL_HAVE_OPENBLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread
  LDLIBS += -lopenblas
endif

ifdef SANITIZE
  SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  CFLAGS_BASE += $(SAN_FLAGS)
  LDFLAGS += $(SAN_FLAGS)
endif

# Per-ISA kernel files are compiled with their ISA enabled; the dispatcher picks
# them at run time from cpuid, so the module runs on any x86-64.
ISA_avx2   := -mavx2 -mfma -mf16c
ISA_avx512 := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx2 -mfma -mf16c

C_SRCS := $(wildcard csrc/*.c csrc/cpu/*.c)
OBJS := $(C_SRCS:%.c=$(BUILD)/%.o)

ifeq ($(CUDA),1)
  CU_SRCS := $(wildcard csrc/cuda/*.cu)
endif
ifneq ($(CU_SRCS),)
  CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
  NVCCFLAGS ?= -O2 -std=c++17 -Xcompiler -fPIC -Icsrc \
    -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
    -DLL_CUDA_LIBDIR='"$(CUDA_HOME)/lib64"'
  OBJS += $(CU_SRCS:%.cu=$(BUILD)/%.o)
  CFLAGS_BASE += -DLL_HAVE_CUDA
  LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart_static -lrt -lstdc++
endif

MODULE := $(BUILD)/luallm_core.so

# Optional MPI binding for `mpirun -np N bin/luallm eval` (Open MPI's mpicc):
# a module of its own, so the core never links libmpi.
MPICC ?= $(shell command -v mpicc 2>/dev/null)
MPI ?= $(if $(MPICC),1,0)
ifeq ($(MPI),1)
  MPI_MODULE := $(BUILD)/luallm_mpi.so
endif

.PHONY: install all test test-real bench fuzz clean lint
all: luallm_core.so $(MPI_MODULE)

# The root copy is the module of the last `make` (any LUA): always refreshed.
luallm_core.so: $(MODULE) FORCE
	cp $< $@
FORCE:

$(MODULE): $(OBJS)
	$(CC) -shared $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(BUILD)/%.o: %.c $(wildcard csrc/*.h csrc/cpu/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) $(ISA_$(lastword $(subst _, ,$(basename $(notdir $<))))) -c $< -o $@

$(MPI_MODULE): csrc/mpi/lua_mpi.c csrc/lua_compat.h
	@mkdir -p $(dir $@)
	$(CC) -shared $(CFLAGS_BASE) $(shell $(MPICC) --showme:compile) $(CFLAGS) $(LDFLAGS) -o $@ $< \
	  $(shell $(MPICC) --showme:link) -ldl

$(BUILD)/%.o: %.cu $(wildcard csrc/*.h csrc/cuda/*.h)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

# Specs run against this build's module, whatever lua the build is for.
SPEC_ENV = LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='$(BUILD)/?.so;;'
ifdef SANITIZE
  SPEC_ENV += LD_PRELOAD="$(shell $(CC) -print-file-name=libasan.so) $(shell $(CC) -print-file-name=libubsan.so)" \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
endif
BUSTED ?= $(shell command -v busted)

test: $(MODULE) $(MPI_MODULE)
	$(SPEC_ENV) $(LUA_BIN) $(BUSTED) --output=spec/support/summary.lua $(SPECS)

test-real: $(MODULE)
	$(SPEC_ENV) LUALLM_REAL=1 $(LUA_BIN) $(BUSTED) --output=spec/support/summary.lua --pattern=_real spec

bench: $(MODULE)
	@for b in bench/*.lua; do echo "== $$b"; $(SPEC_ENV) $(LUA_BIN) $$b || exit 1; done

FUZZ_SECS ?= 60
fuzz:
	$(MAKE) -C fuzz FUZZ_SECS=$(FUZZ_SECS)

clean:
	rm -rf build luallm_core.so

# luarocks make: the module into INST_LIBDIR, the Lua files into INST_LUADIR.
INST_LIBDIR ?= /usr/local/lib/lua/5.4
INST_LUADIR ?= /usr/local/share/lua/5.4
install: $(MODULE) $(MPI_MODULE)
	mkdir -p $(INST_LIBDIR) $(INST_LUADIR)/luallm/cmd
	cp $(MODULE) $(MPI_MODULE) $(INST_LIBDIR)/
	cp lua/luallm/*.lua $(INST_LUADIR)/luallm/
	cp lua/luallm/cmd/*.lua $(INST_LUADIR)/luallm/cmd/
