/**
 * Who the other members are and where to reach them, kept in step with the configuration in
 * force (the core reports each change in a Ready, conf-change.ts): a member added is dialed at
 * the peer address its change entry carries; a member removed is dropped — after a grace of
 * some ticks, because the leader still replicates to it until its removal commits (so that it
 * learns of it and stops standing), and a change can be truncated away and the member return.
 *
 * Addresses come from the configuration (entries carry them), else from --members (founders).
 */
import type { Config, Member } from '../config.ts';
import { isMember, membersOf, type ClusterConfig, type MemberAddress } from '../core/consensus/cluster-config.ts';
import type { Logger } from '../observability/logger.ts';

/** Links made and dropped as members come and go (the PeerLink). */
export interface MemberLinks {
  addPeer(id: number, peer: { readonly host: string; readonly port: number }): void;
  removePeer(id: number): void;
}

/** Consensus ticks a removed member's links are kept: ample for its removal to commit and reach it. */
export const REMOVAL_GRACE_TICKS = 50;

/** `host:port` (or `[v6]:port`) → its parts; undefined when it is not one. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

export const formatHostPort = (peer: { readonly host: string; readonly port: number }): string =>
  peer.host.includes(':') ? `[${peer.host}]:${peer.port}` : `${peer.host}:${peer.port}`;

/** The addresses of --members, as a configuration carries them. */
export function addressesOf(members: readonly Member[]): Record<string, MemberAddress> {
  return Object.fromEntries(members.map((m) => [String(m.id), { client: m.client, peer: formatHostPort(m.peer) }]));
}

export class MemberDirectory {
  private current: ClusterConfig | undefined;
  /** Members linked to (this one excluded). */
  private readonly linked = new Set<number>();
  /** Removed members whose links go when their count runs out. */
  private readonly leaving = new Map<number, number>();

  constructor(private readonly config: Config, private readonly links: MemberLinks, private readonly logger: Logger) {
    for (const m of config.members) if (m.id !== config.id) this.linked.add(m.id);
  }

  /** The configuration in force changed (or is known for the first time). */
  update(cluster: ClusterConfig): void {
    this.current = cluster;
    for (const id of membersOf(cluster)) {
      if (id === this.config.id) continue;
      this.leaving.delete(id);
      if (this.linked.has(id)) continue;
      const address = this.addressOf(id);
      const peer = address && parseHostPort(address.peer);
      if (!peer) {
        this.logger.warn({ event: 'member-unreachable', member: id }, `member ${id} has no peer address in the configuration; it cannot be reached`);
        continue;
      }
      this.links.addPeer(id, peer);
      this.linked.add(id);
    }
    for (const id of this.linked) if (!isMember(cluster, id) && !this.leaving.has(id)) this.leaving.set(id, REMOVAL_GRACE_TICKS);
  }

  /** One consensus tick: removed members whose grace ran out are dropped. */
  tick(): void {
    for (const [id, left] of this.leaving) {
      if (left > 1) {
        this.leaving.set(id, left - 1);
        continue;
      }
      this.leaving.delete(id);
      this.linked.delete(id);
      this.links.removePeer(id);
    }
  }

  /** Where member `id` serves clients and peers: the configuration's word, else --members'. */
  addressOf(id: number): MemberAddress | undefined {
    const known = this.current?.addresses[String(id)];
    if (known) return known;
    const member = this.config.members.find((m) => m.id === id);
    return member && { client: member.client, peer: formatHostPort(member.peer) };
  }
}
