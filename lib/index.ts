/**
 * tls-resumption: TLS session resumption for Node.js servers and clients, with
 * OpenSSL's session-cache semantics.
 *
 * The public surface is this file; everything else is internal.
 */
export { attachSessionCache } from './server/attach.js';
export { SessionCache } from './server/session-cache.js';
export type { Capabilities, Capability, CapabilityName, CapabilityStatus } from './node/capabilities.js';
export { warningCodes, type WarningCode } from './warnings.js';
export { deprecationCodes, type DeprecationCode } from './deprecations.js';
export type { Duration, Milliseconds, Seconds } from './units.js';
export { channelNames, type LookupMessage, type SessionMessage, type StoreFailureMessage } from './diagnostics.js';
export type { SessionCacheOptions } from './server/options.js';
export type { SessionCacheStats } from './cache/stats.js';
export type { ModeInput, ModeName } from './cache/mode.js';
export type { GenerateSessionKey } from './cache/session-key.js';
export type { MissReason } from './cache/resume-decision.js';
export type { SessionStore } from './stores/store.js';
export { RedisStore, DEFAULT_REDIS_KEY_PREFIX, type RedisStoreOptions } from './stores/redis.js';
export { ClusterStore, type ClusterStoreOptions } from './stores/cluster.js';
export {
  deprecatedServeClusterSessions as serveClusterSessions,
  type ClusterPrimaryOptions,
  type ClusterPrimaryStats,
  type ClusterSessionServer,
} from './stores/cluster-primary.js';
export { SealedStore, type SealedStoreOptions } from './stores/sealed.js';
export { attachTicketKeys, type TicketKeysHandle } from './server/attach-ticket-keys.js';
export type { TicketKeysOption, RotatingTicketKeysOptions } from './tickets/options.js';
export type { TicketKeysStats } from './server/ticket-key-installation.js';
export {
  SESS_CACHE_OFF,
  SESS_CACHE_CLIENT,
  SESS_CACHE_SERVER,
  SESS_CACHE_BOTH,
  SESS_CACHE_NO_AUTO_CLEAR,
  SESS_CACHE_NO_INTERNAL_LOOKUP,
  SESS_CACHE_NO_INTERNAL_STORE,
  SESS_CACHE_NO_INTERNAL,
  MAX_SID_CTX_LENGTH,
} from './constants.js';
export { ClientSessionCache, type ClientSessionCacheStats } from './client/client-session-cache.js';
export type { ClientSessionCacheOptions } from './client/options.js';
export { ClientSessionAgent } from './client/agent.js';
export type { UndiciConnector, UndiciConnectorOptions, UndiciConnectOptions, UndiciConnectCallback } from './client/undici-connector.js';
export { registerMetrics, type MetricsOptions, type PromClientLike } from './metrics/prometheus.js';
export { codes, isTlsResumptionError, type ErrorCode, type TlsResumptionError } from './errors.js';
