/**
 * zlib's crc32_combine (the 1.2.12+ method), which Node does not expose: the CRC-32 of A
 * followed by B from the CRC-32 of A, the CRC-32 of B and the length of B, without reading
 * either. It lets a gzip stream be assembled from pieces compressed (and checksummed)
 * separately, kept ones included. Appending n zero bytes to A multiplies its CRC by x^(8n)
 * modulo the CRC polynomial; `crc32CombineOp(n)` is that factor, which a kept piece can keep.
 */
const POLY = 0xedb88320;
/** x^0 in the reflected bit order CRC-32 uses. */
const ONE = 0x80000000;

/** a(x) * b(x) modulo the CRC-32 polynomial, both reflected. */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  let bb = b >>> 0;
  for (let m = ONE; m !== 0; m >>>= 1) {
    if ((a & m) !== 0) product ^= bb;
    bb = (bb & 1) !== 0 ? (bb >>> 1) ^ POLY : bb >>> 1;
  }
  return product >>> 0;
}

/** X2N[k] = x^(2^k) modulo the polynomial. */
const X2N = new Uint32Array(32);
X2N[0] = ONE >>> 1; // x^1
for (let k = 1; k < 32; k++) X2N[k] = multiplyModP(X2N[k - 1] as number, X2N[k - 1] as number);

/** The factor that appends `length` zero bytes to a CRC-32. */
export function crc32CombineOp(length: number): number {
  let p = ONE;
  let n = length;
  for (let k = 3; n > 0; k++, n = Math.floor(n / 2)) {
    if (n % 2 === 1) p = multiplyModP(X2N[k % 32] as number, p);
  }
  return p >>> 0;
}

/** The CRC-32 of A then B, given `op = crc32CombineOp(B's length)`. */
export function crc32CombineWith(crc1: number, crc2: number, op: number): number {
  return (multiplyModP(op, crc1 >>> 0) ^ crc2) >>> 0;
}

export function crc32Combine(crc1: number, crc2: number, length2: number): number {
  return crc32CombineWith(crc1, crc2, crc32CombineOp(length2));
}
