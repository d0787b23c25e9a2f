/**
 * e^x for the logistic gradients, computed with the same IEEE double operations in the same
 * order as native/gbdt.cc's DeterministicExp, so the TypeScript and native gradient kernels
 * round identically (Math.exp and the C library's exp may differ in the last bit): x is
 * clamped to [−700, 700] (σ of a margin beyond ±700 is 0 or 1 in float32 either way);
 * k = ⌊x·64/ln 2 + ½⌋, r = x − k·(ln 2/64) in two parts (Cody–Waite: k·hi is exact),
 * e^x = 2^(k >> 6) · 2^((k & 63)/64) · (1 + r + r²/2 + r³/6 + r⁴/24 + r⁵/120). With
 * |r| ≤ ln 2/128 the truncated series is within 4·10⁻¹⁷ relative of e^r.
 */

/** 2^(j/64), j = 0…63, correctly rounded (the same literals as the native table). */
const EXP_TABLE = Float64Array.from([
  1.0, 1.0108892860517005, 1.0218971486541166, 1.0330248790212284, 1.0442737824274138, 1.0556451783605572, 1.0671404006768237, 1.0787607977571199,
  1.0905077326652577, 1.102382583307841, 1.1143867425958924, 1.1265216186082418, 1.1387886347566916, 1.1511892299529827, 1.1637248587775775,
  1.1763969916502812, 1.189207115002721, 1.202156731452703, 1.215247359980469, 1.22848053610687, 1.241857812073484, 1.255380757024691,
  1.2690509571917332, 1.2828700160787783, 1.2968395546510096, 1.3109612115247644, 1.3252366431597413, 1.339667524053303, 1.3542555469368927,
  1.3690024229745905, 1.383909881963832, 1.3989796725383112, 1.4142135623730951, 1.42961333839197, 1.4451808069770467, 1.460917794180647,
  1.4768261459394993, 1.4929077282912648, 1.5091644275934228, 1.5255981507445384, 1.5422108254079407, 1.559004400237837, 1.5759808451078865,
  1.593142151342267, 1.6104903319492543, 1.6280274218573478, 1.645755478153965, 1.6636765803267364, 1.681792830507429, 1.7001063537185235,
  1.718619298122478, 1.7373338352737062, 1.7562521603732995, 1.7753764925265212, 1.7947090750031072, 1.8142521755003989, 1.8340080864093424,
  1.8539791250833855, 1.8741676341103, 1.8945759815869656, 1.9152065613971474, 1.9360617934922943, 1.9571441241754002, 1.978456026387951,
]);
const INV_LN2_X64 = 92.33248261689366;
/** ln 2/64 with 32 significant bits, and the rest. */
const LN2_D64_HI = 0.010830424695086549;
const LN2_D64_LO = 1.162596423439437e-12;

/** 2^e for e = −1024…1023 at index e + 1024 (exact: built by halving and doubling). */
const POW2 = (() => {
  const t = new Float64Array(2048);
  t[1024] = 1;
  for (let i = 1025; i < 2048; i++) t[i] = t[i - 1]! * 2;
  for (let i = 1023; i >= 0; i--) t[i] = t[i + 1]! / 2;
  return t;
})();

/** e^x, bit-identical to the native kernels' (see the module comment); NaN stays NaN. */
export function deterministicExp(x: number): number {
  if (x !== x) return x;
  x = x < -700 ? -700 : x > 700 ? 700 : x;
  const kd = Math.floor(x * INV_LN2_X64 + 0.5);
  const r = x - kd * LN2_D64_HI - kd * LN2_D64_LO;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))));
  return POW2[(kd >> 6) + 1024]! * EXP_TABLE[kd & 63]! * p;
}
