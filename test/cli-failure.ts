import t from 'tap';
import { classifyError, timeoutFailure } from '../lib/cli/failure.js';
import { exitFor } from '../lib/cli/main.js';

const where = { where: 'a.example:443', servername: 'a.example' };
const err = (code: string | undefined, message = 'boom', reason?: string) => Object.assign(new Error(message), { code, reason });

t.test('network errors are dns, refused, unreachable or timeout: exit 3', async (t) => {
  t.same(classifyError(err('ENOTFOUND'), where), {
    kind: 'dns',
    code: 'ENOTFOUND',
    message: 'cannot resolve a.example: no such host (ENOTFOUND)',
  });
  t.equal(classifyError(err('EAI_AGAIN'), where).kind, 'dns');
  t.equal(classifyError(err('ECONNREFUSED'), where).kind, 'refused');
  t.equal(classifyError(err('EHOSTUNREACH'), where).kind, 'unreachable');
  t.equal(classifyError(err('ENETUNREACH'), where).kind, 'unreachable');
  t.equal(classifyError(err('ETIMEDOUT'), where).kind, 'timeout');
  for (const kind of ['dns', 'refused', 'unreachable', 'timeout', 'certificate', 'closed', 'handshake', 'protocol-version'] as const) {
    t.equal(exitFor(kind), 3, kind);
  }
  t.equal(exitFor('not-tls'), 4);
});

t.test('a reply that is not a TLS record is not-tls', async (t) => {
  for (const code of ['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_UNKNOWN_PROTOCOL']) {
    const f = classifyError(err(code, '8000:error:0A00010B:SSL routines::wrong version number\n', 'wrong version number'), where);
    t.equal(f.kind, 'not-tls', code);
    t.match(f.message, /^a\.example:443 does not speak TLS: its reply is not a TLS record \(wrong version number\)/);
  }
});

t.test('certificate errors say how to proceed', async (t) => {
  const untrusted = classifyError(err('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'), where);
  t.equal(untrusted.kind, 'certificate');
  t.equal(
    untrusted.message,
    'certificate problem at a.example:443: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE); pass --ca <file> to trust its CA, or --insecure to probe anyway',
  );
  const name = classifyError(err('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames: ..."), where);
  t.match(name.message, /the certificate is not valid for a\.example \(ERR_TLS_CERT_ALTNAME_INVALID\); pass --ca/);
  for (const code of ['CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']) {
    t.equal(classifyError(err(code), where).kind, 'certificate', code);
  }
});

t.test('TLS alerts are handshake failures; a version alert is protocol-version', async (t) => {
  const alert = classifyError(err('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'x:error:...\nmore', 'sslv3 alert handshake failure'), where);
  t.same(alert, {
    kind: 'handshake',
    code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
    message: 'TLS handshake with a.example:443 failed: sslv3 alert handshake failure',
  });
  t.equal(classifyError(err('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'), where).kind, 'protocol-version');
  t.equal(classifyError(err('ECONNRESET'), where).kind, 'closed');
  t.equal(classifyError(err(undefined, 'Client network socket disconnected before secure TLS connection was established'), where).kind, 'closed');
});

t.test('anything else is still one line', async (t) => {
  const f = classifyError(err('EWEIRD', 'first line\n    at stack frame'), where);
  t.same(f, { kind: 'handshake', code: 'EWEIRD', message: 'connection to a.example:443 failed: first line (EWEIRD)' });
  t.same(classifyError('a string', where).message, 'connection to a.example:443 failed: a string');
});

t.test('timeouts say whether TCP got through', async (t) => {
  t.equal(timeoutFailure(where, 5000, false).message, 'timed out after 5 s connecting to a.example:443');
  t.equal(
    timeoutFailure(where, 1500, true).message,
    'a.example:443 accepted the connection but sent no TLS handshake reply within 1.5 s (is this a TLS port?)',
  );
});
