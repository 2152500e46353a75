import { Readable } from 'node:stream';
import busboy from 'busboy';
import { HttpError } from '../http/http-error.js';

/** The fields of a push request, as sent: not yet checked against the catalog. */
export interface PushFields {
  readonly value?: unknown;
  readonly labels?: unknown;
}

const FIELDS = new Set(['value', 'labels']);

/**
 * Reads `value` and `labels` from a form-encoded, multipart (`curl -F`) or JSON body
 * (SPEC section 6). An empty body without a content type is an empty form, so
 * `curl -X POST .../inc` works for a metric without labels.
 */
export async function parsePushBody(contentType: string | undefined, body: Buffer): Promise<PushFields> {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === '' && body.length === 0) return {};
  if (type === 'application/x-www-form-urlencoded')
    return fromPairs(new URLSearchParams(body.toString('utf8')));
  if (type === 'multipart/form-data') return fromPairs(await readMultipart(contentType ?? '', body));
  if (type === 'application/json' || type.endsWith('+json')) return fromJson(body);
  throw new HttpError(
    415,
    `content type '${type || '(none)'}' is not accepted: send application/x-www-form-urlencoded, multipart/form-data or application/json`,
  );
}

function fromPairs(pairs: Iterable<[string, string]>): PushFields {
  const fields: Record<string, string> = {};
  for (const [name, value] of pairs) {
    if (!FIELDS.has(name))
      throw new HttpError(400, `unknown field '${name}': only value and labels are read`);
    if (name in fields) throw new HttpError(400, `field '${name}' is given twice`);
    fields[name] = value;
  }
  return fields;
}

function fromJson(body: Buffer): PushFields {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new HttpError(400, 'JSON body must be an object with value and labels');
  }
  for (const name of Object.keys(doc)) {
    if (!FIELDS.has(name))
      throw new HttpError(400, `unknown field '${name}': only value and labels are read`);
  }
  return doc as PushFields;
}

function readMultipart(contentType: string, body: Buffer): Promise<Array<[string, string]>> {
  return new Promise((resolve, reject) => {
    const pairs: Array<[string, string]> = [];
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType }, limits: { files: 0, fields: 10 } });
    } catch (err) {
      reject(new HttpError(400, `multipart body cannot be read: ${(err as Error).message}`));
      return;
    }
    parser.on('field', (name, value) => pairs.push([name, value]));
    parser.on('file', (name, stream) => {
      stream.resume();
      reject(new HttpError(400, `field '${name}' is a file: send it as a plain field`));
    });
    parser.on('filesLimit', () => reject(new HttpError(400, 'files are not accepted')));
    parser.on('error', (err: Error) =>
      reject(new HttpError(400, `multipart body cannot be read: ${err.message}`)),
    );
    parser.on('close', () => resolve(pairs));
    Readable.from([body]).pipe(parser);
  });
}
