/**
 * A connection option, keyed by this symbol (Node ignores symbol keys), that
 * tells `ClientSessionCache.connect()` not to treat an error after a verified
 * handshake as a failed connection.
 *
 * For clients that close sockets by destroying them with an error as a matter of
 * course. undici does (measured with the copy bundled in Node 20): after a
 * response with `Connection: close` it destroys the socket with an error and
 * without a TLS shutdown, so by OpenSSL's rule every session of the connection
 * would look "still open" and be dropped. RFC
 * 5246 section 7.2.1 (and RFC 8446) no longer require dropping the sessions of a
 * connection that was not closed properly, so keeping them is safe; handshake
 * failures still drop the offered session.
 *
 * Package-internal: used by `undiciConnector`, not exported from the package.
 */
export const kKeepSessionsOnLateErrors: unique symbol = Symbol('tls-resumption.keepSessionsOnLateErrors');
