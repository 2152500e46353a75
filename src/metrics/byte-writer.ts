import { formatValue } from './text-format.js';

/**
 * Exposition text written straight into Buffers. At 100,000 histogram series a scrape is ~280
 * MB; building it as JavaScript strings and encoding them afterwards costs about twice as much
 * as copying a series' label bytes (encoded once per series and kept) into place for each of
 * its lines and writing whole numbers' digits by hand.
 */
export class ByteWriter {
  readonly #size: number;
  #buf: Buffer;
  #off = 0;
  #sealed: Buffer[] = [];
  #sealedBytes = 0;

  constructor(size = 64 * 1024) {
    this.#size = size;
    this.#buf = Buffer.allocUnsafe(size);
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.#sealedBytes + this.#off;
  }

  /** True when at least one full buffer is waiting to be taken. */
  get hasFull(): boolean {
    return this.#sealed.length > 0;
  }

  /** Any text, as UTF-8. */
  text(s: string): void {
    this.#room(s.length * 3);
    this.#off += this.#buf.write(s, this.#off, 'utf8');
  }

  /** `name{labels} value` and a newline; `labels` is `{...}` or empty. */
  sample(name: Buffer, labels: Buffer, value: number): void {
    this.#room(name.length + labels.length + 32);
    const buf = this.#buf;
    let off = this.#off;
    off += name.copy(buf, off);
    off += labels.copy(buf, off);
    buf[off++] = 0x20;
    off = writeNumber(buf, off, value);
    buf[off++] = 0x0a;
    this.#off = off;
  }

  /**
   * `name{labels,le="x"} value` and a newline: `le` is `le="x"} `, `labels` `{...}` or empty;
   * `exemplar`, ASCII text written before the newline (OpenMetrics ` # {...} value ts`).
   */
  bucket(name: Buffer, labels: Buffer, le: Buffer, value: number, exemplar?: string): void {
    this.#room(name.length + labels.length + le.length + 32 + (exemplar?.length ?? 0));
    const buf = this.#buf;
    let off = this.#off;
    off += name.copy(buf, off);
    if (labels.length === 0) {
      buf[off++] = 0x7b; // {
    } else {
      off += labels.copy(buf, off, 0, labels.length - 1);
      buf[off++] = 0x2c; // ,
    }
    off += le.copy(buf, off);
    off = writeNumber(buf, off, value);
    if (exemplar !== undefined) off += buf.write(exemplar, off, 'latin1');
    buf[off++] = 0x0a;
    this.#off = off;
  }

  /** Everything written so far, in order; the writer starts empty again. */
  take(): Buffer[] {
    this.#seal();
    const out = this.#sealed;
    this.#sealed = [];
    this.#sealedBytes = 0;
    return out;
  }

  /** Only the full buffers, leaving the one being filled. */
  takeFull(): Buffer[] {
    const out = this.#sealed;
    this.#sealed = [];
    this.#sealedBytes = 0;
    return out;
  }

  #room(bytes: number): void {
    if (this.#off + bytes <= this.#buf.length) return;
    this.#seal();
    if (bytes > this.#buf.length) this.#buf = Buffer.allocUnsafe(Math.max(bytes, this.#size));
  }

  #seal(): void {
    if (this.#off === 0) return;
    this.#sealed.push(this.#buf.subarray(0, this.#off));
    this.#sealedBytes += this.#off;
    this.#buf = Buffer.allocUnsafe(this.#size);
    this.#off = 0;
  }
}

/** A sample value as the text format writes it (see formatValue); returns the offset after it. */
function writeNumber(buf: Buffer, off: number, value: number): number {
  if (Number.isSafeInteger(value) && value >= 0) return writeUint(buf, off, value);
  return off + buf.write(formatValue(value), off, 'latin1');
}

/** A whole number >= 0 below 2^53 in decimal ASCII at `off`; returns the offset after it. */
function writeUint(buf: Buffer, off: number, value: number): number {
  if (value === 0) {
    buf[off] = 0x30;
    return off + 1;
  }
  let digits = 0;
  for (let x = value; x >= 1; x = Math.floor(x / 10)) digits++;
  let x = value;
  for (let i = off + digits - 1; i >= off; i--) {
    buf[i] = 0x30 + (x % 10);
    x = Math.floor(x / 10);
  }
  return off + digits;
}
