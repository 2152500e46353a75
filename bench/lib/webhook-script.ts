import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { luaDoneHook, luaString } from './wrk.js';

/**
 * wrk scripts for webhook benches: every request is a new delivery. The body is a fixed
 * template with a decimal id substituted into it (a job id: the service must treat each request
 * as a new job), some headers carry a value derived from the same id (delivery GUIDs,
 * idempotency keys), and the body may be signed (HMAC-SHA256, in Lua, per request).
 *
 * Request k (from 0) of thread t of a run gets the id `first + t + threads * k`, `first` and
 * `threads` being the script's arguments (see `webhookScriptArgs`): ids never repeat within a
 * run, and runs that start from far-apart `first` ids never share one.
 */
export interface WebhookRequestTemplate {
  readonly method: 'POST';
  readonly path: string;
  /** Headers every request carries unchanged. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body is `bodyPrefix + id + bodySuffix`, the id written as a decimal integer. */
  readonly bodyPrefix: string;
  readonly bodySuffix: string;
  /** Headers whose value is the given prefix followed by the request's id as 12 decimal digits. */
  readonly idHeaders?: Readonly<Record<string, string>>;
  /** Signs each body: `header: sha256=<hex HMAC-SHA256 of the body with secret>`. */
  readonly signature?: { readonly header: string; readonly secret: string };
}

/** The body of the request with `id`, exactly as the script builds it. */
export function webhookBody(template: WebhookRequestTemplate, id: number): string {
  return `${template.bodyPrefix}${id}${template.bodySuffix}`;
}

/**
 * A check run instead of a measurement: the script reads every answer (wrk then parses
 * bodies, so it is slower), counts those that are 2xx and contain `expectInBody`, keeps the
 * first other one in the string `first_bad`, and stops its thread after `limit` answers. Run
 * it with one connection so that exactly `limit` requests are sent.
 */
export interface CheckMode {
  readonly limit: number;
  readonly expectInBody?: string;
}

/** Counters the scripts keep (WrkResult.counters): `sent` is the number of request() calls. */
export const WEBHOOK_COUNTERS = ['sent', 'answered', 'ok'] as const;

/**
 * wrk calls request() once more than it sends requests: after init(), it calls it on the first
 * thread's Lua state to check the script's request (script_verify_request). That id is never
 * sent. Requests written to sockets = `sent` minus this.
 */
export const UNSENT_REQUEST_CALLS = 1;

export function webhookScriptArgs(firstId: number, threads: number): string[] {
  return [String(firstId), String(threads)];
}

const HMAC_LUA = readFileSync(new URL('./lua/hmac-sha256.lua', import.meta.url), 'utf8');

/**
 * Test vectors for the Lua HMAC, computed here with node:crypto: keys shorter than, as long as
 * and longer than a block, prefixes and tails on both sides of every padding boundary, random
 * bytes (new ones each time), and the template's own body with the bench's secret.
 */
function selfTestLua(template: WebhookRequestTemplate): string {
  const signature = template.signature;
  if (signature === undefined) return '';
  const pool = randomBytes(512);
  const keys = [Buffer.from(signature.secret, 'utf8'), randomBytes(64), randomBytes(131)];
  const prefixLengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 129];
  const tailLengths = [0, 1, 8, 55, 56, 64, 100];
  const vectors: string[] = [];
  let at = 0;
  for (let k = 0; k < keys.length; k++) {
    for (const p of prefixLengths) {
      for (const t of tailLengths) {
        const prefixStart = at % 256;
        const tailStart = (at * 7 + 13) % 256;
        at++;
        const prefix = pool.subarray(prefixStart, prefixStart + p);
        const tail = pool.subarray(tailStart, tailStart + t);
        const hex = createHmac('sha256', keys[k] as Buffer)
          .update(Buffer.concat([prefix, tail]))
          .digest('hex');
        vectors.push(`{${k + 1},${prefixStart + 1},${p},${tailStart + 1},${t},"${hex}"}`);
      }
    }
  }
  const id = 123_456_789_012;
  const realHex = createHmac('sha256', signature.secret)
    .update(webhookBody(template, id), 'utf8')
    .digest('hex');
  return `
-- Self-test against node:crypto (vectors computed by bench/lib/webhook-script.ts).
do
  local pool = ${luaString(pool)}
  local keys = {${keys.map((k) => luaString(k)).join(', ')}}
  local vectors = {
${vectors.join(',\n')}
  }
  for i, v in ipairs(vectors) do
    local prefix = string.sub(pool, v[2], v[2] + v[3] - 1)
    local tail = string.sub(pool, v[4], v[4] + v[5] - 1)
    local got = hmac.hmac_finish(hmac.hmac_prepare(keys[v[1]], prefix), tail)
    if got ~= v[6] then
      error(string.format("Lua HMAC-SHA256 disagrees with node:crypto on vector %d (key %d bytes, prefix %d, tail %d): %s, node: %s",
        i, #keys[v[1]], v[3], v[5], got, v[6]))
    end
  end
  local got = hmac.hmac_finish(sign_ctx, "${id}" .. body_suffix)
  if got ~= "${realHex}" then
    error("Lua HMAC-SHA256 of the bench body disagrees with node:crypto: " .. got .. ", node: ${realHex}")
  end
end
`;
}

