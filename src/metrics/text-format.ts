/** Prometheus text exposition format 0.0.4, the parts shared by every renderer. */

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NEEDS_ESCAPE = /[\\"\n]/;

export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

export function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'));
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** `a="x",b="y"` for the given names and values (no braces); empty string when there are none. */
export function formatLabelPairs(names: readonly string[], values: readonly string[]): string {
  let out = '';
  for (let i = 0; i < names.length; i++) {
    out += `${i === 0 ? '' : ','}${names[i]}="${escapeLabelValue(values[i] ?? '')}"`;
  }
  return out;
}

/** `{a="x",b="y"}` for the given names and values; empty string when there are none. */
export function formatLabels(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/** OpenMetrics 1.0, for clients that ask for it in `Accept` (Prometheus does, first). */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type ExpositionFormat = 'text' | 'openmetrics';

/** OpenMetrics ends with this line; text 0.0.4 has no end marker. */
export const OPENMETRICS_EOF = '# EOF\n';

/**
 * The format to answer in: OpenMetrics when `Accept` names it with a weight at least that of
 * text/plain (and of wildcards), else text 0.0.4, which is also the answer without `Accept`.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || accept === '') return 'text';
  let openMetrics = 0;
  let text = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    let q = 1;
    for (const p of params) if (p.startsWith('q=')) q = Number(p.slice(2));
    if (!Number.isFinite(q)) q = 0;
    if (type === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') text = Math.max(text, q);
  }
  return openMetrics > 0 && openMetrics >= text ? 'openmetrics' : 'text';
}

/** OpenMetrics escapes `"` in help text as well as what text 0.0.4 escapes. */
const openMetricsHelp = (name: string, escapedHelp: string) =>
  `# HELP ${name} ${escapedHelp.replace(/"/g, '\\"')}\n`;

/**
 * A family's HELP and TYPE in OpenMetrics, from the name, help (already escaped as text 0.0.4
 * escapes it) and type of text 0.0.4: a counter's family name drops `_total`, which its samples
 * keep; `untyped`, and a counter whose name lacks `_total`, are `unknown`. The sample lines are
 * the same in both formats.
 */
function openMetricsDescriptor(name: string, escapedHelp: string | undefined, type: string): string {
  let family = name;
  let kind = type;
  if (type === 'counter') {
    if (name.endsWith('_total')) family = name.slice(0, -'_total'.length);
    else kind = 'unknown';
  } else if (type === 'untyped') kind = 'unknown';
  return `${escapedHelp === undefined ? '' : openMetricsHelp(family, escapedHelp)}# TYPE ${family} ${kind}\n`;
}

export function openMetricsHeader(name: string, help: string, type: string): string {
  return openMetricsDescriptor(name, escapeHelp(help), type);
}

/** Text 0.0.4 (prom-client's own metrics) as OpenMetrics, without the final `# EOF`. */
export function toOpenMetrics(text: string): string {
  let out = '';
  // A HELP line waits for its TYPE line, which decides the family name.
  let help: { name: string; text: string } | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const h = /^# HELP (\S+) ?(.*)$/.exec(line);
    const t = h === null ? /^# TYPE (\S+) (\S+)$/.exec(line) : null;
    const name = t?.[1] ?? '';
    if (help !== undefined && (h !== null || help.name !== name))
      out += openMetricsHelp(help.name, help.text);
    if (h !== null) help = { name: h[1] ?? '', text: h[2] ?? '' };
    else if (t !== null) {
      out += openMetricsDescriptor(name, help?.name === name ? help.text : undefined, t[2] ?? 'untyped');
      help = undefined;
    } else {
      help = undefined;
      out += `${line}\n`;
    }
  }
  return help === undefined ? out : out + openMetricsHelp(help.name, help.text);
}
