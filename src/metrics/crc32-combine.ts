/**
 * zlib's crc32_combine, which Node does not expose: the CRC-32 of A followed by B from the
 * CRC-32 of A, the CRC-32 of B and the length of B, without reading either. It lets a gzip
 * stream be assembled from pieces compressed (and checksummed) separately, cached ones included.
 * The method: appending `len` zero bytes to A is a linear map over GF(2), built by repeated
 * squaring of the one-zero-bit operator.
 */
function times(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  let v = vector >>> 0;
  for (let i = 0; v !== 0; i++, v >>>= 1) {
    if ((v & 1) !== 0) sum ^= matrix[i] as number;
  }
  return sum >>> 0;
}

function square(into: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < 32; n++) into[n] = times(matrix, matrix[n] as number);
}

export function crc32Combine(crc1: number, crc2: number, length2: number): number {
  if (length2 <= 0) return crc1 >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  // The operator for one zero bit: the CRC-32 polynomial, then a shift.
  odd[0] = 0xedb88320;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  square(even, odd); // two zero bits
  square(odd, even); // four zero bits
  let crc = crc1 >>> 0;
  let len = length2;
  // Each round squares the operator (one zero byte, then two, four...) and applies it for
  // every bit of the length that is set.
  for (;;) {
    square(even, odd);
    if (len % 2 === 1) crc = times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    square(odd, even);
    if (len % 2 === 1) crc = times(odd, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
  }
  return (crc ^ crc2) >>> 0;
}
