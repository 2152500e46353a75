import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { diag } from '@opentelemetry/api';
import { routeDiagToPino } from '../../../src/traces/diag-to-pino.js';
import { type OtlpProtocol, createOtlpSink, tracesUrl } from '../../../src/traces/otlp-export.js';
import type { SpanRecord } from '../../../src/traces/span-record.js';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startGrpcReceiver,
  startHttpReceiver,
} from '../../helpers/otlp-receiver.js';

const runResource = { 'service.name': 'github-actions', 'vcs.repository.name': 'acme/app' };
const root: SpanRecord = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  name: 'CI run 42',
  kind: 'server',
  startS: 1744837738.5,
  endS: 1744837800.25,
  status: 'ok',
  attributes: { 'cicd.pipeline.run.id': '42' },
  resource: runResource,
};
const child: SpanRecord = {
  traceId: root.traceId,
  spanId: 'b7ad6b7169203331',
  parentSpanId: root.spanId,
  name: 'job build',
  kind: 'internal',
  startS: 1744837740.125,
  endS: 1744837790.75,
  status: 'error',
  statusMessage: 'job failed',
  attributes: { text: 'x', count: 42, ratio: 1.5, retried: true, labels: ['linux', 'x64'] },
  resource: { 'vcs.repository.name': 'acme/app', 'service.name': 'github-actions' },
};
const linked: SpanRecord = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'e457b5a2e4d86bd1',
  name: 'deployment',
  kind: 'server',
  startS: 1744837801,
  endS: 1744837802.875,
  status: 'unset',
  attributes: {},
  links: [{ traceId: root.traceId, spanId: root.spanId }],
  resource: { 'service.name': 'github-deployments' },
};

/** The span a collector should see for a record: OTLP kind and status numbers, nanoseconds. */
function expected(r: SpanRecord, startTimeUnixNano: bigint, endTimeUnixNano: bigint): ReceivedSpan {
  return {
    resource: { ...r.resource },
    scope: 'delivery-metrics',
    traceId: r.traceId,
    spanId: r.spanId,
    parentSpanId: r.parentSpanId ?? '',
    name: r.name,
    kind: { internal: 1, server: 2 }[r.kind],
    startTimeUnixNano,
    endTimeUnixNano,
    status: { code: { unset: 0, ok: 1, error: 2 }[r.status], message: r.statusMessage ?? '' },
    attributes: { ...r.attributes },
    links: [...(r.links ?? [])],
  };
}

function captureLog() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

async function closedPortUrl(): Promise<URL> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return new URL(`http://127.0.0.1:${port}`);
}

const protocols: Array<[OtlpProtocol, () => Promise<OtlpReceiver>]> = [
  ['http/protobuf', startHttpReceiver],
  ['http/json', startHttpReceiver],
  ['grpc', startGrpcReceiver],
];

