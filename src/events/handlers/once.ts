import { refLabel } from '../labels.js';
import type { EventResult, MergeEvent, ReleaseEvent } from '../model.js';
import { type HandlerContext, TTL } from './context.js';

/** A merge counts once per merge request; lead time runs from its creation to the merge. */
export async function applyMerge(ctx: HandlerContext, e: MergeEvent): Promise<EventResult> {
  const { tx, families: f } = ctx;
  const key = `merge:${e.source}:${e.project.id}:${e.mergeRequestId}`;
  if (await tx.claimed(key)) return 'duplicate';
  tx.claim(key, TTL.once);
  const labels = [
    e.source,
    e.project.path,
    refLabel({ name: e.targetRef, tag: false, mergeRequest: false }, e.project, ctx.trackedRefs),
  ];
  tx.inc(f.mergesTotal, labels);
  if (e.createdAt !== undefined && e.mergedAt !== undefined && e.mergedAt >= e.createdAt) {
    tx.observe(f.leadTime, labels, e.mergedAt - e.createdAt);
  }
  return 'applied';
}

export async function applyRelease(ctx: HandlerContext, e: ReleaseEvent): Promise<EventResult> {
  const key = `release:${e.source}:${e.project.id}:${e.releaseId}`;
  if (await ctx.tx.claimed(key)) return 'duplicate';
  ctx.tx.claim(key, TTL.once);
  ctx.tx.inc(ctx.families.releases, [e.source, e.project.path]);
  return 'applied';
}
