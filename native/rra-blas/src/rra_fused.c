/*
 * rra_fused: fused forward and backward kernels of the students' training path, for the workbench's
 * TensorFlow.js wasm backend (lib/backend/fused.ts registers them). Each replaces 5-30 small tfjs
 * kernel calls, whose fixed cost (~25-45 us each: engine bookkeeping, allocation, the wasm call)
 * dominates a student's training step (notes/speed.md). Operands are Float32Array views (of the wasm
 * heap), row-major. Large calls split their rows, columns or (row, head) pairs over the thread count
 * (rra_pool.c; set with OpenBLAS's); every value is computed by the same operations in the same order whatever the
 * split, so results are deterministic and the same for any thread count.
 * Reductions (means, variances, column sums, squared norms) accumulate in double.
 *
 *   layerNorm(x, gamma, beta, y, mean, rstd, rows, cols, eps)
 *       y = (x - mean) * rstd * gamma + beta per row, rstd = 1 / sqrt(var + eps) (biased variance)
 *   layerNormGrad(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols)
 *   biasGelu(x, bias, y, rows, cols, erfForm)        y = gelu(x + bias); bias may be empty (no bias)
 *   biasGeluGrad(x, bias, dy, dx, dbias, rows, cols, erfForm)   dbias may be empty
 *   maskedSoftmax(s, keep, p, batch, heads, tq, tk, scale)
 *       p = softmax(s * scale + (1 - keep[b, key]) * -1e9) over keys; s [batch, heads, tq, tk], keep [batch, tk]
 *   maskedSoftmaxGrad(p, dp, ds, rows, tk, scale)      ds = scale * p * (dp - sum(dp * p))
 *   dropout(x, y, seed, keep)   y = x * the inverted-dropout mask of lib/models/kernels.ts (mulberry32 from seed)
 *   attention(qkv, keep, ctx, probs, batch, seq, heads, scale, dropSeed, dropKeep)
 *       the attention core of an encoder layer from the fused QKV projection qkv [batch * seq, 3H]
 *       (q | k | v, head h at columns h*d..h*d+d of each third): per row b and head h,
 *       P = maskedSoftmax(Q K^T, keep[b], scale) -> probs [batch, heads, seq, seq], then
 *       ctx[b*seq + t, h*d ..] = (P * drop) V, drop the inverted-dropout mask of P drawn from dropSeed
 *       (dropKeep 1 = none).
 *       Q, K and V are read in place through the GEMM's leading dimension (no split, no transposes).
 *   attentionGrad(dctx, qkv, probs, dqkv, batch, seq, heads, scale, dropSeed, dropKeep)   dqkv [batch * seq, 3H]
 *   sumSquares([g0, g1, ...]) -> number                sum of squares of every value (double)
 *   poolStats() -> { splitJobs, helpers }              calls run split over threads so far; helper threads
 *   setFusedThreads(n) / fusedThreads()                the split's thread count alone (setThreads sets both)
 *   adamw([p..], [g..], [m..], [v..], [p'..], [m'..], [v'..], lr[], decay[], gradScale, beta1, beta2, bc1, bc2, eps, weightDecay)
 *       per variable i, in the float32 arithmetic of lib/train/schedule.ts's AdamW (same operations,
 *       same order): g = g * gradScale (when gradScale != 1), m' = m b1 + g (1 - b1),
 *       v' = v b2 + g^2 (1 - b2), u = (m' / bc1) / (sqrt(v' / bc2) + eps) (+ p wd when decay[i]),
 *       p' = p - u lr[i]
 */
#include "rra_napi.h"
#include "rra_pool.h"
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

/* Work below which a job runs on the calling thread alone (values or flops; waking a helper costs ~5-20 us). */
#define PAR_VALUES 16384.0
#define PAR_FLOPS 262144.0

typedef struct { const float *x, *gamma, *beta; float *y, *mean, *rstd; size_t rows, cols; float eps; } ln_job;

static void layer_norm_part(void *ctx, int part, int parts) {
  const ln_job *j = ctx;
  const size_t cols = j->cols;
  size_t r0, r1;
  pool_range(j->rows, part, parts, &r0, &r1);
  for (size_t r = r0; r < r1; r++) {
    const float *xr = j->x + r * cols;
    float *yr = j->y + r * cols;
    double s = 0;
    for (size_t c = 0; c < cols; c++) s += xr[c];
    float mu = (float)(s / (double)cols);
    double q = 0;
    for (size_t c = 0; c < cols; c++) { double d = (double)xr[c] - mu; q += d * d; }
    float var = (float)(q / (double)cols);
    float sd = sqrtf(var + j->eps), inv = 1.0f / sd;
    for (size_t c = 0; c < cols; c++) yr[c] = ((xr[c] - mu) / sd) * j->gamma[c] + j->beta[c];
    j->mean[r] = mu;
    j->rstd[r] = inv;
  }
}

