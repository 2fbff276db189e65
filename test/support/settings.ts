// Typed settings for unit tests, built from the schema defaults (the same path the daemon takes),
// so a test states only what it changes.
import type { MulticastConfig, TftpConfig } from '../../src/config/config-types.js';
import { parseConfig } from '../../src/config/load-config.js';

const defaults = parseConfig('[tftp]\nroot = /srv\n', '/etc/pxecast/test.ini');

export function multicastSettings(over: Partial<MulticastConfig> = {}): MulticastConfig {
  return { ...defaults.multicast, ...over };
}

export function tftpSettings(over: Partial<TftpConfig> = {}): TftpConfig {
  return { ...defaults.tftp, ...over };
}
