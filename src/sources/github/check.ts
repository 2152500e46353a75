import typeis from 'type-is';
import { HttpError } from '../../http/http-error.js';
import { parseJsonBody, type SourceCheck } from '../webhook-check.js';
import { parseGithub } from './parse.js';
import { githubOwnerOf, verifyGithubSignature } from './verify.js';

/**
 * POST /webhooks/github before state (SPEC section 4): JSON, or form-encoded with the JSON in
 * `payload` (a hook whose content type is form); `X-Hub-Signature-256`; GitHub's shapes.
 */
export const githubCheck: SourceCheck<GithubBody> = {
  source: 'github',
  headers: ['content-type', 'x-github-event', 'x-hub-signature-256'],
  decode: (headers, raw) => {
    // Decoded once: the JSON and (for valid UTF-8, see verify.ts) the signature both read it.
    const text = raw.toString('utf8');
    if (!isForm(headers['content-type'] ?? '')) return { text, json: parseJsonBody(text) };
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw new HttpError(400, 'form body has no payload field');
    return { text, json: parseJsonBody(payload) };
  },
  authenticate: async (headers, raw, { text, json }, secrets) => {
    const owner = githubOwnerOf(json);
    const signature = headers['x-hub-signature-256'] || undefined;
    const repo = (json as { repository?: { full_name?: unknown } } | null)?.repository?.full_name;
    if (!(await verifyGithubSignature(secrets, raw, text, owner, signature))) {
      return {
        claimed: typeof repo === 'string' ? repo : (owner ?? ''),
        secretSent: signature !== undefined,
      };
    }
    // Only a repository is a project: a body that names none (an organisation hook's ping,
    // organization, membership, team events; a GitHub App's) makes no last-received series.
    return typeof repo === 'string' ? repo : '';
  },
  parse: (headers, { json }) => parseGithub(headers['x-github-event'] ?? '', json),
};

/** The whole body as text (what the signature covers) and the JSON it carries. */
interface GithubBody {
  readonly text: string;
  readonly json: unknown;
}

/** type-is's verdict on each distinct Content-Type value, kept (a hook sends one value). */
const formVerdicts = new Map<string, boolean>();
const MAX_VERDICTS = 64;

function isForm(contentType: string): boolean {
  let form = formVerdicts.get(contentType);
  if (form === undefined) {
    form = typeis.is(contentType, ['application/x-www-form-urlencoded']) !== false;
    if (formVerdicts.size < MAX_VERDICTS) formVerdicts.set(contentType, form);
  }
  return form;
}
