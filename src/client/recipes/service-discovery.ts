/**
 * Service discovery (Curator's ServiceDiscovery and ServiceCache): an instance registers itself
 * as an ephemeral node `<base>/<service>/<id>` holding a JSON ServiceInstance, so it is listed
 * exactly as long as its session lives; clients list a service's instances, or keep a
 * ServiceCache (a depth-1 TreeCache of the service) that the watch stream keeps current.
 *
 * Pitfalls handled: a registration whose answer was lost is sent again with the same request id
 * (znode-ops.ts writeOnce), and one that finds its own node (same session) just updates it; a
 * node left by an earlier session of the same instance id (a restart before the old session
 * expired) is replaced, as Curator does, so watchers see the new instance. A node whose data is
 * not a ServiceInstance is skipped, not fatal. On session expiry every registration of this
 * object is gone with its nodes and cannot come back on that session: `lost` is aborted, and the
 * caller registers again through a new session (Curator re-registers on reconnect; here the
 * session is the caller's).
 */
import { CorralError, znodeUrl, type CorralClient } from '../corral-client.ts';
import { errorFromResponse } from '../errors.ts';
import type { CorralSession } from '../session.ts';
import { onSessionEnd, sessionEnded } from './sequential.ts';
import { TreeCacheView } from './tree-cache-view.ts';
import { checkRecipePath, expectStatus, childPath, ensureNode, readChildren, readNode, requesterOf, writeOnce, type NodeSnapshot, type Requester } from './znode-ops.ts';

export interface ServiceInstance<P = unknown> {
  readonly name: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly payload?: P;
  readonly registeredAtMs: number;
}

export type InstanceSpec<P = unknown> = Omit<ServiceInstance<P>, 'id' | 'registeredAtMs'> & { readonly id?: string };

const BASE_PATH_DEFAULT = '/services';
/** Replacing a node left by another session is tried this many times (it may be re-created meanwhile). */
const REGISTER_ATTEMPTS_MAX = 3;

export class ServiceDiscovery {
  /** Aborted when the session ends: every registration made through this object is gone. */
  readonly lost: AbortSignal;
  private readonly registered = new Map<string, ServiceInstance>();
  private readonly request: Requester;
  private readonly stopOnEnd: () => void;

  constructor(readonly session: CorralSession, readonly basePath = BASE_PATH_DEFAULT) {
    checkRecipePath('service discovery', basePath);
    this.request = requesterOf(session);
    const lost = new AbortController();
    this.lost = lost.signal;
    this.stopOnEnd = onSessionEnd(session, () => {
      this.registered.clear();
      lost.abort(sessionEnded(session));
    });
  }

  /** Registers an instance (a random id unless given); answers it as stored. */
  async register<P>(spec: InstanceSpec<P>): Promise<ServiceInstance<P>> {
    if (this.session.ended) throw sessionEnded(this.session);
    const instance: ServiceInstance<P> = { ...spec, id: spec.id ?? globalThis.crypto.randomUUID(), registeredAtMs: Date.now() };
    checkName('service name', instance.name);
    checkName('instance id', instance.id);
    const path = this.pathOf(instance.name, instance.id);
    const body = new TextEncoder().encode(JSON.stringify(instance));
    await ensureNode(this.request, this.servicePath(instance.name));
    for (let attempt = 1; ; attempt++) {
      const response = await writeOnce(this.request, `${znodeUrl('/v1/znodes', path)}?mode=ephemeral`, { method: 'POST', body, headers: OCTETS });
      if (response.status === 201) break;
      if (response.status !== 409 || attempt >= REGISTER_ATTEMPTS_MAX) throw await errorFromResponse(response);
      await response.body?.cancel();
      if (await this.takeOver(path, body)) break;
    }
    this.registered.set(path, instance);
    return instance;
  }

  /** Replaces a registered instance's data (address, port, payload). */
  async update<P>(instance: ServiceInstance<P>): Promise<void> {
    const path = this.pathOf(instance.name, instance.id);
    if (!this.registered.has(path)) throw new CorralError(404, 'NONODE', -101, `${path} is not registered by this ServiceDiscovery`);
    const response = await writeOnce(this.request, znodeUrl('/v1/znodes', path), { method: 'PUT', body: new TextEncoder().encode(JSON.stringify(instance)), headers: OCTETS });
    if (!response.ok) throw await errorFromResponse(response);
    await response.body?.cancel();
    this.registered.set(path, instance);
  }

