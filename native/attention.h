// Multi-head field-attention kernels of the finerank addon (see native/attention.cc).
#pragma once
#include <napi.h>

/** Adds headScores, headWeightedSum, scoreMlp and their backwards to the addon's exports. */
void RegisterAttentionKernels(Napi::Env env, Napi::Object exports);
