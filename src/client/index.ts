/** The Corral client: typed API calls (generated from openapi.yaml) and sessions with watches. */
export {
  CorralClient, CorralError, unwrap, znodeUrl, type CorralClientOptions, type CreateMode, type paths, type ZnodeData, type ZnodeStat,
} from './corral-client.ts';
export { Failover, RETRY_FOR_MS_DEFAULT, type FailoverOptions } from './failover.ts';
export { CorralSession, type WatchCallback, type WatchEvent } from './session.ts';
export { readSse, type ReadSseOptions, type SseEvent } from './sse.ts';
export { FencingGuard, Lock, MUTEX_RULE, type AcquireOptions, type LockLease, type LockOptions, type QueueRule } from './recipes/lock.ts';
export { ReadWriteFencingGuard, ReadWriteLock, READ_RULE, WRITE_RULE, type ReadWriteLockOptions } from './recipes/read-write-lock.ts';
export { Semaphore, SEMAPHORE_LEASES_MAX, type SemaphoreLease } from './recipes/semaphore.ts';
export { LeaderSelector, type LeaderSelectorOptions, type Participant, type TakeLeadership } from './recipes/leader-selector.ts';
export { LeaderLatch, type LeadershipListener } from './recipes/leader-latch.ts';
export { NodeCache } from './recipes/node-cache.ts';
export { TreeCache, type CacheChange, type CacheChangeType, type CacheListener, type TreeCacheOptions } from './recipes/tree-cache.ts';
export type { NodeSnapshot } from './recipes/znode-ops.ts';
export { ServiceCache, ServiceDiscovery, type InstanceSpec, type ServiceInstance } from './recipes/service-discovery.ts';
export { Barrier, type BarrierWaitOptions } from './recipes/barrier.ts';
export { DoubleBarrier } from './recipes/double-barrier.ts';
export { DistributedQueue, type TakeOptions } from './recipes/distributed-queue.ts';
export { SharedCount, type AddResult, type CountListener, type VersionedValue } from './recipes/shared-count.ts';
