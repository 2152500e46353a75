/**
 * Shared memory through which the main thread hands webhook bodies to a check thread: each
 * batch's bodies are copied into a region of one SharedArrayBuffer, and the region is used
 * again once the thread has answered for the batch. A fresh ArrayBuffer per batch, transferred,
 * cost a large allocation on the main thread and its release on the check thread for every
 * batch; this costs neither.
 *
 * Regions are handed out in a circle and given back in any order; space is reused from the
 * oldest region on, once it is given back.
 */
export class BodyRing {
  readonly buffer: SharedArrayBuffer;
  readonly #bytes: Uint8Array;
  /** Regions in the order they were reserved; `done` once given back. */
  readonly #regions: Array<{ start: number; end: number; done: boolean }> = [];
  /** Where the next region starts, if it fits. */
  #head = 0;

  constructor(capacity: number) {
    this.buffer = new SharedArrayBuffer(capacity);
    this.#bytes = new Uint8Array(this.buffer);
  }

  get capacity(): number {
    return this.#bytes.byteLength;
  }

  /** Regions not yet given back. */
  get inUse(): number {
    return this.#regions.length;
  }

  /**
   * Copies `parts` one after another into a free region and returns where it starts and a
   * handle to give it back, or undefined if they do not fit now (the caller sends them some
   * other way).
   */
  write(parts: readonly Uint8Array[]): { start: number; region: object } | undefined {
    let size = 0;
    for (const p of parts) size += p.byteLength;
    if (size === 0) return { start: 0, region: { done: true } };
    const start = this.#place(size);
    if (start === undefined) return undefined;
    let at = start;
    for (const p of parts) {
      this.#bytes.set(p, at);
      at += p.byteLength;
    }
    const region = { start, end: start + size, done: false };
    this.#regions.push(region);
    this.#head = region.end;
    return { start, region };
  }

  /** Gives a region back; its space is reused once every older region is given back too. */
  release(region: object): void {
    (region as { done: boolean }).done = true;
    while (this.#regions[0]?.done === true) this.#regions.shift();
    if (this.#regions.length === 0) this.#head = 0;
  }

  #place(size: number): number | undefined {
    const capacity = this.#bytes.byteLength;
    const oldest = this.#regions[0];
    if (oldest === undefined) return size <= capacity ? 0 : undefined;
    const tail = oldest.start;
    if (this.#head > tail) {
      // In use: [tail, head). Free: [head, capacity), then [0, tail).
      if (this.#head + size <= capacity) return this.#head;
      // Strictly below tail: the head never catches up with the tail (regions are never
      // empty), so in use and wrapped cannot look alike.
      return size < tail ? 0 : undefined;
    }
    // Wrapped. In use: [tail, capacity) and [0, head). Free: [head, tail).
    return this.#head + size < tail ? this.#head : undefined;
  }
}
