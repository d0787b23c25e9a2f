// Dice activation kernels of the finerank addon (see native/dice.cc).
#pragma once
#include <napi.h>

/** Adds diceForward / diceBackward to the addon's exports. */
void RegisterDiceKernels(Napi::Env env, Napi::Object exports);
