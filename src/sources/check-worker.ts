/**
 * A webhook check thread (see check-pool.ts): reads, authenticates and parses bodies with its
 * own live copy of the secrets, and answers each request with the verdict.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Secrets } from '../secrets/secrets.js';
import type { CheckBatch, CheckReply, CheckWorkerData } from './check-pool.js';
import { SOURCE_CHECKS } from './checks.js';
import { runCheck } from './webhook-check.js';

const port = parentPort;
if (port === null) throw new Error('check-worker runs only as a worker thread');
const data = workerData as CheckWorkerData;
const secrets = new Secrets(data.env, data.dir);
const send = (reply: CheckReply) => port.postMessage(reply);
secrets.watch({
  // The main thread reads the same directory and logs the same reload (info) and the same
  // warnings (a file unreadable or emptied, a setting that needs a restart): once is enough.
  info: (obj, msg) => send({ type: 'log', level: 'debug', obj, msg }),
  warn: (obj, msg) => send({ type: 'log', level: 'debug', obj, msg }),
});

// Bodies arrive in this shared memory unless a batch brings its own buffer. A region is not
// touched after its batch is answered: the main thread then writes other bodies there.
const ring = data.ring;

port.on('message', ({ batch, requests, bodies }: CheckBatch) => {
  const source = bodies ?? ring;
  void Promise.all(
    requests.map(async (req) => ({
      id: req.id,
      checked:
        source === undefined
          ? ({ kind: 'failed', message: 'a batch came without its bodies', stack: undefined } as const)
          : await runCheck(
              SOURCE_CHECKS[req.source],
              req.headers,
              Buffer.from(source, req.offset, req.length),
              secrets,
            ),
    })),
  ).then((results) => send({ type: 'checked', batch, results }));
});
send({ type: 'ready' });
