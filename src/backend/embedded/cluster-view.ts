/** This member's view of the ensemble (GET /v1/cluster), in the contract's shape. */
import { zxidOf } from '../../core/consensus/zxid.ts';
import type { CorralNode } from '../../node/corral-node.ts';
import type { ClusterView, MemberView } from '../backend.ts';

export function clusterView(node: CorralNode): ClusterView {
  const { config } = node;
  const s = node.host.status();
  // An observer's role is configured (--role observer), not elected: it is one whatever it hears.
  const role = s.learner ? 'observer' : s.role === 'leader' || s.role === 'follower' ? s.role : 'looking';
  const term = (index: number) => node.termAt(index);
  const lags = node.followerLag();
  const connected = node.peers.peersConnected();
  // The configuration in force (membership changes included), with the addresses it carries.
  const cluster = node.clusterConfig();
  const members = config.members.length > 0 || cluster.voters.length + cluster.learners.length > 1
    ? [...cluster.voters, ...cluster.learners].map((id) => ({ id, client: node.clientAddressOf(id) ?? '', ...(cluster.learners.includes(id) ? { observer: true } : {}) }))
    : [{ id: s.id, client: `${config.host}:${config.port}` }];
  const peerOf = (id: number) => {
    const peer = node.peerAddressOf(id);
    return peer === undefined ? {} : { peer };
  };
  const view: MemberView[] = members.map((m) => {
    if (m.id === s.id) return { id: m.id, address: m.client, ...peerOf(m.id), role, lag: Math.max(0, s.commitIndex - s.appliedIndex), connected: true };
    const up = connected.get(m.id) ?? false;
    const memberRole = 'observer' in m && m.observer ? 'observer' : m.id === s.leader ? 'leader' : s.leader !== 0 && up ? 'follower' : 'unknown';
    return { id: m.id, address: m.client, ...peerOf(m.id), role: memberRole, lag: lags.get(m.id) ?? null, connected: up };
  });
  return {
    self: s.id, role, leader: s.leader === 0 ? null : s.leader, epoch: s.term,
    lastZxid: String(zxidOf(term(s.lastIndex), s.lastIndex)), commitZxid: String(zxidOf(term(s.commitIndex), s.commitIndex)),
    members: view,
  };
}
