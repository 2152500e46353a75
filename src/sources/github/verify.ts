import { isUtf8 } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhooks } from '@octokit/webhooks';
import { toUpperSnake } from '../../config/parse.js';
import type { Secrets } from '../../secrets/secrets.js';

/**
 * The owner (org or user) a GitHub payload belongs to: it picks the secret. Where the body names
 * a repository, the owner is the first segment of its `full_name`, which is also the `project`
 * label the events are counted under: a body signed with one owner's secret cannot write under
 * another owner's repository by naming that owner elsewhere (`repository.owner.login`, which
 * GitHub always sends equal to it). Events without a repository use the organisation's login.
 */
export function githubOwnerOf(body: unknown): string | undefined {
  const b = body as {
    repository?: { full_name?: unknown; owner?: { login?: unknown } };
    organization?: { login?: unknown };
  } | null;
  const fullName = b?.repository?.full_name;
  if (typeof fullName === 'string' && fullName !== '') {
    const slash = fullName.indexOf('/');
    return slash < 0 ? fullName : fullName.slice(0, slash);
  }
  const login = b?.repository?.owner?.login ?? b?.organization?.login;
  return typeof login === 'string' && login !== '' ? login : undefined;
}

/** One Webhooks instance per secret value, made only when a value is new (rotation adds one). */
let byValue = new Map<string, Webhooks>();

function webhooksFor(secret: string): Webhooks {
  let w = byValue.get(secret);
  if (w === undefined) {
    if (byValue.size > 64) byValue = new Map();
    w = new Webhooks({ secret });
    byValue.set(secret, w);
  }
  return w;
}

/**
 * Verifies `X-Hub-Signature-256` over the raw body with @octokit/webhooks, against the owner's
 * secret (`GITHUB_WEBHOOK_SECRET_<OWNER>`) when one is set, else the default secret. Each value
 * of a rotation list is tried. A request signed only with sha1 (`X-Hub-Signature`) fails.
 *
 * @octokit/webhooks verifies a string, which it signs as UTF-8: that is the raw body exactly
 * when the body is valid UTF-8 (`text` is `raw` decoded), as GitHub's always is. Bytes that are
 * not (SPEC section 4 authenticates the bytes, whatever they hold) are checked with
 * node:crypto over the bytes themselves, in constant time.
 */
export async function verifyGithubSignature(
  secrets: Secrets,
  raw: Buffer,
  text: string,
  owner: string | undefined,
  signature: string | undefined,
): Promise<boolean> {
  if (signature === undefined || !signature.startsWith('sha256=') || raw.length === 0) return false;
  const own = owner === undefined ? [] : secrets.list(`GITHUB_WEBHOOK_SECRET_${toUpperSnake(owner)}`);
  const values = own.length > 0 ? own : secrets.list('GITHUB_WEBHOOK_SECRET');
  const utf8 = isUtf8(raw);
  let ok = false;
  for (const value of values) {
    if (utf8 ? await webhooksFor(value).verify(text, signature) : signedBytes(value, raw, signature))
      ok = true;
  }
  return ok;
}

function signedBytes(secret: string, raw: Buffer, signature: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
