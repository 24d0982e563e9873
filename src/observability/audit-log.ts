/**
 * The audit log (ZooKeeper 3.6's, off by default): one JSON line per write op, ACL change and
 * session end, with ZooKeeper's fields (session, user, ip, operation, znode, znode_type, acl,
 * result) plus the zxid and the caller's full identities, written to its own file. An applier: every
 * member records every applied write the same way, whichever member the client talked to (ZooKeeper
 * logs on the server the client is connected to). Only what is applied while the node serves is
 * recorded: a restart's replay of its log is not audited again.
 * The file is its owner's only (0600): it names every caller and holds digest identities.
 */
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import { makePrivateFiles, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../storage/file-modes.ts';
import { formatAcl } from '../core/acl/acl.ts';
import type { ApplyOutput, OpResult } from '../core/tree/results.ts';
import { isWriteResult } from '../core/tree/results.ts';
import type { TxnEnvelope, WriteOp } from '../core/tree/txn.ts';
import type { Applier } from '../node/applier.ts';

/** ZooKeeper's audit fields (AuditEvent), as JSON, with the zxid and the full identities. */
export interface AuditLine {
  readonly zxid: string;
  readonly session?: string;
  /** ZooKeeper's `user`: each identity's user name (a digest's user, a jwt's subject), then the address. */
  readonly user: string;
  readonly identities: readonly string[];
  readonly ip?: string;
  readonly operation: string;
  readonly znode?: string;
  readonly znode_type?: string;
  readonly acl?: string;
  readonly result: 'success' | 'failure';
  /** Why it failed: the ZooKeeper code. */
  readonly code?: string;
}

export class AuditLog implements Applier {
  private serving = false;

  constructor(private readonly out: (line: AuditLine) => void) {}

  /** An audit log appended to `file` (JSON lines, asynchronous writes), made 0600 whether new or not. */
  static toFile(file: string, member: number): { log: AuditLog; close(): void } {
    // Opened here, synchronously, and its mode set before any line is written; the writes stay
    // asynchronous. (Left to the destination, the open was asynchronous too: a node closed at
    // once, its directory removed, had it fail later as an uncaught ENOENT.)
    mkdirSync(dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
    const fd = openSync(file, 'a', PRIVATE_FILE_MODE);
    makePrivateFiles([file]);
    const destination = pino.destination({ dest: fd, sync: false });
    const logger: Logger = pino({ base: { member }, messageKey: 'msg' }, destination);
    return { log: new AuditLog((line) => logger.info(line, 'audit')), close: () => {
      destination.flushSync();
      destination.end();
    } };
  }

  /** From here on, applied txns are audited (the replay of the log at start is behind). */
  startServing(): void {
    this.serving = true;
  }

  applied(output: ApplyOutput, zxid: number, { txn }: TxnEnvelope): void {
    if (!this.serving) return;
    switch (txn.type) {
      case 'write': {
        if (output.firstZxid !== undefined) return; // a retry of an answered request changed nothing
        const who = whoOf(txn.auth, txn.sessionId, zxid);
        const result = output.result !== undefined && isWriteResult(output.result) ? output.result : undefined;
        if (result === undefined) return;
        if (!result.ok && txn.multi) {
          this.out({ ...who, operation: 'multiOperation', result: 'failure', code: result.error.code });
          return;
        }
        txn.ops.forEach((op, i) => {
          // As ZooKeeper: a successful multi's check ops change nothing and are not audited.
          if (op.type === 'check') return;
          const path = result.ok ? pathOf(result.results[i]) ?? op.path : op.path;
          this.out({ ...who, ...describe(op, path), ...(result.ok ? { result: 'success' } : { result: 'failure', code: result.error.code }) });
        });
        return;
      }
      case 'closeSession':
        // ZooKeeper: ephemeralZNodeDeletionOnSessionCloseOrExpire, by the server itself.
        this.out({ zxid: String(zxid), session: String(txn.sessionId), user: 'corral', identities: [], operation: txn.reason === 'expired' ? 'expireSession' : 'closeSession', result: output.result?.ok === false ? 'failure' : 'success' });
        return;
      default:
    }
  }
}

function whoOf(auth: readonly string[], sessionId: number, zxid: number): Pick<AuditLine, 'zxid' | 'session' | 'user' | 'identities' | 'ip'> {
  const ip = auth.find((id) => id.startsWith('ip:'))?.slice(3);
  const names = auth.filter((id) => !id.startsWith('ip:') && id !== 'super:').map(userNameOf);
  return {
    zxid: String(zxid), ...(sessionId === 0 ? {} : { session: String(sessionId) }),
    user: [...names, ...(ip === undefined ? [] : [ip])].join(','), identities: auth, ...(ip === undefined ? {} : { ip }),
  };
}

/** ZooKeeper's getUserName: a digest's user (before the hash), another scheme's id. */
function userNameOf(identity: string): string {
  const id = identity.slice(identity.indexOf(':') + 1);
  return identity.startsWith('digest:') ? id.slice(0, id.indexOf(':')) : id;
}

function pathOf(result: OpResult | undefined): string | undefined {
  return result !== undefined && 'path' in result ? result.path : undefined;
}

function describe(op: WriteOp, path: string): Pick<AuditLine, 'operation' | 'znode' | 'znode_type' | 'acl'> {
  switch (op.type) {
    case 'create':
      return { operation: 'create', znode: path, znode_type: op.mode };
    case 'setACL':
      return { operation: 'setAcl', znode: path, acl: formatAcl(op.acl) };
    default:
      return { operation: op.type, znode: path };
  }
}