  /** Removes an instance; one already gone is not an error. */
  async unregister(name: string, id: string): Promise<void> {
    const path = this.pathOf(name, id);
    this.registered.delete(path);
    const response = await writeOnce(this.request, znodeUrl('/v1/znodes', path), { method: 'DELETE' });
    await expectStatus(response, [204, 404, 410]);
  }

  /** Names of the services that have (or had) instances. */
  async queryForNames(): Promise<string[]> {
    return (await readChildren(this.request, this.basePath)) ?? [];
  }

  /** A service's instances as read now (nodes that are not ServiceInstances are skipped). */
  async queryForInstances<P = unknown>(name: string): Promise<Array<ServiceInstance<P>>> {
    const found: Array<ServiceInstance<P>> = [];
    for (const id of (await readChildren(this.request, this.servicePath(name))) ?? []) {
      const instance = await this.queryForInstance<P>(name, id);
      if (instance) found.push(instance);
    }
    return found;
  }

  async queryForInstance<P = unknown>(name: string, id: string): Promise<ServiceInstance<P> | undefined> {
    const node = await readNode(this.request, this.pathOf(name, id));
    return node && parseInstance<P>(node);
  }

  /** A cache of one service's instances, kept current by the watch stream (call start()). */
  serviceCache<P = unknown>(name: string): ServiceCache<P> {
    return new ServiceCache<P>(this.session.client, this.servicePath(name));
  }

  /** Unregisters what this object registered (the session stays the caller's). */
  async close(): Promise<void> {
    this.stopOnEnd();
    for (const instance of [...this.registered.values()]) {
      if (!this.session.ended) await this.unregister(instance.name, instance.id);
    }
  }

  /** Our own node (a lost answer's retry): update it. Another session's: delete it so the create can go again. */
  private async takeOver(path: string, body: Uint8Array): Promise<boolean> {
    const node = await readNode(this.request, path);
    if (!node) return false;
    if (node.stat.ephemeralOwner === this.session.id) {
      const response = await writeOnce(this.request, znodeUrl('/v1/znodes', path), { method: 'PUT', body: new Uint8Array(body), headers: OCTETS });
      await response.body?.cancel();
      return response.ok;
    }
    const response = await writeOnce(this.request, `${znodeUrl('/v1/znodes', path)}?version=${node.stat.version}`, { method: 'DELETE' });
    await expectStatus(response, [204, 404, 409]);
    return false;
  }

  private servicePath(name: string): string {
    return childPath(this.basePath, name);
  }

  private pathOf(name: string, id: string): string {
    return childPath(this.servicePath(name), id);
  }
}

/**
 * The instances of one service, kept current: a TreeCache of depth 1 on the service's node.
 * Converges after faults as the TreeCache does (stream resumed, or everything read again).
 */
export class ServiceCache<P = unknown> extends TreeCacheView {
  constructor(source: CorralClient | CorralSession, readonly servicePath: string) {
    super(source, servicePath, 1);
  }

  /** The instances as cached now, by id. */
  instances(): Array<ServiceInstance<P>> {
    const found: Array<ServiceInstance<P>> = [];
    for (const name of this.tree.children(this.servicePath)) {
      const instance = parseInstance<P>(this.tree.get(childPath(this.servicePath, name))!);
      if (instance) found.push(instance);
    }
    return found;
  }

  /** Called with every instance after each change to one of them. */
  onChange(listener: (instances: Array<ServiceInstance<P>>) => void): () => void {
    return this.tree.onChange((change) => {
      if (change.path !== this.servicePath) listener(this.instances());
    });
  }
}

const OCTETS = { 'Content-Type': 'application/octet-stream' };

function parseInstance<P>(node: NodeSnapshot): ServiceInstance<P> | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(node.data)) as ServiceInstance<P>;
    return typeof value?.name === 'string' && typeof value.id === 'string' && typeof value.address === 'string' && typeof value.port === 'number' ? value : undefined;
  } catch {
    return undefined; // not a ServiceInstance (someone else's node): not listed
  }
}

function checkName(what: string, name: string): void {
  if (name === '' || name.includes('/') || name === '.' || name === '..') {
    throw new CorralError(400, 'BADARGUMENTS', -8, `a ${what} is one znode name (no "/"), got "${name}"`);
  }
}
