/*
 * The N-API argument handling both C files of the addon share (rra_blas.c, rra_fused.c): Float32Array views,
 * argument lists of arrays then numbers, and the size check, each throwing a JS error that names the call.
 */
#ifndef RRA_NAPI_H
#define RRA_NAPI_H
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CHECK(call, msg) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, msg); return NULL; } } while (0)

/* A Float32Array's data and length, or NULL when `v` is not one. */
static inline float *f32(napi_env env, napi_value v, size_t *length) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  napi_value buffer;
  size_t offset;
  static float empty[1];
  if (napi_get_typedarray_info(env, v, &type, &len, &data, &buffer, &offset) != napi_ok || type != napi_float32_array) return NULL;
  *length = len;
  return len == 0 || !data ? empty : (float *)data; /* an empty array may have no data pointer */
}

/* Read `arrays` Float32Arrays (into ptrs, lengths in lens) then `numbers` numbers (into nums); `name` is the
 * call as JS sees it ("rra_fused.layerNorm"). False, with a TypeError thrown, when the arguments do not fit. */
static inline bool read_args(napi_env env, napi_callback_info info, const char *name, size_t arrays, size_t numbers, float **ptrs, size_t *lens, double *nums) {
  napi_value argv[16];
  size_t argc = 16;
  char msg[160];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != arrays + numbers) {
    snprintf(msg, sizeof msg, "%s: expected %zu arguments, got %zu", name, arrays + numbers, argc);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  for (size_t i = 0; i < arrays; i++) {
    ptrs[i] = f32(env, argv[i], &lens[i]);
    if (!ptrs[i]) {
      snprintf(msg, sizeof msg, "%s: argument %zu must be a Float32Array", name, i);
      napi_throw_type_error(env, NULL, msg);
      return false;
    }
  }
  for (size_t i = 0; i < numbers; i++) {
    if (napi_get_value_double(env, argv[arrays + i], &nums[i]) != napi_ok) {
      snprintf(msg, sizeof msg, "%s: argument %zu must be a number", name, arrays + i);
      napi_throw_type_error(env, NULL, msg);
      return false;
    }
  }
  return true;
}

/* `ok`, or a RangeError "<name>: sizes do not fit the arrays" thrown. */
static inline bool fits(napi_env env, const char *name, bool ok) {
  if (!ok) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: sizes do not fit the arrays", name);
    napi_throw_range_error(env, NULL, msg);
  }
  return ok;
}

#endif