static napi_value layer_norm(napi_env env, napi_callback_info info) {
  float *a[6]; size_t l[6]; double n[3];
  if (!read_args(env, info, "rra_fused.layerNorm", 6, 3, a, l, n)) return NULL;
  size_t rows = (size_t)n[0], cols = (size_t)n[1];
  if (!fits(env, "rra_fused.layerNorm", cols > 0 && l[0] >= rows * cols && l[1] >= cols && l[2] >= cols && l[3] >= rows * cols && l[4] >= rows && l[5] >= rows)) return NULL;
  ln_job j = { a[0], a[1], a[2], a[3], a[4], a[5], rows, cols, (float)n[2] };
  pool_run(layer_norm_part, &j, pool_parts((double)rows * cols, PAR_VALUES));
  return NULL;
}

typedef struct { const float *dy, *x, *gamma, *mean, *rstd; float *dx, *dgamma, *dbeta; size_t rows, cols; bool failed[RRA_POOL_MAX]; } ln_grad_job;

static bool any_failed(const bool *failed) {
  for (int i = 0; i < RRA_POOL_MAX; i++) if (failed[i]) return true;
  return false;
}

/* dx, row by row */
static void layer_norm_grad_rows(void *ctx, int part, int parts) {
  const ln_grad_job *j = ctx;
  const size_t cols = j->cols;
  size_t r0, r1;
  pool_range(j->rows, part, parts, &r0, &r1);
  for (size_t r = r0; r < r1; r++) {
    const float *dyr = j->dy + r * cols, *xr = j->x + r * cols;
    float *dxr = j->dx + r * cols;
    double mu = j->mean[r], inv = j->rstd[r];
    double sum_g = 0, sum_gx = 0;
    for (size_t c = 0; c < cols; c++) {
      double xhat = ((double)xr[c] - mu) * inv;
      double g = (double)dyr[c] * j->gamma[c];
      sum_g += g;
      sum_gx += g * xhat;
    }
    double mg = sum_g / (double)cols, mgx = sum_gx / (double)cols;
    for (size_t c = 0; c < cols; c++) {
      double xhat = ((double)xr[c] - mu) * inv;
      dxr[c] = (float)(inv * ((double)dyr[c] * j->gamma[c] - mg - xhat * mgx));
    }
  }
}

/* dgamma, dbeta: column sums over the rows in row order, a part per range of columns */
static void layer_norm_grad_cols(void *ctx, int part, int parts) {
  ln_grad_job *j = ctx;
  const size_t cols = j->cols;
  size_t c0, c1;
  pool_range(cols, part, parts, &c0, &c1);
  if (c1 <= c0) return;
  double *dg = calloc(2 * (c1 - c0), sizeof(double)), *db = dg + (c1 - c0);
  if (!dg) { j->failed[part] = true; return; }
  for (size_t r = 0; r < j->rows; r++) {
    const float *dyr = j->dy + r * cols, *xr = j->x + r * cols;
    double mu = j->mean[r], inv = j->rstd[r];
    for (size_t c = c0; c < c1; c++) {
      double xhat = ((double)xr[c] - mu) * inv;
      dg[c - c0] += (double)dyr[c] * xhat;
      db[c - c0] += dyr[c];
    }
  }
  for (size_t c = c0; c < c1; c++) { j->dgamma[c] = (float)dg[c - c0]; j->dbeta[c] = (float)db[c - c0]; }
  free(dg);
}

static napi_value layer_norm_grad(napi_env env, napi_callback_info info) {
  float *a[8]; size_t l[8]; double n[2];
  if (!read_args(env, info, "rra_fused.layerNormGrad", 8, 2, a, l, n)) return NULL;
  size_t rows = (size_t)n[0], cols = (size_t)n[1];
  if (!fits(env, "rra_fused.layerNormGrad", cols > 0 && l[0] >= rows * cols && l[1] >= rows * cols && l[2] >= cols && l[3] >= rows && l[4] >= rows && l[5] >= rows * cols && l[6] >= cols && l[7] >= cols)) return NULL;
  ln_grad_job j = { a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], rows, cols, { false } };
  int parts = pool_parts((double)rows * cols, PAR_VALUES);
  pool_run(layer_norm_grad_rows, &j, parts);
  pool_run(layer_norm_grad_cols, &j, parts);
  if (any_failed(j.failed)) napi_throw_error(env, NULL, "rra_fused.layerNormGrad: out of memory");
  return NULL;
}

#define SQRT_2_OVER_PI 0.7978845608028654f
#define INV_SQRT_2PI 0.3989422804014327f

/* exp(x) in float: x = n ln2 + r, |r| <= ln2 / 2, a degree-6 polynomial for e^r, 2^n through the
 * exponent bits (relative error ~2e-7 on [-87, 88]; 0 below, e^88 above). Branch-free, so the loops
 * that call it vectorise; glibc's expf is a call per value. */
static inline float exp_approx(float x0) {
  float x = x0 < -87.0f ? -87.0f : (x0 > 88.0f ? 88.0f : x0);
  /* n = round(x / ln2) by the 1.5 * 2^23 trick (SSE2 has no vector floor; no -ffast-math, so it is kept) */
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666672e-1f + r * (4.16666418e-2f + r * (8.33336077e-3f + r * 1.38873165e-3f)))));
  union { float f; int i; } u = { .f = p };
  u.i += (int)n << 23;
  return x0 < -87.0f ? 0.0f : u.f; /* below the float range: 0, as expf (a masked softmax's padding keys get exactly 0) */
}

/* tanh(u) = 1 - 2 / (e^(2u) + 1) */
static inline float tanh_approx(float u) { return 1.0f - 2.0f / (exp_approx(2.0f * u) + 1.0f); }

/* erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), the formula TensorFlow.js's own Erf kernels use. */
static inline float erf_approx(float x) {
  float a = __builtin_fabsf(x), s = x < 0 ? -1.0f : 1.0f;
  float t = 1.0f / (1.0f + 0.3275911f * a);
  float y = 1.0f - (((((1.061405429f * t - 1.453152027f) * t) + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t * exp_approx(-a * a);
  return s * y;
}

static inline float gelu_value(float z, bool erf_form) {
  if (erf_form) return 0.5f * z * (1.0f + erf_approx(z * 0.70710678118654752f));
  return 0.5f * z * (1.0f + tanh_approx(SQRT_2_OVER_PI * (z + 0.044715f * z * z * z)));
}

static inline float gelu_slope(float z, bool erf_form) {
  if (erf_form) return 0.5f * (1.0f + erf_approx(z * 0.70710678118654752f)) + z * INV_SQRT_2PI * exp_approx(-0.5f * z * z);
  float t = tanh_approx(SQRT_2_OVER_PI * (z + 0.044715f * z * z * z));
  return 0.5f * (1.0f + t) + 0.5f * z * (1.0f - t * t) * SQRT_2_OVER_PI * (1.0f + 3.0f * 0.044715f * z * z);
}

/* The elementwise loops, compiled twice (AVX2 and the x86-64 baseline) and picked at load time by the
 * CPU: the same operations in the same order per element, so both give the same bits. AVX2 without FMA
 * (no contraction), so AdamW keeps the float32 arithmetic of the stock ops. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VEC __attribute__((target_clones("avx2", "default")))
#else
#define VEC
#endif

VEC static void gelu_inplace(float *y, size_t n, bool erf_form) {
  if (erf_form) for (size_t i = 0; i < n; i++) y[i] = gelu_value(y[i], true);
  else for (size_t i = 0; i < n; i++) y[i] = gelu_value(y[i], false);
}

/* dx = dy * gelu'(z), z given in dx */
VEC static void gelu_grad_inplace(float *dx, const float *dy, size_t n, bool erf_form) {
  if (erf_form) for (size_t i = 0; i < n; i++) dx[i] = dy[i] * gelu_slope(dx[i], true);
  else for (size_t i = 0; i < n; i++) dx[i] = dy[i] * gelu_slope(dx[i], false);
}

VEC static void adamw_update(const float *p, const float *g, const float *m, const float *v, float *po, float *mo, float *vo, size_t n,
                             float gscale, float b1, float one_b1, float b2, float one_b2, float bc1, float bc2, float eps, float wdi, float lr) {
  for (size_t j = 0; j < n; j++) {
    float gj = g[j] * gscale;
    float mj = m[j] * b1 + gj * one_b1;
    float vj = v[j] * b2 + (gj * gj) * one_b2;
    float u = (mj / bc1) / (sqrtf(vj / bc2) + eps);
    u = u + p[j] * wdi;
    po[j] = p[j] - u * lr;
    mo[j] = mj;
    vo[j] = vj;
  }
}

typedef struct { const float *x, *b, *dy; float *y, *dbias; size_t rows, cols; bool erf_form, has_bias; } gelu_job;

static void bias_gelu_part(void *ctx, int part, int parts) {
  const gelu_job *j = ctx;
  const size_t cols = j->cols;
  size_t r0, r1;
  pool_range(j->rows, part, parts, &r0, &r1);
  /* branch-free inner loops (the bias add, then the form chosen outside), so they vectorise */
  for (size_t r = r0; r < r1; r++) {
    const float *xr = j->x + r * cols;
    float *yr = j->y + r * cols;
    if (j->has_bias) for (size_t c = 0; c < cols; c++) yr[c] = xr[c] + j->b[c];
    else memcpy(yr, xr, cols * sizeof(float));
    gelu_inplace(yr, cols, j->erf_form);
  }
}

static napi_value bias_gelu(napi_env env, napi_callback_info info) {
  float *a[3]; size_t l[3]; double n[3];
  if (!read_args(env, info, "rra_fused.biasGelu", 3, 3, a, l, n)) return NULL;
  size_t rows = (size_t)n[0], cols = (size_t)n[1];
  bool erf_form = n[2] != 0, has_bias = l[1] > 0;
  if (!fits(env, "rra_fused.biasGelu", cols > 0 && l[0] >= rows * cols && (!has_bias || l[1] >= cols) && l[2] >= rows * cols)) return NULL;
  gelu_job j = { a[0], a[1], NULL, a[2], NULL, rows, cols, erf_form, has_bias };
  pool_run(bias_gelu_part, &j, pool_parts((double)rows * cols, PAR_VALUES / 4));
  return NULL;
}

/* dx = dy * gelu'(x + b), row by row (y holds dx) */
static void bias_gelu_grad_rows(void *ctx, int part, int parts) {
  const gelu_job *j = ctx;
  const size_t cols = j->cols;
  size_t r0, r1;
  pool_range(j->rows, part, parts, &r0, &r1);
  for (size_t r = r0; r < r1; r++) {
    const float *xr = j->x + r * cols, *dyr = j->dy + r * cols;
    float *dxr = j->y + r * cols;
    if (j->has_bias) for (size_t c = 0; c < cols; c++) dxr[c] = xr[c] + j->b[c];
    else memcpy(dxr, xr, cols * sizeof(float));
    gelu_grad_inplace(dxr, dyr, cols, j->erf_form);
  }
}

/* dbias = the column sums of dx over the rows in row order (double), a part per range of columns */
static void bias_gelu_grad_cols(void *ctx, int part, int parts) {
  const gelu_job *j = ctx;
  const size_t cols = j->cols;
  size_t c0, c1;
  pool_range(cols, part, parts, &c0, &c1);
  double acc[256]; /* columns in blocks of 256, each summed in double over the rows in order */
  for (size_t cb = c0; cb < c1; cb += 256) {
    size_t ce = cb + 256 < c1 ? cb + 256 : c1;
    for (size_t c = cb; c < ce; c++) acc[c - cb] = 0;
    for (size_t r = 0; r < j->rows; r++) {
      const float *dxr = j->y + r * cols;
      for (size_t c = cb; c < ce; c++) acc[c - cb] += dxr[c];
    }
    for (size_t c = cb; c < ce; c++) j->dbias[c] = (float)acc[c - cb];
  }
}

static napi_value bias_gelu_grad(napi_env env, napi_callback_info info) {
  float *a[5]; size_t l[5]; double n[3];
  if (!read_args(env, info, "rra_fused.biasGeluGrad", 5, 3, a, l, n)) return NULL;
  size_t rows = (size_t)n[0], cols = (size_t)n[1];
  bool erf_form = n[2] != 0, has_bias = l[1] > 0, want_db = l[4] > 0;
  if (!fits(env, "rra_fused.biasGeluGrad", cols > 0 && l[0] >= rows * cols && (!has_bias || l[1] >= cols) && l[2] >= rows * cols && l[3] >= rows * cols && (!want_db || l[4] >= cols))) return NULL;
  gelu_job j = { a[0], a[1], a[2], a[3], a[4], rows, cols, erf_form, has_bias };
  int parts = pool_parts((double)rows * cols, PAR_VALUES / 4);
  pool_run(bias_gelu_grad_rows, &j, parts);
  if (want_db) pool_run(bias_gelu_grad_cols, &j, parts);
  return NULL;
}

/* One row of a masked softmax: p = softmax(s * scale + (1 - keep) * -1e9), s and p of n values (p may be s). */
static void masked_softmax_row(const float *s, const float *keep, float *p, size_t n, float scale) {
  float mx = -INFINITY;
  for (size_t j = 0; j < n; j++) {
    float v = s[j] * scale + (1.0f - keep[j]) * -1e9f;
    p[j] = v;
    if (v > mx) mx = v;
  }
  for (size_t j = 0; j < n; j++) p[j] = exp_approx(p[j] - mx);
  double sum = 0;
  for (size_t j = 0; j < n; j++) sum += p[j];
  float inv = (float)(1.0 / sum);
  for (size_t j = 0; j < n; j++) p[j] *= inv;
}

typedef struct { const float *s, *keep, *dp; float *p; size_t batch, rows_per_batch, tk; double scale; } softmax_job;

static void masked_softmax_part(void *ctx, int part, int parts) {
  const softmax_job *j = ctx;
  size_t i0, i1;
  pool_range(j->batch * j->rows_per_batch, part, parts, &i0, &i1);
  for (size_t i = i0; i < i1; i++) {
    size_t off = i * j->tk;
    masked_softmax_row(j->s + off, j->keep + (i / j->rows_per_batch) * j->tk, j->p + off, j->tk, (float)j->scale);
  }
}

static napi_value masked_softmax(napi_env env, napi_callback_info info) {
  float *a[3]; size_t l[3]; double n[5];
  if (!read_args(env, info, "rra_fused.maskedSoftmax", 3, 5, a, l, n)) return NULL;
  size_t batch = (size_t)n[0], heads = (size_t)n[1], tq = (size_t)n[2], tk = (size_t)n[3];
  size_t total = batch * heads * tq * tk;
  if (!fits(env, "rra_fused.maskedSoftmax", tk > 0 && l[0] >= total && l[1] >= batch * tk && l[2] >= total)) return NULL;
  softmax_job j = { a[0], a[1], NULL, a[2], batch, heads * tq, tk, n[4] };
  pool_run(masked_softmax_part, &j, pool_parts((double)total, PAR_VALUES / 2));
  return NULL;
}

/* ds = scale p (dp - sum(dp p)), per row; s holds p, the result goes to p's slot (ds) */
static void masked_softmax_grad_part(void *ctx, int part, int parts) {
  const softmax_job *j = ctx;
  const size_t tk = j->tk;
  size_t r0, r1;
  pool_range(j->batch, part, parts, &r0, &r1);
  for (size_t r = r0; r < r1; r++) {
    const float *pr = j->s + r * tk, *dr = j->dp + r * tk;
    float *o = j->p + r * tk;
    double dot = 0;
    for (size_t c = 0; c < tk; c++) dot += (double)pr[c] * dr[c];
    for (size_t c = 0; c < tk; c++) o[c] = (float)(j->scale * pr[c] * ((double)dr[c] - dot));
  }
}

static napi_value masked_softmax_grad(napi_env env, napi_callback_info info) {
  float *a[3]; size_t l[3]; double n[3];
  if (!read_args(env, info, "rra_fused.maskedSoftmaxGrad", 3, 3, a, l, n)) return NULL;
  size_t rows = (size_t)n[0], tk = (size_t)n[1];
  if (!fits(env, "rra_fused.maskedSoftmaxGrad", tk > 0 && l[0] >= rows * tk && l[1] >= rows * tk && l[2] >= rows * tk)) return NULL;
  softmax_job j = { a[0], NULL, a[1], a[2], rows, 1, tk, n[2] };
  pool_run(masked_softmax_grad_part, &j, pool_parts((double)rows * tk, PAR_VALUES));
  return NULL;
}

/* The inverted-dropout multipliers of lib/models/kernels.ts's dropoutMask, bit for bit: mulberry32 from
 * `seed`, value u / 2^32 < keep -> 1 / keep (as float32), else 0. */
/* A per-thread scratch buffer, kept between calls (fresh large mallocs are fresh pages: page faults on
 * every call); per thread, so worker threads do not share it. Returns NULL when out of memory. */
static float *scratch(size_t n) {
  static _Thread_local float *buf = NULL;
  static _Thread_local size_t cap = 0;
  if (n > cap) {
    free(buf);
    buf = malloc(n * sizeof(float));
    cap = buf ? n : 0;
  }
  return buf;
}

/* mask[i] for the stream's values offset .. offset + n - 1 */
VEC static void dropout_mask(float *mask, size_t offset, size_t n, double seed, double keep) {
  const uint32_t s0 = (uint32_t)(int64_t)seed;
  const float scale = (float)(1.0 / keep);
  /* u / 2^32 < keep  <=>  u < ceil(keep * 2^32) (exact: a power-of-two scaling), compared as integers */
  const int64_t thr = (int64_t)ceil(keep * 4294967296.0);
  for (size_t i = 0; i < n; i++) {
    uint32_t s = s0 + (uint32_t)(offset + i + 1) * 0x6d2b79f5u; /* the stream's i-th state, so the loop vectorises */
    uint32_t t = (s ^ (s >> 15)) * (1u | s);
    t = (t + (t ^ (t >> 7)) * (61u | t)) ^ t;
    uint32_t u = t ^ (t >> 14);
    mask[i] = (int64_t)u < thr ? scale : 0.0f;
  }
}

typedef struct { const float *x; float *y; size_t n; double seed, keep; bool failed[RRA_POOL_MAX]; } dropout_job;

#define DROP_BLOCK 4096

static void dropout_part(void *ctx, int part, int parts) {
  dropout_job *j = ctx;
  size_t i0, i1;
  pool_range(j->n, part, parts, &i0, &i1);
  float *mask = scratch(DROP_BLOCK);
  if (!mask) { j->failed[part] = true; return; }
  for (size_t b = i0; b < i1; b += DROP_BLOCK) {
    size_t m = i1 - b < DROP_BLOCK ? i1 - b : DROP_BLOCK;
    dropout_mask(mask, b, m, j->seed, j->keep);
    for (size_t i = 0; i < m; i++) j->y[b + i] = j->x[b + i] * mask[i];
  }
}

/* dropout(x, y, seed, keep): y = x * mask (also the gradient: dx = dy * the same mask) */
static napi_value dropout(napi_env env, napi_callback_info info) {
  float *a[2]; size_t l[2]; double n[2];
  if (!read_args(env, info, "rra_fused.dropout", 2, 2, a, l, n)) return NULL;
  if (!fits(env, "rra_fused.dropout", l[1] >= l[0] && n[1] > 0 && n[1] <= 1)) return NULL;
  dropout_job j = { a[0], a[1], l[0], n[0], n[1], { false } };
  pool_run(dropout_part, &j, pool_parts((double)l[0], PAR_VALUES));
  if (any_failed(j.failed)) napi_throw_error(env, NULL, "rra_fused.dropout: out of memory");
  return NULL;
}

/* The sizes of an attention call: the numbers (batch, seq, heads, scale, dropSeed, dropKeep) and the length
 * of its qkv array [batch * seq, 3H]. */
typedef struct { int B, T, nh, d; size_t rows, H, H3, pn; float scale; bool drop; } att_dims;

/* att_dims from the call's numbers and qkv length; false when they do not describe an attention call. */
static bool attention_dims(const double *n, size_t qkv_len, att_dims *t) {
  t->B = (int)n[0], t->T = (int)n[1], t->nh = (int)n[2];
  t->scale = (float)n[3];
  t->rows = (size_t)t->B * t->T;
  t->H3 = qkv_len / (t->rows ? t->rows : 1), t->H = t->H3 / 3;
  t->d = t->nh > 0 ? (int)(t->H / t->nh) : 0;
  t->drop = n[5] < 1;
  t->pn = (size_t)t->B * t->nh * t->T * t->T;
  return t->B > 0 && t->T > 0 && t->nh > 0 && t->d > 0 && t->H3 == 3 * t->H && t->H == (size_t)t->nh * t->d && qkv_len == t->rows * t->H3 && n[5] > 0 && n[5] <= 1;
}

typedef struct { att_dims t; const float *qkv, *keep, *dctx, *probs_in; float *ctx, *probs, *dqkv; double seed, keep_p; bool failed[RRA_POOL_MAX]; } att_job;

extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);

/* Split the (row, head) pairs over the pool. Their GEMMs are small (T x T x d) and run on one OpenBLAS thread
 * each: OpenBLAS would thread the larger ones (128 x 128 x 32) from both parts at once, and with one thread
 * always, the bits do not depend on the split or the thread count. */
static void run_heads(pool_fn fn, att_job *j, int parts) {
  int blas = openblas_get_num_threads();
  if (blas > 1) openblas_set_num_threads(1);
  pool_run(fn, j, parts);
  if (blas > 1) openblas_set_num_threads(blas);
}

/* The forward pass of the (row, head) pairs of one part: S = Q K^T, P = maskedSoftmax(S), ctx = (P * drop) V */
static void attention_part(void *ctx_, int part, int parts) {
  att_job *j = ctx_;
  const int T = j->t.T, nh = j->t.nh, d = j->t.d;
  const size_t H = j->t.H, H3 = j->t.H3, TT = (size_t)T * T;
  float *tmp = j->t.drop ? scratch(TT) : NULL;
  if (j->t.drop && !tmp) { j->failed[part] = true; return; }
  size_t i0, i1;
  pool_range((size_t)j->t.B * nh, part, parts, &i0, &i1);
  for (size_t i = i0; i < i1; i++) {
    const int b = (int)(i / nh), h = (int)(i % nh);
    const float *base = j->qkv + (size_t)b * T * H3, *kb = j->keep + (size_t)b * T;
    const float *q = base + h * d, *k = base + H + h * d, *v = base + 2 * H + h * d;
    float *p = j->probs + i * TT;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, d, 1.0f, q, (int)H3, k, (int)H3, 0.0f, p, T);
    for (int r = 0; r < T; r++) masked_softmax_row(p + (size_t)r * T, kb, p + (size_t)r * T, (size_t)T, j->t.scale);
    const float *pv = p;
    if (j->t.drop) {
      dropout_mask(tmp, i * TT, TT, j->seed, j->keep_p);
      for (size_t e = 0; e < TT; e++) tmp[e] = p[e] * tmp[e];
      pv = tmp;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, T, 1.0f, pv, T, v, (int)H3, 0.0f, j->ctx + (size_t)b * T * H + h * d, (int)H);
  }
}

static napi_value attention(napi_env env, napi_callback_info info) {
  float *a[4]; size_t l[4]; double n[6];
  att_job j = { 0 };
  if (!read_args(env, info, "rra_fused.attention", 4, 6, a, l, n)) return NULL;
  if (!fits(env, "rra_fused.attention", attention_dims(n, l[0], &j.t) && l[1] >= j.t.rows && l[2] >= j.t.rows * j.t.H && l[3] >= j.t.pn)) return NULL;
  j.qkv = a[0], j.keep = a[1], j.ctx = a[2], j.probs = a[3], j.seed = n[4], j.keep_p = n[5];
  run_heads(attention_part, &j, pool_parts(4.0 * (double)j.t.pn * j.t.d, PAR_FLOPS));
  if (any_failed(j.failed)) napi_throw_error(env, NULL, "rra_fused.attention: out of memory");
  return NULL;
}

/* The gradient of the (row, head) pairs of one part; each pair writes its own columns of dqkv. */
static void attention_grad_part(void *ctx_, int part, int parts) {
  att_job *j = ctx_;
  const int T = j->t.T, nh = j->t.nh, d = j->t.d;
  const size_t H = j->t.H, H3 = j->t.H3, TT = (size_t)T * T;
  const float scale = j->t.scale;
  const bool drop = j->t.drop;
  float *work = scratch(TT * (drop ? 3 : 1));
  if (!work) { j->failed[part] = true; return; }
  float *dp = work, *mk = drop ? work + TT : NULL, *pd = drop ? work + 2 * TT : NULL;
  size_t i0, i1;
  pool_range((size_t)j->t.B * nh, part, parts, &i0, &i1);
  for (size_t i = i0; i < i1; i++) {
    const int b = (int)(i / nh), h = (int)(i % nh);
    const float *base = j->qkv + (size_t)b * T * H3, *dch = j->dctx + (size_t)b * T * H + h * d;
    float *dbase = j->dqkv + (size_t)b * T * H3;
    const float *q = base + h * d, *k = base + H + h * d, *v = base + 2 * H + h * d;
    const float *p = j->probs_in + i * TT;
    float *dq = dbase + h * d, *dk = dbase + H + h * d, *dv = dbase + 2 * H + h * d;
    /* the dropped probabilities P * drop, as the forward multiplied V by */
    const float *pv = p;
    if (drop) {
      dropout_mask(mk, i * TT, TT, j->seed, j->keep_p);
      for (size_t e = 0; e < TT; e++) pd[e] = p[e] * mk[e];
      pv = pd;
    }
    /* dV = (P * drop)^T dctx;  d(P * drop) = dctx V^T */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, d, T, 1.0f, pv, T, dch, (int)H, 0.0f, dv, (int)H3);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, d, 1.0f, dch, (int)H, v, (int)H3, 0.0f, dp, T);
    /* dP = d(P * drop) * drop; dS = scale P (dP - sum(dP P)) */
    for (int r = 0; r < T; r++) {
      float *dr = dp + (size_t)r * T;
      const float *pr = p + (size_t)r * T;
      if (drop) { const float *mr = mk + (size_t)r * T; for (int c = 0; c < T; c++) dr[c] *= mr[c]; }
      double dot = 0;
      for (int c = 0; c < T; c++) dot += (double)dr[c] * pr[c];
      float fd = (float)dot;
      for (int c = 0; c < T; c++) dr[c] = scale * pr[c] * (dr[c] - fd);
    }
    /* dQ = dS K;  dK = dS^T Q */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, T, 1.0f, dp, T, k, (int)H3, 0.0f, dq, (int)H3);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, d, T, 1.0f, dp, T, q, (int)H3, 0.0f, dk, (int)H3);
  }
}

