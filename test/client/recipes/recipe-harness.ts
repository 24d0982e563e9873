// An in-process Corral node (real HTTP + SSE on 127.0.0.1, port 0) for the recipe tests, with
// sessions whose network can be cut: a cut session stops reaching the server (its stream is
// aborted, its requests fail), so the server expires it while the client does not know yet.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorralClient, CorralSession } from '../../../src/client/index.ts';
import { startServer, type RunningServer } from '../../../src/server.ts';
import { cuttableFetch } from './cuttable-fetch.ts';

export const TICK_MS = 100;

export interface Partitionable {
  readonly session: CorralSession;
  /** Cuts this session's network: every open request and stream is aborted, new ones fail. */
  cut(): void;
  heal(): void;
}

export class RecipeHarness {
  private readonly sessions: CorralSession[] = [];

  private constructor(readonly server: RunningServer, private readonly dir: string) {}

  static async start(): Promise<RecipeHarness> {
    const dir = mkdtempSync(join(tmpdir(), 'corral-recipes-'));
    const server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1', tickTimeMs: TICK_MS });
    return new RecipeHarness(server, dir);
  }

  async session(timeoutMs = 2000): Promise<CorralSession> {
    const session = await CorralSession.open(new CorralClient({ baseUrl: this.server.url, retryForMs: 1000 }), timeoutMs);
    this.sessions.push(session);
    return session;
  }

  /** A session of `timeoutMs` whose network the test can cut (failover gives up after 200 ms). */
  async partitionable(timeoutMs: number): Promise<Partitionable> {
    const network = cuttableFetch();
    const session = await CorralSession.open(new CorralClient({ baseUrl: this.server.url, fetch: network.fetch, retryForMs: 200 }), timeoutMs);
    this.sessions.push(session);
    return { session, cut: network.cut, heal: network.heal };
  }

  /** The one-shot watches the node holds on paths under `prefix`, as `sessionId kind path`. */
  watchesUnder(prefix: string): Array<{ sessionId: string; kind: string; path: string }> {
    return this.server.node.host.tree.watches.all()
      .filter((w) => w.path.startsWith(prefix))
      .map((w) => ({ sessionId: String(w.sessionId), kind: w.kind, path: w.path }));
  }

  async close(): Promise<void> {
    await Promise.all(this.sessions.map((s) => (s.ended ? undefined : s.close().catch(() => undefined))));
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
