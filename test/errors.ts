import t from 'tap';
import { codes, isTlsResumptionError, makeError, type ErrorCode } from '../lib/errors.js';

t.test('every registry key equals its code and makes an error carrying it', async (t) => {
  const names = Object.keys(codes) as ErrorCode[];
  t.ok(names.length > 10, 'the registry lists the codes');
  for (const name of names) {
    t.equal(codes[name], name, `${name} maps to itself`);
    t.match(name, /^ERR_TLS_RESUMPTION_[A-Z0-9_]+$/, `${name} is namespaced`);
    const err = makeError(name, 'message');
    t.equal(err.code, name);
    t.equal(err.message, 'message');
    t.ok(err instanceof Error);
    t.ok(isTlsResumptionError(err), 'branded');
  }
});

t.test('errors use the base class that fits', async (t) => {
  t.ok(makeError('ERR_TLS_RESUMPTION_UNKNOWN_OPTION', 'x') instanceof TypeError);
  t.ok(makeError('ERR_TLS_RESUMPTION_SID_CTX_TOO_LONG', 'x') instanceof RangeError);
  t.notOk(isTlsResumptionError(new Error('plain')));
  t.notOk(isTlsResumptionError(Object.assign(new Error('x'), { code: 'ERR_TLS_RESUMPTION_TIMEOUT' })), 'a code alone is not the brand');
});

t.test('the cause is kept', async (t) => {
  const cause = new Error('inner');
  t.equal(makeError('ERR_TLS_RESUMPTION_UNSEAL', 'outer', cause).cause, cause);
});
