/* Memory-mapped safetensors checkpoints, single file or sharded (model.safetensors.index.json). */
#ifndef DUO_DATA_SAFETENSORS_H
#define DUO_DATA_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "data/error.h"

typedef enum { DUO_F32 = 0, DUO_F16, DUO_BF16 } duo_dtype;

typedef struct {
    const char *name;
    duo_dtype dtype;
    int ndim;
    int64_t shape[4];
    const void *data; /* inside the file's read-only map; may be unaligned: read through memcpy or
                         tensor_to_f32 unless the header length keeps it aligned (the writers pad it) */
    size_t nbytes;
    const char *file; /* the .safetensors file that holds it */
} duo_tensor;

typedef struct duo_checkpoint duo_checkpoint;

/* Opens model_dir/model.safetensors or the shards listed in model_dir/model.safetensors.index.json
 * (a path to a single .safetensors file, or to an index file, also works).  Validates headers and offsets. */
duo_checkpoint *checkpoint_open(const char *path, duo_error *err);
const duo_tensor *checkpoint_find(const duo_checkpoint *ck, const char *name);
size_t checkpoint_num_tensors(const duo_checkpoint *ck);
const duo_tensor *checkpoint_tensor(const duo_checkpoint *ck, size_t i);
void checkpoint_close(duo_checkpoint *ck);

/* The files mapped (one, or each shard once), their paths and sizes in bytes. */
size_t checkpoint_num_files(const duo_checkpoint *ck);
const char *checkpoint_file_path(const duo_checkpoint *ck, size_t i);
size_t checkpoint_file_size(const duo_checkpoint *ck, size_t i);

/* Parses one safetensors file held in memory (not copied: `data` must outlive the checkpoint);
 * `name` is used in error messages.  For fuzzing and tests. */
duo_checkpoint *checkpoint_open_buffer(const void *data, size_t size, const char *name, duo_error *err);

size_t dtype_size(duo_dtype dt);
const char *dtype_name(duo_dtype dt);
/* Number of elements (product of the shape). */
size_t tensor_numel(const duo_tensor *t);
/* Converts elements [start, start+count) of t to float32, exactly (the caller keeps the range
 * inside tensor_numel(t)). */
void tensor_to_f32(const duo_tensor *t, size_t start, size_t count, float *out);
/* One bf16 / f16 bit pattern to float32, exactly (f16 subnormals, infinities and NaN payloads kept). */
float bf16_to_f32(uint16_t h);
float f16_to_f32(uint16_t h);

#endif
