/**
 * The wire path frames requests exactly as llhttp (node:http's parser) does, or leaves them to
 * it: seeded byte sequences of HTTP/1.1 requests — valid, pipelined and mutated — go to a plain
 * node:http server that records every request it is given, and through the wire path's framing
 * (ByteQueue + frameHead, fed in the same chunks a socket might give). Where the wire path hands
 * the connection on, node:http frames the rest; the requests both produce, in order, with their
 * heads and bodies, and whether the connection ends refused, must be the same.
 *
 * Reproduce a failure with FC_SEED=<seed printed below>; FC_NUM_RUNS overrides the run count.
 */
import fc from 'fast-check';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteQueue } from '../../../src/http/wire/byte-queue.ts';
import { beginsRequest, frameHead } from '../../../src/http/wire/request-framer.ts';
import type { RequestHead } from '../../../src/http/wire/request-head.ts';
import { arbitraryRequestText } from './request-bytes.ts';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Date.now() % 2_147_483_647;
const NUM_RUNS = process.env.FC_NUM_RUNS !== undefined ? Number(process.env.FC_NUM_RUNS) : 300;
console.log(`framing differential: FC_SEED=${SEED} numRuns=${NUM_RUNS}`);

/** A request as framed: what a handler could see of it. */
interface Framed {
  readonly method: string;
  readonly url: string;
  /** By lower-case name, as node:http joins repeats. */
  readonly headers: Readonly<Record<string, string>>;
  readonly headerLines: number;
  readonly body: string;
  /** False when the bytes ended inside its body. */
  readonly complete: boolean;
}

interface Framing {
  readonly requests: Framed[];
  /** The connection ended with the server refusing something (or at a request cut short). */
  readonly refused: boolean;
}

interface Recording {
  readonly requests: { req: IncomingMessage; body: Buffer[] }[];
  clientError?: string;
}

// --- llhttp: a plain node:http server that records what it parses ------------------------

/** Cases where the wire path framed at least one request itself: what makes the comparison worth something. */
const coverage = { cases: 0, framedByWire: 0 };
let server: Server;
let port: number;
const recordings = new Map<Socket, Recording>();

function recordingOf(socket: Socket): Recording {
  let recording = recordings.get(socket);
  if (recording === undefined) recordings.set(socket, (recording = { requests: [] }));
  return recording;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const entry = { req, body: [] as Buffer[] };
    recordingOf(req.socket).requests.push(entry);
    req.on('data', (chunk: Buffer) => entry.body.push(chunk));
    req.on('error', () => {});
    res.end();
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    recordingOf(socket).clientError = error.code ?? 'error';
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Sends `bytes` on a fresh connection, half-closes it, and reads back what node:http framed. */
async function llhttp(bytes: Buffer): Promise<Framing> {
  let serverSide: Socket | undefined;
  const closed = new Promise<void>((resolve) => {
    server.once('connection', (socket: Socket) => {
      serverSide = socket;
      socket.once('close', () => resolve());
    });
  });
  const client = connect(port, '127.0.0.1');
  let received = '';
  client.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  client.on('error', () => {});
  client.end(bytes);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('node:http did not close the connection')), 5_000)))]);
  clearTimeout(timer);
  client.destroy();
  const recording = recordingOf(serverSide!);
  recordings.delete(serverSide!);
  const requests = recording.requests.map(({ req, body }) => ({
    method: req.method ?? '', url: req.url ?? '', headers: joinedHeaders(req), headerLines: req.rawHeaders.length / 2,
    body: Buffer.concat(body).toString('latin1'), complete: req.complete,
  }));
  // node:http answers every request it hands on with the handler's 200; any other status is its refusal.
  const refusedByServer = /HTTP\/1\.1 (?!200)\d{3}/.test(received);
  return { requests, refused: recording.clientError !== undefined || refusedByServer };
}

function joinedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(', ') : value ?? '';
  return out;
}

// --- the wire path's framing, fed chunk by chunk as a socket gives them ------------------

interface WireFraming {
  readonly taken: { head: RequestHead; body: string; complete: boolean }[];
  /** Where the rest of the bytes went to node:http, if they did. */
  readonly handOffAt?: number;
  readonly refused: boolean;
}

