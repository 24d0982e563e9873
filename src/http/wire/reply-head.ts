/**
 * A call's reply as HTTP/1.1 bytes: the status line, the headers node:http would send for the
 * same answer (Date, Connection, Keep-Alive, Content-Length), the reply's own, and the body.
 * The head and a JSON body are one string, so most answers are one socket write.
 */
import { STATUS_CODES } from 'node:http';
import { answerZxid, jsonBodyOf, replyHeaders, type Reply } from '../reply.ts';
import { decimal } from '../../core/decimal.ts';

export interface ReplyBytes {
  /** The head, and the body too when it is JSON. */
  readonly text: string;
  /** A raw-bytes body, written after `text`. */
  readonly bytes?: Buffer;
}

const STATUS_LINES = new Map<number, string>();

function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    STATUS_LINES.set(status, line);
  }
  return line;
}

let dateSecond = -1;
let dateLine = '';

/** The Date header, formatted once a second as node:http does. */
function dateHeader(nowMs: number): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `Date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return dateLine;
}

/** Statuses whose answers never have a body (RFC 9110 §6.4.1). */
const NO_BODY = new Set([204, 304]);

export function replyBytes(reply: Reply, method: string, zxid: number, keepAliveMs: number | undefined, nowMs: number): ReplyBytes {
  let head = statusLine(reply.status);
  const headers = replyHeaders(reply);
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  head += `zk-zxid: ${decimal(answerZxid(zxid, reply))}\r\n${dateHeader(nowMs)}`;
  head += keepAliveMs === undefined ? 'Connection: close\r\n' : keepAliveLines(keepAliveMs);
  // A HEAD answer has no body and says nothing of its length; a bodiless answer otherwise says 0.
  if (method === 'HEAD' || NO_BODY.has(reply.status)) return { text: `${head}\r\n` };
  const json = jsonBodyOf(reply);
  if (json !== undefined) return { text: `${head}Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}` };
  if (reply.bytes !== undefined) {
    const bytes = Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength);
    return { text: `${head}Content-Length: ${bytes.length}\r\n\r\n`, bytes };
  }
  return { text: `${head}Content-Length: 0\r\n\r\n` };
}

let keepAliveFor = -1;
let keepAliveText = '';

function keepAliveLines(keepAliveMs: number): string {
  if (keepAliveMs !== keepAliveFor) {
    keepAliveFor = keepAliveMs;
    keepAliveText = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveMs / 1000)}\r\n`;
  }
  return keepAliveText;
}
