/**
 * How a checkpoint's znodes are packed (schema 3; ACLs since 6): many to a row, so writing or
 * reading a checkpoint costs a SQLite row per page of znodes rather than per znode, with no text to
 * build or parse. A page is two blobs, its ACLs and a checksum:
 *
 *   head: u32 node count, then per node: u32 path length, the path (UTF-8), u8 kind,
 *         10 × f64 (czxid mzxid pzxid ctime mtime version aversion creations ephemeralOwner ttlMs),
 *         u32 data length, then (with acls) u16 index of the node's ACL in `acls`
 *   data: every node's data, back to back
 *   acls: the distinct ACLs of the page's nodes, JSON; null in a page written before ACLs
 *         existed (every node open then)
 *   crc:  CRC-32 of head, continued over data, then over acls' text
 */
import { OPEN_ACL, parseAclJson, type Acl, type AclCache } from '../core/acl/acl.ts';
import { compactBytes } from '../core/tree/byte-slab.ts';
import type { NodeKind, Znode } from '../core/tree/znode.ts';
import { crc32Bytes } from './crc32.ts';
import { StorageCorruptError } from './storage-error.ts';

export interface Page {
  readonly head: Buffer;
  readonly data: Buffer;
  readonly acls: string | null;
  readonly crc: number;
}

/** Bounds on a page, so a page buffer stays small whatever the tree. */
export const PAGE_NODES = 1024;
const PAGE_DATA_BYTES = 256 * 1024;

const KINDS: readonly NodeKind[] = ['persistent', 'ephemeral', 'container', 'ttl'];
/** Bytes of a node's head entry besides its path. */
const FIXED_BYTES = 4 + 1 + 10 * 8 + 4 + 2;
/** A page's distinct ACLs fit a u16 index (a page holds at most PAGE_NODES nodes). */
const ACL_INDEX_BYTES = 2;

export function* encodePages(nodes: readonly Znode[]): Generator<Page> {
  for (let start = 0; start < nodes.length;) {
    let end = start;
    let headBytes = 4;
    let dataBytes = 0;
    while (end < nodes.length && end - start < PAGE_NODES && dataBytes < PAGE_DATA_BYTES) {
      const node = nodes[end++]!;
      headBytes += FIXED_BYTES + Buffer.byteLength(node.path, 'utf8');
      dataBytes += node.data.length;
    }
    yield encodePage(nodes, start, end, headBytes, dataBytes);
    start = end;
  }
}

function encodePage(nodes: readonly Znode[], start: number, end: number, headBytes: number, dataBytes: number): Page {
  const head = Buffer.allocUnsafe(headBytes);
  const data = Buffer.allocUnsafe(dataBytes);
  // Nodes share interned ACLs: the same list is the same object, so identity finds it.
  const aclIndex = new Map<Acl, number>();
  let h = head.writeUInt32LE(end - start, 0);
  let d = 0;
  for (let i = start; i < end; i++) {
    const n = nodes[i]!;
    const pathBytes = head.write(n.path, h + 4, 'utf8');
    h = head.writeUInt32LE(pathBytes, h) + pathBytes;
    h = head.writeUInt8(KINDS.indexOf(n.kind), h);
    h = head.writeDoubleLE(n.czxid, h);
    h = head.writeDoubleLE(n.mzxid, h);
    h = head.writeDoubleLE(n.pzxid, h);
    h = head.writeDoubleLE(n.ctime, h);
    h = head.writeDoubleLE(n.mtime, h);
    h = head.writeDoubleLE(n.version, h);
    h = head.writeDoubleLE(n.aversion, h);
    h = head.writeDoubleLE(n.creations, h);
    h = head.writeDoubleLE(n.ephemeralOwner, h);
    h = head.writeDoubleLE(n.ttlMs, h);
    h = head.writeUInt32LE(n.data.length, h);
    let index = aclIndex.get(n.acl);
    if (index === undefined) aclIndex.set(n.acl, (index = aclIndex.size));
    h = head.writeUInt16LE(index, h);
    data.set(n.data, d);
    d += n.data.length;
  }
  const acls = JSON.stringify([...aclIndex.keys()]);
  return { head, data, acls, crc: crcOf(head, data, acls) };
}

