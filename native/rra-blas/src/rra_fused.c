/*
 * rra_fused: fused forward and backward kernels of the students' training path, for the workbench's
 * TensorFlow.js wasm backend (lib/backend/fused.ts registers them). Each replaces 5-30 small tfjs
 * kernel calls, whose fixed cost (~25-45 us each: engine bookkeeping, allocation, the wasm call)
 * dominates a student's training step (notes/speed.md). Operands are Float32Array views (of the wasm
 * heap), row-major; every loop is serial and in a fixed order, so results are deterministic.
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
 *   adamw([p..], [g..], [m..], [v..], [p'..], [m'..], [v'..], lr[], decay[], gradScale, beta1, beta2, bc1, bc2, eps, weightDecay)
 *       per variable i, in the float32 arithmetic of lib/train/schedule.ts's AdamW (same operations,
 *       same order): g = g * gradScale (when gradScale != 1), m' = m b1 + g (1 - b1),
 *       v' = v b2 + g^2 (1 - b2), u = (m' / bc1) / (sqrt(v' / bc2) + eps) (+ p wd when decay[i]),
 *       p' = p - u lr[i]
 */
#include "rra_napi.h"
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

static napi_value layer_norm(napi_env env, napi_callback_info info) {
  float *a[6]; size_t l[6]; double n[3];
  if (!read_args(env, info, "rra_fused.layerNorm", 6, 3, a, l, n)) return NULL;
  size_t rows = (size_t)n[0], cols = (size_t)n[1];
  float eps = (float)n[2];
  if (!fits(env, "rra_fused.layerNorm", cols > 0 && l[0] >= rows * cols && l[1] >= cols && l[2] >= cols && l[3] >= rows * cols && l[4] >= rows && l[5] >= rows)) return NULL;
  const float *x = a[0], *gamma = a[1], *beta = a[2];
  float *y = a[3], *mean = a[4], *rstd = a[5];
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    double s = 0;
    for (size_t c = 0; c < cols; c++) s += xr[c];
    float mu = (float)(s / (double)cols);
    double q = 0;
    for (size_t c = 0; c < cols; c++) { double d = (double)xr[c] - mu; q += d * d; }
    float var = (float)(q / (double)cols);
    float sd = sqrtf(var + eps), inv = 1.0f / sd;
    for (size_t c = 0; c < cols; c++) yr[c] = ((xr[c] - mu) / sd) * gamma[c] + beta[c];
    mean[r] = mu;
    rstd[r] = inv;
  }
  return NULL;
}

static napi_value layer_norm_grad(napi_env env, napi_callback_info info) {
  float *a[8]; size_t l[8]; double n[2];
  if (!read_args(env, info, "rra_fused.layerNormGrad", 8, 2, a, l, n)) return NULL;
  size_t rows = (size_t)n[0], cols = (size_t)n[1];
  if (!fits(env, "rra_fused.layerNormGrad", cols > 0 && l[0] >= rows * cols && l[1] >= rows * cols && l[2] >= cols && l[3] >= rows && l[4] >= rows && l[5] >= rows * cols && l[6] >= cols && l[7] >= cols)) return NULL;
  const float *dy = a[0], *x = a[1], *gamma = a[2], *mean = a[3], *rstd = a[4];
  float *dx = a[5], *dgamma = a[6], *dbeta = a[7];
  double *dg = calloc(2 * cols, sizeof(double));
  if (!dg) { napi_throw_error(env, NULL, "rra_fused.layerNormGrad: out of memory"); return NULL; }
  double *db = dg + cols;
  for (size_t r = 0; r < rows; r++) {
    const float *dyr = dy + r * cols, *xr = x + r * cols;
    float *dxr = dx + r * cols;
    double mu = mean[r], inv = rstd[r];
    double sum_g = 0, sum_gx = 0;
    for (size_t c = 0; c < cols; c++) {
      double xhat = ((double)xr[c] - mu) * inv;
      double g = (double)dyr[c] * gamma[c];
      dg[c] += (double)dyr[c] * xhat;
      db[c] += dyr[c];
      sum_g += g;
      sum_gx += g * xhat;
    }
    double mg = sum_g / (double)cols, mgx = sum_gx / (double)cols;
    for (size_t c = 0; c < cols; c++) {
      double xhat = ((double)xr[c] - mu) * inv;
      dxr[c] = (float)(inv * ((double)dyr[c] * gamma[c] - mg - xhat * mgx));
    }
  }
  for (size_t c = 0; c < cols; c++) { dgamma[c] = (float)dg[c]; dbeta[c] = (float)db[c]; }
  free(dg);
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

static napi_value bias_gelu(napi_env env, napi_callback_info info) {
  float *a[3]; size_t l[3]; double n[3];
  if (!read_args(env, info, "rra_fused.biasGelu", 3, 3, a, l, n)) return NULL;
  size_t rows = (size_t)n[0], cols = (size_t)n[1];
  bool erf_form = n[2] != 0, has_bias = l[1] > 0;
  if (!fits(env, "rra_fused.biasGelu", cols > 0 && l[0] >= rows * cols && (!has_bias || l[1] >= cols) && l[2] >= rows * cols)) return NULL;
  const float *x = a[0], *b = a[1];
  float *y = a[2];
  /* branch-free inner loops (the bias add, then the form chosen outside), so they vectorise */
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    if (has_bias) for (size_t c = 0; c < cols; c++) yr[c] = xr[c] + b[c];
    else memcpy(yr, xr, cols * sizeof(float));
    gelu_inplace(yr, cols, erf_form);
  }
  return NULL;
}

