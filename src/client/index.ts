/** The Corral client: typed API calls (generated from openapi.yaml) and sessions with watches. */
export { CorralClient, CorralError, unwrap, znodeUrl, type CorralClientOptions, type paths } from './corral-client.ts';
export { CorralSession, type WatchCallback, type WatchEvent } from './session.ts';
export { readSse, type SseEvent } from './sse.ts';
