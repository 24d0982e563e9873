/**
 * Reading a backup file (backup-format.ts) back, checking everything: the magic and version,
 * each frame's type, length and order, each page's CRC and encoding, each record's fields, the
 * counts the header promises, and the SHA-256 trailer over the whole file, with nothing after it.
 * Any failure is a BackupFileError saying what is wrong and where; nothing here writes anything.
 *
 * Synchronous, a buffer at a time: it runs in an offline command (restore) or on a file just
 * downloaded, and never holds more than one frame of the file.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { AclCache } from '../core/acl/acl.ts';
import { epochOf, indexOf } from '../core/consensus/zxid.ts';
import type { SessionRecord } from '../core/session/session-table.ts';
import { parseRequestRecord } from '../core/tree/request-record.ts';
import type { RequestRecord } from '../core/tree/request-table.ts';
import type { Znode } from '../core/tree/znode.ts';
import { isWatchKind, type WatchRecord } from '../core/watch/watch-registry.ts';
import {
  BACKUP_FORMAT_VERSION, BACKUP_MAGIC, DIGEST_BYTES, FRAME, FRAME_BYTES_MAX, FRAME_HEAD_BYTES, HEADER_BYTES_MAX, type BackupHeader,
} from './backup-format.ts';
import { decodePage } from './checkpoint-pages.ts';

/** Why a backup file cannot be used: `truncated` (it ends early), `corrupt` (its bytes are wrong), `format` (not a backup this build reads). */
export class BackupFileError extends Error {
  override readonly name = 'BackupFileError';

  constructor(readonly kind: 'truncated' | 'corrupt' | 'format', message: string) {
    super(message);
  }
}

/** The records of a backup: what a restore needs before the first znode. */
export interface BackupRecords {
  readonly header: BackupHeader;
  readonly sessions: readonly SessionRecord[];
  readonly watches: readonly WatchRecord[];
  readonly requests: readonly RequestRecord[];
}

export interface ReadCallbacks {
  /** Once, with the records, before any znode. */
  readonly records?: (records: BackupRecords) => void;
  /** Each page's znodes, in file order (the array is reused: copy what you keep). */
  readonly nodes?: (nodes: readonly Znode[]) => void;
}

const READ_BYTES = 1024 * 1024;

/** A file read front to back, hashing every byte taken. */
class Source {
  private readonly hash = createHash('sha256');
  private buffer = Buffer.alloc(0);
  private at = 0;
  /** Bytes taken so far: where a failure is reported. */
  offset = 0;

  constructor(private readonly fd: number) {}

  /** Exactly `n` bytes, or BackupFileError('truncated'). */
  take(n: number, what: string, hashed = true): Buffer {
    while (this.buffer.length - this.at < n) {
      const chunk = Buffer.allocUnsafe(Math.max(READ_BYTES, n));
      const got = readSync(this.fd, chunk, 0, chunk.length, null);
      if (got === 0) {
        throw new BackupFileError('truncated', `the backup ends early (truncated or damaged): ${what} at byte ${this.offset} needs ${n} bytes, the file has ${this.buffer.length - this.at} more`);
      }
      this.buffer = Buffer.concat([this.buffer.subarray(this.at), chunk.subarray(0, got)]);
      this.at = 0;
    }
    const bytes = this.buffer.subarray(this.at, this.at + n);
    this.at += n;
    this.offset += n;
    if (hashed) this.hash.update(bytes);
    return bytes;
  }

  digest(): Buffer {
    return this.hash.digest();
  }

  atEnd(): boolean {
    return this.buffer.length === this.at && readSync(this.fd, Buffer.alloc(1), 0, 1, null) === 0;
  }
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function corrupt(message: string): BackupFileError {
  return new BackupFileError('corrupt', `the backup is damaged: ${message}`);
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt(`${what} is not JSON`);
  }
}

function readHeader(source: Source): BackupHeader {
  const magic = source.take(BACKUP_MAGIC.length, 'the file type');
  if (!magic.equals(BACKUP_MAGIC)) throw new BackupFileError('format', 'not a Corral backup (the file does not start with CORRALBK)');
  const version = source.take(4, 'the format version').readUInt32LE(0);
  if (version !== BACKUP_FORMAT_VERSION) {
    throw new BackupFileError('format', `backup format version ${version}; this build reads version ${BACKUP_FORMAT_VERSION}`);
  }
  const length = source.take(4, 'the header length').readUInt32LE(0);
  if (length > HEADER_BYTES_MAX) throw corrupt(`a header of ${length} bytes`);
  const raw = parseJson(source.take(length, 'the header'), 'the header');
  const zxid = isObject(raw) && typeof raw['zxid'] === 'string' && /^\d{1,16}$/.test(raw['zxid']) ? Number(raw['zxid']) : NaN;
  const counts = ['index', 'term', 'nodeCount', 'sessionCount', 'watchCount', 'requestCount', 'createdMs', 'member'] as const;
  if (!isObject(raw) || !Number.isSafeInteger(zxid) || !counts.every((k) => isCount(raw[k])) || raw['format'] !== version) {
    throw corrupt('the header lacks a field or holds a wrong one');
  }
  const header = { ...raw, zxid } as unknown as BackupHeader;
  if (header.index !== indexOf(zxid) || header.term !== epochOf(zxid)) throw corrupt(`the header's index and term do not match zxid ${zxid}`);
  return header;
}