static napi_value bias_gelu_grad(napi_env env, napi_callback_info info) {
  float *a[5]; size_t l[5]; double n[3];
  if (!read_args(env, info, "rra_fused.biasGeluGrad", 5, 3, a, l, n)) return NULL;
  size_t rows = (size_t)n[0], cols = (size_t)n[1];
  bool erf_form = n[2] != 0, has_bias = l[1] > 0, want_db = l[4] > 0;
  if (!fits(env, "rra_fused.biasGeluGrad", cols > 0 && l[0] >= rows * cols && (!has_bias || l[1] >= cols) && l[2] >= rows * cols && l[3] >= rows * cols && (!want_db || l[4] >= cols))) return NULL;
  const float *x = a[0], *b = a[1], *dy = a[2];
  float *dx = a[3], *dbias = a[4];
  double *acc = want_db ? calloc(cols, sizeof(double)) : NULL;
  if (want_db && !acc) { napi_throw_error(env, NULL, "rra_fused.biasGeluGrad: out of memory"); return NULL; }
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols, *dyr = dy + r * cols;
    float *dxr = dx + r * cols;
    if (has_bias) for (size_t c = 0; c < cols; c++) dxr[c] = xr[c] + b[c];
    else memcpy(dxr, xr, cols * sizeof(float));
    gelu_grad_inplace(dxr, dyr, cols, erf_form);
    if (acc) for (size_t c = 0; c < cols; c++) acc[c] += dxr[c];
  }
  if (acc) {
    for (size_t c = 0; c < cols; c++) dbias[c] = (float)acc[c];
    free(acc);
  }
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

static napi_value masked_softmax(napi_env env, napi_callback_info info) {
  float *a[3]; size_t l[3]; double n[5];
  if (!read_args(env, info, "rra_fused.maskedSoftmax", 3, 5, a, l, n)) return NULL;
  size_t batch = (size_t)n[0], heads = (size_t)n[1], tq = (size_t)n[2], tk = (size_t)n[3];
  float scale = (float)n[4];
  size_t total = batch * heads * tq * tk;
  if (!fits(env, "rra_fused.maskedSoftmax", tk > 0 && l[0] >= total && l[1] >= batch * tk && l[2] >= total)) return NULL;
  for (size_t b = 0; b < batch; b++)
    for (size_t row = 0; row < heads * tq; row++) {
      size_t off = (b * heads * tq + row) * tk;
      masked_softmax_row(a[0] + off, a[1] + b * tk, a[2] + off, tk, scale);
    }
  return NULL;
}

