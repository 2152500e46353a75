export const TOKEN = 'push-token-for-tests';

/** POSTs a form-encoded push and returns status and parsed JSON body. */
export async function push(
  url: string,
  path: string,
  fields: Record<string, string>,
  token: string | null = TOKEN,
): Promise<{ status: number; body: { status?: string; error?: string } }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { ...(token === null ? {} : { 'X-Private-Token': token }) },
    body: new URLSearchParams(fields),
  });
  return { status: res.status, body: (await res.json()) as { status?: string; error?: string } };
}

export async function pushJson(
  url: string,
  path: string,
  body: unknown,
  token: string = TOKEN,
): Promise<{ status: number; body: { status?: string; error?: string } }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'X-Private-Token': token, 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { status?: string; error?: string } };
}
