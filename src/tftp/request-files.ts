// What a TFTP request opens, and the TFTP ERROR when it cannot: a read resolves the name inside
// the served root (catalog/served-tree.ts: the path policy and confinement), a write creates it in
// the upload directory (catalog/path-policy.ts), and every refusal carries the code and text the
// client is told plus the reason the log line gives.
import { TftpErrorCode } from '../codec/tftp-packet.js';
import { checkRequestedPath } from '../catalog/path-policy.js';
import { resolveInRoot } from '../catalog/served-tree.js';
import type { FileSystem, Logger, OpenedFile, UploadSink, UploadStore } from '../io/ports.js';

export class RequestRefused extends Error {
  constructor(
    readonly tftpCode: number,
    readonly toClient: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export class RequestFiles {
  /** The first root-relative name (leading "/") is logged, the rest are not. */
  private rootRelativeLogged = false;

  constructor(
    private readonly fs: FileSystem,
    /** Where uploads go when `[tftp] upload_dir` is set; null refuses every WRQ. */
    private readonly uploads: UploadStore | null,
    private readonly logger: Logger,
  ) {}

  /** The file a read names, opened, and the resolved path it was opened at (a transfer worker
   *  opens exactly that path again). */
  async openForRead(root: string, filename: string): Promise<{ readonly file: OpenedFile; readonly path: string }> {
    const resolution = await resolveInRoot(this.fs, root, filename);
    if (resolution.kind === 'not-found') throw new RequestRefused(TftpErrorCode.FILE_NOT_FOUND, 'file not found', resolution.reason);
    if (resolution.kind === 'denied') throw new RequestRefused(TftpErrorCode.ACCESS_VIOLATION, 'access violation', resolution.reason);
    if (resolution.rootRelative && !this.rootRelativeLogged) {
      this.rootRelativeLogged = true;
      this.logger.info('a leading "/" is read from the served root (GRUB and shim ask this way); logged once', { file: filename });
    }
    try {
      return { file: await this.fs.open(resolution.path), path: resolution.path };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new RequestRefused(TftpErrorCode.FILE_NOT_FOUND, 'file not found', 'vanished before open');
      throw new RequestRefused(TftpErrorCode.ACCESS_VIOLATION, 'access violation', `cannot open (${code ?? 'error'})`);
    }
  }

  async openForWrite(filename: string): Promise<UploadSink> {
    if (!this.uploads) throw new RequestRefused(TftpErrorCode.ACCESS_VIOLATION, 'uploads are disabled', 'WRQ while uploads are disabled');
    const check = checkRequestedPath(filename);
    if (!check.ok) throw new RequestRefused(TftpErrorCode.ACCESS_VIOLATION, 'access violation', check.reason);
    try {
      return await this.uploads.create(check.segments.join('/'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new RequestRefused(TftpErrorCode.FILE_EXISTS, 'file already exists', 'upload target exists');
      throw new RequestRefused(TftpErrorCode.ACCESS_VIOLATION, 'access violation', `cannot create upload (${code ?? 'error'})`);
    }
  }
}
