// Fused residual + layer-normalization kernels of the finerank addon (see native/layer-norm.cc).
#pragma once
#include <napi.h>

/** Adds addLayerNorm / addLayerNormBackward to the addon's exports. */
void RegisterLayerNormKernels(Napi::Env env, Napi::Object exports);
