// CIN kernels of the finerank addon (see native/cin.cc).
#pragma once
#include <napi.h>

/** Adds cinOuter / cinOuterBackward / cinDots / cinDotsBackward to the addon's exports. */
void RegisterCinKernels(Napi::Env env, Napi::Object exports);