static napi_value attention_grad(napi_env env, napi_callback_info info) {
  float *a[4]; size_t l[4]; double n[6];
  att_job j = { 0 };
  if (!read_args(env, info, "rra_fused.attentionGrad", 4, 6, a, l, n)) return NULL;
  if (!fits(env, "rra_fused.attentionGrad", attention_dims(n, l[1], &j.t) && l[0] >= j.t.rows * j.t.H && l[2] >= j.t.pn && l[3] >= j.t.rows * j.t.H3)) return NULL;
  j.dctx = a[0], j.qkv = a[1], j.probs_in = a[2], j.dqkv = a[3], j.seed = n[4], j.keep_p = n[5];
  run_heads(attention_grad_part, &j, pool_parts(8.0 * (double)j.t.pn * j.t.d, PAR_FLOPS));
  if (any_failed(j.failed)) napi_throw_error(env, NULL, "rra_fused.attentionGrad: out of memory");
  return NULL;
}

/* The i-th element of a JS array as a Float32Array (NULL with an exception pending when it is not one). */
static float *element(napi_env env, napi_value arr, uint32_t i, size_t *len, const char *what) {
  napi_value v;
  float *p = NULL;
  if (napi_get_element(env, arr, i, &v) == napi_ok) p = f32(env, v, len);
  if (!p) {
    char msg[160];
    snprintf(msg, sizeof msg, "rra_fused.adamw: %s[%u] must be a Float32Array", what, i);
    napi_throw_type_error(env, NULL, msg);
  }
  return p;
}

