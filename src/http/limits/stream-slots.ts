/**
 * Event streams held open: every session stream and /v1/watch stream takes a slot, within the
 * node's limit (maxStreams) and its caller's (maxStreamsPerCaller, by the caller's strongest
 * identity, else its address). The slot is taken when the request is answered, before the
 * stream starts (sse-sink starts it later), and given back when the stream ends or its response
 * closes, whichever comes first: a client that leaves before the stream starts frees it too.
 */
import type { Context } from 'hono';
import type { AppDeps } from '../app-deps.ts';
import { callerOfContext } from '../caller.ts';
import { errorResponse } from '../errors.ts';
import { limitKeyOf } from './caller-key.ts';
import { KeyedSlots, type Release } from './keyed-slots.ts';
import { throttled } from './refusal.ts';

const slotsByDeps = new WeakMap<AppDeps, KeyedSlots>();

export function streamSlotsOf(deps: AppDeps): KeyedSlots {
  let slots = slotsByDeps.get(deps);
  if (!slots) {
    const { maxStreams, maxStreamsPerCaller } = deps.config;
    slotsByDeps.set(deps, (slots = new KeyedSlots({ total: maxStreams, perKey: maxStreamsPerCaller })));
  }
  return slots;
}

/** The limit key of the request's caller. */
export function streamKeyOf(c: Context): string {
  return limitKeyOf(callerOfContext(c).auth);
}

/** A slot for a stream of `key`, or the 429 that refuses it (counted in the metrics). */
export function takeStreamSlot(c: Context, deps: AppDeps, key: string): Release | Response {
  const slot = streamSlotsOf(deps).acquire(key);
  if (typeof slot === 'function') return slot;
  const refusal = slot === 'total'
    ? throttled('streams', `at most ${deps.config.maxStreams} event streams`)
    : throttled('streams_per_caller', `at most ${deps.config.maxStreamsPerCaller} event streams per caller`);
  deps.metrics.limitRefused(refusal.limit);
  return errorResponse(c, refusal);
}

/** Calls `listener` once the Node response of `c` closes (finished, or the client went away). */
export function onResponseClosed(c: Context, listener: () => void): void {
  const outgoing = (c.env as { outgoing?: { once(event: 'close', listener: () => void): unknown } } | undefined)?.outgoing;
  outgoing?.once('close', listener);
}
