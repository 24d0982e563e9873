/**
 * `--join host:port`: a new member learns the cluster from a running member instead of being given
 * every member in --members. At start it reads that member's `GET /v1/cluster` (each member's id,
 * client and peer addresses and whether it is an observer), and starts with those members plus
 * its own --members entry (a learner, /observer): the configuration its log replays over, and the
 * members whose connections it accepts until the log tells it more. An operator then adds it
 * (POST /v1/cluster/members, corral-cli members add). Bounded: a member that does not answer in
 * `timeoutMs` fails the start (exit 1, saying why); each attempt, its body included, has at most
 * ATTEMPT_MS_MAX, and a body over JOIN_BODY_BYTES_MAX fails it at once (the answer is another
 * process's: a member that streams without end must not hold or fill this one).
 */
import { ConfigError, type Config, type Member } from '../config.ts';
import { isMemberId } from '../core/consensus/cluster-config.ts';
import { parseHostPort } from './member-directory.ts';

/** A /v1/cluster answer's bytes at most: about 1000 members' entries, far more than a cluster has. */
export const JOIN_BODY_BYTES_MAX = 256 * 1024;
/** One attempt (connect, headers, body) at most; attempts repeat until the deadline. */
const ATTEMPT_MS_MAX = 5000;

export interface JoinOptions {
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  readonly retryMs?: number;
}

interface ViewMember {
  readonly id?: unknown;
  readonly address?: unknown;
  readonly peer?: unknown;
  readonly role?: unknown;
}

/** The members `view` (a /v1/cluster answer) names, as --members entries; throws on an unusable answer. */
export function membersOfView(view: unknown, self: number): Member[] {
  const list = (view as { members?: unknown } | null)?.members;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError('--join: the member answered no list of members');
  const members: Member[] = [];
  for (const raw of list as ViewMember[]) {
    const { id, address, peer, role } = raw ?? {};
    if (!isMemberId(id) || typeof address !== 'string') throw new ConfigError('--join: a member of unknown shape in the answer');
    if (id === self) throw new ConfigError(`--join: member ${id} is already in the cluster; give this member an id of its own`);
    const peerAddress = typeof peer === 'string' ? parseHostPort(peer) : undefined;
    if (!peerAddress) throw new ConfigError(`--join: the answer gives no peer address for member ${id} (a member of an older version?); list the members in --members instead`);
    members.push({ id, client: address, peer: peerAddress, ...(role === 'observer' ? { observer: true as const } : {}) });
  }
  return members;
}

/** `config` with the cluster's members read from `config.join` added to its own entry. */
export async function resolveJoin(config: Config, options: JoinOptions = {}): Promise<Config> {
  if (config.join === '') return config;
  const target = parseHostPort(config.join);
  if (!target) throw new ConfigError(`--join is a member's client host:port, got "${config.join}"`);
  const doFetch = options.fetch ?? fetch;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const url = `http://${config.join}/v1/cluster`;
  let last = '';
  for (;;) {
    try {
      const signal = AbortSignal.timeout(Math.max(1, Math.min(ATTEMPT_MS_MAX, deadline - Date.now())));
      const response = await doFetch(url, { signal });
      if (response.ok) {
        const self = config.members.find((m) => m.id === config.id)!;
        const view: unknown = JSON.parse(await bodyOf(response, signal));
        return { ...config, members: [...membersOfView(view, config.id), self] };
      }
      await response.body?.cancel();
      last = `HTTP ${response.status}`;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() + (options.retryMs ?? 500) > deadline) throw new ConfigError(`--join: ${url} did not answer with the cluster (${last})`);
    await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 500));
  }
}

/** The answer's text, read to at most JOIN_BODY_BYTES_MAX bytes and until `signal` aborts. */
async function bodyOf(response: Response, signal: AbortSignal): Promise<string> {
  const tooLarge = () => new ConfigError(`--join: the member's /v1/cluster answer is larger than ${JOIN_BODY_BYTES_MAX} bytes`);
  if (Number(response.headers.get('content-length') ?? 0) > JOIN_BODY_BYTES_MAX) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  // The fetch's signal stops its own body; a body from elsewhere (a test's) is stopped here too.
  const abort = () => void reader.cancel(signal.reason).catch(() => undefined);
  signal.addEventListener('abort', abort, { once: true });
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const { done, value } = await reader.read();
      if (signal.aborted) throw signal.reason;
      if (done) break;
      bytes += value.length;
      if (bytes > JOIN_BODY_BYTES_MAX) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  } finally {
    signal.removeEventListener('abort', abort);
  }
  return Buffer.concat(chunks).toString('utf8');
}
