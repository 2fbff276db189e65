// What the HTTP server answers, as pure decisions (table-tested): which name a request-target asks
// for, and, once the file is open, the status, headers and byte range of the answer. The path rules
// themselves are the TFTP ones (catalog/path-policy.ts, catalog/served-tree.ts).
//
// Ranges (RFC 9110 14): one `bytes=` range is served as 206; a syntactically valid range that lies
// wholly past the end is 416 with `Content-Range: bytes */SIZE`; anything else (several ranges,
// malformed) is ignored and the whole file sent, which RFC 9110 allows and every boot client
// handles. Conditionals: If-None-Match (weak comparison) before If-Modified-Since; If-Range with
// a non-matching validator turns a range request into a full one.

export type TargetParse = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly status: 400; readonly reason: string };

/** The served name of an origin-form request-target: path only, percent-decoded. */
export function nameFromTarget(target: string): TargetParse {
  if (!target.startsWith('/')) return { ok: false, status: 400, reason: 'request-target is not an absolute path' };
  const path = target.split(/[?#]/, 1)[0]!;
  let name: string;
  try {
    name = decodeURIComponent(path);
  } catch {
    return { ok: false, status: 400, reason: 'bad percent-encoding in the path' };
  }
  return { ok: true, name };
}

export type RangeRequest =
  | { readonly kind: 'whole' }
  | { readonly kind: 'part'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

/** One `bytes=` range against a file of `size` bytes (end inclusive); see the header comment. */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  // Digits beyond 2^53 are not offsets any file has; treat them as "to the end" / unsatisfiable.
  const first = m[1] === '' ? null : Number(m[1]);
  const last = m[2] === '' ? null : Number(m[2]);
  if (first === null) {
    // Suffix range: the last N bytes.
    if (last === 0) return { kind: 'unsatisfiable' };
    if (size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'part', start: Math.max(0, size - last!), end: size - 1 };
  }
  if (last !== null && last < first) return { kind: 'whole' }; // invalid: ignored
  if (first >= size) return { kind: 'unsatisfiable' };
  return { kind: 'part', start: first, end: Math.min(last ?? size - 1, size - 1) };
}

export interface FileVersion {
  readonly size: number;
  /** Strong validator of the version opened. */
  readonly etag: string;
  readonly mtimeMs: number;
}

export interface ConditionalHeaders {
  readonly range?: string | undefined;
  readonly ifRange?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
  readonly ifModifiedSince?: string | undefined;
}

export type FilePlan =
  | { readonly status: 200 | 206; readonly start: number; readonly end: number; readonly headers: Readonly<Record<string, string>> }
  | { readonly status: 304 | 416; readonly start: 0; readonly end: -1; readonly headers: Readonly<Record<string, string>> };

/** HTTP dates have one-second resolution: compare whole seconds. */
const seconds = (ms: number) => Math.floor(ms / 1000);

function etagMatches(list: string, etag: string): boolean {
  if (list.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return list.split(',').some((tag) => opaque(tag) === opaque(etag));
}

/** Status, headers and body range for GET/HEAD of an opened file version. */
export function planFileResponse(file: FileVersion, request: ConditionalHeaders): FilePlan {
  const validators = { ETag: file.etag, 'Last-Modified': new Date(seconds(file.mtimeMs) * 1000).toUTCString() };
  const base = { ...validators, 'Accept-Ranges': 'bytes' };
  const notModified =
    request.ifNoneMatch !== undefined
      ? etagMatches(request.ifNoneMatch, file.etag)
      : request.ifModifiedSince !== undefined && !Number.isNaN(Date.parse(request.ifModifiedSince)) && seconds(file.mtimeMs) <= seconds(Date.parse(request.ifModifiedSince));
  if (notModified) return { status: 304, start: 0, end: -1, headers: validators };

  // If-Range: the range only applies to the version the client already has part of.
  const ifRange = request.ifRange?.trim();
  const rangeApplies =
    ifRange === undefined ||
    (ifRange.startsWith('"') || ifRange.startsWith('W/') ? ifRange === file.etag : !Number.isNaN(Date.parse(ifRange)) && seconds(file.mtimeMs) <= seconds(Date.parse(ifRange)));
  const range = rangeApplies ? parseRange(request.range, file.size) : ({ kind: 'whole' } as const);
  if (range.kind === 'unsatisfiable') {
    return { status: 416, start: 0, end: -1, headers: { ...base, 'Content-Range': `bytes */${file.size}`, 'Content-Length': '0' } };
  }
  if (range.kind === 'part') {
    return {
      status: 206,
      start: range.start,
      end: range.end,
      headers: { ...base, 'Content-Range': `bytes ${range.start}-${range.end}/${file.size}`, 'Content-Length': String(range.end - range.start + 1) },
    };
  }
  return { status: 200, start: 0, end: file.size - 1, headers: { ...base, 'Content-Length': String(file.size) } };
}