static napi_value masked_softmax_grad(napi_env env, napi_callback_info info) {
  float *a[3]; size_t l[3]; double n[3];
  if (!read_args(env, info, "rra_fused.maskedSoftmaxGrad", 3, 3, a, l, n)) return NULL;
  size_t rows = (size_t)n[0], tk = (size_t)n[1];
  double scale = n[2];
  if (!fits(env, "rra_fused.maskedSoftmaxGrad", tk > 0 && l[0] >= rows * tk && l[1] >= rows * tk && l[2] >= rows * tk)) return NULL;
  const float *p = a[0], *dp = a[1];
  float *ds = a[2];
  for (size_t r = 0; r < rows; r++) {
    const float *pr = p + r * tk, *dr = dp + r * tk;
    float *o = ds + r * tk;
    double dot = 0;
    for (size_t j = 0; j < tk; j++) dot += (double)pr[j] * dr[j];
    for (size_t j = 0; j < tk; j++) o[j] = (float)(scale * pr[j] * ((double)dr[j] - dot));
  }
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

VEC static void dropout_mask(float *mask, size_t n, double seed, double keep) {
  const uint32_t s0 = (uint32_t)(int64_t)seed;
  const float scale = (float)(1.0 / keep);
  /* u / 2^32 < keep  <=>  u < ceil(keep * 2^32) (exact: a power-of-two scaling), compared as integers */
  const int64_t thr = (int64_t)ceil(keep * 4294967296.0);
  for (size_t i = 0; i < n; i++) {
    uint32_t s = s0 + (uint32_t)(i + 1) * 0x6d2b79f5u; /* the stream's i-th state, so the loop vectorises */
    uint32_t t = (s ^ (s >> 15)) * (1u | s);
    t = (t + (t ^ (t >> 7)) * (61u | t)) ^ t;
    uint32_t u = t ^ (t >> 14);
    mask[i] = (int64_t)u < thr ? scale : 0.0f;
  }
}

/* dropout(x, y, seed, keep): y = x * mask (also the gradient: dx = dy * the same mask) */
static napi_value dropout(napi_env env, napi_callback_info info) {
  float *a[2]; size_t l[2]; double n[2];
  if (!read_args(env, info, "rra_fused.dropout", 2, 2, a, l, n)) return NULL;
  if (!fits(env, "rra_fused.dropout", l[1] >= l[0] && n[1] > 0 && n[1] <= 1)) return NULL;
  float *mask = scratch(l[0] ? l[0] : 1);
  if (!mask) { napi_throw_error(env, NULL, "rra_fused.dropout: out of memory"); return NULL; }
  dropout_mask(mask, l[0], n[0], n[1]);
  for (size_t i = 0; i < l[0]; i++) a[1][i] = a[0][i] * mask[i];
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

static napi_value attention(napi_env env, napi_callback_info info) {
  float *a[4]; size_t l[4]; double n[6];
  att_dims t;
  if (!read_args(env, info, "rra_fused.attention", 4, 6, a, l, n)) return NULL;
  if (!fits(env, "rra_fused.attention", attention_dims(n, l[0], &t) && l[1] >= t.rows && l[2] >= t.rows * t.H && l[3] >= t.pn)) return NULL;
  const int B = t.B, T = t.T, nh = t.nh, d = t.d;
  const size_t H = t.H, H3 = t.H3, pn = t.pn;
  const float scale = t.scale;
  const bool drop = t.drop;
  const float *qkv = a[0], *keep = a[1];
  float *ctx = a[2], *probs = a[3];
  float *mask = drop ? scratch(pn + (size_t)T * T) : NULL, *tmp = drop ? mask + pn : NULL;
  if (drop && !mask) { napi_throw_error(env, NULL, "rra_fused.attention: out of memory"); return NULL; }
  if (drop) dropout_mask(mask, pn, n[4], n[5]);
  for (int b = 0; b < B; b++) {
    const float *base = qkv + (size_t)b * T * H3, *kb = keep + (size_t)b * T;
    for (int h = 0; h < nh; h++) {
      const float *q = base + h * d, *k = base + H + h * d, *v = base + 2 * H + h * d;
      float *p = probs + ((size_t)b * nh + h) * T * T;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, d, 1.0f, q, (int)H3, k, (int)H3, 0.0f, p, T);
      for (int i = 0; i < T; i++) masked_softmax_row(p + (size_t)i * T, kb, p + (size_t)i * T, (size_t)T, scale);
      const float *pv = p;
      if (drop) {
        const float *mk = mask + ((size_t)b * nh + h) * T * T;
        for (size_t i = 0; i < (size_t)T * T; i++) tmp[i] = p[i] * mk[i];
        pv = tmp;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, T, 1.0f, pv, T, v, (int)H3, 0.0f, ctx + (size_t)b * T * H + h * d, (int)H);
    }
  }
  return NULL;
}

static napi_value attention_grad(napi_env env, napi_callback_info info) {
  float *a[4]; size_t l[4]; double n[6];
  att_dims t;
  if (!read_args(env, info, "rra_fused.attentionGrad", 4, 6, a, l, n)) return NULL;
  if (!fits(env, "rra_fused.attentionGrad", attention_dims(n, l[1], &t) && l[0] >= t.rows * t.H && l[2] >= t.pn && l[3] >= t.rows * t.H3)) return NULL;
  const int B = t.B, T = t.T, nh = t.nh, d = t.d;
  const size_t H = t.H, H3 = t.H3, pn = t.pn;
  const float scale = t.scale;
  const bool drop = t.drop;
  const float *dctx = a[0], *qkv = a[1], *probs = a[2];
  float *dqkv = a[3];
  float *work = scratch((drop ? pn : 0) + (size_t)T * T * 2);
  if (!work) { napi_throw_error(env, NULL, "rra_fused.attentionGrad: out of memory"); return NULL; }
  float *dp = work, *pd = work + (size_t)T * T, *mask = drop ? work + (size_t)T * T * 2 : NULL;
  if (drop) dropout_mask(mask, pn, n[4], n[5]);
  for (int b = 0; b < B; b++) {
    const float *base = qkv + (size_t)b * T * H3, *dc = dctx + (size_t)b * T * H;
    float *dbase = dqkv + (size_t)b * T * H3;
    for (int h = 0; h < nh; h++) {
      const float *q = base + h * d, *k = base + H + h * d, *v = base + 2 * H + h * d, *dch = dc + h * d;
      const float *p = probs + ((size_t)b * nh + h) * T * T, *mk = drop ? mask + ((size_t)b * nh + h) * T * T : NULL;
      float *dq = dbase + h * d, *dk = dbase + H + h * d, *dv = dbase + 2 * H + h * d;
      /* the dropped probabilities P * drop, as the forward multiplied V by */
      const float *pv = p;
      if (drop) { for (size_t i = 0; i < (size_t)T * T; i++) pd[i] = p[i] * mk[i]; pv = pd; }
      /* dV = (P * drop)^T dctx;  d(P * drop) = dctx V^T */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, d, T, 1.0f, pv, T, dch, (int)H, 0.0f, dv, (int)H3);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, d, 1.0f, dch, (int)H, v, (int)H3, 0.0f, dp, T);
      /* dP = d(P * drop) * drop; dS = scale P (dP - sum(dP P)) */
      for (int i = 0; i < T; i++) {
        float *dr = dp + (size_t)i * T;
        const float *pr = p + (size_t)i * T;
        if (drop) { const float *mr = mk + (size_t)i * T; for (int j = 0; j < T; j++) dr[j] *= mr[j]; }
        double dot = 0;
        for (int j = 0; j < T; j++) dot += (double)dr[j] * pr[j];
        float fd = (float)dot;
        for (int j = 0; j < T; j++) dr[j] = scale * pr[j] * (dr[j] - fd);
      }
      /* dQ = dS K;  dK = dS^T Q */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, T, 1.0f, dp, T, k, (int)H3, 0.0f, dq, (int)H3);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, d, T, 1.0f, dp, T, q, (int)H3, 0.0f, dk, (int)H3);
    }
  }
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
  const float gscale = (float)h[0], b1 = (float)h[1], b2 = (float)h[2], bc1 = (float)h[3], bc2 = (float)h[4], eps = (float)h[5], wd = (float)h[6];
  const float one_b1 = (float)(1.0 - h[1]), one_b2 = (float)(1.0 - h[2]);
  static const char *names[7] = { "params", "grads", "m", "v", "newParams", "newM", "newV" };
  for (uint32_t i = 0; i < count; i++) {
    float *arr[7];
    size_t len[7];
    for (int k = 0; k < 7; k++) if (!(arr[k] = element(env, argv[k], i, &len[k], names[k]))) return NULL;
    for (int k = 1; k < 7; k++) if (len[k] != len[0]) { napi_throw_range_error(env, NULL, "rra_fused.adamw: a variable's arrays differ in length"); return NULL; }
    napi_value lv, dv;
    double lr_d;
    bool decay;
    CHECK(napi_get_element(env, argv[7], i, &lv), "rra_fused.adamw: lr");
    CHECK(napi_get_value_double(env, lv, &lr_d), "rra_fused.adamw: lr[i] must be a number");
    CHECK(napi_get_element(env, argv[8], i, &dv), "rra_fused.adamw: decay");
    CHECK(napi_get_value_bool(env, dv, &decay), "rra_fused.adamw: decay[i] must be a boolean");
    const float lr = (float)lr_d;
    const float *p = arr[0], *g = arr[1], *m = arr[2], *v = arr[3];
    float *po = arr[4], *mo = arr[5], *vo = arr[6];
    /* no branches in the loop (so it vectorises): g * 1 and u + p * 0 are exact */
    const float wdi = decay ? wd : 0.0f;
    adamw_update(p, g, m, v, po, mo, vo, len[0], gscale, b1, one_b1, b2, one_b2, bc1, bc2, eps, wdi, lr);
  }
  return NULL;
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
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
