/**
 * Whether a server's TLS 1.3 tickets are stateful (a handle the server looks up) or
 * stateless (the session, encrypted, carried by the client), judged only from what a
 * client can see: the ticket's length.
 *
 * Why length is an honest tell in one direction: to resume statelessly the server must
 * recover the resumption secret (at least 32 bytes for SHA-256 suites) from the ticket
 * alone, and an authenticated encryption of it adds at least a 16-byte tag, so a ticket
 * shorter than 48 bytes cannot carry the session: the server keeps it. OpenSSL's stateful
 * tickets (SSL_OP_NO_TICKET on the server) are the 32-byte session id. The other
 * direction is only likely: a long ticket has room for encrypted state (OpenSSL's and
 * Node's are 200-250 bytes), but a server could hand out long random handles too.
 */

/** What the ticket lengths say about where the server keeps TLS 1.3 sessions. */
export type TicketKind = 'stateful' | 'stateless' | 'unknown';

/** Shorter than this, a ticket cannot hold an encrypted resumption secret. */
export const MIN_STATELESS_TICKET_BYTES = 48;
/** From this length on, a ticket has room for a whole encrypted session. */
export const LIKELY_STATELESS_TICKET_BYTES = 96;

/** The judgement and the one-line reason shown to the user. */
export interface TicketJudgement {
  readonly kind: TicketKind;
  readonly reason: string;
}

/** Judges ticket lengths (bytes) collected from one server. Pure. */
export function judgeTickets(lengths: readonly number[]): TicketJudgement {
  if (lengths.length === 0) return { kind: 'unknown', reason: 'no tickets received' };
  const min = Math.min(...lengths);
  const max = Math.max(...lengths);
  const size = min === max ? `${min}-byte` : `${min}-${max}-byte`;
  if (max < MIN_STATELESS_TICKET_BYTES) {
    return {
      kind: 'stateful',
      reason: `${size} tickets are too short to carry an encrypted session, so the server keeps sessions itself`,
    };
  }
  if (min >= LIKELY_STATELESS_TICKET_BYTES) {
    return {
      kind: 'stateless',
      reason: `${size} tickets have room for an encrypted session (likely stateless; a server could also use long handles)`,
    };
  }
  return { kind: 'unknown', reason: `${size} tickets: neither clearly a handle nor clearly an encrypted session` };
}
