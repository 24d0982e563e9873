// Runs oracle ops against real ZooKeeper and returns normalized outcomes.
//
// Transport choice: a minimal jute client of our own (zk-wire.ts), not node-zookeeper-client,
// because the latter cannot send create2/createContainer/createTTL/multiRead (see zk-wire.ts).
// Creates go out exactly as the Java client sends them: createContainer (19) for CONTAINER,
// createTTL (21) for the TTL modes or whenever a ttl is given (so the server itself judges a TTL
// on a non-TTL mode), create2 (15) otherwise, also inside multi. There ZooKeeper 3.8 answers a
// create2 with the path only; see createdStat for how its Stat is rebuilt.
// What the Java client refuses before sending, this driver refuses too, with BADARGUMENTS and
// no per-op results: invalid paths (zk-path.ts, a verified port of PathUtils), multis mixing
// reads and writes, and in a write multi a create whose TTL does not fit its mode (Op.validate).
// A single create with a bad TTL goes to the server, which answers BADARGUMENTS itself.
// One contract rule on top (API.md): a read-only multi never fails as a whole, so an invalid
// path there is that op's BADARGUMENTS (the Java client would throw for the whole call).
import { isValidZkPath } from './zk-path.ts';
import { JuteReader, JuteWriter, OpCode, ZkWire, type RawStat, type Reply } from './zk-wire.ts';
import {
  isReadSubOp, isSequential, type CreateMode, type Op, type Outcome, type Stat, type SubOp, type SubResult,
} from './ops.ts';

const ZK_CODE_NAMES: Readonly<Record<number, string>> = {
  0: 'OK', [-1]: 'SYSTEMERROR', [-2]: 'RUNTIMEINCONSISTENCY', [-3]: 'DATAINCONSISTENCY',
  [-4]: 'CONNECTIONLOSS', [-5]: 'MARSHALLINGERROR', [-6]: 'UNIMPLEMENTED', [-7]: 'OPERATIONTIMEOUT',
  [-8]: 'BADARGUMENTS', [-12]: 'UNKNOWNSESSION', [-13]: 'NEWCONFIGNOQUORUM',
  [-14]: 'RECONFIGINPROGRESS', [-100]: 'APIERROR', [-101]: 'NONODE', [-102]: 'NOAUTH',
  [-103]: 'BADVERSION', [-108]: 'NOCHILDRENFOREPHEMERALS', [-110]: 'NODEEXISTS', [-111]: 'NOTEMPTY',
  [-112]: 'SESSIONEXPIRED', [-113]: 'INVALIDCALLBACK', [-114]: 'INVALIDACL', [-115]: 'AUTHFAILED',
  [-118]: 'SESSIONMOVED', [-119]: 'NOTREADONLY', [-120]: 'EPHEMERALONLOCALSESSION',
  [-121]: 'NOWATCHER', [-122]: 'REQUESTTIMEOUT', [-123]: 'RECONFIGDISABLED', [-125]: 'QUOTAEXCEEDED',
  [-127]: 'THROTTLEDOP',
};

export function zkCodeName(code: number): string {
  return ZK_CODE_NAMES[code] ?? `UNKNOWN(${code})`;
}

const FLAGS: Record<CreateMode, number> = {
  persistent: 0, persistent_sequential: 2, container: 4,
  persistent_with_ttl: 5, persistent_sequential_with_ttl: 6,
};

type CreateOp = Extract<SubOp, { op: 'create' }>;

function toStat(raw: RawStat): Stat {
  return { ...raw, ephemeralOwner: raw.ephemeralOwner.toString() };
}

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

function createRequest(op: CreateOp): { type: number; body: Buffer } {
  const w = new JuteWriter().ustring(op.path).buffer(b64(op.data)).openAcl().int(FLAGS[op.mode]);
  if (op.ttl !== undefined || op.mode.endsWith('_with_ttl')) {
    return { type: OpCode.createTTL, body: w.long(BigInt(op.ttl ?? -1)).toBuffer() };
  }
  return { type: op.mode === 'container' ? OpCode.createContainer : OpCode.create2, body: w.toBuffer() };
}

