// The [control] section on its own. The operator commands read only this section to find the
// daemon's socket, so that `pxecast reload` still reaches the daemon while another section of the
// file is broken: that broken file is exactly what reload has to report.
import { dirname, isAbsolute } from 'node:path';

import { ConfigError, type ConfigIssue } from './config-error.js';
import type { ControlConfig } from './config-types.js';
import { scanIni } from './ini-source.js';
import { findSection } from './schema.js';
import { SectionValues } from './section-values.js';

export function buildControl(control: SectionValues): ControlConfig {
  return { enabled: control.bool('enabled'), socket: control.text('socket'), mode: control.int('mode') };
}

/**
 * Reads [control] from ini text, ignoring every other section.
 * @throws ConfigError naming the problems of the [control] section only
 */
export function readControlSection(text: string, file: string): ControlConfig {
  if (!isAbsolute(file)) throw new TypeError(`readControlSection needs an absolute file path, got "${file}"`);
  const spec = findSection('control');
  if (spec === undefined) throw new Error('internal: no [control] section in the schema');
  const scan = scanIni(text, file);
  const header = scan.sections.find((s) => s.section === 'control');
  const issues: ConfigIssue[] = scan.issues.filter((i) => i.section === 'control');
  const values = new SectionValues(spec, null, header ? { file: header.file, line: header.line } : null, file).read(
    scan.entries.filter((e) => e.section === 'control'),
    dirname(file),
    issues,
  );
  if (issues.length > 0) throw new ConfigError(issues);
  return buildControl(values);
}
