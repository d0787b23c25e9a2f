/**
 * Puts a nearly sorted event stream back in time order with bounded memory, and drops exact
 * duplicates. An event may arrive at most `maxLateness` seconds behind the latest timestamp
 * seen so far; the buffer holds only the events within that distance of the latest one
 * (a binary min-heap), so memory is bounded by the events of one lateness interval.
 * An event later than that would have to be inserted into a past that was already released:
 * it is counted as late and dropped. Equal timestamps release impressions first (rank 0),
 * then the rest in arrival order, so an event at the very time of an impression counts for it.
 */

/** One event of the log, parsed. */
export interface LogEvent {
  user: string;
  item: string;
  type: string;
  /** Seconds. */
  time: number;
  /** The value column (dwell time, completion ratio), NaN when absent. */
  value: number;
  /** The raw time cell, written back unchanged to the output. */
  timeText: string;
  /** Columns kept from an impression row (empty for other events). */
  kept: (string | null)[];
  /** 0 for impressions (released first among equal times), 1 otherwise. */
  rank: number;
  /** Arrival order (ties after rank). */
  seq: number;
  /** File line, for messages. */
  line: number;
}

/** Counts of what the buffer did. */
export interface ReorderStats {
  /** Events that arrived with a timestamp before one already seen (and were put in order). */
  reordered: number;
  /** Events dropped because they arrived more than maxLateness behind the latest timestamp. */
  late: number;
  /** Exact duplicates (same user, item, type, time, value) dropped. */
  duplicates: number;
  /** Most events held at once. */
  maxHeld: number;
}

function before(a: LogEvent, b: LogEvent): boolean {
  return a.time < b.time || (a.time === b.time && (a.rank < b.rank || (a.rank === b.rank && a.seq < b.seq)));
}

function dedupKey(e: LogEvent): string {
  return `${e.user}\u0000${e.item}\u0000${e.type}\u0000${e.time}\u0000${e.value}`;
}

/** The reorder buffer: `push` events in file order, get them back in time order from `release`/`drain`. */
export class ReorderBuffer {
  private readonly heap: LogEvent[] = [];
  private readonly keys = new Set<string>();
  private latest = -Infinity;
  readonly stats: ReorderStats = { reordered: 0, late: 0, duplicates: 0, maxHeld: 0 };

  constructor(private readonly maxLateness: number) {}

  /** Adds one event; returns false when it was dropped as late or duplicate. */
  push(e: LogEvent): boolean {
    if (e.time < this.latest - this.maxLateness) {
      this.stats.late++;
      return false;
    }
    const key = dedupKey(e);
    if (this.keys.has(key)) {
      this.stats.duplicates++;
      return false;
    }
    if (e.time < this.latest) this.stats.reordered++;
    else this.latest = e.time;
    this.keys.add(key);
    this.heapPush(e);
    if (this.heap.length > this.stats.maxHeld) this.stats.maxHeld = this.heap.length;
    return true;
  }

  /** Releases, in time order, every event that no later arrival can precede. */
  *release(): Generator<LogEvent> {
    const limit = this.latest - this.maxLateness;
    // An event at exactly `limit` may still get a duplicate or an equal-time impression: hold it.
    while (this.heap.length > 0 && this.heap[0]!.time < limit) yield this.pop();
  }

  /** Releases everything left, in time order (end of input). */
  *drain(): Generator<LogEvent> {
    while (this.heap.length > 0) yield this.pop();
  }

  private pop(): LogEvent {
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    this.keys.delete(dedupKey(top));
    return top;
  }

  private heapPush(e: LogEvent): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let m = i;
      if (l < n && before(h[l]!, h[m]!)) m = l;
      if (r < n && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
