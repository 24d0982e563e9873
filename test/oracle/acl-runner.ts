// Runs ACL op sequences against ZooKeeper and Corral, one op at a time. A difference after which
// both trees may still be equal (a read, or an op that failed on both sides) is recorded and the
// run goes on, so one run reports several independent differences; any other difference ends the
// run (the trees may have diverged). Outcomes are compared as the main oracle compares them
// (compare.ts: codes, failedOp and per-op codes of a multi, data, children, Stats with zxids by
// rank, aversion included) plus the ACL of a getACL, entry by entry in order, perms as
// ZooKeeper's bitmask.
//
// Where ZooKeeper 3.9 (which Corral follows) differs from the installed ZooKeeper, the rule is
// named in KNOWN_DIFFERENCES and applied explicitly: the runner derives the 3.9 answer from the
// installed server's own answers, compares Corral with that, and records every op where the
// rule changed the expected answer (the tests print and check those records). Nothing is skipped.
import { SideNormalizer, sameOutcome, show } from './compare.ts';
import { ACTORS, AclSequence, describeAclOp, resolveAclVersions, type AclOp, type VersionSpec } from './acl-ops.ts';
import type { AclOutcome, AclSide } from './acl-zk-driver.ts';

export interface KnownDifference {
  /** The rule Corral follows. */
  readonly rule: string;
  /** The ZooKeeper releases that have it. */
  readonly since: string;
  /** What the installed ZooKeeper does instead, and why. */
  readonly installed: string;
  /** How the test handles it. */
  readonly handling: string;
}

/** Every place the installed ZooKeeper (Debian 3.8.0-11+deb12u2) is not the reference for Corral. */
export const KNOWN_DIFFERENCES = {
  EXISTS_NEEDS_READ: {
    rule: 'exists on an existing node needs READ on it: NOAUTH without (ZOOKEEPER-2590); a missing node is NONODE with no ACL check',
    since: 'ZooKeeper 3.8.4 and 3.9.2 (absent from 3.8.0-3.8.3 and 3.9.0-3.9.1)',
    installed: 'Debian 3.8.0-11+deb12u2 backports the CVE-2024-23944 watch filter but not ZOOKEEPER-2590: ' +
      'FinalRequestProcessor has no checkACL before statNode, so exists answers the Stat to anyone',
    handling: 'for each exists the runner also sends getData by the same actor to ZooKeeper (getData checks exactly ' +
      'READ on the node, in 3.8.0 too); where exists succeeded but getData answered NOAUTH, the expected (3.9) ' +
      'answer is NOAUTH. Corral is compared with that, and each such op is recorded',
  },
  ONE_IDENTITY_PER_REQUEST: {
    rule: 'a ZooKeeper connection accumulates identities (addauth twice: ACL checks see both; `auth` expands to both)',
    since: 'every ZooKeeper version',
    installed: 'ZooKeeper does this; Corral takes one credential per HTTP request (one Authorization header: Basic ' +
      'or Bearer) and has no addauth, so a bob+alice actor cannot be expressed',
    handling: 'the combined actor is left out of the random sequences; a dedicated test checks ZooKeeper\'s ' +
      'union semantics on one connection and that Corral refuses two credentials in one request (AUTHFAILED), ' +
      'rather than silently using one of them',
  },
} as const satisfies Record<string, KnownDifference>;

export type KnownDifferenceName = keyof typeof KNOWN_DIFFERENCES;

/** One op where a KNOWN_DIFFERENCES rule changed what Corral must answer. */
export interface KnownHit {
  difference: KnownDifferenceName;
  seed: number | string;
  opIndex: number;
  op: string;
  installed: string;
  expected: string;
}

export interface AclMismatch {
  /** Both trees are still equal after it: the op is a read, or failed on both sides. */
  harmless: boolean;
  seed: number | string;
  opIndex: number;
  op: string;
  zk: unknown;
  corral: unknown;
  corralRaw?: AclOutcome;
  note: string;
  history: string[];
}

/** One compared step: the op as sent and both normalized outcomes (ZooKeeper's with any 3.9 rule applied). */
export interface AclStepRecord {
  op: AclOp;
  zk: AclOutcome;
  corral: AclOutcome;
  known?: KnownDifferenceName;
}

/** What runSteps leaves behind: the differences, the ops compared, the known-difference hits. */
export interface AclRunReport {
  mismatches: AclMismatch[];
  /** Whether the run ended early, at its last mismatch (the trees may differ after it). */
  stopped: boolean;
  compared: number;
  hits: KnownHit[];
  records: AclStepRecord[];
}

/** Reads by every actor of every universe path, appended to each random sequence: hidden state shows here. */
export function auditOps(root: string): AclOp<VersionSpec>[] {
  const paths = ['', '/a', '/a/b', '/a/b/c', '/b', '/b/d', '/c'].map((p) => root + p);
  return paths.flatMap((path) => ACTORS.flatMap((actor): AclOp<VersionSpec>[] => [
    { actor, op: 'getACL', path }, { actor, op: 'getData', path }, { actor, op: 'getChildren', path },
  ]));
}

const READS = new Set<AclOp['op']>(['getData', 'getChildren', 'exists', 'getACL']);
const MISMATCHES_PER_RUN_MAX = 20;

const printOutcome = (o: unknown): string => show(o).replace(/"id":"([^":]*:..)[^"]{20,}"/g, '"id":"$1…"');

