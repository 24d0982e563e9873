/**
 * The backup file (`GET /v1/admin/backup`, `corral-cli backup`, `corral-cli restore`): one
 * consistent image of a member's replicated state at one zxid, written as a stream so neither
 * the node nor the CLI ever holds the whole file. Version 1, little-endian throughout:
 *
 *   magic    8 bytes  "CORRALBK"
 *   version  u32      1
 *   header   u32 length, then JSON {format, zxid (decimal string), index, term, nodeCount,
 *            sessionCount, watchCount, requestCount, createdMs, member}
 *   frames   u8 type, u32 length, payload — in this order:
 *            SESSIONS, WATCHES, REQUESTS: a JSON array of records each (as many frames as needed)
 *            PAGE: a checkpoint page exactly as the node stores it (checkpoint-pages.ts):
 *                  u32 head length, head, u32 data length, data, u32 ACL text length, ACL text, u32 CRC-32
 *            END: empty
 *   trailer  32 bytes: SHA-256 of every byte before it
 *
 * The pages carry their own CRC (so a reader can name the damaged page), the trailer covers the
 * whole file (a reader verifies it before anything is written from the file). Records (sessions,
 * watches, request-id records) come before the pages, so a restore has them when it starts the
 * checkpoint, and nodes come in the tree's own order (parents before children).
 */
import { createHash, type Hash } from 'node:crypto';
import type { CheckpointImage } from '../core/tree/checkpoint-image.ts';
import { encodePages, PAGE_NODES, type Page } from './checkpoint-pages.ts';

export const BACKUP_MAGIC = Buffer.from('CORRALBK', 'latin1');
export const BACKUP_FORMAT_VERSION = 1;
export const DIGEST_BYTES = 32;
/** The media type of a backup, as the route serves it. */
export const BACKUP_MEDIA_TYPE = 'application/vnd.corral.backup';

export const FRAME = { END: 0, SESSIONS: 1, WATCHES: 2, REQUESTS: 3, PAGE: 4 } as const;
export type FrameType = (typeof FRAME)[keyof typeof FRAME];

/** Bytes of a frame's type and length. */
export const FRAME_HEAD_BYTES = 5;
/**
 * No frame is larger: a reader refuses a length past it before allocating (a damaged length
 * field must not make it ask for gigabytes). A page holds ≤ 256 KiB of data plus one node's
 * (which the node's own limit bounds far lower).
 */
export const FRAME_BYTES_MAX = 64 * 1024 * 1024;
/** Bound on the header's JSON. */
export const HEADER_BYTES_MAX = 64 * 1024;
/** Records per SESSIONS / WATCHES / REQUESTS frame. */
const RECORDS_PER_FRAME = 1000;

export interface BackupHeader {
  readonly format: number;
  readonly zxid: number;
  readonly index: number;
  readonly term: number;
  readonly nodeCount: number;
  readonly sessionCount: number;
  readonly watchCount: number;
  readonly requestCount: number;
  readonly createdMs: number;
  /** The id of the member the backup was taken from. */
  readonly member: number;
}

export function headerOf(image: CheckpointImage, createdMs: number, member: number): BackupHeader {
  return {
    format: BACKUP_FORMAT_VERSION, zxid: image.zxid, index: image.index, term: image.term, nodeCount: image.nodes.length,
    sessionCount: image.sessions.length, watchCount: image.watches.length, requestCount: image.requests.length, createdMs, member,
  };
}

function frame(type: FrameType, payload: Buffer): Buffer {
  const head = Buffer.allocUnsafe(FRAME_HEAD_BYTES);
  head.writeUInt8(type, 0);
  head.writeUInt32LE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n, 0);
  return b;
}

function pageFrame(page: Page): Buffer {
  const acls = Buffer.from(page.acls ?? '', 'utf8');
  return frame(FRAME.PAGE, Buffer.concat([u32(page.head.length), page.head, u32(page.data.length), page.data, u32(acls.length), acls, u32(page.crc)]));
}

function* recordFrames(type: FrameType, records: readonly unknown[]): Generator<Buffer> {
  for (let i = 0; i < records.length; i += RECORDS_PER_FRAME) {
    yield frame(type, Buffer.from(JSON.stringify(records.slice(i, i + RECORDS_PER_FRAME)), 'utf8'));
  }
}

/**
 * The backup of `image` as a sequence of chunks (a frame or so each), the SHA-256 trailer last.
 * Lazy: a page is encoded only when the consumer asks for it, so what is in memory at once is
 * one page plus the image's references to the (immutable) znodes.
 */
export function* encodeBackup(image: CheckpointImage, header: BackupHeader): Generator<Buffer> {
  const hash: Hash = createHash('sha256');
  const out = (chunk: Buffer): Buffer => {
    hash.update(chunk);
    return chunk;
  };
  const json = Buffer.from(JSON.stringify({ ...header, zxid: String(header.zxid) }), 'utf8');
  yield out(Buffer.concat([BACKUP_MAGIC, u32(BACKUP_FORMAT_VERSION), u32(json.length), json]));
  for (const chunk of recordFrames(FRAME.SESSIONS, image.sessions)) yield out(chunk);
  for (const chunk of recordFrames(FRAME.WATCHES, image.watches)) yield out(chunk);
  for (const chunk of recordFrames(FRAME.REQUESTS, image.requests)) yield out(chunk);
  // encodePages takes a list: hand it one page's worth of nodes at a time, not a copy of all.
  for (let at = 0; at < image.nodes.length; at += PAGE_NODES) {
    for (const page of encodePages(image.nodes.slice(at, at + PAGE_NODES))) yield out(pageFrame(page));
  }
  yield out(frame(FRAME.END, Buffer.alloc(0)));
  yield hash.digest();
}