function sessionOf(raw: unknown): SessionRecord {
  const ok = isObject(raw) && isCount(raw['id']) && isCount(raw['timeoutMs']) && typeof raw['tokenHash'] === 'string' &&
    Array.isArray(raw['auth']) && raw['auth'].every((a) => typeof a === 'string');
  if (!ok) throw corrupt('a session record is unreadable');
  return { id: raw['id'] as number, timeoutMs: raw['timeoutMs'] as number, tokenHash: raw['tokenHash'] as string, auth: raw['auth'] as string[] };
}

function watchOf(raw: unknown): WatchRecord {
  if (!isObject(raw) || !isCount(raw['sessionId']) || typeof raw['path'] !== 'string' || !isWatchKind(raw['kind'])) {
    throw corrupt('a watch record is unreadable');
  }
  return { sessionId: raw['sessionId'], path: raw['path'], kind: raw['kind'] };
}

function requestOf(raw: unknown): RequestRecord {
  const record = parseRequestRecord(raw);
  if (!record) throw corrupt('a request record is unreadable');
  return record;
}

function recordsOf<T>(payload: Buffer, what: string, parse: (raw: unknown) => T, into: T[]): void {
  const list = parseJson(payload, `a ${what} frame`);
  if (!Array.isArray(list)) throw corrupt(`a ${what} frame is not a list`);
  for (const raw of list) into.push(parse(raw));
}

/** A PAGE frame's fields, each length checked against the frame. */
function pageOf(payload: Buffer, seq: number): { head: Buffer; data: Buffer; acls: string; crc: number } {
  let at = 0;
  const field = (): Buffer => {
    if (at + 4 > payload.length) throw corrupt(`page ${seq} is cut short`);
    const length = payload.readUInt32LE(at);
    if (at + 4 + length > payload.length) throw corrupt(`page ${seq} has a field longer than the page`);
    at += 4 + length;
    return payload.subarray(at - length, at);
  };
  const head = field(), data = field(), acls = field().toString('utf8');
  if (at + 4 !== payload.length) throw corrupt(`page ${seq} has ${payload.length - at} bytes where its checksum should end it`);
  return { head, data, acls, crc: payload.readUInt32LE(at) };
}

/** Every frame, in order, through END; answers the records and the number of znodes read. */
function readFrames(source: Source, header: BackupHeader, callbacks: ReadCallbacks): number {
  const sessions: SessionRecord[] = [], watches: WatchRecord[] = [], requests: RequestRecord[] = [];
  const acls = new AclCache();
  const page: Znode[] = [];
  let pages = 0, nodes = 0, last: number = FRAME.SESSIONS;
  let recordsDone = false;
  for (;;) {
    const head = source.take(FRAME_HEAD_BYTES, 'a frame');
    const type = head.readUInt8(0), length = head.readUInt32LE(1);
    if (type > FRAME.PAGE) throw corrupt(`a frame of unknown type ${type} at byte ${source.offset - FRAME_HEAD_BYTES}`);
    if (length > FRAME_BYTES_MAX) throw corrupt(`a frame of ${length} bytes at byte ${source.offset - FRAME_HEAD_BYTES}`);
    if (type !== FRAME.END && type < last) throw corrupt(`frames out of order at byte ${source.offset - FRAME_HEAD_BYTES}`);
    last = type;
    const payload = source.take(length, 'a frame');
    if ((type === FRAME.PAGE || type === FRAME.END) && !recordsDone) {
      recordsDone = true;
      const counts = [[sessions.length, header.sessionCount, 'sessions'], [watches.length, header.watchCount, 'watches'], [requests.length, header.requestCount, 'request records']] as const;
      for (const [got, expected, what] of counts) if (got !== expected) throw corrupt(`${got} ${what}, the header says ${expected}`);
      callbacks.records?.({ header, sessions, watches, requests });
    }
    switch (type) {
      case FRAME.SESSIONS: recordsOf(payload, 'sessions', sessionOf, sessions); break;
      case FRAME.WATCHES: recordsOf(payload, 'watches', watchOf, watches); break;
      case FRAME.REQUESTS: recordsOf(payload, 'request records', requestOf, requests); break;
      case FRAME.PAGE: {
        page.length = 0;
        try {
          nodes += decodePage(pageOf(payload, pages), page, acls);
        } catch (error) {
          if (error instanceof BackupFileError) throw error;
          throw corrupt(`page ${pages} (at byte ${source.offset - length}): ${(error as Error).message}`);
        }
        pages++;
        callbacks.nodes?.(page);
        break;
      }
      case FRAME.END:
        if (length !== 0) throw corrupt('the end frame is not empty');
        return nodes;
    }
  }
}

/**
 * Reads and checks the whole backup at `file`, handing its records and znodes to `callbacks` as
 * it goes; throws BackupFileError on the first problem. A caller that writes what it is handed
 * must treat that as provisional until this returns (the trailer is checked last).
 */
export function readBackupFile(file: string, callbacks: ReadCallbacks = {}): BackupHeader {
  const fd = openSync(file, 'r');
  try {
    const source = new Source(fd);
    const header = readHeader(source);
    const nodes = readFrames(source, header, callbacks);
    if (nodes !== header.nodeCount) throw corrupt(`${nodes} znodes, the header says ${header.nodeCount}`);
    const expected = source.digest();
    const trailer = source.take(DIGEST_BYTES, 'the SHA-256 trailer', false);
    if (!trailer.equals(expected)) throw corrupt(`its SHA-256 is ${expected.toString('hex')}, the trailer says ${trailer.toString('hex')}`);
    if (!source.atEnd()) throw corrupt('bytes follow the SHA-256 trailer');
    return header;
  } finally {
    closeSync(fd);
  }
}
