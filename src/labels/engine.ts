/**
 * The label engine: consumes events in time order (see ReorderBuffer) and emits one labeled
 * row per impression once every label window of that impression is over.
 *
 * Attribution (written down because the choice matters):
 * - click, dwell, completion: an event of the same user and item goes to the **latest**
 *   impression of that pair whose window contains it (last touch), so one click never labels
 *   two impressions.
 * - conversion: a click (clickEvent, within clickWindow, last touch) arms its impression; a
 *   conversion event of the same pair goes to the impression with the latest armed click,
 *   when it falls within `window` after that click.
 * - return: an impression of the user at t gets 1 when the user's first event after t + after
 *   comes by t + within. Each user keeps, per return label, a queue of impressions waiting
 *   for that first event, so every event costs amortized O(1) whatever the window.
 * - history features: the user's last `maxLen` items of the history event with a time
 *   strictly before the impression (equal times are released impressions first).
 *
 * Point-in-time: a label only looks at events inside its own window, and an impression is
 * emitted only when the stream has passed its latest window end (the horizon), so it is never
 * revised. Memory: the open impressions of the last horizon, plus per user the history lists
 * (maxLen items each) when history features are asked for.
 */
import { labelHorizon, type HistoryRule, type LabelRule } from './config.js';
import type { LogEvent } from './reorder.js';

/** One output row: the impression and its label values (and history features). */
export interface LabeledRow {
  event: LogEvent;
  /** One value per label, in config order. */
  labels: number[];
  /** One joined item list per history rule. */
  history: string[];
}

/** Counts of the engine. */
export interface EngineStats {
  impressions: number;
  /** Rows emitted (complete windows, plus incomplete ones when kept). */
  emitted: number;
  /** Impressions whose windows were not over at the end of the log (dropped unless kept). */
  incomplete: number;
  /** Most impressions open at once. */
  maxOpen: number;
  /** Per label: events of its type that matched no open impression window. */
  unattributed: Record<string, number>;
  /** Per label: positives among emitted rows (completion: rows with value > 0). */
  positives: Record<string, number>;
}

interface Open {
  event: LogEvent;
  labels: number[];
  /** Per label: time of the latest attributed click (conversion labels), else −∞. */
  armed: number[];
  history: string[];
}

/** Turns a time-ordered event stream into labeled impressions. */
export class LabelEngine {
  readonly horizon: number;
  readonly stats: EngineStats;
  private readonly queue: Open[] = [];
  private head = 0;
  private readonly byPair = new Map<string, Open[]>();
  /** Per return label (index j of `rules`): per user, impressions waiting for the user's first event after t + after. */
  private readonly waiting = new Map<number, Map<string, Open[]>>();
  private readonly histories: Map<string, string[]>[];
  private lastTime = -Infinity;

  constructor(
    private readonly impressionEvent: string,
    private readonly rules: readonly LabelRule[],
    private readonly historyRules: readonly HistoryRule[],
    private readonly emit: (row: LabeledRow) => void,
    private readonly keepIncomplete = false,
  ) {
    this.horizon = labelHorizon(rules);
    rules.forEach((r, j) => {
      if (r.kind === 'return') this.waiting.set(j, new Map());
    });
    this.histories = historyRules.map(() => new Map());
    this.stats = {
      impressions: 0,
      emitted: 0,
      incomplete: 0,
      maxOpen: 0,
      unattributed: Object.fromEntries(rules.filter((r) => r.kind !== 'return').map((r) => [r.name, 0])),
      positives: Object.fromEntries(rules.map((r) => [r.name, 0])),
    };
  }

  /** Processes the next event; events must come in non-decreasing time (impressions first on ties). */
  push(e: LogEvent): void {
    if (e.time < this.lastTime) throw new Error(`label engine: event at ${e.time} after ${this.lastTime} (events must be time-ordered)`);
    this.lastTime = e.time;
    this.closeBefore(e.time);
    this.applyReturn(e);
    if (e.type === this.impressionEvent) this.open(e);
    else this.applyPair(e);
    this.historyRules.forEach((h, k) => {
      if (e.type !== h.event) return;
      const m = this.histories[k]!;
      let list = m.get(e.user);
      if (list === undefined) m.set(e.user, (list = []));
      list.push(e.item);
      if (list.length > h.maxLen) list.shift();
    });
  }

  /** End of input: emits the impressions whose windows ended by the last event; the rest are incomplete. */
  finish(): void {
    for (; this.head < this.queue.length; this.head++) {
      const o = this.queue[this.head]!;
      if (o.event.time + this.horizon <= this.lastTime || this.keepIncomplete) {
        if (o.event.time + this.horizon > this.lastTime) this.stats.incomplete++;
        this.output(o);
      } else this.stats.incomplete++;
    }
    this.queue.length = 0;
    this.head = 0;
    this.byPair.clear();
    for (const m of this.waiting.values()) m.clear();
  }

