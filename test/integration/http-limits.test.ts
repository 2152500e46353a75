import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { GITLAB_SECRET } from '../helpers/gitlab.js';
import { startTestApp, type TestApp } from '../helpers/start-app.js';

const MiB = 1024 * 1024;

/** A raw connection: what it has received, and whether the server closed it. */
function open(app: TestApp): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const port = Number(new URL(app.url).port);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

function head(length: number, extra = ''): string {
  return (
    'POST /webhooks/gitlab HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    `X-Gitlab-Event: Job Hook\r\nX-Gitlab-Token: ${GITLAB_SECRET}\r\nContent-Length: ${length}\r\n${extra}\r\n`
  );
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('request bodies the service refuses unread (SPEC section 4)', () => {
  let app: TestApp;
  beforeEach(async () => {
    app = await startTestApp({ GITLAB_WEBHOOK_TOKEN_ACME: GITLAB_SECRET });
  });
  afterEach(() => app.stop());

  it('answers 413 to `Expect: 100-continue` with a body declared too large, before the body is sent', async () => {
    const c = await open(app);
    c.socket.write(head(20 * MiB, 'Expect: 100-continue\r\n'));
    await until(() => c.received().includes('\r\n\r\n'), 'the answer');
    assert.match(c.received(), /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(c.received(), /100 Continue/);
  });

  it('answers 503 once 64 MiB of bodies are being received at once, and takes bodies again after', async () => {
    // Seven unfinished 10 MiB bodies, sent side by side; none is authenticated yet. Which one
    // crosses the bound depends on how the kernel interleaves them.
    const conns: Array<Awaited<ReturnType<typeof open>>> = [];
    for (let i = 0; i < 7; i++) {
      const c = await open(app);
      c.socket.write(head(10 * MiB));
      c.socket.write(Buffer.alloc(10 * MiB - 1, 0x20));
      conns.push(c);
    }
    await until(() => conns.some((c) => c.received().includes('\r\n\r\n')), 'an answer');
    const answered = conns.filter((c) => c.received() !== '');
    assert.ok(answered.length >= 1);
    for (const c of answered) {
      assert.match(c.received(), /^HTTP\/1\.1 503 /);
      assert.match(c.received(), /too many request bodies/);
    }
    for (const c of conns) c.socket.destroy();
    await Promise.all(conns.map((c) => c.closed));
    // The bodies of connections that went away no longer count.
    const res = await fetch(`${app.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Gitlab-Event': 'Push Hook',
        'X-Gitlab-Token': 'wrong',
      },
      body: JSON.stringify({ object_kind: 'push', project: { id: 1, path_with_namespace: 'acme/x' } }),
    });
    assert.equal(res.status, 401);
  });
});
