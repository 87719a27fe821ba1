/*
 * bertscore.h — internal interface of BERTScore (runtime/bertscore*.c, runtime/baseline*.c).
 * The engine calls bertscore_run on a replica's device worker; the outside world goes through
 * vkb_engine_bertscore[_async] in vkb_runtime.h. Semantics: bert_score 0.3.13
 * (../shared/docs/SEMANTICS.md, BERTScore section).
 */
#ifndef VKB_BERTSCORE_H
#define VKB_BERTSCORE_H

#include "model.h"
#include "vkb_runtime.h"

/* bert_score's version string, as its hash line prints it. */
#define VKB_BERTSCORE_VERSION "0.3.13"

/* BERTScore of n (cands[i], refs[i]) pairs on the replica's backend: UTF-8 of cand_lens[i]
 * and ref_lens[i] bytes, NULs included (either lens NULL: those texts are NUL-terminated).
 * Runs on the replica's worker thread (one thread at a time per replica).
 *   opts: num_layers (0 = bert_score's default for model_name), idf, rescale_with_baseline,
 *         lang (NULL = "en"), batch_size (sentences per encoder batch; <= 0: 64, at most 512).
 *   baseline_dir: VKB_BASELINE_DIR / --baseline-dir, or NULL (see bertscore_find_baseline).
 *   model_name: the name the request used ("roberta-large", "org/name"): the key of the
 *         num_layers table and of the baseline file.
 *   P, R, F: n floats each (rescaled when asked).
 *   progress: called with (done, n) as pairs complete, or NULL.
 * Returns VKB_EINVAL with one line in err for request-level problems (unknown num_layers,
 * num_layers beyond the model, missing or bad baseline file, n < 0), VKB_ENOMEM or
 * VKB_EDEVICE for internal faults. */
int bertscore_run(model_replica *r, const vkb_bertscore_opts *opts, const char *baseline_dir,
                  const char *model_name, const char *const *cands, const char *const *refs,
                  const size_t *cand_lens, const size_t *ref_lens, int n, float *P, float *R,
                  float *F, vkb_progress_fn progress, void *user, char *err, size_t errlen);

/* bertscore_run with the packed token table of one greedy_match capped at table_max_bytes
 * (bertscore_run: 256 MiB, or less where the device's storage-buffer range is smaller).
 * Pairs whose sentences do not fit one table are scored in several chunks. Tests pass a small
 * cap to exercise that. */
int bertscore_run_capped(model_replica *r, const vkb_bertscore_opts *opts,
                         const char *baseline_dir, const char *model_name,
                         const char *const *cands, const char *const *refs,
                         const size_t *cand_lens, const size_t *ref_lens, int n, float *P,
                         float *R, float *F, vkb_progress_fn progress, void *user,
                         uint64_t table_max_bytes, char *err, size_t errlen);

/* The num_layers a request runs with: requested if > 0, else bert_score's table entry for
 * model_name, else VKB_EINVAL ("model X is not in bert_score's num_layers table; pass
 * num_layers"). Also VKB_EINVAL when the result exceeds model_layers (the model's
 * num_hidden_layers; <= 0 = unknown, not checked). */
int bertscore_resolve_layers(const char *model_name, int requested, int model_layers,
                             int *num_layers, char *err, size_t errlen);

/* The file bert_score's baseline would be read from, first existing of:
 *   <baseline_dir>/<lang>/<file>.tsv                    (if baseline_dir is set)
 *   <parent of model_folder>/rescale_baseline/<lang>/<file>.tsv   (the model root)
 *   <model_folder>/rescale_baseline/<lang>/<file>.tsv
 *   <model_folder>/rescale_baseline/<lang>.tsv
 * where <file> is model_name after its last '/' (bert_score's naming). model_folder may be
 * NULL. Writes the path to path (pathlen bytes). VKB_EINVAL naming the files looked for when
 * none exists; VKB_EINVAL for a lang or model name that could escape the root. */
int bertscore_find_baseline(const char *baseline_dir, const char *model_folder,
                            const char *lang, const char *model_name, char *path,
                            size_t pathlen, char *err, size_t errlen);

/* Reads a bert_score baseline TSV (header LAYER,P,R,F; comma-separated rows) and returns the
 * row whose LAYER is num_layers as b[0..2] = (P, R, F). VKB_EINVAL naming the file when it
 * cannot be read, is malformed, lacks that row, or a b is 1 (rescaling would divide by 0). */
int bertscore_read_baseline(const char *path, int num_layers, float b[3], char *err,
                            size_t errlen);

/* bert_score's hash (get_hash):
 *   "<model>_L<n>{_idf|_no-idf}_version=0.3.13(hug_trans=<transformers version>)
 *    [-rescaled][_fast-tokenizer]"
 * bert_score's CLI always sets fast_tokenizer (its --use_fast_tokenizer flag is store_false);
 * the score() function defaults to 0. */
void bertscore_hash(char *out, size_t outlen, const char *model_name, int num_layers, int idf,
                    int rescale, int fast_tokenizer);

/* ---- the pure parts of a request, testable without a model */

/* One text of a request: len bytes of UTF-8 at s, NULs included (s is borrowed). */
typedef struct bertscore_text {
    const char *s;
    size_t len;
} bertscore_text;

/* Distinct sentences of a request (bert_score dedups candidates and references together);
 * texts are compared as byte strings of their lengths (cand_lens/ref_lens as for
 * bertscore_run), so "a\0b" and "a" differ. distinct (malloc'd array of n_distinct texts
 * borrowed from cands/refs, caller frees the array) holds each different text once, in
 * first-seen order over cands[0], refs[0], cands[1], ...; cand_idx[i] and ref_idx[i] (n ints
 * each, caller-provided) index it. */
int bertscore_dedup(const char *const *cands, const char *const *refs, const size_t *cand_lens,
                    const size_t *ref_lens, int n, bertscore_text **distinct, int *n_distinct,
                    int *cand_idx, int *ref_idx);

/* Document frequencies over the references of a request:
 * df(t) = number of references whose ids contain t at least once. */
typedef struct bertscore_idf {
    int n_docs;   /* M: references, duplicates included (bert_score counts every one) */
    int n;        /* distinct token ids seen */
    int32_t *ids; /* n, ascending */
    int *df;      /* n */
} bertscore_idf;
int bertscore_idf_build(bertscore_idf *t, const int32_t *const *docs, const int *lens,
                        int n_docs);
/* ln((M+1)/(df(id)+1)); ln(M+1) for an id no reference holds. */
float bertscore_idf_of(const bertscore_idf *t, int32_t id);
void bertscore_idf_free(bertscore_idf *t);

/* Token weights w[0..n) for one sentence: 0 for cls_id and sep_id, else idf (t != NULL) or 1.
 * (With idf the CLS/SEP weight is ln(1) = 0 anyway: every reference holds them.) */
void bertscore_weights(const bertscore_idf *t, int32_t cls_id, int32_t sep_id,
                       const int32_t *ids, int n, float *w);

/* The response from greedy_match's prf ((n,3): P, R, F per pair): a pair whose candidate or
 * reference has exactly 2 tokens (the specials alone: an empty sentence) scores 0, 0, 0;
 * then, if b is non-NULL, x' = (x - b)/(1 - b) per P, R, F. */
void bertscore_finish(const float *prf, const int *cand_len, const int *ref_len, int n,
                      const float *b, float *P, float *R, float *F);

#endif
