import t from 'tap';
import fc from 'fast-check';
import { createCipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import {
  destroyTicketKey,
  encodeTicketKey,
  generateTicketKey,
  nodeTicketKeyBytes,
  parseTicketKey,
  sameTicketKey,
} from '../lib/tickets/key.js';

t.test('a 48-byte key splits as name16 | hmac16 | aes16 and Node uses it as is', async (t) => {
  const bytes = randomBytes(48);
  const key = parseTicketKey(bytes);
  t.same(key.name, bytes.subarray(0, 16));
  t.same(key.hmacKey, bytes.subarray(16, 32));
  t.same(key.aesKey, bytes.subarray(32, 48));
  t.same(key.nodeHmacKey, key.hmacKey);
  t.same(key.nodeAesKey, key.aesKey);
  t.same(nodeTicketKeyBytes(key), bytes, 'setTicketKeys gets the same 48 bytes');
  t.same(encodeTicketKey(key), bytes, 'round-trips');
});

t.test('an 80-byte key splits as name16 | hmac32 | aes32 and is shortened for Node with HKDF', async (t) => {
  const bytes = randomBytes(80);
  const key = parseTicketKey(bytes);
  t.same(key.name, bytes.subarray(0, 16));
  t.same(key.hmacKey, bytes.subarray(16, 48));
  t.same(key.aesKey, bytes.subarray(48, 80));
  t.equal(key.nodeHmacKey.length, 16);
  t.equal(key.nodeAesKey.length, 16);
  const salt = Buffer.from('tls-resumption');
  const expectAes = Buffer.from(hkdfSync('sha256', key.aesKey, salt, Buffer.from('tls-resumption v1 ticket aes-128-cbc key for node'), 16));
  t.same(key.nodeAesKey, expectAes, 'AES key is HKDF of the 32-byte AES key');
  t.notSame(key.nodeAesKey, key.aesKey.subarray(0, 16), 'not a plain truncation');
  t.not(key.nodeHmacKey.toString('hex'), key.nodeAesKey.toString('hex'), 'the two derived keys differ');
  t.same(encodeTicketKey(key), bytes, 'the original 80 bytes round-trip');
  t.same(nodeTicketKeyBytes(key).subarray(0, 16), key.name);
  t.equal(nodeTicketKeyBytes(key).length, 48);
});

t.test('the parsed key is a copy: wiping the input does not change it', async (t) => {
  const bytes = randomBytes(48);
  const before = Buffer.from(bytes);
  const key = parseTicketKey(bytes);
  bytes.fill(0);
  t.same(encodeTicketKey(key), before);
});

t.test('any other length or type is a TypeError with ERR_TLS_RESUMPTION_TICKET_KEY, naming the option', async (t) => {
  for (const len of [0, 16, 32, 47, 49, 64, 79, 81, 96]) {
    t.throws(() => parseTicketKey(Buffer.alloc(len), 'ticketKeys[1]'), {
      name: 'TypeError',
      code: 'ERR_TLS_RESUMPTION_TICKET_KEY',
      message: `ticketKeys[1] is ${len} bytes; a ticket key is 48 bytes (name16|hmac16|aes16) or 80 bytes (name16|hmac32|aes32)`,
    });
  }
  for (const value of ['x'.repeat(48), 48, null, undefined, [1, 2], {}]) {
    t.throws(() => parseTicketKey(value), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_TICKET_KEY' });
  }
  t.throws(() => parseTicketKey(null), { message: 'ticket key must be a Buffer of 48 or 80 bytes, got null' });
});

t.test('random inputs either parse (48 or 80 bytes) or throw the typed error, never anything else', async () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
      try {
        const key = parseTicketKey(bytes);
        return (bytes.length === 48 || bytes.length === 80) && key.name.length === 16;
      } catch (err) {
        return (err as { code?: string }).code === 'ERR_TLS_RESUMPTION_TICKET_KEY' && bytes.length !== 48 && bytes.length !== 80;
      }
    }),
  );
});

t.test('a generated key is 48 bytes, random, with the name prefix it was given', async (t) => {
  const prefix = Buffer.from('0000000000000007', 'hex');
  const a = generateTicketKey(prefix);
  const b = generateTicketKey(prefix);
  t.same(a.name.subarray(0, 8), prefix);
  t.same(b.name.subarray(0, 8), prefix);
  t.notSame(a.name, b.name, 'the rest of the name is random');
  t.notOk(sameTicketKey(a, b));
  t.equal(encodeTicketKey(a).length, 48);
  t.throws(() => generateTicketKey(Buffer.alloc(17)), { code: 'ERR_TLS_RESUMPTION_TICKET_KEY' });
});

t.test('destroyTicketKey zeroes the secrets and keeps the public name', async (t) => {
  const key = parseTicketKey(randomBytes(80));
  const name = Buffer.from(key.name);
  destroyTicketKey(key);
  t.same(key.name, name);
  for (const part of [key.hmacKey, key.aesKey, key.nodeHmacKey, key.nodeAesKey]) t.ok(part.every((b) => b === 0));
});

t.test('sameTicketKey compares the material, not the object', async (t) => {
  const bytes = randomBytes(48);
  t.ok(sameTicketKey(parseTicketKey(bytes), parseTicketKey(bytes)));
  const other = Buffer.from(bytes);
  other[40] = other[40]! ^ 1;
  t.notOk(sameTicketKey(parseTicketKey(bytes), parseTicketKey(other)));
  t.notOk(sameTicketKey(parseTicketKey(randomBytes(48)), parseTicketKey(randomBytes(80))));
});

t.test('the Node form encrypts like OpenSSL tickets do: AES-128-CBC and HMAC-SHA256 accept it', async (t) => {
  const key = parseTicketKey(randomBytes(80));
  const cipher = createCipheriv('aes-128-cbc', key.nodeAesKey, randomBytes(16));
  t.ok(Buffer.concat([cipher.update('state'), cipher.final()]).length === 16);
  t.equal(createHmac('sha256', key.nodeHmacKey).update('x').digest().length, 32);
});
