// Type declaration for the part of `node-ipc` 12.0.0 (ESM, no bundled types) that
// node-ipc-transport.ts uses, in raw-buffer mode only: node-ipc's own JSON messages are not used
// (see the adapter for why).
declare module 'node-ipc' {
  import type { Server as NetServer, Socket } from 'node:net';

  interface IpcConfig {
    silent: boolean;
    rawBuffer: boolean;
    encoding: BufferEncoding;
    /** Delete the socket path before listening (true by default: it would also delete a live daemon's socket). */
    unlink: boolean;
    stopRetrying: boolean | number;
    maxRetries: number;
    maxConnections: number;
  }

  interface IpcServer {
    /** The node:net server, once start() ran. */
    readonly server: NetServer;
    on(event: 'start', handler: () => void): this;
    on(event: 'connect', handler: (socket: Socket) => void): this;
    /** Raw mode: every chunk as it arrives, with the connection it came on. */
    on(event: 'data', handler: (data: Buffer, socket: Socket) => void): this;
    on(event: 'error', handler: (error: NodeJS.ErrnoException) => void): this;
    /** Raw mode: writes `payload` as is. */
    emit(socket: Socket, payload: string): void;
    start(): void;
    stop(): void;
  }

  interface IpcClient {
    on(event: 'connect' | 'disconnect', handler: () => void): this;
    on(event: 'data', handler: (data: Buffer) => void): this;
    on(event: 'error', handler: (error: NodeJS.ErrnoException) => void): this;
    /** Raw mode: writes `payload` as is. */
    emit(payload: string): void;
  }

  export class IPCModule {
    config: IpcConfig;
    server: IpcServer;
    of: Record<string, IpcClient>;
    serve(path: string, onStart?: () => void): void;
    connectTo(id: string, path: string, onCreated?: () => void): void;
    disconnect(id: string): void;
  }
}