/** The wrk script that sends `template`'s requests (or checks them, with `check`). */
export function webhookScript(template: WebhookRequestTemplate, check?: CheckMode): string {
  const headers = Object.entries(template.headers)
    .map(([k, v]) => `  [${luaString(k)}] = ${luaString(v)},`)
    .join('\n');
  const idHeaders = Object.entries(template.idHeaders ?? {})
    .map(([k, v]) => `  {${luaString(k)}, ${luaString(v)}},`)
    .join('\n');
  const signature = template.signature;
  const response =
    check === undefined
      ? ''
      : `
answered, ok = 0, 0
local expect = ${check.expectInBody === undefined ? 'nil' : luaString(check.expectInBody)}

function response(status, headers, body)
  answered = answered + 1
  if status >= 200 and status < 300 and (expect == nil or string.find(body or "", expect, 1, true)) then
    ok = ok + 1
  elseif first_bad == nil then
    first_bad = string.format("request %d: HTTP %d %s", answered, status, string.sub(body or "", 1, 300))
  end
  if answered >= ${check.limit} then wrk.thread:stop() end
end
`;
  return `-- Generated by bench/lib/webhook-script.ts${check === undefined ? '' : ` (check mode: ${check.limit} requests)`}
local format = string.format
local method, path = ${luaString(template.method)}, ${luaString(template.path)}
local body_prefix = ${luaString(template.bodyPrefix)}
local body_suffix = ${luaString(template.bodySuffix)}
local headers = {
${headers}
}
local id_headers = {
${idHeaders}
}
${
  signature === undefined
    ? ''
    : `local hmac = (function()
${HMAC_LUA}
end)()
local sign_header = ${luaString(signature.header)}
local sign_ctx = hmac.hmac_prepare(${luaString(signature.secret)}, body_prefix)
${selfTestLua(template)}`
}
local first, stride, n = 0, 1, 0
sent = 0

function init(args)
  first = tonumber(args[1]) or error("script argument 1 (first id) is missing")
  stride = tonumber(args[2]) or error("script argument 2 (threads) is missing")
  -- tid: set by setup() (luaDoneHook) before init() runs.
  first = first + tid
end

function request()
  local id = first + stride * n
  n = n + 1
  sent = n
  local tail = format("%d", id) .. body_suffix
  for _, h in ipairs(id_headers) do headers[h[1]] = h[2] .. format("%012d", id % 1000000000000) end
${signature === undefined ? '' : '  headers[sign_header] = "sha256=" .. hmac.hmac_finish(sign_ctx, tail)\n'}  return wrk.format(method, path, headers, body_prefix .. tail)
end
${response}
${luaDoneHook({ counters: WEBHOOK_COUNTERS, strings: ['first_bad'] })}`;
}

export async function writeWebhookScript(
  dir: string,
  name: string,
  template: WebhookRequestTemplate,
  check?: CheckMode,
): Promise<string> {
  const path = join(dir, `${name}.lua`);
  await writeFile(path, webhookScript(template, check));
  return path;
}
