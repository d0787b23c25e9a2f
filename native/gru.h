// Fused GRU step kernels of the finerank addon (see native/gru.cc).
#pragma once
#include <napi.h>

/** Adds gruStepForward / gruStepBackward to the addon's exports. */
void RegisterGruKernels(Napi::Env env, Napi::Object exports);