static napi_value sum_squares(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  uint32_t count;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL), "rra_fused.sumSquares: bad call");
  if (argc != 1 || napi_get_array_length(env, argv[0], &count) != napi_ok) { napi_throw_type_error(env, NULL, "rra_fused.sumSquares: expected an array of Float32Arrays"); return NULL; }
  double s = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value v;
    size_t len;
    float *g = NULL;
    if (napi_get_element(env, argv[0], i, &v) == napi_ok) g = f32(env, v, &len);
    if (!g) { napi_throw_type_error(env, NULL, "rra_fused.sumSquares: every element must be a Float32Array"); return NULL; }
    for (size_t j = 0; j < len; j++) s += (double)g[j] * g[j];
  }
  CHECK(napi_create_double(env, s, &out), "rra_fused.sumSquares: cannot return");
  return out;
}

/* One variable of an AdamW call: its 7 arrays, length, learning rate and weight decay. */
typedef struct { float *arr[7]; size_t len; float lr, wdi; } adamw_var;
typedef struct { const adamw_var *vars; uint32_t count; size_t total; float gscale, b1, one_b1, b2, one_b2, bc1, bc2, eps; } adamw_job;

/* The values total * part / parts .. of all variables laid end to end, variable by variable */
static void adamw_part(void *ctx, int part, int parts) {
  const adamw_job *j = ctx;
  size_t i0, i1, base = 0;
  pool_range(j->total, part, parts, &i0, &i1);
  for (uint32_t i = 0; i < j->count && base < i1; base += j->vars[i].len, i++) {
    const adamw_var *x = &j->vars[i];
    size_t a = i0 > base ? i0 - base : 0, b = i1 - base < x->len ? i1 - base : x->len;
    if (b <= a) continue;
    /* no branches in the loop (so it vectorises): g * 1 and u + p * 0 are exact */
    adamw_update(x->arr[0] + a, x->arr[1] + a, x->arr[2] + a, x->arr[3] + a, x->arr[4] + a, x->arr[5] + a, x->arr[6] + a, b - a,
                 j->gscale, j->b1, j->one_b1, j->b2, j->one_b2, j->bc1, j->bc2, j->eps, x->wdi, x->lr);
  }
}

