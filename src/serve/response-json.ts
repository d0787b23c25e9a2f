import type { ServedModel } from './model-slot.js';
import type { TaskScores } from './scorer.js';

/** The parts of one served model's /v1/score and /v1/rank answers that do not depend on the request, as JSON text. */
interface ResponseParts {
  /** `{"model":{…},"tasks":[…],"results":[` */
  head: string;
  /** `"<task>":` per output, in order. */
  taskKeys: string[];
}

const partsByModel = new WeakMap<ServedModel, ResponseParts>();

function partsOf(m: ServedModel): ResponseParts {
  let p = partsByModel.get(m);
  if (p === undefined) {
    const model = { version: m.version, sha256: m.sha256, name: m.artifact.meta.model };
    p = {
      head: `{"model":${JSON.stringify(model)},"tasks":${JSON.stringify(m.tasks)},"results":[`,
      taskKeys: m.tasks.map((t) => `${JSON.stringify(t)}:`),
    };
    partsByModel.set(m, p);
  }
  return p;
}

/** A number as JSON.stringify writes it (non-finite: null). */
function num(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

/**
 * The JSON text of a scoring answer, written directly instead of building one object per
 * row for JSON.stringify (the same text, byte for byte):
 * `{"model":{version,sha256,name},"tasks":[…],"results":[{"index"?,"score","probabilities":{task: p}}…]}`.
 * `order` lists the rows to write (rank: the best first, with their `index`); null writes
 * every row in order without `index` (score).
 */
export function scoredResponseJson(m: ServedModel, s: TaskScores, order: ArrayLike<number> | null): string {
  const { head, taskKeys } = partsOf(m);
  const cols = s.tasks.map((t) => s.probs[t]!);
  const first = cols[0]!;
  const n = order === null ? first.length : order.length;
  let out = head;
  for (let r = 0; r < n; r++) {
    const i = order === null ? r : order[r]!;
    out += r === 0 ? '{' : ',{';
    if (order !== null) out += `"index":${i},`;
    const score = num(first[i]!); // written twice (score and the first task's probability): formatted once
    out += `"score":${score},"probabilities":{${taskKeys[0]}${score}`;
    for (let t = 1; t < cols.length; t++) out += `,${taskKeys[t]}${num(cols[t]![i]!)}`;
    out += '}}';
  }
  return `${out}]}`;
}
