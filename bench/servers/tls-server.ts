/**
 * A benchmark server in its own process: `tsx bench/servers/tls-server.ts <variant>`.
 * Prints its port on stdout, serves a tiny HTTP response on each TLS connection,
 * prints its cache stats as JSON on SIGTERM-free exit via stdin close.
 */
import * as https from 'node:https';
import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { attachSessionCache, type SessionCache } from '../../lib/index.js';

const fixtures = join(__dirname, '..', '..', 'test', 'fixtures');
const key = readFileSync(join(fixtures, 'key.pem'));
const cert = readFileSync(join(fixtures, 'cert.pem'));

const variant = process.argv[2] ?? 'library';
const NO_TICKET = constants.SSL_OP_NO_TICKET;

const server = https.createServer(
  {
    key,
    cert,
    ...(variant === 'none' || variant === 'map' ? { secureOptions: NO_TICKET } : {}),
    ...(variant === 'library-tls12' ? { maxVersion: 'TLSv1.2' as const } : {}),
  },
  (_req, res) => res.end('ok\n'),
);
let cache: SessionCache | undefined;
switch (variant) {
  case 'none': // Node as it is: no session-id cache at all
    break;
  case 'map': {
    // The Node documentation's example: a bare Map.
    const sessions = new Map<string, Buffer>();
    server.on('newSession', (id: Buffer, data: Buffer, cb: () => void) => {
      sessions.set(id.toString('hex'), data);
      cb();
    });
    server.on('resumeSession', (id: Buffer, cb: (err: Error | null, data: Buffer | null) => void) => {
      cb(null, sessions.get(id.toString('hex')) ?? null);
    });
    break;
  }
  case 'library': // tickets off: TLS 1.2 ids + TLS 1.3 stateful, with the ClientHello pre-parse
    cache = attachSessionCache(server, { tickets: 'off', sessionIdContext: 'bench' });
    break;
  case 'library-tls12': // tickets off on a TLS 1.2-only server: no pre-parse needed
    cache = attachSessionCache(server, { tickets: 'off', sessionIdContext: 'bench' });
    break;
  case 'library-stateless': // Node's stateless tickets, the library attached
    cache = attachSessionCache(server, { sessionIdContext: 'bench' });
    break;
  case 'library-stateless-preparse': // the same, with the ClientHello pre-parse forced on
    cache = attachSessionCache(server, { sessionIdContext: 'bench', serverNameBinding: 'always' });
    break;
  default:
    throw new Error(`unknown variant ${variant}`);
}
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => {
  if (cache) process.stdout.write(`${JSON.stringify(cache.stats())}\n`);
  process.exit(0);
});
