// Gradient-boosting kernels of the finerank addon (see native/gbdt.cc).
#pragma once
#include <napi.h>

/** Adds the gradient-boosting kernels to the addon's exports. */
void RegisterGbdtKernels(Napi::Env env, Napi::Object exports);