export class AclPairRunner {
  private readonly zkNorm = new SideNormalizer('ZooKeeper');
  private readonly corralNorm = new SideNormalizer('Corral');
  private readonly history: string[] = [];
  private readonly hits: KnownHit[] = [];
  private readonly records: AclStepRecord[] = [];
  private compared = 0;

  constructor(private readonly zk: AclSide, private readonly corral: AclSide, private readonly seed: number | string) {}

  runSteps(steps: readonly AclOp<VersionSpec>[]): Promise<AclRunReport> {
    return this.run(steps.length, (i) => steps[i]!);
  }

  /** Runs `count` ops drawn from `next` (given each op's index), telling `observe` what ZooKeeper answered. */
  async run(
    count: number, next: (index: number) => AclOp<VersionSpec>, observe?: (op: AclOp, installed: AclOutcome) => void,
  ): Promise<AclRunReport> {
    const mismatches: AclMismatch[] = [];
    let stopped = false;
    for (let i = 0; i < count; i++) {
      const { mismatch, op, installed } = await this.step(i, next(i));
      observe?.(op, installed);
      if (mismatch === null) continue;
      mismatches.push(mismatch);
      if (!mismatch.harmless || mismatches.length >= MISMATCHES_PER_RUN_MAX) {
        stopped = i < count - 1;
        break;
      }
    }
    return { mismatches, stopped, compared: this.compared, hits: [...this.hits], records: [...this.records] };
  }

  /** Resolves, sends and compares one op; `installed` is the installed ZooKeeper's own answer. */
  private async step(index: number, planned: AclOp<VersionSpec>): Promise<{ mismatch: AclMismatch | null; op: AclOp; installed: AclOutcome }> {
    const op = await resolveAclVersions(planned, (path) => this.zk.stat(path));
    const installed = await this.zk.run(op);
    const { expected, known } = await this.expectedOf(op, installed);
    const corralOut = await this.corral.run(op);
    const line = describeAclOp(op);
    this.history.push(`#${index} ${line}${known === undefined ? '' : ` [${known}]`}`);
    this.compared++;
    const zk = this.zkNorm.normalize(expected) as AclOutcome;
    const corral = this.corralNorm.normalize(corralOut) as AclOutcome;
    this.records.push(known === undefined ? { op, zk, corral } : { op, zk, corral, known });
    if (known !== undefined) {
      this.hits.push({ difference: known, seed: this.seed, opIndex: index, op: line, installed: printOutcome(installed), expected: printOutcome(expected) });
    }
    const violations = [...this.zkNorm.violations, ...this.corralNorm.violations];
    if (sameOutcome(zk, corral) && violations.length === 0) return { mismatch: null, op, installed };
    const note = [
      ...(known === undefined ? [] : [`ZooKeeper's answer is the ${known} rule's (installed ZooKeeper answered ${printOutcome(installed)})`]),
      ...violations,
    ].join('; ');
    const harmless = READS.has(op.op) || (!zk.ok && !corral.ok);
    return { op, installed, mismatch: { harmless, seed: this.seed, opIndex: index, op: line, zk, corral, corralRaw: corralOut, note, history: [...this.history] } };
  }

  /** The answer Corral must give: the installed ZooKeeper's, with the 3.9 rules of KNOWN_DIFFERENCES applied. */
  private async expectedOf(op: AclOp, installed: AclOutcome): Promise<{ expected: AclOutcome; known?: KnownDifferenceName }> {
    if (op.op !== 'exists' || !installed.ok) return { expected: installed };
    const read = await this.zk.run({ actor: op.actor, op: 'getData', path: op.path });
    if (read.ok) return { expected: installed };
    if (read.code !== 'NOAUTH') throw new Error(`getData ${op.path} right after a successful exists answered ${read.code}`);
    return { expected: { ok: false, code: 'NOAUTH' }, known: 'EXISTS_NEEDS_READ' };
  }
}

/** One random sequence (its root, `count` random ops, then the audit reads) on both sides. */
export function runAclSeed(zk: AclSide, corral: AclSide, seed: number, count: number): Promise<AclRunReport> {
  const sequence = new AclSequence(seed);
  const audit = auditOps(sequence.root);
  return new AclPairRunner(zk, corral, seed).run(
    1 + count + audit.length,
    (i) => (i <= count ? sequence.next() : audit[i - count - 1]!),
    (op, installed) => sequence.observe(op, installed),
  );
}

export function formatAclMismatch(m: AclMismatch, opsPerRun?: number, historyLines = 30): string {
  const replay = typeof m.seed === 'number' && opsPerRun !== undefined
    ? `  replay: ORACLE_SEED=${m.seed} ORACLE_RUNS=1 ACL_ORACLE_OPS=${opsPerRun} npx vitest run test/oracle/acl.e2e.test.ts\n` : '';
  return [
    `${typeof m.seed === 'number' ? `seed ${m.seed}` : m.seed}, op #${m.opIndex}: ${m.op}`,
    `  ZooKeeper: ${printOutcome(m.zk)}`,
    `  Corral:    ${printOutcome(m.corral)}`,
    ...(m.corralRaw !== undefined && !m.corralRaw.ok && m.corralRaw.detail !== undefined ? [`  Corral detail: ${m.corralRaw.detail}`] : []),
    ...(m.note !== '' ? [`  note: ${m.note}`] : []),
    replay + `  ops up to here (last ${historyLines}):`,
    ...m.history.slice(-historyLines).map((h) => `    ${h}`),
  ].join('\n');
}

