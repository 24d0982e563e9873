// The ZooKeeper side of the ACL oracle: one jute connection (zk-wire.ts) per actor, the
// authenticated ones after `addauth digest user:password`, each op sent on its actor's
// connection exactly as the Java client sends it (create2 with the ACL vector, getACL, setACL,
// multi with create2 entries). Results come back in the outcome shape of ops.ts plus `acl`.
import { zkCodeName } from './zk-driver.ts';
import { JuteWriter, OpCode, ZkWire, type JuteReader, type RawStat } from './zk-wire.ts';
import { CREDENTIALS, type AclEntry, type AclOp, type AclSubOp, type Actor } from './acl-ops.ts';
import type { Outcome, Stat, SubResult } from './ops.ts';

/** An op's outcome: ops.ts's Outcome, with the ACL of a getACL. */
export type AclOutcome = Outcome & { acl?: AclEntry[] };

/** One side of the ACL comparison. */
export interface AclSide {
  readonly name: string;
  run(op: AclOp): Promise<AclOutcome>;
  /** The node's Stat as an actor with no identity sees it, or null when it does not exist. */
  stat(path: string): Promise<Stat | null>;
  close(): Promise<void>;
}

const toStat = (raw: RawStat): Stat => ({ ...raw, ephemeralOwner: raw.ephemeralOwner.toString() });
const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

export function writeAcl(w: JuteWriter, acl: readonly AclEntry[]): JuteWriter {
  w.int(acl.length);
  for (const e of acl) w.int(e.perms).ustring(e.scheme).ustring(e.id);
  return w;
}

export function readAcl(r: JuteReader): AclEntry[] {
  const n = r.int();
  const acl: AclEntry[] = [];
  for (let i = 0; i < n; i++) acl.push({ perms: r.int(), scheme: r.ustring(), id: r.ustring() });
  return acl;
}

/** The opcode and jute record of one op (top level or inside a multi). */
function encode(op: AclSubOp | AclOp, watch = false): { type: number; body: Buffer } {
  const w = new JuteWriter();
  switch (op.op) {
    case 'create': return { type: OpCode.create2, body: writeAcl(w.ustring(op.path).buffer(b64(op.data)), op.acl).int(0).toBuffer() };
    case 'setData': return { type: OpCode.setData, body: w.ustring(op.path).buffer(b64(op.data)).int(op.version).toBuffer() };
    case 'delete': return { type: OpCode.delete, body: w.ustring(op.path).int(op.version).toBuffer() };
    case 'check': return { type: OpCode.check, body: w.ustring(op.path).int(op.version).toBuffer() };
    case 'exists': return { type: OpCode.exists, body: w.ustring(op.path).bool(watch).toBuffer() };
    case 'getData': return { type: OpCode.getData, body: w.ustring(op.path).bool(watch).toBuffer() };
    case 'getChildren': return { type: OpCode.getChildren2, body: w.ustring(op.path).bool(watch).toBuffer() };
    case 'getACL': return { type: OpCode.getACL, body: w.ustring(op.path).toBuffer() };
    case 'setACL': return { type: OpCode.setACL, body: writeAcl(w.ustring(op.path), op.acl).int(op.version).toBuffer() };
    case 'multi': throw new Error('multi is encoded by encodeMulti');
  }
}

function decodeSingle(op: Exclude<AclOp, { op: 'multi' }>, r: JuteReader): AclOutcome {
  switch (op.op) {
    case 'create': return { ok: true, path: r.ustring(), stat: toStat(r.stat()) };
    case 'setData': case 'setACL': case 'exists': return { ok: true, stat: toStat(r.stat()) };
    case 'delete': return { ok: true };
    case 'getData': return { ok: true, data: r.buffer().toString('base64'), stat: toStat(r.stat()) };
    case 'getChildren': return { ok: true, children: r.strings().sort(), stat: toStat(r.stat()) };
    case 'getACL': return { ok: true, acl: readAcl(r), stat: toStat(r.stat()) };
  }
}

function encodeMulti(ops: AclSubOp[]): Buffer {
  const parts: Buffer[] = [];
  for (const sub of ops) {
    const { type, body } = encode(sub);
    parts.push(new JuteWriter().int(type).bool(false).int(-1).toBuffer(), body);
  }
  parts.push(new JuteWriter().int(-1).bool(true).int(-1).toBuffer());
  return Buffer.concat(parts);
}

/**
 * ZooKeeper 3.8 answers a create2 inside a multi with the path only (result type create); the
 * at-creation Stat is rebuilt from the multi's zxid, as zk-driver.ts does (times unknown: NaN).
 */
