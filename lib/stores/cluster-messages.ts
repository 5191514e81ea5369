/**
 * The IPC messages between `ClusterStore` (in each worker) and `ClusterStore.primary()`
 * (in the primary). They travel over Node's cluster IPC channel, shared with the
 * application's own messages, so every message carries a tag and a channel id, and
 * anything that does not parse is ignored by both sides.
 *
 *   request = { tlsResumption: "session-store/1", ch, id, op, key, value?, ttlMs? }
 *     ch     string (1..64)   one per ClusterStore instance, so replies find their store
 *     id     safe integer     per request, to match the reply
 *     op     "get" | "set" | "add" | "delete" | "seal-key"
 *     key    string (1..1024) the cache's store key (any string for "seal-key")
 *     value  base64 string    set and add only (JSON serialization has no Buffers)
 *     ttlMs  positive number  set and add only
 *   reply = { tlsResumption: "session-store/1", ch, id, ok: true, value?: string | null, result?: boolean }
 *         | { tlsResumption: "session-store/1", ch, id, ok: false, error: string }
 */

/** Tag of every message of this protocol. */
export const CLUSTER_MESSAGE_TAG = 'session-store/1';
/** The longest key the primary accepts. */
export const MAX_CLUSTER_KEY_LENGTH = 1024;
/** The largest value the primary accepts, in bytes (a session with a long client chain fits). */
export const MAX_CLUSTER_VALUE_BYTES = 64 * 1024;

/** `seal-key` asks the primary for the default seal key of this cluster (see ClusterStore). */
export type ClusterOp = 'get' | 'set' | 'add' | 'delete' | 'seal-key';

export interface ClusterRequest {
  tlsResumption: typeof CLUSTER_MESSAGE_TAG;
  ch: string;
  id: number;
  op: ClusterOp;
  key: string;
  value?: string;
  ttlMs?: number;
}

export type ClusterReply =
  | { tlsResumption: typeof CLUSTER_MESSAGE_TAG; ch: string; id: number; ok: true; value?: string | null; result?: boolean }
  | { tlsResumption: typeof CLUSTER_MESSAGE_TAG; ch: string; id: number; ok: false; error: string };

const OPS = new Set<string>(['get', 'set', 'add', 'delete', 'seal-key']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function hasAddress(m: Record<string, unknown>): boolean {
  return (
    m.tlsResumption === CLUSTER_MESSAGE_TAG &&
    typeof m.ch === 'string' &&
    m.ch.length > 0 &&
    m.ch.length <= 64 &&
    Number.isSafeInteger(m.id)
  );
}

/**
 * Parses a message a worker sent. Returns the request, `{ bad }` with the address and a
 * reason when it is ours but malformed (so the worker gets an error reply), or
 * undefined when it is not a message of this protocol. Never throws.
 */
export function parseClusterRequest(
  m: unknown,
): ClusterRequest | { bad: string; ch: string; id: number } | undefined {
  if (!isRecord(m) || !hasAddress(m)) return undefined;
  const bad = (reason: string) => ({ bad: reason, ch: m.ch as string, id: m.id as number });
  if (typeof m.op !== 'string' || !OPS.has(m.op)) return bad('unknown op');
  if (typeof m.key !== 'string' || m.key.length === 0 || m.key.length > MAX_CLUSTER_KEY_LENGTH) return bad('bad key');
  if (m.op === 'set' || m.op === 'add') {
    if (typeof m.value !== 'string' || m.value.length > Math.ceil(MAX_CLUSTER_VALUE_BYTES / 3) * 4) return bad('bad value');
    if (typeof m.ttlMs !== 'number' || !Number.isFinite(m.ttlMs) || m.ttlMs <= 0) return bad('bad ttlMs');
  }
  return m as unknown as ClusterRequest;
}

/** Parses a reply the primary sent; undefined when it is not one of ours. Never throws. */
export function parseClusterReply(m: unknown): ClusterReply | undefined {
  if (!isRecord(m) || !hasAddress(m) || typeof m.ok !== 'boolean') return undefined;
  return m as unknown as ClusterReply;
}