describe('createOtlpSink', () => {
  for (const [protocol, start] of protocols) {
    describe(protocol, () => {
      let receiver: OtlpReceiver;
      beforeEach(async () => {
        receiver = await start();
      });
      afterEach(() => receiver.close());

      it('sends every field of each record, flushed by shutdown', async () => {
        const sink = createOtlpSink({
          endpoint: receiver.endpoint,
          protocol,
          log: pino({ level: 'silent' }),
        });
        sink.export([root, child, linked]);
        await sink.shutdown();

        const byName = new Map(receiver.spans.map((s) => [s.name, s]));
        assert.equal(receiver.spans.length, 3);
        assert.deepEqual(byName.get(root.name), expected(root, 1744837738_500000000n, 1744837800_250000000n));
        assert.deepEqual(
          byName.get(child.name),
          expected(child, 1744837740_125000000n, 1744837790_750000000n),
        );
        assert.deepEqual(
          byName.get(linked.name),
          expected(linked, 1744837801_000000000n, 1744837802_875000000n),
        );
        // Equal resources (keys in any order) share one ResourceSpans; the decoder gives each
        // ResourceSpans one resource object.
        assert.equal(byName.get(root.name)!.resource, byName.get(child.name)!.resource);
        assert.notEqual(byName.get(root.name)!.resource, byName.get(linked.name)!.resource);
        const path =
          protocol === 'grpc' ? '/opentelemetry.proto.collector.trace.v1.TraceService/Export' : '/v1/traces';
        const contentType = {
          grpc: 'application/grpc',
          'http/json': 'application/json',
          'http/protobuf': 'application/x-protobuf',
        }[protocol];
        assert.deepEqual(receiver.requests, [{ path, contentType, authorization: '' }]);
      });

      it('exports queued spans within about a second without shutdown', async () => {
        const sink = createOtlpSink({
          endpoint: receiver.endpoint,
          protocol,
          log: pino({ level: 'silent' }),
        });
        sink.export([root]);
        const [span] = await receiver.waitForSpans(1, 3000);
        assert.equal(span!.spanId, root.spanId);
        await sink.shutdown();
      });
    });

    it(`${protocol}: a collector that is down neither hangs shutdown nor throws`, async () => {
      const { log, lines } = captureLog();
      const sink = createOtlpSink({ endpoint: await closedPortUrl(), protocol, log });
      sink.export([root, child]);
      const started = Date.now();
      await sink.shutdown();
      assert.ok(Date.now() - started < 6000, `shutdown took ${Date.now() - started} ms`);
      assert.ok(
        lines.some((l) => l.level === 40 && String(l.msg).startsWith('traces not all exported')),
        JSON.stringify(lines),
      );
    });
  }

  it('logs failed exports through the OpenTelemetry diag logger, without header values', async () => {
    const { log, lines } = captureLog();
    const saved = process.env.OTEL_EXPORTER_OTLP_HEADERS;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'authorization=Bearer%20s3cret-token';
    try {
      // gRPC reports a refused connection at once; the HTTP exporters retry it for 10 s first.
      const sink = createOtlpSink({ endpoint: await closedPortUrl(), protocol: 'grpc', log });
      sink.export([root]);
      const deadline = Date.now() + 4000;
      while (!lines.some((l) => l.component === 'opentelemetry') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await sink.shutdown();
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
      else process.env.OTEL_EXPORTER_OTLP_HEADERS = saved;
    }
    const otel = lines.filter((l) => l.component === 'opentelemetry');
    assert.ok(otel.length > 0 && otel.every((l) => l.level === 40), JSON.stringify(lines));
    assert.ok(!JSON.stringify(lines).includes('s3cret'));
  });

  it('logs diag arguments by error message and object kind only', () => {
    const { log, lines } = captureLog();
    routeDiagToPino(log);
    diag.warn('export failed', new Error('boom'), { headers: { authorization: 'Bearer s3cret' } }, 3);
    diag.info('not logged');
    assert.deepEqual(
      lines.map((l) => [l.level, l.component, l.msg, l.details]),
      [[40, 'opentelemetry', 'export failed', ['boom', '[Object]', '3']]],
    );
  });

  it('logs at most one diag line per interval, with how many it left out', async () => {
    const { log, lines } = captureLog();
    routeDiagToPino(log, 300);
    diag.error('connect ECONNREFUSED 127.0.0.1:4318');
    diag.error('connect ECONNREFUSED 127.0.0.1:4318');
    diag.error('connect ECONNREFUSED 127.0.0.1:4318');
    assert.equal(lines.length, 1);
    await new Promise((r) => setTimeout(r, 350));
    diag.error('connect ECONNREFUSED 127.0.0.1:4318');
    assert.deepEqual(
      lines.map((l) => [l.msg, l.suppressedSinceLastLine]),
      [
        ['connect ECONNREFUSED 127.0.0.1:4318', undefined],
        ['connect ECONNREFUSED 127.0.0.1:4318', 2],
      ],
    );
  });

  it('keeps a base path of the endpoint: /otel/v1/traces', async () => {
    const receiver = await startHttpReceiver();
    try {
      const endpoint = new URL('/otel', receiver.endpoint);
      const sink = createOtlpSink({ endpoint, protocol: 'http/protobuf', log: pino({ level: 'silent' }) });
      sink.export([root]);
      await sink.shutdown();
      assert.deepEqual(
        receiver.requests.map((r) => r.path),
        ['/otel/v1/traces'],
      );
      assert.equal(receiver.spans.length, 1);
    } finally {
      await receiver.close();
    }
  });

  it('builds the traces URL as the spec says, without double slashes', () => {
    const url = (s: string, p: OtlpProtocol = 'http/protobuf') => tracesUrl(new URL(s), p);
    assert.equal(url('http://h:4318'), 'http://h:4318/v1/traces');
    assert.equal(url('http://h:4318/'), 'http://h:4318/v1/traces');
    assert.equal(url('http://h:4318/otel'), 'http://h:4318/otel/v1/traces');
    assert.equal(url('http://h:4318/otel/'), 'http://h:4318/otel/v1/traces');
    assert.equal(url('http://h:4317', 'grpc'), 'http://h:4317/');
  });

  it('drops spans over the queue bound with one warning that counts them', async () => {
    const receiver = await startHttpReceiver();
    try {
      const { log, lines } = captureLog();
      const sink = createOtlpSink({ endpoint: receiver.endpoint, protocol: 'http/protobuf', log });
      // One synchronous call: the first full batch leaves for the exporter at once (512), the
      // queue then fills to 20,000 and the rest is dropped.
      const many = Array.from({ length: 20_512 + 100 }, (_, i) => ({
        ...root,
        spanId: (i + 1).toString(16).padStart(16, '0'),
      }));
      sink.export(many);
      sink.export([child]);
      const warnings = lines.filter((l) => l.msg === 'spans dropped, not exported');
      assert.equal(warnings.length, 1, 'rate-limited to one line');
      assert.deepEqual(warnings[0]!.dropped, { full: 100, invalid: 0, stopped: 0 });
      await sink.shutdown();
      assert.equal(receiver.spans.length, 20_512);
      const last = lines.filter((l) => l.msg === 'spans dropped, not exported').at(-1);
      assert.deepEqual(last!.dropped, { full: 1, invalid: 0, stopped: 0 }, 'the rest is said at shutdown');
    } finally {
      await receiver.close();
    }
  });

  it('drops a record with a malformed id instead of sending garbage, and never throws', async () => {
    const receiver = await startHttpReceiver();
    try {
      const { log, lines } = captureLog();
      const sink = createOtlpSink({ endpoint: receiver.endpoint, protocol: 'http/json', log });
      sink.export([{ ...root, spanId: 'not-hex' }, child]);
      await sink.shutdown();
      assert.deepEqual(
        receiver.spans.map((s) => s.spanId),
        [child.spanId],
      );
      const warning = lines.find((l) => l.msg === 'spans dropped, not exported');
      assert.deepEqual(warning!.dropped, { full: 0, invalid: 1, stopped: 0 });
    } finally {
      await receiver.close();
    }
  });
});
