import { isIP } from 'node:net';

/** Where `check` connects: a host name or IP literal and a TCP port. */
export interface Target {
  /** Host name or IP literal as the user wrote it (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
}

/** The port `check` uses when the address names none. */
export const DEFAULT_PORT = 443;

// RFC 1123 labels; we also accept '_' because real internal names carry it.
const hostnamePattern = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/** True for a syntactically valid DNS host name (not an IP literal check). */
export function isHostname(text: string): boolean {
  return hostnamePattern.test(text);
}

/**
 * Parses `host:port`, `host` (port 443), `[v6]:port`, a bare IPv6 literal, or an
 * `https://host:port/...` URL. Returns a reason instead of throwing: the caller turns it
 * into a one-line usage error. Pure: no DNS here, so a well-formed name that does not
 * resolve is a later, different error ("unreachable").
 */
export function parseTarget(input: string): { ok: true; target: Target } | { ok: false; reason: string } {
  let text = input.trim();
  if (text === '') return { ok: false, reason: 'no address given (expected host:port)' };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { ok: false, reason: `"${input}" is not a valid URL` };
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port === '' ? (url.protocol === 'https:' ? DEFAULT_PORT : Number.NaN) : Number(url.port);
    if (Number.isNaN(port)) return { ok: false, reason: `"${input}" names no port and is not an https:// URL` };
    text = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
    if (isIP(host) !== 6) return { ok: false, reason: `"${host}" is not an IPv6 address` };
  } else if (isIP(text) === 6) {
    // A bare IPv6 literal: every colon belongs to the address, so there is no port.
    host = text;
  } else {
    const colons = text.split(':').length - 1;
    if (colons > 1) return { ok: false, reason: `"${input}" is ambiguous: write IPv6 addresses as [addr]:port` };
    const at = text.lastIndexOf(':');
    host = at === -1 ? text : text.slice(0, at);
    portText = at === -1 ? undefined : text.slice(at + 1);
    if (isIP(host) !== 4 && !hostnamePattern.test(host)) {
      return { ok: false, reason: `"${host}" is not a valid host name or IP address` };
    }
  }

  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      return { ok: false, reason: `"${portText}" is not a port (expected 1-65535)` };
    }
    port = Number(portText);
  }
  return { ok: true, target: { host: host.replace(/\.$/, ''), port } };
}

/** `host:port`, bracketing IPv6 literals, for messages. */
export function formatTarget(target: Target): string {
  return isIP(target.host) === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/**
 * A made-up name under the same parent as `servername`, for the cross-SNI probe:
 * `www.example.com` -> `tls-resumption-check.example.com`. For a single-label or
 * absent name it is a name under `.invalid` (RFC 6761), which nothing can own.
 */
export function siblingName(servername: string | undefined): string {
  const made = 'tls-resumption-check';
  if (servername === undefined) return `${made}.invalid`;
  const dot = servername.indexOf('.');
  if (dot === -1) return `${made}.invalid`;
  const sibling = `${made}${servername.slice(dot)}`;
  // If the user's name already is our made-up label, pick another one.
  return sibling === servername ? `${made}-other${servername.slice(dot)}` : sibling;
}
