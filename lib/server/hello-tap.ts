/**
 * The ClientHello pre-parse: reads the first bytes of each raw connection, parses the
 * ClientHello, puts the bytes back (`unshift`) and hands the socket to the server's
 * own 'connection' listeners, which build the TLSSocket; Node feeds the buffered
 * bytes to OpenSSL.
 *
 * Why: Node's `resumeSession` event carries only the legacy session id. TLS 1.3
 * clients fill that with random bytes and send the real handle, the PSK identity,
 * in the pre_shared_key extension; and it carries no SNI name. Only the raw bytes
 * tell either. It costs one extra JavaScript read per connection, so the server
 * wiring installs it only where it is needed.
 *
 * Robustness: a hello split across reads or records is reassembled (and handed to
 * Node as one record, which Node's own hello parser needs); garbage, an
 * over-long hello or a client silent for `timeoutMs` is handed on unparsed, so
 * Node's normal TLS error path (and its handshake timeout) applies; a socket that
 * closes before its hello is dropped quietly; `pauseOnConnect` sockets are read and
 * left paused again; code that emits 'connection' itself goes through the same path.
 */
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { parseClientHelloRecords, type ClientHello } from '../protocol/client-hello.js';

type ConnectionListener = (this: net.Server, socket: Duplex) => void;

export interface HelloTapOptions {
  /** Longest wait for a complete ClientHello before handing the socket on unparsed. */
  timeoutMs: number;
  /** Most bytes buffered for one ClientHello. */
  maxBytes: number;
  /** Called once per connection before the server sees it; hello undefined if not parsed. */
  onHello(socket: Duplex, hello: ClientHello | undefined): void;
}

const kTapped = Symbol('tls-resumption.hello-tapped');

/** TLS record header length and the largest plaintext fragment (RFC 8446 §5.1). */
const RECORD_HEADER_LENGTH = 5;
const MAX_FRAGMENT_LENGTH = 1 << 14;

/**
 * The ClientHello's records (`bytes[0, consumed)`, already validated by the parser)
 * re-framed as one record, followed by whatever came after them; `bytes` itself when
 * it already is one record or the message does not fit in one.
 *
 * Why: Node's own ClientHello parser (which decides whether `resumeSession` is
 * emitted) reads only the first record, so a hello fragmented across records would
 * never be offered for resumption (measured on Node 20: 0 resumeSession events).
 * Record boundaries are not part of the handshake transcript and RFC 8446 §5.1 lets
 * handshake messages be fragmented or coalesced freely, so this changes nothing
 * OpenSSL or the client can see.
 */
function coalesceHelloRecords(bytes: Buffer, consumed: number): Buffer {
  const firstLength = bytes.readUInt16BE(3);
  if (RECORD_HEADER_LENGTH + firstLength >= consumed) return bytes;
  const fragments: Buffer[] = [];
  for (let off = 0; off < consumed; ) {
    const length = bytes.readUInt16BE(off + 3);
    fragments.push(bytes.subarray(off + RECORD_HEADER_LENGTH, off + RECORD_HEADER_LENGTH + length));
    off += RECORD_HEADER_LENGTH + length;
  }
  const message = Buffer.concat(fragments);
  if (message.length > MAX_FRAGMENT_LENGTH) return bytes;
  const header = Buffer.from(bytes.subarray(0, RECORD_HEADER_LENGTH)); // type and version of the first record
  header.writeUInt16BE(message.length, 3);
  return Buffer.concat([header, message, bytes.subarray(consumed)]);
}

/** Reads one ClientHello from `socket`, then calls `done` exactly once (unless the socket closes first). */
function readClientHello(
  socket: Duplex,
  options: HelloTapOptions,
  done: (hello: ClientHello | undefined) => void,
): void {
  let buffered: Buffer | undefined;
  let finished = false;

  const cleanup = () => {
    finished = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', onClose);
    socket.removeListener('error', onError);
  };
  const handOn = (hello: ClientHello | undefined) => {
    if (finished) return;
    cleanup();
    socket.pause();
    // After 'end' a stream refuses unshift (ERR_STREAM_UNSHIFT_AFTER_END_EVENT, which
    // would replace Node's own error); the bytes are then an incomplete hello before
    // EOF, which Node reports as ECONNRESET "socket hang up" with or without them.
    if (buffered !== undefined && buffered.length > 0 && !socket.readableEnded) socket.unshift(buffered);
    done(hello);
  };
  function onData(chunk: Buffer | string) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    buffered = buffered === undefined ? bytes : Buffer.concat([buffered, bytes]);
    const result = parseClientHelloRecords(buffered, options.maxBytes);
    if (result.status === 'complete') {
      buffered = coalesceHelloRecords(buffered, result.bytesConsumed);
      handOn(result.hello);
    } else if (result.status === 'error') {
      handOn(undefined);
    }
  }
  // Half-closed before a full hello: let Node's TLS layer report it as usual.
  function onEnd() {
    handOn(undefined);
  }
  // Closed or failed before a hello: nothing for the server to do.
  function onClose() {
    if (!finished) cleanup();
  }
  function onError() {
    if (!finished) cleanup();
    socket.destroy();
  }
  const timer = setTimeout(() => handOn(undefined), options.timeoutMs);
  timer.unref?.();

  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onClose);
  socket.on('error', onError);
  socket.resume();
}

/**
 * Puts the pre-parse in front of the server's 'connection' listeners. Returns an
 * idempotent function restoring them exactly.
 */
export function installHelloTap(server: net.Server, options: HelloTapOptions): () => void {
  // rawListeners: a once() listener stays a once() wrapper, which is dropped here after
  // its one call (and not put back by the restore), as the emitter would have done.
  const originals = server.rawListeners('connection') as ConnectionListener[];
  for (const listener of originals) server.removeListener('connection', listener);

  const tap = function helloTap(this: net.Server, socket: Duplex) {
    const tagged = socket as Duplex & { [kTapped]?: boolean };
    const forward = () => {
      for (const listener of originals.slice()) {
        if ((listener as ConnectionListener & { listener?: unknown }).listener !== undefined) {
          originals.splice(originals.indexOf(listener), 1);
        }
        listener.call(server, socket);
      }
    };
    if (tagged[kTapped] || socket.destroyed) {
      // Already read once (a listener re-emitted it), or nothing left to read.
      forward();
      return;
    }
    tagged[kTapped] = true;
    readClientHello(socket, options, (hello) => {
      options.onHello(socket, hello);
      forward();
    });
  };
  server.on('connection', tap);

  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    server.removeListener('connection', tap);
    for (let i = originals.length - 1; i >= 0; i--) server.prependListener('connection', originals[i]!);
  };
}
