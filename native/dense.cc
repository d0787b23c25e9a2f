// Dense kernels of the finerank addon: fused loops called from TypeScript, each with a
// TypeScript twin used when the addon is absent. Registered by Init in finerank.cc.
#include "dense.h"

void RegisterDenseKernels(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}
