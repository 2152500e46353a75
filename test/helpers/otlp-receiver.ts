// Local OTLP receivers (HTTP and gRPC) on 127.0.0.1 port 0 that decode what arrives into plain
// spans, so tests check the bytes the real exporters send. Protobuf is decoded with protobufjs
// from the OTLP trace .proto, trimmed to the fields the service sends; @opentelemetry's
// otlp-transformer only exports serializers, not a request decoder.
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

const proto = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4;
  fixed32 flags = 16; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10;
  repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15;
}
message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; fixed32 flags = 6; }
message Status { string message = 2; int32 code = 3; }
`;
const ExportTraceServiceRequest = protobuf
  .parse(proto, { keepCase: false })
  .root.lookupType('otlp.ExportTraceServiceRequest');

/** A span as a collector sees it, in one form for all three protocols. */
export interface ReceivedSpan {
  resource: Record<string, unknown>;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  status: { code: number; message: string };
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
}

export interface OtlpReceiver {
  /** The endpoint to configure (OTEL_EXPORTER_OTLP_ENDPOINT), without a path. */
  readonly endpoint: URL;
  readonly spans: ReceivedSpan[];
  /** `authorization`: that request header (OTEL_EXPORTER_OTLP_HEADERS), or '' without one. */
  readonly requests: { path: string; contentType: string; authorization: string }[];
  waitForSpans(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

// The decoders take both forms: OTLP/JSON (camelCase, hex ids, int64 as string or number) and
// protobufjs objects (bytes as Buffer, int64 as string via `longs: String`).
type Json = Record<string, unknown>;
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const hex = (v: unknown): string =>
  v === undefined || v === null
    ? ''
    : typeof v === 'string'
      ? v
      : Buffer.from(v as Uint8Array).toString('hex');

function anyValue(v: Json | undefined): unknown {
  if (v === undefined) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return list((v.arrayValue as Json).values).map(anyValue);
  throw new Error(`unexpected AnyValue ${JSON.stringify(v)}`);
}

function keyValues(v: unknown): Record<string, unknown> {
  return Object.fromEntries(list(v).map((kv) => [kv.key, anyValue(kv.value as Json | undefined)]));
}

function toSpans(request: Json): ReceivedSpan[] {
  return list(request.resourceSpans).flatMap((rs) => {
    const resource = keyValues((rs.resource as Json | undefined)?.attributes);
    return list(rs.scopeSpans).flatMap((ss) =>
      list(ss.spans).map((s) => {
        const status = (s.status ?? {}) as Json;
        return {
          resource,
          scope: String((ss.scope as Json | undefined)?.name ?? ''),
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: String(s.name),
          kind: Number(s.kind ?? 0),
          startTimeUnixNano: BigInt(String(s.startTimeUnixNano)),
          endTimeUnixNano: BigInt(String(s.endTimeUnixNano)),
          status: { code: Number(status.code ?? 0), message: String(status.message ?? '') },
          attributes: keyValues(s.attributes),
          links: list(s.links).map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId) })),
        };
      }),
    );
  });
}

export function decodeProtobuf(bytes: Uint8Array): ReceivedSpan[] {
  const message = ExportTraceServiceRequest.decode(bytes);
  return toSpans(ExportTraceServiceRequest.toObject(message, { longs: String }) as Json);
}

function receiver(
  endpoint: URL,
  spans: ReceivedSpan[],
  requests: OtlpReceiver['requests'],
  close: () => Promise<void>,
): OtlpReceiver {
  return {
    endpoint,
    spans,
    requests,
    async waitForSpans(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (spans.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (spans.length < count) throw new Error(`received ${spans.length} spans, expected ${count}`);
      return spans;
    },
    close,
  };
}

/** OTLP/HTTP: POST <any base path>/v1/traces, JSON or protobuf; anything else is a 404. */
export async function startHttpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const contentType = req.headers['content-type'] ?? '';
      requests.push({ path, contentType, authorization: req.headers.authorization ?? '' });
      if (req.method !== 'POST' || !path.endsWith('/v1/traces')) {
        res.writeHead(404).end();
        return;
      }
      const body = Buffer.concat(chunks);
      if (contentType.startsWith('application/json')) {
        spans.push(...toSpans(JSON.parse(body.toString('utf8')) as Json));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else if (contentType.startsWith('application/x-protobuf')) {
        spans.push(...decodeProtobuf(body));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      } else {
        res.writeHead(415).end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return receiver(new URL(`http://127.0.0.1:${port}`), spans, requests, async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
}

const exportPath = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** OTLP/gRPC over h2c: one unary Export call per request, answered with an empty response. */
export async function startGrpcReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    requests.push({
      path,
      contentType: String(headers['content-type']),
      authorization: String(headers.authorization ?? ''),
    });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (path !== exportPath) {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' },
          { endStream: true },
        );
        return;
      }
      // A gRPC message: 1 byte compressed flag (we ask for none), 4 bytes big-endian length.
      const body = Buffer.concat(chunks);
      spans.push(...decodeProtobuf(body.subarray(5, 5 + body.readUInt32BE(1))));
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.alloc(5)); // an empty ExportTraceServiceResponse
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return receiver(new URL(`http://127.0.0.1:${port}`), spans, requests, async () => {
    for (const s of sessions) s.destroy();
    await new Promise((r) => server.close(r));
  });
}
