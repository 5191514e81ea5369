import createDebug from 'debug';

/**
 * A `debug` logger under `tls-resumption:<area>`. Log lengths and short id
 * prefixes (see `shortId`), never session bytes or keys.
 */
export function logger(area: string): createDebug.Debugger {
  return createDebug(`tls-resumption:${area}`);
}

/** The first 8 hex characters of an id: enough to follow a session in logs, no more. */
export function shortId(id: Buffer | string | undefined): string {
  if (id === undefined) return '-';
  const hex = typeof id === 'string' ? id : id.toString('hex');
  return hex.length > 8 ? `${hex.slice(0, 8)}…` : hex || '(empty)';
}