function crcOf(head: Buffer, data: Buffer, acls: string | null): number {
  const crc = crc32Bytes(data, crc32Bytes(head));
  return acls === null ? crc : crc32Bytes(Buffer.from(acls, 'utf8'), crc);
}

/**
 * Appends the nodes of one page to `into`, answering how many; StorageCorruptError when it fails
 * its checksum or does not parse.
 */
export function decodePage(page: Page, into: Znode[], cache: AclCache): number {
  const { head, data } = page;
  if (crcOf(head, data, page.acls) !== page.crc) throw new StorageCorruptError('a checkpoint page fails its checksum');
  try {
    return readNodes(head, data, page.acls === null ? undefined : readAcls(page.acls, cache), into);
  } catch (error) {
    if (error instanceof StorageCorruptError) throw error;
    throw new StorageCorruptError(`a checkpoint page does not parse: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function readAcls(text: string, cache: AclCache): Acl[] {
  const lists = JSON.parse(text) as unknown;
  if (!Array.isArray(lists)) throw new StorageCorruptError('a checkpoint page\'s ACLs are not a list');
  return lists.map((raw) => {
    const acl = parseAclJson(raw);
    if ('code' in acl) throw new StorageCorruptError(`a checkpoint page holds an invalid ACL: ${acl.message}`);
    return cache.intern(acl);
  });
}

/** `acls` undefined: a page written before ACLs (no index per node; every node open). */
function readNodes(head: Buffer, data: Buffer, acls: readonly Acl[] | undefined, into: Znode[]): number {
  const fixedBytes = acls === undefined ? FIXED_BYTES - ACL_INDEX_BYTES : FIXED_BYTES;
  const view = new DataView(head.buffer, head.byteOffset, head.length);
  const count = view.getUint32(0, true);
  let h = 4;
  let d = 0;
  for (let i = 0; i < count; i++) {
    const pathBytes = view.getUint32(h, true);
    if (h + 4 + pathBytes > head.length) throw new StorageCorruptError('a checkpoint page ends inside a path');
    const path = head.toString('utf8', h + 4, h + 4 + pathBytes);
    h += 4 + pathBytes;
    const kind = KINDS[view.getUint8(h)];
    if (kind === undefined) throw new StorageCorruptError(`checkpoint record of ${path} has an unknown kind`);
    const czxid = view.getFloat64(h + 1, true), mzxid = view.getFloat64(h + 9, true), pzxid = view.getFloat64(h + 17, true);
    const ctime = view.getFloat64(h + 25, true), mtime = view.getFloat64(h + 33, true), version = view.getFloat64(h + 41, true);
    const aversion = view.getFloat64(h + 49, true), creations = view.getFloat64(h + 57, true);
    const ephemeralOwner = view.getFloat64(h + 65, true), ttlMs = view.getFloat64(h + 73, true);
    const dataBytes = view.getUint32(h + 81, true);
    const acl = acls === undefined ? OPEN_ACL : acls[view.getUint16(h + 85, true)];
    if (acl === undefined) throw new StorageCorruptError(`checkpoint record of ${path} names an ACL its page lacks`);
    h += fixedBytes - 4;
    if (!(Number.isSafeInteger(czxid) && Number.isSafeInteger(mzxid) && Number.isSafeInteger(pzxid) && Number.isSafeInteger(ctime) &&
      Number.isSafeInteger(mtime) && Number.isSafeInteger(version) && Number.isSafeInteger(aversion) &&
      Number.isSafeInteger(creations) && Number.isSafeInteger(ephemeralOwner) && Number.isSafeInteger(ttlMs))) {
      throw new StorageCorruptError(`checkpoint record of ${path} holds a non-integer stat`);
    }
    if (d + dataBytes > data.length) throw new StorageCorruptError(`checkpoint record of ${path} ends past its page`);
    into.push({
      path, data: compactBytes(data, d, d + dataBytes), czxid, mzxid, pzxid, ctime, mtime, version, aversion, creations, kind,
      ephemeralOwner, ttlMs, acl,
    });
    d += dataBytes;
  }
  if (h !== head.length || d !== data.length) throw new StorageCorruptError('a checkpoint page has bytes past its last node');
  return count;
}
