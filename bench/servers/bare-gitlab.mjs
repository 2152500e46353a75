/**
 * The baseline of the gitlab-webhook bench: the least a Node server can do with a Job Hook.
 * node:http, nothing else: read the body, JSON.parse it, answer 204 (400 if it is not JSON).
 * Prints `{"msg":"listening","port":N}` once it listens on 127.0.0.1:$PORT (0: any free port).
 */
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.statusCode = 204;
    } catch {
      res.statusCode = 400;
    }
    res.end();
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
