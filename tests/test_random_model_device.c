/* random_model_create_device: the random-shape model whose tensors carry a generation spec instead of
 * host data (the CUDA backend's load_tensor fills them on the device); host-generated tensors and
 * checkpoint-like tensors are not taken for device-generated ones. */
#include "model/random_model.h"
#include "tests/harness.h"

static duo_model_config tiny_cfg(void) {
    duo_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.model_type, sizeof c.model_type, "llama");
    c.hidden_size = 16, c.intermediate_size = 24, c.num_hidden_layers = 2;
    c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 4, c.vocab_size = 50;
    c.rms_norm_eps = 1e-5, c.rope_theta = 10000, c.max_position_embeddings = 128;
    return c;
}

TEST(device_tensors_have_specs_and_no_data) {
    duo_model_config c = tiny_cfg();
    duo_model m;
    duo_error err;
    CHECK_MSG(random_model_create_device(&c, DUO_BF16, 42, 1.0, &m, &err) == 0, "%.300s", err.msg);
    const duo_tensor *all[] = {m.embed_tokens, m.norm, m.lm_head, m.layers[0].q_proj, m.layers[1].down_proj,
                               m.layers[1].post_attention_layernorm};
    uint64_t seeds[6];
    for (int i = 0; i < 6; i++) {
        duo_random_spec s;
        CHECK(all[i]->data == NULL);
        CHECK_MSG(random_tensor_spec(all[i], &s) == 1, "tensor %s has no spec", all[i]->name);
        CHECK(s.amp > 0);
        seeds[i] = s.seed;
        for (int j = 0; j < i; j++) CHECK_MSG(seeds[j] != seeds[i], "tensors %d and %d share a seed", j, i);
    }
    duo_random_spec s;
    CHECK(random_tensor_spec(m.norm, &s) && s.offset == 1.0);       /* norms: 1 + uniform(-0.1, 0.1) */
    CHECK(random_tensor_spec(m.embed_tokens, &s) && s.offset == 0); /* embeddings: uniform(-1, 1) */
    CHECK_EQ_INT(m.layers[0].q_proj->nbytes, 16 * 16 * 2);
    CHECK_EQ_INT(m.layers[0].q_proj->shape[0], 16);
    random_model_free(&m);
}

TEST(host_tensors_are_not_device_tensors) {
    duo_model_config c = tiny_cfg();
    duo_model m;
    duo_error err;
    CHECK_MSG(random_model_create(&c, DUO_F32, 42, 1.0, &m, &err) == 0, "%.300s", err.msg);
    duo_random_spec s;
    CHECK(m.layers[0].q_proj->data != NULL);
    CHECK(random_tensor_spec(m.layers[0].q_proj, &s) == 0);
    random_model_free(&m);
    /* a tensor without data that is not one of them (a file name that only looks the same) */
    duo_tensor fake;
    memset(&fake, 0, sizeof fake);
    fake.file = "(random, generated on the device)";
    CHECK(random_tensor_spec(&fake, &s) == 0);
    CHECK(random_tensor_spec(NULL, &s) == 0);
}

TEST_MAIN()
