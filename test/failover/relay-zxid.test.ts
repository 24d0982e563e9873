/**
 * A plain write relayed by a follower is answered once the follower has applied it (read your
 * writes there); past the bound the answer still goes out, carrying the write's zxid in Zk-Zxid
 * even though the follower's own applied zxid is older, so a read sent here with it as
 * Zk-Min-Zxid waits for the write. The leader and the follower's host are stand-ins: whether the
 * follower applies in time is what this test decides.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.ts';
import type { AppDeps } from '../../src/http/app-deps.ts';
import { relayPlainWrite } from '../../src/http/forward.ts';
import { replyBytes } from '../../src/http/wire/reply-head.ts';
import type { CallRequest } from '../../src/http/znode-calls.ts';
import { createLogger } from '../../src/observability/logger.ts';

const WRITE_ZXID = 2 ** 32 + 9;
const APPLIED_HERE = 2 ** 32 + 3;

function follower(appliesInTime: boolean): { deps: AppDeps; forwarded: unknown[] } {
  const forwarded: unknown[] = [];
  const node = {
    peers: {
      forward: (leader: number, request: unknown) => {
        forwarded.push({ leader, request });
        return Promise.resolve({
          ok: true,
          response: {
            status: 200,
            headers: [['zk-zxid', String(WRITE_ZXID)], ['etag', '"4"'], ['content-type', 'application/json'], ['x-other', 'dropped']],
            body: Buffer.from('{"path":"/a","stat":{}}'),
          },
        });
      },
    },
    host: {
      // Applied in time: this member is at the write or past it; else still before it.
      appliedZxid: appliesInTime ? WRITE_ZXID + 2 : APPLIED_HERE,
      waitForApplied: (zxid: number) => (appliesInTime ? Promise.resolve() : Promise.reject(new Error(`${zxid} not applied within the bound`))),
    },
  };
  const config = { ...defaultConfig({ logLevel: 'silent' }), id: 2, minZxidWaitMs: 5 };
  return { deps: { node, config, logger: createLogger('silent'), nowMs: Date.now } as unknown as AppDeps, forwarded };
}

const setData: CallRequest = {
  method: 'PUT', rawPath: '/v1/znodes/a',
  query: () => undefined,
  header: (name) => (name === 'if-match' ? '"3"' : undefined),
  readBody: () => new Uint8Array([1, 2, 3]),
  session: () => 0,
};

const zxidHeader = (text: string) => /\r\nzk-zxid: (\d+)\r\n/.exec(text)?.[1];

describe('relayPlainWrite', () => {
  it('answers with the write\'s zxid in Zk-Zxid when the follower has not applied it within the bound', async () => {
    const { deps, forwarded } = follower(false);
    const reply = await relayPlainWrite(deps, 1, setData, '/v1/znodes/a');
    expect(reply).toMatchObject({ status: 200, etag: 4, zxid: WRITE_ZXID, jsonText: '{"path":"/a","stat":{}}' });
    expect(zxidHeader(replyBytes(reply, 'PUT', deps.node.host.appliedZxid, 5000, Date.now()).text)).toBe(String(WRITE_ZXID));
    expect(forwarded).toMatchObject([{ leader: 1, request: { method: 'PUT', target: '/v1/znodes/a', headers: [['if-match', '"3"'], ['zk-forwarded-by', '2']] } }]);
  });

  it('answers with this member\'s applied zxid, at or past the write\'s, once it has applied the write', async () => {
    const { deps } = follower(true);
    const reply = await relayPlainWrite(deps, 1, setData, '/v1/znodes/a');
    expect(reply.zxid).toBeUndefined();
    expect(zxidHeader(replyBytes(reply, 'PUT', deps.node.host.appliedZxid, 5000, Date.now()).text)).toBe(String(WRITE_ZXID + 2));
  });
});
