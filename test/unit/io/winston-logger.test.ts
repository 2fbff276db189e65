// A message below the log level costs no formatting: winston would format it (timestamp, fields)
// before its transport drops it, and the DHCP and TFTP paths log a debug line per packet.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createWinstonLogger } from '../../../src/io/winston-logger.js';

describe('winston logger', () => {
  it('formats nothing below the level, and the level can be changed at run time', async () => {
    let formatted = 0;
    const field = { toJSON: () => (formatted++, 'x') };
    const { logger, setLevel } = createWinstonLogger('error', 'text');
    logger.debug('per packet', { field });
    logger.info('per lease', { field });
    logger.warn('pool pressure', { field });
    logger.child({ component: 'test' }).info('child', { field });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(formatted, 0);
    setLevel('debug');
    logger.debug('now shown (a test line)', { field });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(formatted, 1, 'the test sees formatting when the level lets a message through');
  });
});
