// What the lease files on disk say right now (snapshot, then the journal replayed over it), read
// the way a restart reads them: for tests that look at the disk while the daemon runs or after it
// was killed.
import { readFileSync } from 'node:fs';
import type { Lease } from '../../src/dhcp/leases.js';
import { parseJournal, parseLeaseText } from '../../src/io/lease-file.js';

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

export function storedLeases(stateFile: string): Lease[] {
  const byAddress = new Map<string, Lease>();
  for (const lease of parseLeaseText(readOrEmpty(stateFile)).leases) byAddress.set(lease.address, lease);
  for (const change of parseJournal(readOrEmpty(`${stateFile}.journal`)).changes) {
    if (change.lease === null) byAddress.delete(change.address);
    else byAddress.set(change.address, change.lease);
  }
  return [...byAddress.values()];
}