static napi_value adamw(napi_env env, napi_callback_info info) {
  size_t argc = 16;
  napi_value argv[16];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL), "rra_fused.adamw: bad call");
  if (argc != 16) { napi_throw_type_error(env, NULL, "rra_fused.adamw: expected 16 arguments"); return NULL; }
  uint32_t count;
  if (napi_get_array_length(env, argv[0], &count) != napi_ok) { napi_throw_type_error(env, NULL, "rra_fused.adamw: params must be an array"); return NULL; }
  for (int i = 1; i < 9; i++) {
    uint32_t c2;
    if (napi_get_array_length(env, argv[i], &c2) != napi_ok || c2 != count) { napi_throw_type_error(env, NULL, "rra_fused.adamw: the 9 arrays must have one entry per variable"); return NULL; }
  }
  double h[7];
  for (int i = 0; i < 7; i++) CHECK(napi_get_value_double(env, argv[9 + i], &h[i]), "rra_fused.adamw: hyper-parameters must be numbers");
  const float wd = (float)h[6];
  adamw_job job = { NULL, count, 0, (float)h[0], (float)h[1], (float)(1.0 - h[1]), (float)h[2], (float)(1.0 - h[2]), (float)h[3], (float)h[4], (float)h[5] };
  adamw_var *vars = calloc(count ? count : 1, sizeof(adamw_var));
  if (!vars) { napi_throw_error(env, NULL, "rra_fused.adamw: out of memory"); return NULL; }
  static const char *names[7] = { "params", "grads", "m", "v", "newParams", "newM", "newV" };
  /* read every argument first (N-API calls on this thread only), then update on the pool */
  for (uint32_t i = 0; i < count; i++) {
    size_t len[7];
    for (int k = 0; k < 7; k++) if (!(vars[i].arr[k] = element(env, argv[k], i, &len[k], names[k]))) { free(vars); return NULL; }
    for (int k = 1; k < 7; k++) if (len[k] != len[0]) { free(vars); napi_throw_range_error(env, NULL, "rra_fused.adamw: a variable's arrays differ in length"); return NULL; }
    napi_value lv, dv;
    double lr_d;
    bool decay;
    if (napi_get_element(env, argv[7], i, &lv) != napi_ok || napi_get_value_double(env, lv, &lr_d) != napi_ok) { free(vars); napi_throw_type_error(env, NULL, "rra_fused.adamw: lr[i] must be a number"); return NULL; }
    if (napi_get_element(env, argv[8], i, &dv) != napi_ok || napi_get_value_bool(env, dv, &decay) != napi_ok) { free(vars); napi_throw_type_error(env, NULL, "rra_fused.adamw: decay[i] must be a boolean"); return NULL; }
    vars[i].len = len[0];
    vars[i].lr = (float)lr_d;
    vars[i].wdi = decay ? wd : 0.0f;
    job.total += len[0];
  }
  job.vars = vars;
  pool_run(adamw_part, &job, pool_parts((double)job.total, PAR_VALUES));
  free(vars);
  return NULL;
}

