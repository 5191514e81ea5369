import t from 'tap';
import { ClientSessionCache } from '../lib/client/client-session-cache.js';
import { validateClientOptions, MAX_TICKET_LIFETIME_SECONDS } from '../lib/client/options.js';
import {
  DEFAULT_CACHE_SIZE,
  SESS_CACHE_BOTH,
  SESS_CACHE_CLIENT,
  SESS_CACHE_NO_AUTO_CLEAR,
  SESS_CACHE_NO_INTERNAL_STORE,
  SESS_CACHE_OFF,
  SESS_CACHE_SERVER,
} from '../lib/constants.js';

t.test('defaults: CLIENT mode, OpenSSL cache size, 4 tickets per destination, 7 days, frozen', async (t) => {
  const config = validateClientOptions(undefined);
  t.equal(config.mode, SESS_CACHE_CLIENT);
  t.equal(config.cacheSize, DEFAULT_CACHE_SIZE);
  t.equal(config.ticketsPerDestination, 4);
  t.equal(config.maxLifetime, MAX_TICKET_LIFETIME_SECONDS);
  t.equal(config.now, Date.now);
  t.ok(Object.isFrozen(config));
  t.ok(Object.isFrozen(validateClientOptions({ cacheSize: 5 })));
  t.equal(new ClientSessionCache().getMode(), SESS_CACHE_CLIENT);
});

t.test('mode accepts numbers, names and lists of both', async (t) => {
  t.equal(new ClientSessionCache({ mode: 'client' }).getMode(), SESS_CACHE_CLIENT);
  t.equal(new ClientSessionCache({ mode: 'off' }).getMode(), SESS_CACHE_OFF);
  t.equal(new ClientSessionCache({ mode: 'both' }).getMode(), SESS_CACHE_BOTH);
  t.equal(new ClientSessionCache({ mode: 'server' }).getMode(), SESS_CACHE_SERVER);
  t.equal(new ClientSessionCache({ mode: 0x81 }).getMode(), SESS_CACHE_CLIENT | SESS_CACHE_NO_AUTO_CLEAR);
  t.equal(new ClientSessionCache({ mode: ['client', 'no-auto-clear'] }).getMode(), SESS_CACHE_CLIENT | SESS_CACHE_NO_AUTO_CLEAR);
  t.equal(new ClientSessionCache({ mode: ['client', SESS_CACHE_NO_INTERNAL_STORE] }).getMode(), 0x201);
});

t.test('storesSessions needs CLIENT and not NO_INTERNAL_STORE', async (t) => {
  t.equal(new ClientSessionCache({ mode: 'client' }).storesSessions, true);
  t.equal(new ClientSessionCache({ mode: 'both' }).storesSessions, true);
  t.equal(new ClientSessionCache({ mode: 'off' }).storesSessions, false);
  t.equal(new ClientSessionCache({ mode: 'server' }).storesSessions, false);
  t.equal(new ClientSessionCache({ mode: ['client', 'no-internal-store'] }).storesSessions, false);
});

t.test('an unknown option is a TypeError with ERR_TLS_RESUMPTION_UNKNOWN_OPTION naming it', async (t) => {
  t.throws(() => new ClientSessionCache({ maxSize: 5 } as never), {
    name: 'TypeError',
    code: 'ERR_TLS_RESUMPTION_UNKNOWN_OPTION',
    message: /options\.maxSize is not a ClientSessionCache option/,
  });
});

t.test('ill-typed options are TypeErrors with ERR_TLS_RESUMPTION_INVALID_OPTION', async (t) => {
  const bad: [string, unknown][] = [
    ['max', '10'],
    ['max', 1.5],
    ['ticketsPerDestination', null],
    ['maxLifetime', true],
    ['now', 12],
  ];
  for (const [name, value] of bad) {
    t.throws(
      () => new ClientSessionCache({ [name]: value } as never),
      { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_OPTION', message: new RegExp(`options\\.${name} must be`) },
      `${name}: ${String(value)}`,
    );
  }
  t.throws(() => new ClientSessionCache('big' as never), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
  t.throws(() => new ClientSessionCache(null as never), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_OPTION' });
});

t.test('numbers out of range are RangeErrors with ERR_TLS_RESUMPTION_OUT_OF_RANGE', async (t) => {
  t.throws(() => new ClientSessionCache({ cacheSize: 0 }), { name: 'RangeError', code: 'ERR_TLS_RESUMPTION_OUT_OF_RANGE' });
  t.throws(() => new ClientSessionCache({ ticketsPerDestination: -1 }), { name: 'RangeError', code: 'ERR_TLS_RESUMPTION_OUT_OF_RANGE' });
  t.throws(() => new ClientSessionCache({ maxLifetime: MAX_TICKET_LIFETIME_SECONDS + 1 }), {
    name: 'RangeError',
    code: 'ERR_TLS_RESUMPTION_OUT_OF_RANGE',
    message: /between 1 and 604800/,
  });
});

t.test('a bad mode is a TypeError with ERR_TLS_RESUMPTION_INVALID_MODE', async (t) => {
  t.throws(() => new ClientSessionCache({ mode: 'clients' as never }), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_MODE' });
  t.throws(() => new ClientSessionCache({ mode: 0x4 }), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_MODE' });
  t.throws(() => new ClientSessionCache({ mode: {} as never }), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_MODE' });
});

t.test('connect, get, add and remove reject a destination that is not an object', async (t) => {
  const cache = new ClientSessionCache();
  t.throws(() => cache.connect(null as never), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
  t.throws(() => cache.get('example.com' as never), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
  t.throws(() => cache.remove(undefined as never), { name: 'TypeError', code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
  t.throws(() => cache.add({ host: 'a.example', port: 443 }, Buffer.from('not a session')), {
    name: 'TypeError',
    code: 'ERR_TLS_RESUMPTION_INVALID_SESSION',
  });
  t.throws(() => cache.add({ host: 'a.example', port: 443 }, 'x' as never), {
    name: 'TypeError',
    code: 'ERR_TLS_RESUMPTION_INVALID_SESSION',
  });
  t.equal(cache.stats().number, 0);
});
