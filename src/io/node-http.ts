// The HTTP server adapter on node:http. It owns everything about the bytes of a request head, so a
// bad or hostile client never reaches the glue: malformed request lines (400), header floods
// (431), a head that trickles in (slowloris: 408 after HEADERS_TIMEOUT_MS), request bodies (GET and
// HEAD carry none: 413 beyond MAX_BODY_BYTES), too many connections (closed at once). Each answer
// it gives itself is reported to the glue for counting and logging.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpExchange, HttpListener, HttpListenOptions, HttpServerFactory, PeerAddress } from './ports.js';

/** The whole request head must arrive within this (slowloris bound). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** An idle kept-alive connection is closed after this. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Request heads larger than this are answered 431. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** GET and HEAD have no body; a declared one larger than this is answered 413. */
export const MAX_BODY_BYTES = 64 * 1024;

function peerOf(socket: Socket): PeerAddress {
  const address = (socket.remoteAddress ?? '0.0.0.0').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return { address, port: socket.remotePort ?? 0 };
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Content Too Large', 431: 'Request Header Fields Too Large' };

function exchangeOf(req: IncomingMessage, res: ServerResponse): HttpExchange {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value[0] : value;
  return {
    request: { method: req.method ?? '', target: req.url ?? '', headers, peer: peerOf(req.socket) },
    start: (status, head) => {
      res.writeHead(status, head);
    },
    write: (chunk) =>
      new Promise((resolve) => {
        if (res.destroyed) return resolve(false);
        if (res.write(chunk)) return resolve(true);
        const done = (ok: boolean) => {
          res.off('drain', onDrain);
          res.off('close', onClose);
          resolve(ok);
        };
        const onDrain = () => done(true);
        const onClose = () => done(false);
        res.once('drain', onDrain);
        res.once('close', onClose);
      }),
    finish: () => {
      res.end();
    },
    abort: () => {
      res.destroy();
    },
  };
}

export class NodeHttpServerFactory implements HttpServerFactory {
  async listen(
    options: HttpListenOptions,
    onRequest: (exchange: HttpExchange) => void,
    onClientError: (peer: PeerAddress, status: number, reason: string) => void,
  ): Promise<HttpListener> {
    const server = createServer(
      {
        headersTimeout: HEADERS_TIMEOUT_MS,
        // Receiving the request (head and any small body), not sending the answer: a long download
        // is not cut by it.
        requestTimeout: HEADERS_TIMEOUT_MS + 1000,
        // How often those timeouts are checked (Node's default, 30 s, would let a slow head linger).
        connectionsCheckingInterval: 1000,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        maxHeaderSize: MAX_HEADER_BYTES,
        // Some firmware sends HTTP/1.1 without Host; the served tree does not depend on it.
        requireHostHeader: false,
      },
      (req, res) => {
        const declared = Number(req.headers['content-length'] ?? 0);
        if (req.headers['transfer-encoding'] !== undefined || !(declared <= MAX_BODY_BYTES)) {
          onClientError(peerOf(req.socket), 413, 'request body on GET/HEAD');
          res.writeHead(413, { Connection: 'close', 'Content-Length': '0' });
          res.end();
          req.socket.destroySoon();
          return;
        }
        req.resume(); // a small body is read and dropped
        onRequest(exchangeOf(req, res));
      },
    );
    server.maxConnections = options.maxConnections;
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      onClientError(peerOf(socket), status, err.code ?? err.message);
      if (socket.writable && !(socket as Socket & { _httpMessage?: unknown })._httpMessage) {
        socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      }
      socket.destroySoon();
    });
    await new Promise<void>((resolve, reject) => {
      const where = `${options.address}:${options.port}`;
      server.once('error', (e: NodeJS.ErrnoException) => reject(Object.assign(new Error(`cannot listen on ${where}: ${e.code ?? e.message}`), { code: e.code })));
      server.listen({ host: options.address, port: options.port }, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    return {
      port,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
}
