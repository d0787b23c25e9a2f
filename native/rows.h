// Row-wise kernels of the finerank addon (see native/rows.cc).
#pragma once
#include <napi.h>

/** Adds tanhForward / unfoldRows / foldRowsAdd / maxPoolRows to the addon's exports. */
void RegisterRowKernels(Napi::Env env, Napi::Object exports);
