/* The composites' per-backend state: one workspace in backend memory, grown on demand up to the
 * backend's budget, and host copies of position arrays. */
#include <stdlib.h>

#include "kernels/composite/composite_impl.h"

composite_state *composite_get(duo_backend *be, const char *call) {
    if (!be->composite) {
        be->composite = calloc(1, sizeof(composite_state));
        if (!be->composite) BACKEND_FAIL(be, call, "out of host memory for the composites' state");
    }
    return be->composite;
}

void *composite_ws(duo_backend *be, size_t bytes, const char *call) {
    composite_state *st = composite_get(be, call);
    if (!st) return NULL;
    if (bytes > be->composite_workspace_bytes) {
        BACKEND_FAIL(be, call, "needs %zu bytes of workspace, more than the backend's budget of %zu", bytes,
                     be->composite_workspace_bytes);
        return NULL;
    }
    if (bytes <= st->ws_bytes && st->ws) return st->ws;
    if (st->ws) be->prims->free(be, st->ws);
    /* grow geometrically (within the budget), so a run of growing tiles does not reallocate each time */
    size_t want = st->ws_bytes * 2 > bytes ? st->ws_bytes * 2 : bytes;
    if (want > be->composite_workspace_bytes) want = be->composite_workspace_bytes;
    st->ws = be->prims->alloc(be, want);
    st->ws_bytes = st->ws ? want : 0;
    return st->ws;
}

int32_t *composite_host_ints(duo_backend *be, const int32_t *src, size_t n, int32_t **slot, size_t *cap,
                             const char *call) {
    if (n > *cap || !*slot) { /* at least one element, so that an empty array is not a failure */
        size_t want = n ? n : 1;
        free(*slot);
        *slot = malloc(want * sizeof **slot);
        *cap = *slot ? want : 0;
        if (!*slot) {
            BACKEND_FAIL(be, call, "out of host memory for %zu positions", n);
            return NULL;
        }
    }
    if (n) be->prims->download(be, *slot, src, n * sizeof **slot);
    return *slot;
}

int composite_set_tile_rows(duo_backend *be, int rows) {
    composite_state *st = composite_get(be, "composite_set_tile_rows");
    if (!st) return -1;
    st->tile_rows = rows > 0 ? rows : 0;
    return 0;
}

void composite_release(duo_backend *be) {
    composite_state *st = be ? be->composite : NULL;
    if (!st) return;
    if (st->ws) be->prims->free(be, st->ws);
    free(st->hq);
    free(st->hk);
    free(st);
    be->composite = NULL;
}