/** The opcode and jute record of one op (top level or inside a multi). */
function encode(op: SubOp | Op): { type: number; body: Buffer } {
  const w = new JuteWriter();
  switch (op.op) {
    case 'create': return createRequest(op);
    case 'setData': return { type: OpCode.setData, body: w.ustring(op.path).buffer(b64(op.data)).int(op.version).toBuffer() };
    case 'delete': return { type: OpCode.delete, body: w.ustring(op.path).int(op.version).toBuffer() };
    case 'check': return { type: OpCode.check, body: w.ustring(op.path).int(op.version).toBuffer() };
    case 'exists': return { type: OpCode.exists, body: w.ustring(op.path).bool(false).toBuffer() };
    case 'getData': return { type: OpCode.getData, body: w.ustring(op.path).bool(false).toBuffer() };
    case 'getChildren': return { type: OpCode.getChildren2, body: w.ustring(op.path).bool(false).toBuffer() };
    case 'multi': throw new Error('multi is encoded by encodeMulti');
  }
}

const TTL_MAX_MS = 2 ** 40 - 1; // EphemeralType.TTL.maxValue()

function pathValid(op: SubOp | Exclude<Op, { op: 'multi' }>): boolean {
  return isValidZkPath(op.path, op.op === 'create' && isSequential(op.mode));
}

function ttlFitsMode(op: SubOp): boolean {
  if (op.op !== 'create') return true;
  if (!op.mode.endsWith('_with_ttl')) return op.ttl === undefined;
  return op.ttl !== undefined && Number.isInteger(op.ttl) && op.ttl > 0 && op.ttl <= TTL_MAX_MS;
}

/** Why the Java client would refuse `op` before sending it, or null. */
function javaClientRefusal(op: Op): string | null {
  if (op.op !== 'multi') return pathValid(op) ? null : 'invalid path (PathUtils)';
  const reads = op.ops.filter(isReadSubOp).length;
  if (reads > 0 && reads < op.ops.length) return 'mixing read and write operations';
  if (reads > 0) return null; // read-only: per op, see readMulti
  if (!op.ops.every(pathValid)) return 'invalid path (PathUtils)';
  if (!op.ops.every(ttlFitsMode)) return 'TTL does not fit the create mode (EphemeralType.validateTTL)';
  return null;
}

function decodeSingle(op: Exclude<Op, { op: 'multi' }>, r: JuteReader): Outcome {
  switch (op.op) {
    case 'create': return { ok: true, path: r.ustring(), stat: toStat(r.stat()) };
    case 'setData': return { ok: true, stat: toStat(r.stat()) };
    case 'delete': return { ok: true };
    case 'exists': return { ok: true, stat: toStat(r.stat()) };
    case 'getData': return { ok: true, data: r.buffer().toString('base64'), stat: toStat(r.stat()) };
    case 'getChildren': return { ok: true, children: r.strings().sort(), stat: toStat(r.stat()) };
  }
}

function encodeMulti(ops: SubOp[]): Buffer {
  const parts: Buffer[] = [];
  for (const sub of ops) {
    const { type, body } = sub.op === 'getChildren'
      ? { type: OpCode.getChildren, body: new JuteWriter().ustring(sub.path).bool(false).toBuffer() }
      : encode(sub);
    parts.push(new JuteWriter().int(type).bool(false).int(-1).toBuffer(), body);
  }
  parts.push(new JuteWriter().int(-1).bool(true).int(-1).toBuffer());
  return Buffer.concat(parts);
}

/**
 * The Stat of a node created by `sub` in the multi with zxid `zxid`. ZooKeeper 3.8 answers a create
 * or create2 inside a multi with the path only (result type create); createContainer and createTTL
 * results carry the at-creation Stat, which is always czxid = mzxid = pzxid = the multi's zxid,
 * versions 0, no children. We rebuild that from the reply header's zxid; the times are unknown
 * (NaN: left out of the time checks).
 */
function createdStat(sub: SubOp, zxid: bigint): Stat {
  const dataLength = sub.op === 'create' ? b64(sub.data).length : 0;
  return {
    czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: NaN, mtime: NaN, version: 0, cversion: 0,
    aversion: 0, ephemeralOwner: '0', dataLength, numChildren: 0,
  };
}

