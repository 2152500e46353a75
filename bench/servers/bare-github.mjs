/**
 * The baseline of the github-webhook bench: the least a Node server must do with a signed
 * webhook. node:http and node:crypto, nothing else: read the body, check `X-Hub-Signature-256`
 * (HMAC-SHA256 of the raw body with $GITHUB_WEBHOOK_SECRET, compared with timingSafeEqual),
 * answer 204, or 401 when it is wrong. The first few wrong signatures are logged with what was
 * expected, so that a bench can tell why. Prints `{"msg":"listening","port":N}` once it listens
 * on 127.0.0.1:$PORT (0: any free port).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const SECRET = process.env.GITHUB_WEBHOOK_SECRET ?? '';
if (SECRET === '') throw new Error('GITHUB_WEBHOOK_SECRET is not set');
const LOG_BAD = 5;
let bad = 0;

function verify(raw, header) {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', SECRET).update(raw).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const header = req.headers['x-hub-signature-256'];
    if (verify(raw, header)) {
      res.statusCode = 204;
      res.end();
      return;
    }
    if (bad++ < LOG_BAD) {
      const expected = createHmac('sha256', SECRET).update(raw).digest('hex');
      process.stdout.write(
        `${JSON.stringify({ msg: 'bad signature', got: header ?? null, expected: `sha256=${expected}`, bytes: raw.length, start: raw.subarray(0, 120).toString('utf8') })}\n`,
      );
    }
    res.statusCode = 401;
    res.end('bad signature');
  });
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: address.port })}\n`);
});

process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
