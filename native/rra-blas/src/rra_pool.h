/*
 * A small pool of helper threads for the fused kernels' loops (rra_pool.c). A job is split into `parts`
 * fixed parts by the kernel itself (rows, heads, columns); part p always covers the same elements and
 * each element is computed by the same operations in the same order, so the results are bit-identical for
 * any number of parts and threads. The caller runs part 0 and waits for the others.
 */
#ifndef RRA_POOL_H
#define RRA_POOL_H
#include <stddef.h>

typedef void (*pool_fn)(void *ctx, int part, int parts);

/* The pool's thread count (1 = every job on the calling thread), at most RRA_POOL_MAX. rra_blas.c's
 * setThreads sets it with OpenBLAS's; setFusedThreads alone (tests compare counts with the same GEMMs,
 * since OpenBLAS's own results depend on its thread count). */
void pool_set_threads(int n);
int pool_threads(void);

/* How many parts to split a job of `work` units into (~flops or values): 1 below `min_work`, else the
 * pool's thread count. */
int pool_parts(double work, double min_work);

/* Run fn(ctx, p, parts) for p = 0..parts-1, part 0 on the calling thread and the others on helpers.
 * When another thread is using the pool (data-parallel workers), the caller runs every part itself. */
void pool_run(pool_fn fn, void *ctx, int parts);

/* How many jobs ran split over threads so far, and how many helper threads exist (tests read them). */
unsigned long pool_split_jobs(void);
int pool_helpers(void);

/* The range [begin, end) of part p of n items split into `parts` near-equal parts. */
static inline void pool_range(size_t n, int part, int parts, size_t *begin, size_t *end) {
  *begin = n * (size_t)part / (size_t)parts;
  *end = n * (size_t)(part + 1) / (size_t)parts;
}

#define RRA_POOL_MAX 8
#endif
