/* `duo-train sweep --task longbench`'s flags (issue 17); kept apart from eval/longbench_data.h so that
 * eval/sweep.h can hold them without the LongBench headers. */
#ifndef DUO_EVAL_LONGBENCH_OPTS_H
#define DUO_EVAL_LONGBENCH_OPTS_H

typedef enum { LB_CHAT_AUTO = 0, LB_CHAT_NONE, LB_CHAT_LLAMA2 } lb_chat_wrap;

typedef struct {
    const char *config_dir;  /* --longbench_config; NULL: <dataset dir>/config */
    const char *datasets;    /* --longbench_datasets, a comma list; NULL: every English dataset present */
    const char *model_name;  /* --model_name (pred.py's --model); NULL: the model folder's basename */
    int longbench_e;         /* --longbench_e: the _e files and LongBench-E's length buckets */
    int samples;             /* --samples: the first N records of each dataset; 0: all */
    int max_length;          /* --max_length: prompt budget in tokens; 0: max_position_embeddings minus the
                              * largest generation length */
    lb_chat_wrap chat_wrap;  /* --chat_wrap none|llama2|auto (auto: "llama-2" in the model name) */
} longbench_opts;

#endif
