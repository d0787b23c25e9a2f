// Argument handling shared by the addon's kernel files (dense.cc, embedding.cc, gbdt.cc, gru.cc, dice.cc, attention.cc, rows.cc): plain
// Node-API calls, since these functions run tens of times per training step; every error is
// a JS exception whose message starts with the kernel's name.
#pragma once
#include <node_api.h>

#include <cstdint>
#include <string>

namespace finerank_napi {

/** Sets exports[name] to a function calling `cb` (a failed creation leaves it unset: the loader reports the kernel missing). */
inline void Export(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &f) == napi_ok) napi_set_named_property(env, exports, name, f);
}

/** Most arguments any kernel takes. */
constexpr size_t kMaxArgs = 20;

/** Throws `fn: message` as a TypeError ('T'), RangeError ('R') or Error; returns nullptr. */
inline napi_value Throw(napi_env env, const char* fn, char kind, const std::string& message) {
  const std::string text = std::string(fn) + ": " + message;
  if (kind == 'T') napi_throw_type_error(env, nullptr, text.c_str());
  else if (kind == 'R') napi_throw_range_error(env, nullptr, text.c_str());
  else napi_throw_error(env, nullptr, text.c_str());
  return nullptr;
}

/**
 * Reads `least` to `most` arguments into argv (the count into *argc), or throws a TypeError
 * naming `fn` (kernels whose last arguments are optional, e.g. a row stride).
 */
inline bool GetArgsBetween(napi_env env, napi_callback_info info, const char* fn, size_t least, size_t most, napi_value* argv,
                           size_t* argc) {
  size_t n = kMaxArgs;
  napi_value all[kMaxArgs];
  if (napi_get_cb_info(env, info, &n, all, nullptr, nullptr) != napi_ok) return false;
  if (n < least || n > most) {
    Throw(env, fn, 'T', "expected " + std::to_string(least) + " to " + std::to_string(most) + " arguments, got " + std::to_string(n));
    return false;
  }
  for (size_t i = 0; i < n; i++) argv[i] = all[i];
  *argc = n;
  return true;
}

/** Reads exactly `expected` arguments into argv, or throws a TypeError naming `fn`. */
inline bool GetArgs(napi_env env, napi_callback_info info, const char* fn, size_t expected, napi_value* argv) {
  size_t argc = kMaxArgs;
  napi_value all[kMaxArgs];
  if (napi_get_cb_info(env, info, &argc, all, nullptr, nullptr) != napi_ok) return false;
  if (argc != expected) {
    Throw(env, fn, 'T', "expected " + std::to_string(expected) + " arguments, got " + std::to_string(argc));
    return false;
  }
  for (size_t i = 0; i < expected; i++) argv[i] = all[i];
  return true;
}

/** True for null and undefined. */
inline bool IsNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

/** A Float32Array argument with at least `need` elements (null/undefined → nullptr when `nullable`), or throws. */
inline bool GetF32(napi_env env, const char* fn, napi_value v, const char* name, int64_t need, bool nullable, float** out) {
  if (nullable && IsNullish(env, v)) {
    *out = nullptr;
    return true;
  }
  napi_typedarray_type type;
  size_t len = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &len, &ptr, nullptr, nullptr) != napi_ok || type != napi_float32_array) {
    Throw(env, fn, 'T', std::string(name) + (nullable ? " must be a Float32Array or null" : " must be a Float32Array"));
    return false;
  }
  if (static_cast<int64_t>(len) < need) {
    Throw(env, fn, 'R', std::string(name) + " has " + std::to_string(len) + " elements, needs " + std::to_string(need));
    return false;
  }
  *out = static_cast<float*>(ptr);
  return true;
}

/** An integer argument in [0, 2^31), or throws. */
inline bool GetSize(napi_env env, const char* fn, napi_value v, const char* name, int64_t* out) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    Throw(env, fn, 'T', std::string(name) + " must be a number");
    return false;
  }
  if (!(d >= 0 && d < 2147483648.0) || d != static_cast<double>(static_cast<int64_t>(d))) {
    Throw(env, fn, 'R', std::string(name) + " must be an integer in [0, 2^31), got " + std::to_string(d));
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

}  // namespace finerank_napi
