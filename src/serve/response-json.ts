import type { ServedModel } from './model-slot.js';
import type { TaskScores } from './scorer.js';

/** The parts of one served model's /v1/score and /v1/rank answers that do not depend on the request, as UTF-8 bytes. */
interface ResponseParts {
  /** `{"model":{…},"tasks":[…],"results":[` */
  head: Uint8Array;
  /** `,"<task>":` per output after the first, in order. */
  laterTaskKeys: Uint8Array[];
  /** `,"probabilities":{"<first task>":` (after the row's score). */
  firstTaskKey: Uint8Array;
}

const partsByModel = new WeakMap<ServedModel, ResponseParts>();
const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');

function partsOf(m: ServedModel): ResponseParts {
  let p = partsByModel.get(m);
  if (p === undefined) {
    const model = { version: m.version, sha256: m.sha256, name: m.artifact.meta.model };
    p = {
      head: utf8(`{"model":${JSON.stringify(model)},"tasks":${JSON.stringify(m.tasks)},"results":[`),
      firstTaskKey: utf8(`,"probabilities":{${JSON.stringify(m.tasks[0])}:`),
      laterTaskKeys: m.tasks.slice(1).map((t) => utf8(`,${JSON.stringify(t)}:`)),
    };
    partsByModel.set(m, p);
  }
  return p;
}

const ROW_OPEN = utf8('{"score":');
const RANK_ROW_OPEN = utf8('{"index":');
const SCORE_KEY = utf8(',"score":');
const ROW_CLOSE = utf8('}}');
const TAIL = utf8(']}');
/** Longest text `String(x)` writes for a double: 17 significant digits in fixed notation below 1e-6 with a sign ("-0.0000012345678901234567": 25). */
const MAX_NUMBER_BYTES = 25;
/** Longest row index (a uint32). */
const MAX_INDEX_BYTES = 10;
/** Where answers are written before the copy at their exact length (grows to the largest answer's worst case, bounded by the request limits). */
let scratch = Buffer.allocUnsafeSlow(1 << 16);

/**
 * The JSON text of a scoring answer as UTF-8 bytes, written straight into one buffer (the
 * same bytes as JSON.stringify of the object form, encoded as UTF-8):
 * `{"model":{version,sha256,name},"tasks":[…],"results":[{"index"?,"score","probabilities":{task: p}}…]}`.
 * `order` lists the rows to write (rank: the best first, with their `index`); null writes
 * every row in order without `index` (score). Written as bytes rather than by string
 * concatenation because the concatenated string of a 1,000-row answer allocated ~0.4 MiB of
 * short-lived heap per request (cons strings, then the flat copy the socket write makes), most
 * of the server's young-generation garbage: each scavenge pauses the event loop (~0.5–1.5 ms
 * on a quiet machine, more under load), and their frequency decided the HTTP p99. Now one short string per number
 * (`String(x)`, the shortest round-trip text, as JSON.stringify) is all the heap it takes:
 * the text is written into a scratch buffer reused across answers (sized for the worst case)
 * and copied out at its exact length, so each answer adds only its own size to the external
 * memory whose growth also triggers collections.
 */
export function scoredResponseBytes(m: ServedModel, s: TaskScores, order: ArrayLike<number> | null): Buffer {
  const { head, firstTaskKey, laterTaskKeys } = partsOf(m);
  const cols = s.tasks.map((t) => s.probs[t]!);
  const first = cols[0]!;
  const n = order === null ? first.length : order.length;
  let rowBytes =
    1 + RANK_ROW_OPEN.length + MAX_INDEX_BYTES + SCORE_KEY.length + MAX_NUMBER_BYTES + firstTaskKey.length + MAX_NUMBER_BYTES + ROW_CLOSE.length;
  for (const k of laterTaskKeys) rowBytes += k.length + MAX_NUMBER_BYTES;
  const capacity = head.length + n * rowBytes + TAIL.length;
  if (scratch.length < capacity) scratch = Buffer.allocUnsafeSlow(Math.max(capacity, 2 * scratch.length));
  const buf = scratch;
  let at = put(buf, 0, head);
  for (let r = 0; r < n; r++) {
    const i = order === null ? r : order[r]!;
    if (r > 0) buf[at++] = 0x2c; // ,
    if (order !== null) {
      at = put(buf, at, RANK_ROW_OPEN);
      at = putIndex(buf, at, i);
      at = put(buf, at, SCORE_KEY);
    } else at = put(buf, at, ROW_OPEN);
    const score = num(first[i]!); // written twice (score and the first task's probability): formatted once
    at = putAscii(buf, at, score);
    at = put(buf, at, firstTaskKey);
    at = putAscii(buf, at, score);
    for (let t = 1; t < cols.length; t++) {
      at = put(buf, at, laterTaskKeys[t - 1]!);
      at = putAscii(buf, at, num(cols[t]![i]!));
    }
    at = put(buf, at, ROW_CLOSE);
  }
  at = put(buf, at, TAIL);
  const out = Buffer.allocUnsafe(at);
  buf.copy(out, 0, 0, at);
  return out;
}

/** A number as JSON.stringify writes it (non-finite: null). */
function num(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

/** Copies bytes into buf at `at`; returns the position after them. */
function put(buf: Buffer, at: number, bytes: Uint8Array): number {
  for (let j = 0; j < bytes.length; j++) buf[at + j] = bytes[j]!;
  return at + bytes.length;
}

/** Writes an ASCII string (a number's text) at `at`; returns the position after it. */
function putAscii(buf: Buffer, at: number, s: string): number {
  for (let j = 0; j < s.length; j++) buf[at + j] = s.charCodeAt(j);
  return at + s.length;
}

/** Writes a non-negative integer's decimal digits at `at`; returns the position after them. */
function putIndex(buf: Buffer, at: number, i: number): number {
  let digits = 1;
  for (let p = 10; p <= i; p *= 10) digits++;
  for (let j = at + digits - 1; j >= at; j--) {
    buf[j] = 0x30 + (i % 10);
    i = Math.floor(i / 10);
  }
  return at + digits;
}
