import t from 'tap';
import * as tls from 'node:tls';
import { key, cert, listen, close, connect } from './fixtures/tls.js';

t.test('plain node server without handlers resumes nothing over TLS 1.2 ids', async (t) => {
  const server = tls.createServer({ key, cert, secureOptions: require('node:constants').SSL_OP_NO_TICKET }, (s) => s.end());
  const port = await listen(server);
  const first = await connect(port, { maxVersion: 'TLSv1.2' });
  t.equal(first.error, undefined);
  const second = await connect(port, { maxVersion: 'TLSv1.2', session: first.sessions.at(-1) });
  t.equal(second.resumed, false);
  await close(server);
});
