/* The CUDA backend's tables without a device: every entry of its primitive table (kernels/prims.h) and of
 * the op table it runs on them (the composite one, kernels/ops.h) is set, so no op of the step or the
 * inference path can reach a NULL on a GPU.  A build without CUDA (the ASan build) skips. */
#include <stddef.h>

#include "kernels/ops.h"
#include "kernels/prims.h"
#ifdef DUO_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif
#include "tests/harness.h"

/* Both tables hold nothing but function pointers: walk them as arrays of that many pointers. */
typedef void (*any_fn)(void);
_Static_assert(sizeof(duo_prims) % sizeof(any_fn) == 0, "duo_prims holds only function pointers");
_Static_assert(sizeof(duo_ops) % sizeof(any_fn) == 0, "duo_ops holds only function pointers");

static int first_null(const void *table, size_t bytes) {
    const any_fn *f = table;
    for (size_t i = 0; i < bytes / sizeof(any_fn); i++)
        if (!f[i]) return (int)i;
    return -1;
}

/* The walk itself finds a NULL: a table with one entry cleared. */
TEST(walk_finds_a_cleared_entry) {
    duo_prims p;
    memset(&p, 0xff, sizeof p);
    CHECK_EQ_INT(first_null(&p, sizeof p), -1);
    p.tile_argmax = NULL;
    CHECK_EQ_INT(first_null(&p, sizeof p), (long long)(offsetof(duo_prims, tile_argmax) / sizeof(any_fn)));
    duo_ops o;
    memset(&o, 0xff, sizeof o);
    o.attn_argmax = NULL;
    CHECK_EQ_INT(first_null(&o, sizeof o), (long long)(offsetof(duo_ops, attn_argmax) / sizeof(any_fn)));
}

TEST(cuda_primitive_table_complete) {
#ifdef DUO_HAVE_CUDA
    const duo_prims *p = cuda_prims_table();
    CHECK(p != NULL);
    int i = first_null(p, sizeof *p);
    CHECK_MSG(i < 0, "entry %d of the CUDA primitive table (kernels/prims.h order) is NULL", i);
#else
    SKIP("this build has no CUDA");
#endif
}

TEST(cuda_op_table_complete) {
#ifdef DUO_HAVE_CUDA
    const duo_ops *o = cuda_ops_table();
    CHECK(o != NULL);
    int i = first_null(o, sizeof *o);
    CHECK_MSG(i < 0, "entry %d of the CUDA backend's op table (kernels/ops.h order) is NULL", i);
#else
    SKIP("this build has no CUDA");
#endif
}

TEST_MAIN()
