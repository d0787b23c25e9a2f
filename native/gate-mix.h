// Gate–mixture kernels of the finerank addon (see native/gate-mix.cc).
#pragma once
#include <napi.h>

/** Adds gateMixForward / gateMixBackward to the addon's exports. */
void RegisterGateMixKernels(Napi::Env env, Napi::Object exports);
