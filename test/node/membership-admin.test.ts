// MembershipAdmin's retries (src/node/membership-admin.ts), against a scripted host: a removal the
// core refuses for want of a quorum is asked again for a grace of an election timeout (a live
// voter whose heartbeat answers a loaded machine held up is back within it), and refused with
// NEWCONFIGNOQUORUM once the grace has passed; other refusals of the kind are not retried.
import { describe, expect, it } from 'vitest';
import type { Raft } from '../../src/core/consensus/raft.ts';
import type { ConfChange } from '../../src/core/consensus/conf-change.ts';
import type { ConfChangeRefusal } from '../../src/core/consensus/membership.ts';
import type { MemberDirectory } from '../../src/node/member-directory.ts';
import { MembershipAdmin } from '../../src/node/membership-admin.ts';
import type { MembershipChanged, NodeHost } from '../../src/node/node-host.ts';
import { createLogger } from '../../src/observability/logger.ts';

const REFUSED: ConfChangeRefusal = { ok: false, code: 'QUORUM', message: 'removing 2 would leave 1 recently active voter(s)', leader: 1 };
const DONE: MembershipChanged = { ok: true, index: 9, zxid: 9 };

/** An admin over a host that answers the scripted outcomes in turn (the last one again and again). */
function adminWith(outcomes: Array<MembershipChanged | ConfChangeRefusal>, graceMs: number) {
  const asked: ConfChange[] = [];
  const host = {
    changeMembership: (change: ConfChange) => {
      asked.push(change);
      return Promise.resolve(outcomes[Math.min(asked.length - 1, outcomes.length - 1)]!);
    },
  } as unknown as NodeHost;
  const raft = {
    clusterConfig: () => ({ voters: [1, 3], learners: [] }),
    status: () => ({ id: 1, role: 'leader', leader: 1, lastIndex: 9 }),
    followers: () => new Map(),
    recentlyActive: () => true,
  } as unknown as Raft;
  const admin = new MembershipAdmin({
    raft, host, directory: { addressOf: () => undefined } as unknown as MemberDirectory, logger: createLogger('silent'),
    nowMs: () => Date.now(), retryMs: 5, quorumGraceMs: graceMs, clustered: true,
  });
  return { admin, asked };
}

describe('MembershipAdmin.remove', () => {
  it('asks again when the quorum is short a moment, and commits once the voters answer', async () => {
    const { admin, asked } = adminWith([REFUSED, REFUSED, DONE], 2000);
    expect(await admin.remove(2, 10_000)).toMatchObject({ index: 9, zxid: 9 });
    expect(asked).toHaveLength(3);
  });

  it('refuses with NEWCONFIGNOQUORUM once the quorum stayed short for the grace, well before its deadline', async () => {
    const { admin, asked } = adminWith([REFUSED], 50);
    const started = Date.now();
    expect(await admin.remove(2, 30_000)).toMatchObject({ code: 'NEWCONFIGNOQUORUM' });
    expect(asked.length).toBeGreaterThan(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('MembershipAdmin.promote', () => {
  it('does not retry a promotion refused for want of a quorum', async () => {
    const { admin, asked } = adminWith([REFUSED, DONE], 2000);
    expect(await admin.promote(2, 10_000)).toMatchObject({ code: 'NEWCONFIGNOQUORUM' });
    expect(asked).toHaveLength(1);
  });
});
