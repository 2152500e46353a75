import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startProgram } from '../helpers/program.js';
import { push } from '../helpers/push.js';
import { getMetrics, sample } from '../helpers/start-app.js';
import { tempDir } from '../helpers/temp-dir.js';

const TOKEN = 'acceptance-secret-token';

describe('the built program (acceptance)', function () {
  this.timeout(60_000);

  it('keeps every acknowledged value after kill -9', async () => {
    const dataDir = tempDir();
    const env = { AUTH_TOKEN: TOKEN, DATA_DIR: dataDir, LOG_LEVEL: 'info' };
    let program = await startProgram(env);

    // 200 pushes of three kinds at once, all answered before the kill: every one must survive.
    const sent = Array.from({ length: 200 }, (_, i) => {
      if (i % 3 === 0)
        return push(program.url, '/api/deployments_total/inc', { labels: 'gprd,success' }, TOKEN);
      if (i % 3 === 1)
        return push(
          program.url,
          '/api/deployment_duration_seconds/observe',
          { value: String(i), labels: `t${i % 7},success` },
          TOKEN,
        );
      return push(
        program.url,
        '/api/release_pressure/set',
        { value: String(i), labels: `acme/p${i % 5},s1` },
        TOKEN,
      );
    });
    const answers = await Promise.all(sent);
    assert.ok(answers.every((a) => a.status === 200));
    program.child.kill('SIGKILL');
    assert.equal((await program.exited).signal, 'SIGKILL');

    program = await startProgram(env);
    try {
      const text = await getMetrics(program.url);
      assert.equal(sample(text, 'delivery_deployments_total{target="gprd",status="success"}'), 67);
      let count = 0;
      let sum = 0;
      for (let t = 0; t < 7; t++) {
        count +=
          sample(text, `delivery_deployment_duration_seconds_count{target="t${t}",status="success"}`) ?? 0;
        sum += sample(text, `delivery_deployment_duration_seconds_sum{target="t${t}",status="success"}`) ?? 0;
      }
      const observed = Array.from({ length: 200 }, (_, i) => i).filter((i) => i % 3 === 1);
      assert.equal(count, observed.length);
      assert.equal(
        sum,
        observed.reduce((a, b) => a + b, 0),
      );
      // The last set of each gauge wins: for p(i%5) the largest i with i%3===2.
      for (let p = 0; p < 5; p++) {
        const last = Math.max(
          ...Array.from({ length: 200 }, (_, i) => i).filter((i) => i % 3 === 2 && i % 5 === p),
        );
        assert.equal(sample(text, `delivery_release_pressure{project="acme/p${p}",severity="s1"}`), last);
      }
    } finally {
      program.child.kill('SIGKILL');
      await program.exited;
    }
  });

  it('keeps every value acknowledged before a kill -9 that lands mid-traffic', async () => {
    const dataDir = tempDir();
    const env = { AUTH_TOKEN: TOKEN, DATA_DIR: dataDir };
    let program = await startProgram(env);
    let acknowledged = 0;
    let sent = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        sent++;
        try {
          const res = await push(
            program.url,
            '/api/deployments_total/inc',
            { labels: 'gprd,success' },
            TOKEN,
          );
          if (res.status === 200) acknowledged++;
        } catch {
          return; // connection cut by the kill
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    await new Promise((r) => setTimeout(r, 700));
    program.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await program.exited;
    assert.ok(acknowledged > 50, `only ${acknowledged} pushes were answered before the kill`);

    program = await startProgram(env);
    try {
      const stored =
        sample(await getMetrics(program.url), 'delivery_deployments_total{target="gprd",status="success"}') ??
        0;
      assert.ok(stored >= acknowledged, `stored ${stored} < acknowledged ${acknowledged}`);
      assert.ok(stored <= sent, `stored ${stored} > sent ${sent}`);
    } finally {
      program.child.kill('SIGKILL');
      await program.exited;
    }
  });

  it('on SIGTERM stops accepting, finishes the request in flight and exits 0 within 10 s', async () => {
    const dataDir = tempDir();
    const program = await startProgram({ AUTH_TOKEN: TOKEN, DATA_DIR: dataDir });
    const { port } = new URL(program.url);
    const body = 'value=5&labels=gprd,success';
    // A push whose body is still arriving when SIGTERM comes.
    const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/deployments_total/inc',
          headers: {
            'X-Private-Token': TOKEN,
            'Content-Type': 'application/x-www-form-urlencoded',
            'Content-Length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        program.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    const started = Date.now();
    const answer = await inFlight;
    assert.equal(answer.status, 200, answer.text);
    // New connections are refused while it drains or after it stopped.
    await assert.rejects(fetch(`${program.url}/-/healthy`));
    const { code } = await program.exited;
    assert.equal(code, 0, program.output());
    assert.ok(Date.now() - started < 10_000);

    const again = await startProgram({ AUTH_TOKEN: TOKEN, DATA_DIR: dataDir });
    try {
      assert.equal(
        sample(await getMetrics(again.url), 'delivery_deployments_total{target="gprd",status="success"}'),
        5,
      );
    } finally {
      again.child.kill('SIGTERM');
      assert.equal((await again.exited).code, 0);
    }
    assert.ok(!program.output().includes(TOKEN), 'the token appears in the logs');
  });
});