/** One MultiResponse entry: an op result, or an error code (ErrorResult; 0 = OK before a failure). */
function decodeMultiEntry(type: number, sub: SubOp, r: JuteReader, zxid: bigint): SubResult | number {
  switch (type) {
    case OpCode.error: return r.int();
    case OpCode.create: return { op: 'create', path: r.ustring(), stat: createdStat(sub, zxid) };
    case OpCode.create2: case OpCode.createContainer: case OpCode.createTTL:
      return { op: 'create', path: r.ustring(), stat: toStat(r.stat()) };
    case OpCode.setData: return { op: 'setData', stat: toStat(r.stat()) };
    case OpCode.delete: return { op: 'delete' };
    case OpCode.check: return { op: 'check' };
    case OpCode.getData: return { op: 'getData', path: sub.path, data: r.buffer().toString('base64'), stat: toStat(r.stat()) };
    case OpCode.getChildren: return { op: 'getChildren', path: sub.path, children: r.strings().sort() };
    default: throw new Error(`unexpected multi result type ${type}`);
  }
}

function decodeMulti(ops: SubOp[], reply: Reply, readOnly: boolean): Outcome {
  const r = reply.body;
  const entries: (SubResult | number)[] = [];
  for (let i = 0; i <= ops.length; i++) {
    const type = r.int();
    const done = r.bool();
    r.int(); // err, repeated by the ErrorResponse record
    if (done) break;
    const sub = ops[i];
    if (sub === undefined) throw new Error('more multi results than ops');
    entries.push(decodeMultiEntry(type, sub, r, reply.zxid));
  }
  if (readOnly) {
    return {
      ok: true,
      results: entries.map((e, i) => (typeof e === 'number'
        ? { op: ops[i]!.op as 'getData' | 'getChildren', path: ops[i]!.path, code: zkCodeName(e) }
        : e)),
    };
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

export class ZkDriver {
  private constructor(private readonly wire: ZkWire) {}

  static async open(port: number): Promise<ZkDriver> {
    return new ZkDriver(await ZkWire.connect(port));
  }

  async run(op: Op): Promise<Outcome> {
    const refusal = javaClientRefusal(op);
    if (refusal !== null) return { ok: false, code: 'BADARGUMENTS', detail: `Java client: ${refusal}` };
    if (op.op === 'multi') return op.ops.some(isReadSubOp) ? this.readMulti(op.ops) : this.multi(op.ops);
    const { type, body } = encode(op);
    const reply = await this.wire.request(type, body);
    if (reply.err !== 0) return { ok: false, code: zkCodeName(reply.err) };
    return decodeSingle(op, reply.body);
  }

  /** The node's Stat, or null when it does not exist (or its path is invalid). */
  async stat(path: string): Promise<Stat | null> {
    const outcome = await this.run({ op: 'exists', path });
    if (outcome.ok) return outcome.stat ?? null;
    if (outcome.code === 'NONODE' || outcome.code === 'BADARGUMENTS') return null;
    throw new Error(`exists ${path} failed on ZooKeeper: ${outcome.code}`);
  }

  close(): Promise<void> {
    return this.wire.close();
  }

  private async multi(ops: SubOp[]): Promise<Outcome> {
    const reply = await this.wire.request(OpCode.multi, encodeMulti(ops));
    if (reply.err !== 0 && reply.body.remaining === 0) return { ok: false, code: zkCodeName(reply.err) };
    return decodeMulti(ops, reply, false);
  }

  /** multiRead of the ops with valid paths; the others answer BADARGUMENTS in place. */
  private async readMulti(ops: SubOp[]): Promise<Outcome> {
    const sent = ops.filter(pathValid);
    let answers: SubResult[] = [];
    if (sent.length > 0) {
      const reply = await this.wire.request(OpCode.multiRead, encodeMulti(sent));
      if (reply.err !== 0) return { ok: false, code: zkCodeName(reply.err) };
      const outcome = decodeMulti(sent, reply, true);
      answers = outcome.ok ? outcome.results ?? [] : [];
    }
    let next = 0;
    const results = ops.map((sub): SubResult => (pathValid(sub)
      ? answers[next++]!
      : { op: sub.op as 'getData' | 'getChildren', path: sub.path, code: 'BADARGUMENTS' }));
    return { ok: true, results };
  }
}
