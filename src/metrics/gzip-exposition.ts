import { constants, crc32, deflateRaw } from 'node:zlib';
import type { Registry } from 'prom-client';
import { crc32CombineOp, crc32CombineWith } from './crc32-combine.js';
import type { Family } from './family.js';
import type { MetricState } from './metric-state.js';
import { slices } from './slices.js';
import { type ExpositionFormat, OPENMETRICS_EOF, toOpenMetrics } from './text-format.js';

/**
 * `/metrics` gzipped (what Prometheus asks for) as one gzip member assembled from pieces, the
 * way pigz does it: each piece is raw deflate ending in a sync flush, so pieces concatenate
 * into one deflate stream; the trailer's CRC-32 is combined from the pieces' own.
 *
 * Pieces are series blocks (see `Family.blocks`). A block's compressed piece is kept until one
 * of its series changes, so a scrape compresses only what changed since the last one: at
 * 100,000 series the whole text is ~280 MB and compressing it takes seconds of CPU, while the
 * kept pieces take ~8 MB. Compression runs on libuv's thread pool, several pieces at once.
 * One member, not one per piece: `curl --compressed` reads only the first member of a
 * multi-member stream.
 */

const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** An empty final block (fixed Huffman codes, BFINAL set): the end of the deflate stream. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);
const LEVEL = 1;
/** Pieces being compressed at once (libuv's pool has 4 threads). */
const IN_FLIGHT = 4;

interface Piece {
  readonly deflated: Buffer;
  readonly crc: number;
  readonly length: number;
  /** `crc32CombineOp(length)`, kept with the piece. */
  readonly op: number;
}

/** A block's compressed pieces, per format (they differ by exemplars), for one block version. */
interface KeptPieces {
  readonly version: number;
  readonly pieces: Partial<Record<ExpositionFormat, Piece>>;
}

/** Each family's compressed header, per format. */
const headers: Record<ExpositionFormat, WeakMap<Family, Promise<Piece>>> = {
  text: new WeakMap(),
  openmetrics: new WeakMap(),
};

function compress(text: string | Buffer): Promise<Piece> {
  const raw = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const crc = crc32(raw);
  const piece = new Promise<Piece>((resolve, reject) => {
    deflateRaw(raw, { level: LEVEL, finishFlush: constants.Z_SYNC_FLUSH }, (err, deflated) => {
      if (err) reject(err);
      else resolve({ deflated, crc, length: raw.length, op: crc32CombineOp(raw.length) });
    });
  });
  // Awaited in order later, or never if the client goes away first: not an unhandled rejection.
  piece.catch(() => undefined);
  return piece;
}

/** The gzip bytes of `exposeAll`'s text, in either format. */
export async function* gzipAll(
  registry: Registry,
  state: MetricState,
  format: ExpositionFormat = 'text',
): AsyncGenerator<Buffer> {
  yield GZIP_HEADER;
  const queue: Array<Promise<Piece>> = [];
  let crc = 0;
  let length = 0;
  async function* drain(keep: number): AsyncGenerator<Buffer> {
    while (queue.length > keep) {
      const piece = await (queue.shift() as Promise<Piece>);
      crc = crc32CombineWith(crc, piece.crc, piece.op);
      length += piece.length;
      if (piece.deflated.length > 0) yield piece.deflated;
    }
  }

  const own = await registry.metrics();
  queue.push(compress(format === 'openmetrics' ? toOpenMetrics(own) : own));
  const slice = slices();
  for (const family of state.families()) {
    let header = headers[format].get(family);
    if (header === undefined) {
      header = compress(family.headerIn(format));
      headers[format].set(family, header);
    }
    queue.push(header);
    for (const { block, render } of family.blocks(format)) {
      const kept = block.derived as KeptPieces | undefined;
      const keptPiece =
        kept !== undefined && kept.version === block.version ? kept.pieces[format] : undefined;
      if (keptPiece !== undefined) {
        queue.push(Promise.resolve(keptPiece));
      } else {
        const version = block.version;
        const piece = compress(render()).then((p: Piece) => {
          // Kept unless a newer version was kept meanwhile; used only while the version holds.
          const now = block.derived as KeptPieces | undefined;
          let next: KeptPieces | undefined;
          if (now === undefined || now.version < version) next = { version, pieces: { [format]: p } };
          else if (now.version === version) next = { version, pieces: { ...now.pieces, [format]: p } };
          if (next !== undefined) block.derived = next;
          return p;
        });
        piece.catch(() => undefined);
        queue.push(piece);
      }
      yield* drain(IN_FLIGHT);
      await slice.pause();
    }
  }
  if (format === 'openmetrics') queue.push(compress(OPENMETRICS_EOF));
  yield* drain(0);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(length % 2 ** 32, 4);
  yield Buffer.concat([FINAL_BLOCK, trailer]);
}
