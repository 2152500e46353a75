import { Webhooks } from '@octokit/webhooks';
import { toUpperSnake } from '../../config/parse.js';
import type { Secrets } from '../../secrets/secrets.js';

/** The owner (org or user) a GitHub payload belongs to: it picks the secret. */
export function githubOwnerOf(body: unknown): string | undefined {
  const b = body as {
    repository?: { owner?: { login?: unknown } };
    organization?: { login?: unknown };
  } | null;
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
 * `payload` is the raw body as UTF-8 text.
 */
export async function verifyGithubSignature(
  secrets: Secrets,
  payload: string,
  owner: string | undefined,
  signature: string | undefined,
): Promise<boolean> {
  if (signature === undefined || !signature.startsWith('sha256=') || payload.length === 0) return false;
  const own = owner === undefined ? [] : secrets.list(`GITHUB_WEBHOOK_SECRET_${toUpperSnake(owner)}`);
  const values = own.length > 0 ? own : secrets.list('GITHUB_WEBHOOK_SECRET');
  let ok = false;
  for (const value of values) {
    if (await webhooksFor(value).verify(payload, signature)) ok = true;
  }
  return ok;
}
