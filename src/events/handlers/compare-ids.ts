/**
 * Order of two GitLab or GitHub ids (pipeline, deployment, attempt): numerically when both are
 * numbers (both services hand them out growing), else as strings. Ties of equal finish times are
 * broken by it, so that the result does not depend on arrival order.
 */
export function compareIds(a: string, b: string): number {
  const [x, y] = [Number(a), Number(b)];
  if (Number.isFinite(x) && Number.isFinite(y) && x !== y) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}
