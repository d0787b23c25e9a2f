// Field-pair kernels of the finerank addon (see native/pairs.cc).
#pragma once
#include <napi.h>

/** Adds innerProducts / innerProductsBackward / hadamardPairs / hadamardPairsBackward to the addon's exports. */
void RegisterPairKernels(Napi::Env env, Napi::Object exports);
