// The session oracle's check of a close's event order (closeOrderProblem), on hand-made lists.
import { describe, expect, it } from 'vitest';
import type { WatchEvent } from './session-ops.ts';
import { closeOrderProblem } from './session-runner.ts';

const nd = (path: string): WatchEvent => ({ type: 'NodeDeleted', path });
const ncc = (path: string): WatchEvent => ({ type: 'NodeChildrenChanged', path });
const deleted = ['/r/p/e1', '/r/p/e2', '/r/q'];

describe('closeOrderProblem', () => {
  it('accepts the events of any one deletion order, seen by several sessions', () => {
    expect(closeOrderProblem('x', [
      [nd('/r/p/e2'), ncc('/r/p'), nd('/r/p/e1')],
      [nd('/r/p/e2'), nd('/r/q'), ncc('/r')],
      [],
      [nd('/r/p/e1')],
    ], deleted)).toBeNull();
    expect(closeOrderProblem('x', [[ncc('/r/p'), nd('/r/p/e1')]], deleted)).toBeNull(); // e2 (unwatched) went first
  });

  it('refuses a parent event before the deletion of its only watched-and-deleted first child', () => {
    expect(closeOrderProblem('x', [[ncc('/r'), nd('/r/q')]], deleted)).not.toBeNull();
    expect(closeOrderProblem('x', [[ncc('/r/p'), nd('/r/p/e1'), nd('/r/p/e2')]], deleted)).not.toBeNull();
  });

  it('refuses a parent event that is not right after its first child deletion', () => {
    expect(closeOrderProblem('x', [[nd('/r/p/e1'), nd('/r/q'), ncc('/r/p')]], deleted)).not.toBeNull();
  });

  it('refuses sessions that disagree on the order, duplicates and unrelated events', () => {
    expect(closeOrderProblem('x', [[nd('/r/p/e1'), nd('/r/q')], [nd('/r/q'), nd('/r/p/e1')]], deleted)).not.toBeNull();
    expect(closeOrderProblem('x', [[nd('/r/q'), nd('/r/q')]], deleted)).not.toBeNull();
    expect(closeOrderProblem('x', [[nd('/r/other')]], deleted)).not.toBeNull();
    expect(closeOrderProblem('x', [[ncc('/r/q')]], deleted)).not.toBeNull();
  });
});
