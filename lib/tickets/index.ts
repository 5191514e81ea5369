/**
 * Stateless ticket keys: a key ring shared across workers and hosts and rotated
 * without dropping tickets. See docs/tickets.md.
 */
export { attachTicketKeys, createTicketKeyRing, type TicketKeysContext, type TicketKeysHandle } from './attach.js';
export {
  parseTicketKey,
  generateTicketKey,
  encodeTicketKey,
  nodeTicketKeyBytes,
  type TicketKey,
} from './key.js';
export {
  TicketKeyRing,
  keyNamePrefix,
  type TicketKeyRole,
  type TicketKeyRingStats,
  type TicketKeyLookup,
  type TicketKeySource,
} from './ring.js';
export {
  installTicketKeys,
  ticketKeyCallbackSupported,
  type InstallTicketKeysOptions,
  type TicketKeysInstallation,
  type TicketKeysStats,
  type TicketKeyPath,
} from './node-callback.js';
export { SharedTicketKeys, type SharedTicketKeysOptions, type SharedTicketKeysStats, type SyncReport } from './shared.js';
export { randomKeySource, derivedKeySource, deriveTicketKey } from './sources.js';
export {
  validateTicketKeysOption,
  checkTicketKeyStore,
  parseDuration,
  type TicketKeysOption,
  type RotatingTicketKeysOptions,
  type TicketKeysConfig,
} from './options.js';
