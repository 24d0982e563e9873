/**
 * onPathEvent (src/client/recipes/sequential.ts): the per-session routing of watch events to the
 * recipes' listeners by path. Pure: a stand-in session that only takes onEvent listeners.
 */
import { describe, expect, it } from 'vitest';
import type { CorralSession } from '../../../src/client/index.ts';
import { onPathEvent } from '../../../src/client/recipes/sequential.ts';

type Listener = (event: { type: string; path: string }) => void;

function standInSession(): { session: CorralSession; emit: (type: string, path: string) => void } {
  const listeners: Listener[] = [];
  const session = { onEvent: (listener: Listener) => void listeners.push(listener) } as unknown as CorralSession;
  return { session, emit: (type, path) => listeners.forEach((l) => l({ type, path })) };
}

describe('onPathEvent', () => {
  it('routes a path\'s events to its listeners only, until each is removed', () => {
    const { session, emit } = standInSession();
    const seen: string[] = [];
    const offA = onPathEvent(session, '/a', (e) => seen.push(`a ${e.type}`));
    onPathEvent(session, '/b', (e) => seen.push(`b ${e.type}`));
    emit('NodeDataChanged', '/a');
    offA();
    emit('NodeDeleted', '/a');
    emit('NodeDeleted', '/b');
    expect(seen).toEqual(['a NodeDataChanged', 'b NodeDeleted']);
  });

  it('keeps a later listener of the same path when an earlier one is removed twice', () => {
    const { session, emit } = standInSession();
    const seen: string[] = [];
    const offFirst = onPathEvent(session, '/lock/n-1', () => seen.push('first'));
    offFirst(); // e.g. the deletion event arrived...
    onPathEvent(session, '/lock/n-1', (e) => seen.push(`second ${e.type}`));
    offFirst(); // ...and then the read's 404 said the same again
    emit('NodeDeleted', '/lock/n-1');
    expect(seen).toEqual(['second NodeDeleted']);
  });
});
