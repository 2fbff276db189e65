// Config -> Catalog with the checks that need the file system, all reported together with the
// file:line:key of the setting at fault. atftp warns and skips on these; we refuse to start.
import type { Config, ImageConfig } from '../config/config-types.js';
import { ConfigError, issueAt, type ConfigIssue } from '../config/config-error.js';
import type { FileSystem } from '../io/ports.js';
import { MTFTP_MAX_FILE_SIZE, type Catalog, type CatalogImage } from './catalog.js';
import { IPXE_SCRIPT_VARIABLES, MAX_IPXE_SCRIPT_BYTES, unknownPlaceholders } from './ipxe-script.js';
import { resolveInRoot } from './served-tree.js';

export async function buildCatalog(config: Config, fs: FileSystem, now: number): Promise<Catalog> {
  const issues: ConfigIssue[] = [];
  const rootIssue = (message: string): ConfigIssue => ({
    file: config.sourceFile,
    line: 0,
    section: 'tftp',
    key: 'root',
    message,
  });
  let root: string;
  try {
    root = await fs.realpath(config.tftp.root);
    if ((await fs.stat(root)).kind !== 'directory') throw new ConfigError([rootIssue(`${config.tftp.root} is not a directory`)]);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError([rootIssue(`${config.tftp.root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)]);
  }

  const images: CatalogImage[] = [];
  for (const image of config.images) {
    const built = await buildImage(image, root, fs, issues);
    if (built) images.push(built);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze({ root, images: Object.freeze(images), hosts: config.hosts, loadedAt: now });
}

async function buildImage(
  image: ImageConfig,
  root: string,
  fs: FileSystem,
  issues: ConfigIssue[],
): Promise<CatalogImage | null> {
  const section = `image ${image.name}`;
  const at = (key: string) => image.locations[key] ?? image.sectionLocation;
  const file = await resolveInRoot(fs, root, image.file);
  if (file.kind !== 'file') {
    issues.push(issueAt(at('file'), section, 'file', `${image.file}: ${file.reason} (under ${root})`));
    return null;
  }
  if (image.ipxeFile !== null) {
    const ipxe = await resolveInRoot(fs, root, image.ipxeFile);
    if (ipxe.kind !== 'file') issues.push(issueAt(at('ipxe_file'), section, 'ipxe_file', `${image.ipxeFile}: ${ipxe.reason} (under ${root})`));
  }
  if (image.httpFile !== null) {
    const http = await resolveInRoot(fs, root, image.httpFile);
    if (http.kind !== 'file') issues.push(issueAt(at('http_file'), section, 'http_file', `${image.httpFile}: ${http.reason} (under ${root})`));
  }
  const ipxeScript = image.ipxeScript === null ? null : await readIpxeScript(image.ipxeScript, root, fs, (message) => issues.push(issueAt(at('ipxe_script'), section, 'ipxe_script', message)));
  if (image.mtftp !== null && file.size > MTFTP_MAX_FILE_SIZE) {
    issues.push(
      issueAt(
        at('mtftp'),
        section,
        'mtftp',
        `${image.file} is ${file.size} bytes; PXE MTFTP (512-byte blocks, no rollover) serves at most ${MTFTP_MAX_FILE_SIZE}`,
      ),
    );
  }
  return Object.freeze({
    name: image.name,
    file: image.file,
    path: file.path,
    size: file.size,
    description: image.description,
    arch: image.arch,
    ipxeFile: image.ipxeFile,
    httpFile: image.httpFile,
    ipxeScript,
    isDefault: image.isDefault,
    mtftp: image.mtftp,
  });
}

/** Reads and checks an iPXE script template; null (with the problem reported) when it is unusable. */
async function readIpxeScript(name: string, root: string, fs: FileSystem, report: (message: string) => void): Promise<{ file: string; template: string } | null> {
  const found = await resolveInRoot(fs, root, name);
  if (found.kind !== 'file') {
    report(`${name}: ${found.reason} (under ${root})`);
    return null;
  }
  if (found.size > MAX_IPXE_SCRIPT_BYTES) {
    report(`${name} is ${found.size} bytes; a script template may have ${MAX_IPXE_SCRIPT_BYTES}`);
    return null;
  }
  const opened = await fs.open(found.path);
  try {
    const template = (await opened.read(0, opened.size)).toString('utf8');
    const unknown = unknownPlaceholders(template);
    if (unknown.length > 0) {
      report(`${name}: unknown placeholder ${unknown.map((u) => `{{${u}}}`).join(', ')} (known: ${Object.keys(IPXE_SCRIPT_VARIABLES).map((v) => `{{${v}}}`).join(', ')})`);
      return null;
    }
    return { file: name, template };
  } finally {
    opened.release();
  }
}
