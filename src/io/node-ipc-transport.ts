// The control channel over a Unix socket with node-ipc 12.0.0 (pinned exactly: docs/dependencies.md,
// node-ipc); the only module that uses node-ipc.
//
// node-ipc runs in raw-buffer mode and pxecast frames messages itself (one JSON text per line, size
// limited). node-ipc's own message layer is unsafe to expose: a frame whose `type` is not a string
// makes its event emitter throw (a strong-type check) inside the socket's 'data' handler, an
// uncaught exception that would end the whole daemon; its frame buffer grows without limit; and the
// `type` of a frame is dispatched as a server event ('close', 'error', ...). In raw mode node-ipc
// only listens, connects and writes, so a plain node:net version of this file could replace it
// without any change in src/control/.
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { IPCModule } from 'node-ipc';

import type { ControlListener, ControlRequestHandler, ControlTransport } from './ports.js';

/** A request is a few hundred bytes; anything near this is not a pxecast client. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Replies list every transfer; this bounds what a confused peer can make the CLI buffer. */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;
/** A connection that completes no request for this long is closed: it holds one of few slots. */
const IDLE_CONNECTION_MS = 30_000;
const MAX_CONNECTIONS = 32;
const STALE_PROBE_MS = 1000;
const CLIENT_ID = 'pxecast';

function errorWithCode(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** Splits a byte stream into newline-terminated frames; refuses to buffer more than `maxBytes`. */
export class LineFramer {
  private pending = '';

  constructor(private readonly maxBytes: number) {}

  /** The frames completed by `chunk` (without their newline), or 'oversize'. */
  push(chunk: string): string[] | 'oversize' {
    const lines = (this.pending + chunk).split('\n');
    this.pending = lines.pop() ?? '';
    if (Buffer.byteLength(this.pending) > this.maxBytes || lines.some((l) => Buffer.byteLength(l) > this.maxBytes)) {
      return 'oversize';
    }
    return lines;
  }
}

interface Connection {
  readonly framer: LineFramer;
  /** Replies leave in request order. */
  queue: Promise<void>;
  refused: boolean;
}

function newIpc(): IPCModule {
  const ipc = new IPCModule();
  Object.assign(ipc.config, {
    silent: true,
    rawBuffer: true,
    encoding: 'utf8',
    // pxecast decides itself whether an existing socket file may go (claimSocketPath).
    unlink: false,
    stopRetrying: true,
    maxRetries: 0,
    maxConnections: MAX_CONNECTIONS,
  });
  return ipc;
}

/**
 * Makes `path` free to listen on: creates the parent directory, and removes a socket file nobody
 * answers on (a daemon that crashed). A live socket (another daemon) and a file that is not a
 * socket are left alone.
 */
async function claimSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!isSocket) throw errorWithCode('EEXIST', `${path} exists and is not a socket`);
  if (await answers(path)) throw errorWithCode('EADDRINUSE', `another process answers on ${path} (is pxecast already running?)`);
  await unlink(path);
}

/** Whether something accepts connections on the socket; ECONNREFUSED means a stale file. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = connect({ path });
    const done = (live: boolean) => {
      clearTimeout(timer);
      probe.destroy();
      resolve(live);
    };
    // A socket that neither accepts nor refuses is held by someone: never take it over.
    const timer = setTimeout(() => done(true), STALE_PROBE_MS);
    probe.once('connect', () => done(true));
    probe.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') done(false);
      else {
        clearTimeout(timer);
        reject(e);
      }
    });
  });
}

async function listen(path: string, mode: number, handler: ControlRequestHandler): Promise<ControlListener> {
  await claimSocketPath(path);
  const ipc = newIpc();
  const connections = new Map<Socket, Connection>();

  const onFrame = (socket: Socket, connection: Connection, text: string) => {
    connection.queue = connection.queue
      .then(async () => {
        const reply = await handler.onRequest(text);
        // The client may have gone meanwhile; its reply is simply not sent.
        if (!socket.destroyed && socket.writable) ipc.server.emit(socket, `${reply}\n`);
      })
      // The handler answers every frame itself; should it ever fail, only this connection ends.
      .catch(() => {
        socket.destroy();
      });
  };

  await new Promise<void>((resolve, reject) => {
    ipc.serve(path, resolve);
    ipc.server.on('error', reject); // listen errors; later per-connection errors only mean a client left
    ipc.server.on('connect', (socket) => {
      connections.set(socket, { framer: new LineFramer(MAX_REQUEST_BYTES), queue: Promise.resolve(), refused: false });
      socket.setTimeout(IDLE_CONNECTION_MS, () => socket.destroy());
      socket.once('close', () => connections.delete(socket));
    });
    ipc.server.on('data', (data, socket) => {
      const connection = connections.get(socket);
      if (connection === undefined || connection.refused) return;
      const frames = connection.framer.push(data.toString('utf8'));
      if (frames === 'oversize') {
        connection.refused = true;
        socket.end(`${handler.onOversize(MAX_REQUEST_BYTES)}\n`);
        return;
      }
      for (const frame of frames) if (frame.trim() !== '') onFrame(socket, connection, frame);
    });
    // The socket is created with exactly `mode`: bind(2) happens synchronously inside start(), so
    // the umask applies to it alone, and there is no moment with looser permissions.
    const previous = process.umask(0o777 & ~mode);
    try {
      ipc.server.start();
    } finally {
      process.umask(previous);
    }
  });

  return {
    close: () =>
      new Promise<void>((resolve) => {
        // Closing a listening Unix socket also removes its file.
        ipc.server.server.close(() => resolve());
        for (const socket of connections.keys()) socket.destroy();
      }),
  };
}

function request(path: string, text: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const ipc = newIpc();
    const framer = new LineFramer(MAX_REPLY_BYTES);
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ipc.disconnect(CLIENT_ID);
      settle();
    };
    const timer = setTimeout(
      () => finish(() => reject(errorWithCode('ETIMEDOUT', `no reply within ${timeoutMs} ms`))),
      timeoutMs,
    );
    ipc.connectTo(CLIENT_ID, path);
    const client = ipc.of[CLIENT_ID]!;
    client.on('connect', () => client.emit(`${text}\n`));
    client.on('data', (data) => {
      const frames = framer.push(data.toString('utf8'));
      if (frames === 'oversize') finish(() => reject(errorWithCode('EMSGSIZE', 'reply too large')));
      else if (frames.length > 0) finish(() => resolve(frames[0]!));
    });
    const closed = () => errorWithCode('ECONNRESET', 'connection closed without a reply');
    // EPIPE: the server closed before our request was written; to the caller that is the same.
    client.on('error', (e) => finish(() => reject(e.code === 'EPIPE' ? closed() : e)));
    client.on('disconnect', () => finish(() => reject(closed())));
  });
}

export const nodeIpcTransport: ControlTransport = { listen, request };