function createdStat(sub: AclSubOp, zxid: bigint): Stat {
  return {
    czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: NaN, mtime: NaN, version: 0, cversion: 0, aversion: 0,
    ephemeralOwner: '0', dataLength: sub.op === 'create' ? b64(sub.data).length : 0, numChildren: 0,
  };
}

function decodeMulti(ops: AclSubOp[], r: JuteReader, zxid: bigint): AclOutcome {
  const entries: (SubResult | number)[] = [];
  for (let i = 0; i <= ops.length; i++) {
    const type = r.int();
    const done = r.bool();
    r.int(); // err, repeated by the ErrorResponse record
    if (done) break;
    const sub = ops[i];
    if (sub === undefined) throw new Error('more multi results than ops');
    switch (type) {
      case OpCode.error: entries.push(r.int()); break;
      case OpCode.create: entries.push({ op: 'create', path: r.ustring(), stat: createdStat(sub, zxid) }); break;
      case OpCode.create2: entries.push({ op: 'create', path: r.ustring(), stat: toStat(r.stat()) }); break;
      case OpCode.setData: entries.push({ op: 'setData', stat: toStat(r.stat()) }); break;
      case OpCode.delete: entries.push({ op: 'delete' }); break;
      case OpCode.check: entries.push({ op: 'check' }); break;
      default: throw new Error(`unexpected multi result type ${type}`);
    }
  }
  const failedOp = entries.findIndex((e) => typeof e === 'number' && e !== 0);
  if (failedOp < 0) return { ok: true, results: entries as SubResult[] };
  return {
    ok: false,
    code: zkCodeName(entries[failedOp] as number),
    failedOp,
    results: entries.map((e, i) => ({ op: ops[i]!.op, code: typeof e === 'number' ? zkCodeName(e) : 'OK' })),
  };
}

/** One actor's ZooKeeper connection. */
export class ZkActor {
  private constructor(readonly wire: ZkWire) {}

  /** Connects and adds each `user:password` as a digest identity, in order. */
  static async open(port: number, userPasswords: readonly string[]): Promise<ZkActor> {
    const wire = await ZkWire.connect(port);
    for (const up of userPasswords) {
      const err = await wire.addAuth('digest', Buffer.from(up, 'utf8'));
      if (err !== 0) throw new Error(`addauth digest ${up} answered ${zkCodeName(err)}`);
    }
    return new ZkActor(wire);
  }

  /** Runs one op; `watch` sets a one-shot watch on getData, getChildren and exists. */
  async run(op: AclOp, watch = false): Promise<AclOutcome> {
    if (op.op === 'multi') {
      const reply = await this.wire.request(OpCode.multi, encodeMulti(op.ops));
      if (reply.err !== 0 && reply.body.remaining === 0) return { ok: false, code: zkCodeName(reply.err) };
      return decodeMulti(op.ops, reply.body, reply.zxid);
    }
    const { type, body } = encode(op, watch);
    const reply = await this.wire.request(type, body);
    if (reply.err !== 0) return { ok: false, code: zkCodeName(reply.err) };
    return decodeSingle(op, reply.body);
  }

  close(): Promise<void> {
    return this.wire.close();
  }
}

export class ZkAclSide implements AclSide {
  readonly name = 'ZooKeeper';

  private constructor(private readonly actors: Readonly<Record<Actor, ZkActor>>) {}

  static async open(port: number): Promise<ZkAclSide> {
    const opened: ZkActor[] = [];
    try {
      for (const creds of [[], [CREDENTIALS.bob], [CREDENTIALS.alice]]) opened.push(await ZkActor.open(port, creds));
    } catch (err) {
      await Promise.all(opened.map((a) => a.close()));
      throw err;
    }
    const [anon, bob, alice] = opened as [ZkActor, ZkActor, ZkActor];
    return new ZkAclSide({ anon, bob, alice });
  }

  actor(actor: Actor): ZkActor {
    return this.actors[actor];
  }

  run(op: AclOp): Promise<AclOutcome> {
    return this.actors[op.actor].run(op);
  }

  /** exists by the anonymous actor: ZooKeeper 3.8.0 checks no ACL on exists, so it sees every node. */
  async stat(path: string): Promise<Stat | null> {
    const out = await this.actors.anon.run({ actor: 'anon', op: 'exists', path });
    if (out.ok) return out.stat ?? null;
    if (out.code === 'NONODE') return null;
    throw new Error(`exists ${path} failed on ZooKeeper: ${out.code}`);
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.actors).map((a) => a.close()));
  }
}
