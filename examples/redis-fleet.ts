/**
 * Two HTTPS servers on different ports sharing sessions through one Redis, as two
 * hosts of a fleet would: a client that made its session on one resumes on the other.
 *
 *   npx tsx examples/redis-fleet.ts                   # starts a throwaway redis-server
 *   REDIS_URL=redis://127.0.0.1:6379 SEAL_KEY=$(openssl rand -base64 32) npx tsx examples/redis-fleet.ts
 *
 * Every host must be given the same SEAL_KEY (32+ random bytes, base64) and the same
 * sessionIdContext; to rotate, put the new key first and keep the old one until the
 * sessions sealed with it have expired.
 */
import * as https from 'node:https';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { createClient } from 'redis';
import { attachSessionCache, RedisStore } from '../lib/index.js';

const fixtures = join(__dirname, '..', 'test', 'fixtures');
const key = readFileSync(join(fixtures, 'key.pem'));
const cert = readFileSync(join(fixtures, 'cert.pem'));
const ca = readFileSync(join(fixtures, 'ca.pem'));

/** A redis-server on a free port with no persistence, for when REDIS_URL is not set. */
async function throwawayRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await new Promise<void>((resolve, reject) => {
    child.once('error', () => reject(new Error('no REDIS_URL and no redis-server on PATH: install Redis or set REDIS_URL')));
    child.stdout!.on('data', (d: Buffer) => d.includes('Ready to accept connections') && resolve());
  });
  return { url: `redis://127.0.0.1:${port}`, child };
}

/** One "host": an HTTPS server whose cache shares sessions through Redis. */
async function startHost(name: string, redisUrl: string, sealKey: Buffer) {
  const client = createClient({ url: redisUrl });
  client.on('error', (err) => console.error(`${name}: redis: ${err.message}`));
  await client.connect();
  const server = https.createServer({ key, cert }, (_req, res) => res.end(`hello from ${name}\n`));
  const cache = attachSessionCache(server, {
    sessionIdContext: 'shop-frontend', // the same on every host: required with a shared store
    tickets: 'off', // TLS 1.2 session ids and TLS 1.3 stateful tickets, both served from the store
    store: new RedisStore({ client, sealKeys: [sealKey] }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    name,
    port,
    cache,
    async close() {
      cache.detach();
      await new Promise((r) => server.close(r));
      await client.close();
    },
  };
}

/** One HTTPS request on a new connection, offering `session`. */
function get(port: number, options: tls.ConnectionOptions, session?: Buffer) {
  return new Promise<{ resumed: boolean; body: string; session?: Buffer }>((resolve, reject) => {
    let latest: Buffer | undefined;
    let resumed = false;
    const req = https.get(
      { host: '127.0.0.1', port, servername: 'localhost', ca, agent: false, ...options, ...(session ? { session } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => setImmediate(() => resolve({ resumed, body: body.trim(), ...(latest ? { session: latest } : {}) })));
      },
    );
    req.on('socket', (socket: tls.TLSSocket) => {
      socket.on('session', (s) => (latest = s));
      socket.once('secureConnect', () => (resumed = socket.isSessionReused()));
    });
    req.on('error', reject);
  });
}

async function main() {
  const own = process.env.REDIS_URL ? undefined : await throwawayRedis();
  const redisUrl = process.env.REDIS_URL ?? own!.url;
  const sealKey = process.env.SEAL_KEY ? Buffer.from(process.env.SEAL_KEY, 'base64') : randomBytes(32);
  const hosts = [await startHost('host-a', redisUrl, sealKey), await startHost('host-b', redisUrl, sealKey)];
  console.log(`Redis ${redisUrl}; host-a on port ${hosts[0]!.port}, host-b on port ${hosts[1]!.port}\n`);

  const protocols: [string, tls.ConnectionOptions][] = [
    ['TLS 1.2 (session id)', { maxVersion: 'TLSv1.2' }],
    ['TLS 1.3 (stateful ticket)', { minVersion: 'TLSv1.3' }],
  ];
  for (const [label, options] of protocols) {
    const first = await get(hosts[0]!.port, options);
    console.log(`${label}: host-a  full handshake     -> ${first.body}`);
    let session = first.session;
    for (let i = 0; i < 4; i++) {
      const host = hosts[(i + 1) % 2]!;
      const r = await get(host.port, options, session);
      session = r.session ?? session;
      console.log(`${label}: ${host.name}  ${r.resumed ? 'resumed          ' : 'FULL handshake   '} -> ${r.body}`);
    }
    console.log();
  }
  for (const h of hosts) {
    const s = h.cache.stats();
    console.log(`${h.name}: ${s.hits} resumed, ${s.cbHits} of them from Redis, ${s.misses} misses, store failures ${s.storeErrors + s.storeTimeouts}`);
  }
  await Promise.all(hosts.map((h) => h.close()));
  own?.child.kill();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
