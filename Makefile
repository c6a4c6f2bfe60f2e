# duo-train build.  CPU build always; CUDA objects only when nvcc is on PATH.
#
#   make             build/duo-train
#   make test        build and run the test suite (ends with "N passed, N failed, N skipped")
#   make test-asan   the same suite under AddressSanitizer + UBSan (build-asan/)
#   make check       both of the above, one combined summary line (what CI runs)
#   make fuzz        short, bounded libFuzzer sessions over the file parsers
#   make test-gpu    GPU tests (needs a GPU; CI only compiles them through `make`)

CC      ?= cc
NVCC    ?= nvcc
PYTHON  ?= $(shell if /usr/bin/python3 -c 'import numpy, h5py' 2>/dev/null; then echo /usr/bin/python3; else echo python3; fi)
BUILD   ?= build

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
OPT     ?= -O2 -g
CFLAGS  := $(OPT) $(SANFLAGS) -std=c11 -D_GNU_SOURCE $(WARN) -fopenmp -I. $(shell pkg-config --cflags hdf5-serial 2>/dev/null || echo -I/usr/include/hdf5/serial)
LDLIBS  += $(shell pkg-config --libs hdf5-serial 2>/dev/null || echo -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5) \
           -lzstd -ljansson -lpcre2-8 -lutf8proc -lopenblas -lpng -lz -lm -fopenmp

# Every .c file under these folders is library code; cli/main.c is the CLI entry point.
LIB_DIRS := data synth model kernels kernels/cpu kernels/composite train pattern eval util cli
LIB_SRC  := $(filter-out cli/main.c,$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)

HAVE_NVCC := $(shell command -v $(NVCC) >/dev/null 2>&1 && echo 1)
CU_SRC    := $(wildcard kernels/cuda/*.cu)
# kernels/math/headers_check.cu: the shared host/device math headers compiled as device code.
CU_SRC    += $(wildcard kernels/math/*.cu)
ifeq ($(HAVE_NVCC),1)
  CU_OBJ    := $(CU_SRC:%.cu=$(BUILD)/%.o)
  CUDA_HOME ?= $(patsubst %/bin/,%,$(dir $(shell command -v $(NVCC))))
  # CUDA_ARCHS: compute capabilities to build for (A100 = 80, H100/H200 = 90); one SASS image each.
  CUDA_ARCHS ?= 80 90
  # -fmad=false: no contraction of a*b+c into one FMA, so the shared kernels/math formulas round as the
  # CPU build (x86-64 baseline, no FMA) rounds them; the kernels are memory-bound, the GEMMs are cuBLAS'.
  NVFLAGS   ?= -O2 -std=c++17 -fmad=false $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a),code=sm_$(a)) -I. \
               -Xcompiler -Wall,-Wextra,-Werror,-Wno-unused-parameter
  ifneq ($(CU_OBJ),)
    CFLAGS += -DDUO_HAVE_CUDA=1
    LDLIBS += -Wl,--as-needed -L$(CUDA_HOME)/lib64 -lcudart -lcublas -lcublasLt -lcurand -lstdc++
  endif
endif

TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)

# GPU tests (tests/gpu/gpu_*.c) are compiled by `make` whenever CUDA is built, so CI compiles them too.
GPU_TEST_SRC := $(wildcard tests/gpu/gpu_*.c)
GPU_TEST_BIN := $(if $(CU_OBJ),$(GPU_TEST_SRC:tests/gpu/%.c=$(BUILD)/tests/%))

.PHONY: all test test-asan check fuzz clean test-gpu
all: $(BUILD)/duo-train $(TEST_BIN) $(GPU_TEST_BIN)

# Header dependencies come from the compilers themselves (-MMD -MP writes a .d file next to each object).
$(BUILD)/%.o: %.c | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libduo.a: $(LIB_OBJ) $(CU_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/duo-train: $(BUILD)/cli/main.o $(BUILD)/libduo.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libduo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $< $(BUILD)/libduo.a -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/gpu_%: tests/gpu/gpu_%.c $(BUILD)/libduo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -I$(CUDA_HOME)/include $< $(BUILD)/libduo.a -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD):
	@mkdir -p $@

test: all
	@PYTHON=$(PYTHON) SUMMARY_FILE=$(SUMMARY_FILE) tests/run_tests.sh $(BUILD)

ASAN_BUILD ?= build-asan
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
test-asan:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPT="-O1 -g" SANFLAGS="$(SAN)" LDFLAGS="$(SAN)" HAVE_NVCC= all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  PYTHON=$(PYTHON) SUMMARY_FILE=$(SUMMARY_FILE) DUO_SANITIZED=1 tests/run_tests.sh $(ASAN_BUILD)

# CI: the sanitised suite, then the plain one; one summary line over both.
check:
	@rm -f build/.summary build-asan/.summary
	@$(MAKE) --no-print-directory test-asan SUMMARY_FILE=$(CURDIR)/build-asan/.summary || true
	@$(MAKE) --no-print-directory test SUMMARY_FILE=$(CURDIR)/build/.summary || true
	@tests/summarize.sh build-asan/.summary build/.summary

FUZZ_SECONDS ?= 20
fuzz:
	@tests/fuzz/run_fuzz.sh $(FUZZ_SECONDS)

test-gpu: all $(GPU_TEST_BIN)
	@PYTHON=$(PYTHON) tests/run_tests.sh $(BUILD) gpu

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
