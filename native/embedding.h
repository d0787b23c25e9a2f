// Embedding kernels of the finerank addon (see native/embedding.cc).
#pragma once
#include <napi.h>

/** Adds the embedding kernels to the addon's exports. */
void RegisterEmbeddingKernels(Napi::Env env, Napi::Object exports);