/* poolStats() -> { splitJobs, helpers }: how many calls ran split over threads, and the helper threads */
static napi_value pool_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, jobs, helpers;
  CHECK(napi_create_object(env, &out), "rra_fused.poolStats: cannot return");
  CHECK(napi_create_double(env, (double)pool_split_jobs(), &jobs), "rra_fused.poolStats: cannot return");
  CHECK(napi_create_int32(env, pool_helpers(), &helpers), "rra_fused.poolStats: cannot return");
  CHECK(napi_set_named_property(env, out, "splitJobs", jobs), "rra_fused.poolStats: cannot return");
  CHECK(napi_set_named_property(env, out, "helpers", helpers), "rra_fused.poolStats: cannot return");
  return out;
}

/* setFusedThreads(n) / fusedThreads(): the pool's count alone (rra_blas.c's setThreads sets both) */
static napi_value set_fused_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t t;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL), "rra_fused: bad call");
  if (argc != 1 || napi_get_value_int32(env, argv[0], &t) != napi_ok || t < 1) { napi_throw_type_error(env, NULL, "rra_fused.setFusedThreads: expected a positive integer"); return NULL; }
  pool_set_threads(t);
  return NULL;
}

static napi_value fused_threads(napi_env env, napi_callback_info info) {
  napi_value v;
  (void)info;
  CHECK(napi_create_int32(env, pool_threads(), &v), "rra_fused: cannot return");
  return v;
}

