import typeis from 'type-is';
import { HttpError } from '../../http/http-error.js';
import { parseJsonBody, type SourceCheck } from '../webhook-check.js';
import { parseGithub } from './parse.js';
import { githubOwnerOf, verifyGithubSignature } from './verify.js';

/**
 * POST /webhooks/github before state (SPEC section 4): JSON, or form-encoded with the JSON in
 * `payload` (a hook whose content type is form); `X-Hub-Signature-256`; GitHub's shapes.
 */
export const githubCheck: SourceCheck = {
  source: 'github',
  headers: ['content-type', 'x-github-event', 'x-hub-signature-256'],
  decode: (headers, raw) => {
    let text = raw.toString('utf8');
    if (typeis.is(headers['content-type'] ?? '', ['application/x-www-form-urlencoded']) !== false) {
      const payload = new URLSearchParams(text).get('payload');
      if (payload === null) throw new HttpError(400, 'form body has no payload field');
      text = payload;
    }
    return parseJsonBody(text);
  },
  authenticate: async (headers, raw, body, secrets) => {
    const owner = githubOwnerOf(body);
    const ok = await verifyGithubSignature(secrets, raw, owner, headers['x-hub-signature-256'] || undefined);
    if (!ok) return false;
    const repo = (body as { repository?: { full_name?: unknown } }).repository?.full_name;
    return typeof repo === 'string' ? repo : (owner ?? 'unknown');
  },
  parse: (headers, body) => parseGithub(headers['x-github-event'] ?? '', body),
};
