// Dense kernels of the finerank addon (see native/dense.cc).
#pragma once
#include <napi.h>

/** Adds the dense kernels to the addon's exports. */
void RegisterDenseKernels(Napi::Env env, Napi::Object exports);
