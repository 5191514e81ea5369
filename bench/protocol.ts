/**
 * One-off measurement of the protocol parsers: nanoseconds per parse of real
 * ClientHellos and session DERs captured on loopback. Not a test; run with
 * `npx tsx bench/protocol.ts`. Numbers vary by machine; compare them within a run.
 */
import { constants } from 'node:crypto';
import { parseClientHelloRecords } from '../lib/protocol/client-hello.js';
import { parseSessionDer } from '../lib/protocol/session-der.js';
import { captureHello, nodeClient, opensslClient, realSessions } from '../test/fixtures/protocol/capture.js';
import { records } from '../test/fixtures/protocol/hello-builder.js';
import { cert, key } from '../test/fixtures/tls.js';

function measure(name: string, bytes: number, fn: () => unknown): void {
  // Warm up, then time batches until about half a second has passed.
  for (let i = 0; i < 20000; i++) fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < 500_000_000n) {
    for (let i = 0; i < 10000; i++) fn();
    ops += 10000;
    elapsed = process.hrtime.bigint() - start;
  }
  const ns = Number(elapsed) / ops;
  console.log(`${name.padEnd(44)} ${String(bytes).padStart(5)} B  ${ns.toFixed(0).padStart(6)} ns/op  ${(1e9 / ns / 1e6).toFixed(2)} M ops/s`);
}

async function main(): Promise<void> {
  const tls13 = await captureHello(nodeClient({ servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] }));
  const s13 = await realSessions({ secureOptions: constants.SSL_OP_NO_TICKET }, { servername: 'localhost' });
  const psk = await captureHello(nodeClient({ servername: 'localhost', session: s13.clientSessions.at(-1)! }));
  const openssl = await captureHello(opensslClient(['-servername', 'localhost']));
  const message = psk.subarray(5);
  const split = records(message, [3, 200]);

  const s12 = await realSessions(
    { secureOptions: constants.SSL_OP_NO_TICKET, sessionIdContext: 'bench', ALPNProtocols: ['http/1.1'] },
    { servername: 'localhost', maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] },
  );
  const mtls = await realSessions(
    { secureOptions: constants.SSL_OP_NO_TICKET, requestCert: true, rejectUnauthorized: false },
    { servername: 'localhost', key, cert },
  );

  console.log(`node ${process.version}, ${process.arch}`);
  measure('ClientHello: Node TLS 1.3, SNI + ALPN', tls13.length, () => parseClientHelloRecords(tls13));
  measure('ClientHello: Node TLS 1.3 PSK resumption', psk.length, () => parseClientHelloRecords(psk));
  measure('ClientHello: same, in 3 records', split.length, () => parseClientHelloRecords(split));
  measure('ClientHello: openssl s_client', openssl.length, () => parseClientHelloRecords(openssl));
  measure('ClientHello: half of one (incomplete)', psk.length >> 1, () => parseClientHelloRecords(psk.subarray(0, psk.length >> 1)));
  measure('session DER: TLS 1.2 server session', s12.ders[0]!.length, () => parseSessionDer(s12.ders[0]!));
  measure('session DER: TLS 1.3 server session', s13.ders[0]!.length, () => parseSessionDer(s13.ders[0]!));
  measure('session DER: TLS 1.3 with client certificate', mtls.ders[0]!.length, () => parseSessionDer(mtls.ders[0]!));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
