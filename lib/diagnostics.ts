/**
 * Resumption decisions published on Node's `diagnostics_channel`, the convention of
 * undici, fastify and Node's own `http`: APM tools and OpenTelemetry subscribe by name
 * and the library depends on none of them. Publishing costs nothing while a channel
 * has no subscriber. Payloads carry no secrets: ids as their first 8 hex characters.
 *
 * | channel                          | published when                         | payload |
 * | -------------------------------- | -------------------------------------- | ------- |
 * | `tls-resumption:lookup`          | a proposed session was decided         | `{ result: 'hit', source: 'internal' \| 'external', id }` or `{ result: 'miss', reason, id }` |
 * | `tls-resumption:session`         | a new session was handled              | `{ result: 'stored' \| 'not-cached' \| 'invalid' \| 'stateless-skipped', id }` |
 * | `tls-resumption:store-failure`   | an external store call failed          | `{ operation: 'get' \| 'set', kind: 'timeout' \| 'error' \| 'tampered' \| 'skipped', id }` |
 */
import { channel } from 'node:diagnostics_channel';

export const channelNames = Object.freeze({
  lookup: 'tls-resumption:lookup',
  session: 'tls-resumption:session',
  storeFailure: 'tls-resumption:store-failure',
} as const);

export const lookupChannel = channel(channelNames.lookup);
export const sessionChannel = channel(channelNames.session);
export const storeFailureChannel = channel(channelNames.storeFailure);

export interface LookupMessage {
  readonly result: 'hit' | 'miss';
  readonly source?: 'internal' | 'external';
  readonly reason?: string;
  /** The first 8 hex characters of the session's storage key. */
  readonly id: string;
}
export interface SessionMessage {
  readonly result: 'stored' | 'not-cached' | 'invalid' | 'stateless-skipped';
  readonly id: string;
}
export interface StoreFailureMessage {
  readonly operation: 'get' | 'set';
  readonly kind: 'timeout' | 'error' | 'tampered' | 'skipped';
  readonly id: string;
}
