import t from 'tap';
import * as tls from 'node:tls';
import { DestinationKeys, describeDestination } from '../lib/client/destination.js';
import { ca, cert, key } from './fixtures/tls.js';

const base = { host: 'a.example', port: 443, servername: 'a.example', ca };

t.test('equal options give equal keys, including equal buffers that are different objects', async (t) => {
  const keys = new DestinationKeys();
  t.equal(keys.keyOf(base), keys.keyOf({ ...base, ca: Buffer.from(ca) }));
  t.equal(keys.keyOf({ ...base, port: '443' }), keys.keyOf(base), 'port as a string (undici passes one)');
  t.equal(keys.keyOf({ ...base, rejectUnauthorized: true }), keys.keyOf(base), 'true is Node’s default');
  t.equal(keys.keyOf({ ...base, highWaterMark: 1, lookup: () => {}, timeout: 5 }), keys.keyOf(base), 'transport settings do not count');
  t.equal(keys.keyOf({ ALPNProtocols: ['h2'], key: { pem: 'k', passphrase: 'p' } }), keys.keyOf({ key: { passphrase: 'p', pem: 'k' }, ALPNProtocols: ['h2'] }));
});

t.test('every field that decides where or whom we trust gives a different key', async (t) => {
  const keys = new DestinationKeys();
  const variants: Record<string, object> = {
    host: { host: 'b.example' },
    port: { port: 8443 },
    servername: { servername: 'b.example' },
    'no servername': { servername: undefined },
    path: { path: '/tmp/sock' },
    ALPN: { ALPNProtocols: ['h2'] },
    'another ALPN': { ALPNProtocols: ['http/1.1'] },
    ca: { ca: cert },
    'no ca': { ca: undefined },
    rejectUnauthorized: { rejectUnauthorized: false },
    'client certificate': { cert, key },
    checkServerIdentity: { checkServerIdentity: () => undefined },
    maxVersion: { maxVersion: 'TLSv1.2' },
    ciphers: { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' },
    secureOptions: { secureOptions: 4 },
    secureContext: { secureContext: tls.createSecureContext({ ca }) },
  };
  const seen = new Map<string, string>([[keys.keyOf(base), 'base']]);
  for (const [name, change] of Object.entries(variants)) {
    const k = keys.keyOf({ ...base, ...change });
    t.notOk(seen.has(k), `${name} differs from ${seen.get(k) ?? 'all others'}`);
    seen.set(k, name);
  }
});

t.test('functions and secure contexts count by identity', async (t) => {
  const keys = new DestinationKeys();
  const check = () => undefined;
  t.equal(keys.keyOf({ ...base, checkServerIdentity: check }), keys.keyOf({ ...base, checkServerIdentity: check }));
  t.not(keys.keyOf({ ...base, checkServerIdentity: check }), keys.keyOf({ ...base, checkServerIdentity: () => undefined }));
  const ctx = tls.createSecureContext({ ca });
  t.equal(keys.keyOf({ ...base, secureContext: ctx }), keys.keyOf({ ...base, secureContext: ctx }));
  t.not(keys.keyOf({ ...base, secureContext: ctx }), keys.keyOf({ ...base, secureContext: tls.createSecureContext({ ca }) }));
});

t.test('the key holds no key material and two caches do not share keys', async (t) => {
  const secret = 'super-secret-passphrase';
  const a = new DestinationKeys();
  const b = new DestinationKeys();
  const k = a.keyOf({ ...base, key, passphrase: secret });
  t.notMatch(k, secret);
  t.notMatch(k, key.toString('base64').slice(0, 40));
  t.not(k, b.keyOf({ ...base, key, passphrase: secret }), 'the HMAC salt is per cache');
  t.equal(describeDestination(k), 'a.example:443/a.example');
  t.equal(describeDestination(a.keyOf({ host: '::1', port: 443 })), '[::1]:443/');
  t.equal(describeDestination(a.keyOf({ port: 443 })), 'localhost:443/', 'Node connects to localhost when host is absent');
});
