/**
 * Stands in for `node:buffer` in the browser bundle (substituted by ./bundle.ts). The engine's
 * tensor pool uses only `Buffer.allocUnsafeSlow(n)` (uninitialised memory for speed in Node);
 * the browser gets a zero-filled Uint8Array of its own ArrayBuffer, which is what that caller needs.
 */
export const Buffer = {
  allocUnsafeSlow(n: number): Uint8Array {
    return new Uint8Array(n);
  },
};
