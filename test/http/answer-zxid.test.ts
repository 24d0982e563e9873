/**
 * A write answered by the backend at a zxid this member has not applied yet (a follower's write,
 * applied at the leader, still on its way here) carries that zxid in Zk-Zxid, so a read sent here
 * with it as Zk-Min-Zxid waits for the write; once applied here, the member's own (later) applied
 * zxid is what the answer carries. The backend is a stand-in: what it answers is what this test decides.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, WriteRequest } from '../../src/backend/backend.ts';
import { defaultConfig } from '../../src/config.ts';
import type { AppDeps } from '../../src/http/app-deps.ts';
import { replyBytes } from '../../src/http/wire/reply-head.ts';
import { setData, type CallRequest } from '../../src/http/znode-calls.ts';
import { createLogger } from '../../src/observability/logger.ts';

const WRITE_ZXID = 2 ** 32 + 9;
const APPLIED_HERE = 2 ** 32 + 3;
const STAT = { czxid: 1, mzxid: WRITE_ZXID, pzxid: 1, ctime: 0, mtime: 0, version: 4, cversion: 0, aversion: 0, ephemeralOwner: 0, dataLength: 3, numChildren: 0 };

function member(appliedZxid: number): { deps: AppDeps; writes: WriteRequest[] } {
  const writes: WriteRequest[] = [];
  const backend = {
    appliedZxid,
    write: (request: WriteRequest) => {
      writes.push(request);
      return Promise.resolve({ ok: true, zxid: WRITE_ZXID, result: { ok: true, results: [{ type: 'setData', path: '/a', stat: STAT }] } });
    },
  } as unknown as Backend;
  const config = { ...defaultConfig({ logLevel: 'silent' }), id: 2 };
  return { deps: { backend, config, logger: createLogger('silent'), nowMs: Date.now } as unknown as AppDeps, writes };
}

const request: CallRequest = {
  method: 'PUT', rawPath: '/v1/znodes/a',
  query: () => undefined,
  header: (name) => (name === 'if-match' ? '"3"' : name === 'zk-request-id' ? 'r-1' : undefined),
  readBody: () => new Uint8Array([1, 2, 3]),
  session: () => 0,
  caller: () => ({ identities: [], address: '127.0.0.1', auth: ['ip:127.0.0.1'] }),
};

const zxidHeader = (text: string) => /\r\nzk-zxid: (\d+)\r\n/.exec(text)?.[1];

describe('a write\'s Zk-Zxid', () => {
  it('is the write\'s zxid when this member has not applied it yet', async () => {
    const { deps, writes } = member(APPLIED_HERE);
    const reply = await setData(deps, request);
    expect(reply).toMatchObject({ status: 200, etag: 4, zxid: WRITE_ZXID });
    expect(zxidHeader(replyBytes(reply, 'PUT', deps.backend.appliedZxid, 5000, Date.now()).text)).toBe(String(WRITE_ZXID));
    expect(writes).toMatchObject([{ ops: [{ type: 'setData', path: '/a', version: 3 }], multi: false, sessionId: 0, requestId: 'r-1' }]);
  });

  it('is this member\'s applied zxid once that is at or past the write\'s', async () => {
    const { deps } = member(WRITE_ZXID + 2);
    const reply = await setData(deps, request);
    expect(zxidHeader(replyBytes(reply, 'PUT', deps.backend.appliedZxid, 5000, Date.now()).text)).toBe(String(WRITE_ZXID + 2));
  });
});
