import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { conditionalFetch } from '../../../src/scrapers/conditional-fetch.js';

describe('conditionalFetch', () => {
  let server: Server;
  let base: string;
  const seen: Array<string | undefined> = [];

  before(async () => {
    // Each path answers a body of its own length (/a/100 → 100 bytes) with a fixed ETag.
    server = createServer((req, res) => {
      seen.push(req.headers['if-none-match']);
      const etag = `"${req.url}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag });
        res.end();
        return;
      }
      const size = Number(req.url?.split('/').at(-1));
      res.writeHead(200, { etag, 'content-type': 'application/json' });
      res.end(JSON.stringify('x'.repeat(size - 2)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    seen.length = 0;
  });

  it('sends the last ETag and gives the kept answer back as a 200 on 304', async () => {
    const get = conditionalFetch(fetch);
    const first = await get(`${base}/a/100`, { headers: { accept: 'application/json' } });
    assert.equal((await first.text()).length, 100);
    const again = await get(`${base}/a/100`, { headers: { accept: 'application/json' } });
    assert.equal(again.status, 200);
    assert.equal(again.url, `${base}/a/100`);
    assert.equal((await again.text()).length, 100);
    assert.deepEqual(seen, [undefined, '"/a/100"']);
  });

  it('keeps at most maxBytes of answers, dropping the least recently used', async () => {
    const get = conditionalFetch(fetch, 250);
    for (const path of ['/b/100', '/c/100', '/b/100', '/d/100']) await (await get(`${base}${path}`)).text();
    // /c was the least recently used when /d came: it is asked for without an ETag.
    await (await get(`${base}/c/100`)).text();
    await (await get(`${base}/b/100`)).text();
    assert.deepEqual(seen, [undefined, undefined, '"/b/100"', undefined, undefined, undefined]);
  });
});
