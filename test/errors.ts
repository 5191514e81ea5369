/**
 * Errors as users meet them: each public call that can throw, with the code, the base
 * class and the brand a caller checks (`err.code`, `instanceof TypeError`,
 * `isTlsResumptionError(err)`), and a message that names what was wrong.
 */
import t from 'tap';
import * as tls from 'node:tls';
import { attachSessionCache, ClientSessionCache, codes, isTlsResumptionError, RedisStore, registerMetrics } from '../lib/index.js';
import { makeError } from '../lib/errors.js';
import { cert, key } from './fixtures/tls.js';

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('did not throw');
}

const server = () => tls.createServer({ key, cert });

const cases: [string, () => unknown, string, typeof Error, RegExp][] = [
  ['attachSessionCache on a plain object', () => attachSessionCache({} as tls.Server), codes.ERR_TLS_RESUMPTION_NOT_A_TLS_SERVER, TypeError, /tls\.Server/],
  ['an unknown option', () => attachSessionCache(server(), { timout: 5 } as never), codes.ERR_TLS_RESUMPTION_UNKNOWN_OPTION, TypeError, /timout/],
  ['a wrong type', () => attachSessionCache(server(), { timeout: '5' } as never), codes.ERR_TLS_RESUMPTION_INVALID_OPTION, TypeError, /timeout/],
  ['a value out of range', () => attachSessionCache(server(), { timeout: 0 }), codes.ERR_TLS_RESUMPTION_OUT_OF_RANGE, RangeError, /timeout/],
  ['a 33-byte session id context', () => attachSessionCache(server(), { sessionIdContext: 'x'.repeat(33) }), codes.ERR_TLS_RESUMPTION_SID_CTX_TOO_LONG, RangeError, /32/],
  [
    'a second cache on one server',
    () => {
      const s = server();
      attachSessionCache(s);
      attachSessionCache(s);
    },
    codes.ERR_TLS_RESUMPTION_ALREADY_ATTACHED,
    Error,
    /already/,
  ],
  ['add() of bytes that are not a session', () => attachSessionCache(server()).add(Buffer.alloc(32), Buffer.from('junk')), codes.ERR_TLS_RESUMPTION_INVALID_SESSION, TypeError, /SSL_SESSION/],
  [
    'a call on a detached cache',
    () => {
      const cache = attachSessionCache(server());
      cache.detach();
      cache.setSessionIdContext('later');
    },
    codes.ERR_TLS_RESUMPTION_DETACHED,
    Error,
    /detached/,
  ],
  ['a RedisStore without a client or url', () => new RedisStore({ sealKeys: [Buffer.alloc(32, 1)] } as never), codes.ERR_TLS_RESUMPTION_INVALID_OPTION, TypeError, /client|url/],
  ['ClientSessionCache.add() of junk', () => new ClientSessionCache().add({ host: 'example.com', port: 443 }, Buffer.from('junk')), codes.ERR_TLS_RESUMPTION_INVALID_SESSION, TypeError, /session/],
  ['registerMetrics without prom-client', () => registerMetrics(undefined as never, {}), codes.ERR_TLS_RESUMPTION_NO_PROM_CLIENT, Error, /prom-client/],
];

for (const [name, fn, code, base, message] of cases) {
  t.test(name, async (t) => {
    const err = thrown(fn);
    t.equal(err.code, code, 'the code');
    t.ok(err instanceof base, `a ${base.name}`);
    t.ok(isTlsResumptionError(err), 'branded');
    t.match(err.message, message, 'the message names what was wrong');
  });
}

t.test('the brand is not a code: a look-alike error is not ours', async (t) => {
  t.notOk(isTlsResumptionError(new Error('plain')));
  t.notOk(isTlsResumptionError(Object.assign(new Error('x'), { code: 'ERR_TLS_RESUMPTION_TIMEOUT' })));
  t.notOk(isTlsResumptionError(null));
});

t.test('the cause is kept', async (t) => {
  const cause = new Error('inner');
  t.equal(makeError('ERR_TLS_RESUMPTION_UNSEAL', 'outer', cause).cause, cause);
});
