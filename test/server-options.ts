import t from 'tap';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { attachSessionCache, SESS_CACHE_BOTH, SESS_CACHE_NO_AUTO_CLEAR, SESS_CACHE_SERVER } from '../lib/index.js';
import { key, cert } from './fixtures/tls.js';

const server = () => tls.createServer({ key, cert });

t.test('unknown and ill-typed options throw TypeError with a code, at attach time', async (t) => {
  const cases: [unknown, string, RegExp][] = [
    [{ cacheSzie: 10 }, 'ERR_TLS_RESUMPTION_UNKNOWN_OPTION', /cacheSzie/],
    [{ timeout: '300' }, 'ERR_TLS_RESUMPTION_INVALID_OPTION', /options\.timeout/],
    [{ timeout: 1.5 }, 'ERR_TLS_RESUMPTION_INVALID_OPTION', /options\.timeout/],
    [{ cacheSize: -1 }, 'ERR_TLS_RESUMPTION_OUT_OF_RANGE', /options\.cacheSize/],
    [{ tickets: 'on' }, 'ERR_TLS_RESUMPTION_INVALID_OPTION', /options\.tickets/],
    [{ mode: 'sever' }, 'ERR_TLS_RESUMPTION_INVALID_MODE', /sever/],
    [{ mode: 0x1000 }, 'ERR_TLS_RESUMPTION_INVALID_MODE', /0x1000/],
    [{ sessionIdContext: 42 }, 'ERR_TLS_RESUMPTION_INVALID_OPTION', /sessionIdContext/],
    [{ sessionIdContext: 'x'.repeat(33) }, 'ERR_TLS_RESUMPTION_SID_CTX_TOO_LONG', /33 bytes/],
    [{ sessionIdContext: Buffer.from([0xff, 0xfe]) }, 'ERR_TLS_RESUMPTION_INVALID_OPTION', /UTF-8/],
    [{ store: {} }, 'ERR_TLS_RESUMPTION_INVALID_OPTION', /options\.store/],
    [{ sessionKeyPrefix: 'p'.repeat(32) }, 'ERR_TLS_RESUMPTION_OUT_OF_RANGE', /sessionKeyPrefix/],
    [{ sessionKeyPrefix: 'a', generateSessionKey: () => Buffer.alloc(1) }, 'ERR_TLS_RESUMPTION_INVALID_OPTION', /exclude/],
    ['server', 'ERR_TLS_RESUMPTION_INVALID_OPTION', /options must be an object/],
  ];
  for (const [options, code, message] of cases) {
    const s = server();
    t.throws(() => attachSessionCache(s, options as never), { code, message }, JSON.stringify(options) ?? String(options));
    t.equal(s.listenerCount('newSession'), 0, 'nothing was attached');
  }
});

t.test('modes are accepted as numbers, names and lists', async (t) => {
  const a = attachSessionCache(server(), { mode: ['server', 'no-auto-clear'] });
  t.equal(a.getMode(), SESS_CACHE_SERVER | SESS_CACHE_NO_AUTO_CLEAR);
  t.equal(a.setMode('both'), SESS_CACHE_SERVER | SESS_CACHE_NO_AUTO_CLEAR, 'setMode returns the previous mode');
  t.equal(a.getMode(), SESS_CACHE_BOTH);
  t.throws(() => a.setMode(['server', 'nope' as never]), { code: 'ERR_TLS_RESUMPTION_INVALID_MODE' });
  t.equal(a.getMode(), SESS_CACHE_BOTH, 'a bad mode changes nothing');
  t.equal(attachSessionCache(server()).getMode(), SESS_CACHE_SERVER, 'default SERVER');
});

t.test('only TLS servers, once each, and not beside another resumeSession listener', async (t) => {
  t.throws(() => attachSessionCache(net.createServer() as never), { code: 'ERR_TLS_RESUMPTION_NOT_A_TLS_SERVER', name: 'TypeError' });
  const s = server();
  const cache = attachSessionCache(s);
  t.throws(() => attachSessionCache(s), { code: 'ERR_TLS_RESUMPTION_ALREADY_ATTACHED' });
  cache.detach();
  t.doesNotThrow(() => attachSessionCache(s).detach(), 'after detach it can be attached again');
  const other = server();
  other.on('resumeSession', (_id, cb) => cb(null, null));
  t.throws(() => attachSessionCache(other), { code: 'ERR_TLS_RESUMPTION_ALREADY_ATTACHED', message: /resumeSession/ });
});

t.test('bad arguments to the methods throw with a code', async (t) => {
  const cache = attachSessionCache(server());
  t.throws(() => cache.add('id' as never, Buffer.alloc(3)), { code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
  t.throws(() => cache.add(Buffer.alloc(32), Buffer.from('not der')), { code: 'ERR_TLS_RESUMPTION_INVALID_SESSION' });
  t.throws(() => cache.remove(null as never), { code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
  t.throws(() => cache.hasMatchingSessionId('x' as never), { code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
  t.throws(() => cache.flush(Number.NaN), { code: 'ERR_TLS_RESUMPTION_INVALID_ARG' });
  t.equal(cache.remove(Buffer.alloc(32, 1)), false, 'removing an absent session is false');
});
