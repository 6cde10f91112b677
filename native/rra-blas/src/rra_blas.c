/*
 * rra_blas: batched single-precision matrix multiply through OpenBLAS (cblas_sgemm), for the
 * workbench's TensorFlow.js BatchMatMul kernel (lib/backend/native.ts). Operands are Float32Array
 * views (for the wasm backend: views of the wasm heap), row-major.
 *
 *   sgemmBatched(a, b, out, batch, m, n, k, transA, transB, strideA, strideB)
 *     out[i] = op(a[i]) x op(b[i]) for i < batch, op = transpose when trans*; a[i] starts at
 *     i * strideA (0 = broadcast one matrix), b[i] at i * strideB; out[i] at i * m * n.
 *   dense(x, w, b, out, n, k, m)
 *     out = x w + b for x [n, k], w [k, m], b [m] (b copied into each row, then one sgemm with beta 1).
 *   denseGrad(dy, x, w, dx, dw, db, n, k, m)
 *     dx = dy w^T, dw = x^T dy, db = column sums of dy (accumulated in double); any of dx, dw, db may
 *     be an empty Float32Array (not wanted).
 *   setThreads(n) / threads()   OpenBLAS thread count (setThreads also sets the fused kernels' pool, rra_pool.c).
 * The fused kernels (layer norm, GELU, masked softmax, attention, dropout, AdamW) are in rra_fused.c;
 * the argument handling both files share is in rra_napi.h.
 */
#include "rra_napi.h"
#include "rra_pool.h"
#include <stdbool.h>
#include <stddef.h>
#include <cblas.h>
#include <stdlib.h>

bool rra_fused_register(napi_env env, napi_value exports);

extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);


static napi_value sgemm_batched(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL), "rra_blas: bad call");
  if (argc != 11) { napi_throw_type_error(env, NULL, "rra_blas.sgemmBatched: expected 11 arguments"); return NULL; }
  size_t la = 0, lb = 0, lo = 0;
  float *a = f32(env, argv[0], &la), *b = f32(env, argv[1], &lb), *o = f32(env, argv[2], &lo);
  if (!a || !b || !o) { napi_throw_type_error(env, NULL, "rra_blas.sgemmBatched: a, b and out must be Float32Arrays"); return NULL; }
  int64_t batch, m, n, k, sa, sb;
  bool ta, tb;
  CHECK(napi_get_value_int64(env, argv[3], &batch), "rra_blas: batch must be a number");
  CHECK(napi_get_value_int64(env, argv[4], &m), "rra_blas: m must be a number");
  CHECK(napi_get_value_int64(env, argv[5], &n), "rra_blas: n must be a number");
  CHECK(napi_get_value_int64(env, argv[6], &k), "rra_blas: k must be a number");
  CHECK(napi_get_value_bool(env, argv[7], &ta), "rra_blas: transA must be a boolean");
  CHECK(napi_get_value_bool(env, argv[8], &tb), "rra_blas: transB must be a boolean");
  CHECK(napi_get_value_int64(env, argv[9], &sa), "rra_blas: strideA must be a number");
  CHECK(napi_get_value_int64(env, argv[10], &sb), "rra_blas: strideB must be a number");
  if (batch < 1 || m < 1 || n < 1 || k < 1 || sa < 0 || sb < 0 ||
      (size_t)((batch - 1) * sa + m * k) > la || (size_t)((batch - 1) * sb + k * n) > lb || (size_t)(batch * m * n) > lo) {
    napi_throw_range_error(env, NULL, "rra_blas.sgemmBatched: sizes do not fit the arrays");
    return NULL;
  }
  for (int64_t i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f,
                a + i * sa, ta ? (int)m : (int)k, b + i * sb, tb ? (int)k : (int)n, 0.0f, o + i * m * n, (int)n);
  }
  return NULL;
}

static napi_value dense(napi_env env, napi_callback_info info) {
  float *a[4]; size_t l[4]; double num[3];
  if (!read_args(env, info, "rra_blas.dense", 4, 3, a, l, num)) return NULL;
  const int64_t n = (int64_t)num[0], k = (int64_t)num[1], m = (int64_t)num[2];
  if (!fits(env, "rra_blas.dense", n >= 1 && k >= 1 && m >= 1 && (size_t)(n * k) <= l[0] && (size_t)(k * m) <= l[1] && (size_t)m <= l[2] && (size_t)(n * m) <= l[3])) return NULL;
  const float *x = a[0], *w = a[1], *b = a[2];
  float *o = a[3];
  for (int64_t r = 0; r < n; r++) for (int64_t c = 0; c < m; c++) o[r * m + c] = b[c];
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)k, 1.0f, x, (int)k, w, (int)m, 1.0f, o, (int)m);
  return NULL;
}

static napi_value dense_grad(napi_env env, napi_callback_info info) {
  float *a[6]; size_t l[6]; double num[3];
  if (!read_args(env, info, "rra_blas.denseGrad", 6, 3, a, l, num)) return NULL;
  const int64_t n = (int64_t)num[0], k = (int64_t)num[1], m = (int64_t)num[2];
  if (!fits(env, "rra_blas.denseGrad", n >= 1 && k >= 1 && m >= 1 && (size_t)(n * m) <= l[0] && (size_t)(n * k) <= l[1] && (size_t)(k * m) <= l[2] &&
      (!l[3] || (size_t)(n * k) <= l[3]) && (!l[4] || (size_t)(k * m) <= l[4]) && (!l[5] || (size_t)m <= l[5]))) return NULL;
  const float *dy = a[0], *x = a[1], *w = a[2];
  float *dx = a[3], *dw = a[4], *db = a[5];
  if (l[3]) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)k, (int)m, 1.0f, dy, (int)m, w, (int)m, 0.0f, dx, (int)k);
  if (l[4]) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)m, (int)n, 1.0f, x, (int)k, dy, (int)m, 0.0f, dw, (int)m);
  if (l[5]) {
    double *acc = calloc((size_t)m, sizeof(double));
    if (!acc) { napi_throw_error(env, NULL, "rra_blas.denseGrad: out of memory"); return NULL; }
    for (int64_t r = 0; r < n; r++) for (int64_t c = 0; c < m; c++) acc[c] += dy[r * m + c];
    for (int64_t c = 0; c < m; c++) db[c] = (float)acc[c];
    free(acc);
  }
  return NULL;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t t;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL), "rra_blas: bad call");
  if (argc != 1 || napi_get_value_int32(env, argv[0], &t) != napi_ok || t < 1) { napi_throw_type_error(env, NULL, "rra_blas.setThreads: expected a positive integer"); return NULL; }
  openblas_set_num_threads(t);
  pool_set_threads(t); /* the fused kernels' loops split over the same count */
  return NULL;
}

static napi_value get_threads(napi_env env, napi_callback_info info) {
  napi_value v;
  (void)info;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &v), "rra_blas: cannot return");
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "sgemmBatched", NULL, sgemm_batched, NULL, NULL, NULL, napi_default, NULL },
    { "setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL },
    { "threads", NULL, get_threads, NULL, NULL, NULL, napi_default, NULL },
    { "dense", NULL, dense, NULL, NULL, NULL, napi_default, NULL },
    { "denseGrad", NULL, dense_grad, NULL, NULL, NULL, napi_default, NULL },
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props), "rra_blas: cannot define exports");
  if (!rra_fused_register(env, exports)) { napi_throw_error(env, NULL, "rra_blas: cannot define the fused kernels"); return NULL; }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