function wire(bytes: Buffer, cuts: readonly number[]): WireFraming {
  const queue = new ByteQueue();
  const taken: { head: RequestHead; body: string; complete: boolean }[] = [];
  let offset = 0;
  let bodyLeft = 0;
  let closed = false;
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, bytes.length]) {
    queue.push(bytes.subarray(from, to));
    from = to;
    for (;;) {
      if (bodyLeft > 0) {
        if (queue.length < bodyLeft) break;
        taken[taken.length - 1] = { ...taken[taken.length - 1]!, body: queue.take(bodyLeft).toString('latin1'), complete: true };
        offset += bodyLeft;
        bodyLeft = 0;
      }
      // After a `Connection: close` request the wire path reads nothing more.
      if (closed || queue.length === 0) break;
      const framed = frameHead(queue);
      if (framed === 'incomplete') break;
      if (framed === 'hand-off') return { taken, handOffAt: offset, refused: false };
      queue.skip(framed.headLength);
      offset += framed.headLength;
      taken.push({ head: framed, body: '', complete: framed.bodyLength === 0 });
      bodyLeft = framed.bodyLength;
      closed = !framed.keepAlive;
    }
  }
  if (bodyLeft > 0) taken[taken.length - 1] = { ...taken[taken.length - 1]!, body: queue.drain().toString('latin1'), complete: false };
  // Bytes left over (a head cut short, a request after `Connection: close`) end in a refusal.
  return { taken, refused: bodyLeft > 0 || beginsRequest(queue) };
}

/** A wire-framed request seen through the names node:http found (so the values can be compared). */
function asFramed(taken: WireFraming['taken'][number], names: readonly string[]): Framed {
  const headers: Record<string, string> = {};
  for (const name of names) headers[name] = taken.head.header(name) ?? '<absent>';
  return {
    method: taken.head.method, url: taken.head.target, headers, headerLines: taken.head.headerLines,
    body: taken.body, complete: taken.complete,
  };
}

async function compare(bytes: Buffer, cuts: readonly number[]): Promise<void> {
  const expected = await llhttp(bytes);
  const framing = wire(bytes, cuts);
  coverage.cases++;
  if (framing.taken.length > 0) coverage.framedByWire++;
  const rest = framing.handOffAt === undefined ? undefined : await llhttp(bytes.subarray(framing.handOffAt));
  const taken = framing.taken.map((t, i) => asFramed(t, Object.keys(expected.requests[i]?.headers ?? {})));
  const actual: Framing = { requests: [...taken, ...(rest?.requests ?? [])], refused: rest ? rest.refused : framing.refused };
  expect({ bytes: bytes.toString('latin1'), ...actual }).toEqual({ bytes: bytes.toString('latin1'), ...expected });
}

describe('the wire path\'s framing, against llhttp', () => {
  it('frames every generated request sequence as node:http does, or hands it to node:http', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryRequestText, fc.array(fc.nat(), { maxLength: 4 }), (text, cuts) => compare(Buffer.from(text, 'latin1'), cuts)),
      { seed: SEED, numRuns: NUM_RUNS },
    );
    // The generator must not drift to cases the wire path simply hands on.
    expect(coverage.framedByWire / coverage.cases).toBeGreaterThan(0.2);
  }, 120_000);

  it.each([
    ['Content-Length: 2<TAB>', 'POST /v1/znodes/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\t\r\n\r\nabGET / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a Content-Length and chunked framing', 'POST /v1/znodes/a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['two Content-Lengths', 'POST /v1/znodes/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
    ['a folded Content-Length', 'POST /v1/znodes/a HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 2\r\n\r\nab'],
    ['data after Connection: close', 'GET /v1/znodes/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /v1/znodes/b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a repeated header', 'GET /v1/znodes/a HTTP/1.1\r\nHost: x\r\nZk-Acl: a\r\nzk-acl: b\r\nAuthorization: x\r\nAuthorization: y\r\n\r\n'],
  ])('frames a request with %s as node:http does', async (_what, text) => {
    await compare(Buffer.from(text, 'latin1'), []);
  });
});
