// Argument handling shared by the addon's kernel files (dense.cc, embedding.cc, gbdt.cc, gru.cc, dice.cc): plain
// Node-API calls, since these functions run tens of times per training step; every error is
// a JS exception whose message starts with the kernel's name.
#pragma once
#include <node_api.h>

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

}  // namespace finerank_napi