/* Called from rra_blas.c's module init. */
bool rra_fused_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "layerNorm", NULL, layer_norm, NULL, NULL, NULL, napi_default, NULL },
    { "layerNormGrad", NULL, layer_norm_grad, NULL, NULL, NULL, napi_default, NULL },
    { "biasGelu", NULL, bias_gelu, NULL, NULL, NULL, napi_default, NULL },
    { "biasGeluGrad", NULL, bias_gelu_grad, NULL, NULL, NULL, napi_default, NULL },
    { "maskedSoftmax", NULL, masked_softmax, NULL, NULL, NULL, napi_default, NULL },
    { "maskedSoftmaxGrad", NULL, masked_softmax_grad, NULL, NULL, NULL, napi_default, NULL },
    { "dropout", NULL, dropout, NULL, NULL, NULL, napi_default, NULL },
    { "attention", NULL, attention, NULL, NULL, NULL, napi_default, NULL },
    { "attentionGrad", NULL, attention_grad, NULL, NULL, NULL, napi_default, NULL },
    { "sumSquares", NULL, sum_squares, NULL, NULL, NULL, napi_default, NULL },
    { "adamw", NULL, adamw, NULL, NULL, NULL, napi_default, NULL },
    { "poolStats", NULL, pool_stats, NULL, NULL, NULL, napi_default, NULL },
    { "setFusedThreads", NULL, set_fused_threads, NULL, NULL, NULL, napi_default, NULL },
    { "fusedThreads", NULL, fused_threads, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
