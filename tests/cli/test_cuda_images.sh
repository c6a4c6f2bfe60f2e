#!/usr/bin/env bash
# The built CUDA images, read without a GPU (cuobjdump --dump-resource-usage): no kernel uses local
# memory (register spills or a stack frame: LOCAL or STACK > 0), and every __global__ kernel of the
# backend's sources (kernels/cuda/*.cu) is in the image of every architecture of CUDA_ARCHS (default 80
# and 90).  (kernels/math/headers_check.cu is a compile check of the shared headers, never launched.)  A build without CUDA objects (the ASan build) skips.  cuobjdump comes from
# PyPI's nvidia-cuda-cuobjdump, installed by scripts/install.sh into build-tools/cuda-tools-venv.
# The per-kernel registers are printed (not as test lines) for the record.
set -u
build=${DUO_BUILD:-build}
archs=${CUDA_ARCHS:-80 90}
pass() { echo "PASS: cli/cuda_images_$1"; }
fail() { echo "FAIL: cli/cuda_images_$1 ($2)"; }
skip() { echo "SKIP: cli/cuda_images_$1 ($2)"; }

objs=$(ls "$build"/kernels/cuda/*.o 2>/dev/null)
if [ -z "$objs" ]; then
    skip all "no CUDA objects in $build: a build without nvcc"
    exit 0
fi

find_cuobjdump() {
    [ -n "${CUOBJDUMP:-}" ] && [ -x "$CUOBJDUMP" ] && { echo "$CUOBJDUMP"; return; }
    command -v cuobjdump 2>/dev/null && return
    local c
    for c in build-tools/cuda-tools-venv/lib/python3*/site-packages/nvidia/cu*/bin/cuobjdump \
             build-tools/cuda-tools-venv/lib/python3*/site-packages/nvidia/cuda_cuobjdump/bin/cuobjdump \
             "${CUDA_HOME:-/usr/local/cuda}"/bin/cuobjdump; do
        [ -x "$c" ] && { echo "$c"; return; }
    done
}

# Reads `cuobjdump --dump-resource-usage` text on stdin; prints "arch function REG LOCAL STACK" per kernel.
parse_usage() {
    awk '/^arch = /{arch=$3} /^ Function /{fn=$2; sub(/:$/, "", fn)}
         /REG:/ && fn != "" { reg=local_=stack=0
             for (i = 1; i <= NF; i++) { split($i, kv, ":"); if (kv[1]=="REG") reg=kv[2]; if (kv[1]=="LOCAL") local_=kv[2]; if (kv[1]=="STACK") stack=kv[2] }
             print arch, fn, reg, local_, stack; fn="" }'
}
# The lines of parse_usage output that use local memory.
local_users() { awk '$4 > 0 || $5 > 0'; }

# The parser itself sees a spill and a stack frame (a dump as cuobjdump prints it).
sample=$(printf '%s\n' 'arch = sm_80' 'Resource usage:' ' Function _Z3fooPf:' \
    '  REG:40 STACK:0 SHARED:0 LOCAL:8 CONSTANT[0]:360 TEXTURE:0 SURFACE:0 SAMPLER:0' ' Function _Z3barPf:' \
    '  REG:12 STACK:16 SHARED:0 LOCAL:0 CONSTANT[0]:360' ' Function _Z3bazPf:' '  REG:12 STACK:0 SHARED:0 LOCAL:0')
n=$(parse_usage <<<"$sample" | local_users | wc -l)
[ "$n" -eq 2 ] && pass parser_sees_local_memory || fail parser_sees_local_memory "found $n of the sample's 2 local-memory users"

cuobjdump=$(find_cuobjdump)
if [ -z "$cuobjdump" ]; then
    fail tool "no cuobjdump (scripts/install.sh installs PyPI's nvidia-cuda-cuobjdump into build-tools/cuda-tools-venv)"
    exit 0
fi

usage="${TMPDIR:-/tmp}/cuda_usage.$$"
: >"$usage"
for o in $objs; do
    if ! "$cuobjdump" --dump-resource-usage "$o" 2>"$usage.err" | parse_usage >>"$usage"; then
        fail dump "$cuobjdump on $o: $(head -c 300 "$usage.err")"
    fi
done
echo "# kernel resource usage (arch function registers local stack), from $cuobjdump:"
sed 's/^/#   /' "$usage"

bad=$(local_users <"$usage")
[ -z "$bad" ] && pass no_local_memory || fail no_local_memory "kernels with local memory (arch fn REG LOCAL STACK): $(tr '\n' ';' <<<"$bad")"

# __global__ kernel names of the sources (launch bounds stripped; templates included)
kernels=$(cat kernels/cuda/*.cu 2>/dev/null | tr '\n' ' ' | sed 's/__launch_bounds__([^)]*)//g' |
          grep -oE '__global__[^(;{]*\(' | sed -E 's/.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*\($/\1/' | sort -u)
nk=$(wc -w <<<"$kernels")
[ "$nk" -ge 20 ] && pass sources_have_kernels || fail sources_have_kernels "only $nk __global__ kernels found in the sources"
for a in $archs; do
    missing=
    for k in $kernels; do
        # a mangled name holds the identifier after its length: _Z18tile_argmax_kernel...
        awk -v a="sm_$a" '$1 == a {print $2}' "$usage" | grep -q "${#k}$k" || missing="$missing $k"
    done
    [ -z "$missing" ] && pass "kernels_in_sm_$a" || fail "kernels_in_sm_$a" "not in the sm_$a image:$missing"
done
rm -f "$usage" "$usage.err"
exit 0