  private open(e: LogEvent): void {
    const o: Open = {
      event: e,
      labels: this.rules.map(() => 0),
      armed: this.rules.map(() => -Infinity),
      history: this.historyRules.map((h, k) => (this.histories[k]!.get(e.user) ?? []).join(h.sep)),
    };
    this.stats.impressions++;
    this.queue.push(o);
    const key = pairKey(e);
    let list = this.byPair.get(key);
    if (list === undefined) this.byPair.set(key, (list = []));
    list.push(o);
    for (const m of this.waiting.values()) {
      let q = m.get(e.user);
      if (q === undefined) m.set(e.user, (q = []));
      q.push(o);
    }
    const open = this.queue.length - this.head;
    if (open > this.stats.maxOpen) this.stats.maxOpen = open;
  }

  private applyPair(e: LogEvent): void {
    const list = this.byPair.get(pairKey(e));
    this.rules.forEach((r, j) => {
      switch (r.kind) {
        case 'click':
        case 'dwell':
        case 'completion': {
          if (e.type !== r.event) return;
          const o = latestWithin(list, e.time, r.window);
          if (o === undefined) {
            this.stats.unattributed[r.name]!++;
            return;
          }
          if (r.kind === 'click') o.labels[j] = 1;
          else if (r.kind === 'dwell') {
            if (e.value >= r.min) o.labels[j] = 1;
          } else o.labels[j] = Math.max(o.labels[j]!, e.value);
          return;
        }
        case 'conversion': {
          if (e.type === r.clickEvent) {
            const o = latestWithin(list, e.time, r.clickWindow);
            if (o !== undefined) o.armed[j] = e.time;
          }
          if (e.type === r.event) {
            let best: Open | undefined;
            // Newest first; impressions older than clickWindow + window cannot hold a click in range.
            for (let k = (list?.length ?? 0) - 1; k >= 0; k--) {
              const o = list![k]!;
              if (e.time - o.event.time > r.clickWindow + r.window) break;
              if (o.armed[j]! > -Infinity && e.time - o.armed[j]! <= r.window && (best === undefined || o.armed[j]! > best.armed[j]!)) best = o;
            }
            if (best === undefined) this.stats.unattributed[r.name]!++;
            else best.labels[j] = 1;
          }
          return;
        }
        case 'return':
          return;
      }
    });
  }

  /**
   * Resolves the return labels this event decides: for every waiting impression of the user
   * with t + after < event time (the queue is in time order), this is the user's first event
   * after t + after, so the label is 1 exactly when it comes by t + within.
   */
  private applyReturn(e: LogEvent): void {
    for (const [j, m] of this.waiting) {
      const r = this.rules[j] as Extract<LabelRule, { kind: 'return' }>;
      if (r.events !== undefined && !r.events.includes(e.type)) continue;
      const q = m.get(e.user);
      if (q === undefined) continue;
      let k = 0;
      while (k < q.length && e.time - q[k]!.event.time > r.after) {
        if (e.time - q[k]!.event.time <= r.within) q[k]!.labels[j] = 1;
        k++;
      }
      if (k === q.length) m.delete(e.user);
      else if (k > 0) q.splice(0, k);
    }
  }

  /** Emits every impression whose horizon ended strictly before `t`. */
  private closeBefore(t: number): void {
    while (this.head < this.queue.length && this.queue[this.head]!.event.time + this.horizon < t) {
      const o = this.queue[this.head++]!;
      removeFirst(this.byPair, pairKey(o.event), o);
      // Closing goes in time order, so a closed impression still waiting is at the front of its user's queue.
      for (const m of this.waiting.values()) removeFirst(m, o.event.user, o);
      this.output(o);
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private output(o: Open): void {
    this.stats.emitted++;
    this.rules.forEach((r, j) => {
      if (r.kind === 'completion' && r.min !== undefined) o.labels[j] = o.labels[j]! >= r.min ? 1 : 0;
      if (o.labels[j]! > 0) this.stats.positives[r.name]!++;
    });
    this.emit({ event: o.event, labels: o.labels, history: o.history });
  }
}

function pairKey(e: LogEvent): string {
  return `${e.user}\u0000${e.item}`;
}

/** The latest open impression of a pair with t_imp ≤ t ≤ t_imp + window. */
function latestWithin(list: Open[] | undefined, t: number, window: number): Open | undefined {
  if (list === undefined) return undefined;
  for (let k = list.length - 1; k >= 0; k--) {
    const o = list[k]!;
    if (o.event.time <= t && t - o.event.time <= window) return o;
    if (t - o.event.time > window) return undefined; // older ones are further away
  }
  return undefined;
}

/**
 * Removes `o` from its index list when it is there: lists are in time order and impressions
 * close in time order, so it can only be the first entry.
 */
function removeFirst(m: Map<string, Open[]>, key: string, o: Open): void {
  const list = m.get(key);
  if (list === undefined || list[0] !== o) return;
  if (list.length === 1) m.delete(key);
  else list.shift();
}
