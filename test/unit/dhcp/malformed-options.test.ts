// Issue 15, bad input: a DISCOVER whose option 60 or 93 cannot be read is answered as if the client
// had not sent that option (the default policy), never dropped and never answered from a
// half-read value; the warning names the client's MAC and the problem, once per episode of that
// client (real DhcpServer on fake sockets, fake clock).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeDhcp, DhcpMessageType, type DhcpMessage } from '../../../src/codec/dhcp-message.js';
import type { LogFields, Logger } from '../../../src/io/ports.js';
import { plainDhcpPacket, testMac } from '../../support/dhcp-exchange.js';
import { startFakeDhcpServer } from '../../support/fake-dhcp-server.js';
import { FakeClock } from '../../support/fake-clock.js';
import { settle } from '../../support/fake-socket.js';

const EDK2_CLASS = Buffer.from('PXEClient:Arch:00007:UNDI:003016');
const X64 = Buffer.from([0, 7]);

interface Logged {
  readonly level: 'warn' | 'error';
  readonly message: string;
  readonly fields: LogFields;
}

function recordingLogger(lines: Logged[]): Logger {
  const logger: Logger = {
    child: () => logger,
    debug() {},
    info() {},
    warn: (message, fields = {}) => void lines.push({ level: 'warn', message, fields }),
    error: (message, fields = {}) => void lines.push({ level: 'error', message, fields }),
  };
  return logger;
}

/** A server (full or proxy) with a default BIOS image and an image for efi-x64. */
async function server(mode: 'full' | 'proxy') {
  const clock = new FakeClock();
  const logged: Logged[] = [];
  const { server: dhcp, wildcard, serving } = await startFakeDhcpServer(
    [
      '[tftp]', 'listen = 10.0.0.1', 'root = /srv',
      '[dhcp]', `mode = ${mode}`, 'interface = 10.0.0.1',
      ...(mode === 'full' ? ['[pool lab]', 'first = 10.0.0.100', 'last = 10.0.0.150'] : []),
      '[image bios]', 'file = undionly.kpxe', 'arch = bios', 'default = true',
      '[image uefi]', 'file = ipxe.efi', 'arch = efi-x64',
      '',
    ].join('\n'),
    { '/srv/undionly.kpxe': Buffer.alloc(10), '/srv/ipxe.efi': Buffer.alloc(10) },
    { logger: recordingLogger(logged), wallClock: () => clock.now() },
  );
  /** A DISCOVER from client `mac` with option 60 and 93 as given (null: not sent); the replies. */
  const discover = async (mac: number, vendorClass: Buffer | null, arch: Buffer | null): Promise<DhcpMessage[]> => {
    const options = [
      ...(vendorClass ? [60, vendorClass.length, ...vendorClass] : []),
      ...(arch ? [93, arch.length, ...arch] : []),
      55, 3, 1, 66, 67,
    ];
    wildcard.deliver(plainDhcpPacket(DhcpMessageType.DISCOVER, mac, options), { address: '0.0.0.0', port: 68 });
    await settle();
    return serving.sent.splice(0).map((d) => decodeDhcp(d.data));
  };
  return { dhcp, clock, logged, discover };
}

/** What a reply tells the client. */
const answer = (replies: DhcpMessage[]) =>
  replies.map((r) => ({ type: r.options[53], yiaddr: r.yiaddr, siaddr: r.siaddr, file: r.file, raw: [60, 43, 66, 67].map((t) => r.raw.get(t)?.toString('hex') ?? null) }));

// [what is wrong, option 60 sent, option 93 sent, the same client without the unreadable option]
const CASES: ReadonlyArray<[string, Buffer | null, Buffer | null, Buffer | null, Buffer | null]> = [
  ['93 empty', EDK2_CLASS, Buffer.alloc(0), EDK2_CLASS, null],
  ['93 of one byte', EDK2_CLASS, Buffer.from([7]), EDK2_CLASS, null],
  ['93 of odd length', EDK2_CLASS, Buffer.from([0, 7, 0]), EDK2_CLASS, null],
  ['60 empty', Buffer.alloc(0), X64, null, X64],
  ['60 PXEClient:Arch: with a non-number', Buffer.from('PXEClient:Arch:0x007:UNDI:003016'), X64, null, X64],
  ['60 PXEClient:Arch: beyond 16 bits', Buffer.from('PXEClient:Arch:99999:UNDI:003016'), X64, null, X64],
  ['60 PXEClient with a broken UNDI field', Buffer.from('PXEClient:Arch:00007:UNDI:3.16'), X64, null, X64],
  ['60 PXEClient followed by non-ASCII bytes', Buffer.concat([Buffer.from('PXEClient:Arch:00007'), Buffer.from([0xff, 0x00, 0x80])]), X64, null, X64],
  ['60 HTTPClient:Arch: empty', Buffer.from('HTTPClient:Arch:'), Buffer.from([0, 16]), null, Buffer.from([0, 16])],
];

describe('DHCP: an unreadable option 60 or 93 falls back to the default policy', () => {
  for (const mode of ['full', 'proxy'] as const) {
    for (const [problem, vendorClass, arch, cleanClass, cleanArch] of CASES) {
      it(`${mode} mode, ${problem}: the answer a client without it gets`, async () => {
        const { dhcp, discover } = await server(mode);
        const got = answer(await discover(1, vendorClass, arch));
        const expected = answer(await discover(1, cleanClass, cleanArch));
        assert.deepEqual(got, expected);
        dhcp.stop();
      });
    }
  }

  it('full mode: an x64 PXE client with a broken 93 gets the default (BIOS) image, not a guess; with a readable 93 its own', async () => {
    const { dhcp, discover } = await server('full');
    assert.equal((await discover(1, EDK2_CLASS, Buffer.from([0, 7, 0])))[0]?.file, 'undionly.kpxe');
    assert.equal((await discover(2, EDK2_CLASS, X64))[0]?.file, 'ipxe.efi');
    // A broken 60 is no PXE client: a plain lease, no PXE class echoed, no option 43.
    const [plain] = await discover(3, Buffer.from('PXEClient:Arch:abcde'), X64);
    assert.equal(plain?.options[53], DhcpMessageType.OFFER);
    assert.equal(plain.raw.get(60), undefined);
    assert.equal(plain.raw.get(43), undefined);
    dhcp.stop();
  });

  it('proxy mode: a client whose 60 cannot be read is not a PXE client, so the proxy stays silent', async () => {
    const { dhcp, discover } = await server('proxy');
    assert.deepEqual(await discover(1, Buffer.from('PXEClient:Arch:abcde:UNDI:003016'), X64), []);
    assert.equal((await discover(2, EDK2_CLASS, X64))[0]?.file, 'ipxe.efi', 'the same client with a readable 60 is answered');
    dhcp.stop();
  });
});

describe('DHCP: the warning about an unreadable option', () => {
  it('names the MAC and the problem, once per episode of each client (not once per DISCOVER)', async () => {
    const { dhcp, clock, logged, discover } = await server('full');
    const broken93 = Buffer.from([0, 7, 0]);
    // A client retrying every 4 s for a minute: one episode, one line.
    for (let i = 0; i < 15; i++) {
      assert.equal((await discover(1, EDK2_CLASS, broken93)).length, 1, 'every DISCOVER is answered');
      clock.advance(4_000);
    }
    assert.equal(logged.length, 1, JSON.stringify(logged));
    assert.equal(logged[0]!.level, 'warn');
    assert.equal(logged[0]!.fields['mac'], testMac(1));
    assert.match(String(logged[0]!.fields['problem']), /option 93 has 3 bytes/);
    // Another client's episode is its own; its problem is its own.
    await discover(2, Buffer.from('PXEClient:Arch:zz'), X64);
    await discover(2, Buffer.from('PXEClient:Arch:zz'), X64);
    assert.equal(logged.length, 2);
    assert.equal(logged[1]!.fields['mac'], testMac(2));
    assert.match(String(logged[1]!.fields['problem']), /option 60 "PXEClient:Arch:zz": Arch is not a 16-bit number/);
    // Well-formed clients log nothing.
    await discover(3, EDK2_CLASS, X64);
    assert.equal(logged.length, 2);
    // After a quiet minute the first client's next DISCOVER starts a new episode: one more line.
    clock.advance(60_000);
    await discover(1, EDK2_CLASS, broken93);
    await discover(1, EDK2_CLASS, broken93);
    assert.equal(logged.length, 3);
    assert.equal(logged[2]!.fields['mac'], testMac(1));
    dhcp.stop();
  });

  it('names both problems in one line when 60 and 93 are both unreadable', async () => {
    const { dhcp, logged, discover } = await server('full');
    await discover(1, Buffer.from('PXEClient:Arch:x'), Buffer.alloc(0));
    assert.equal(logged.length, 1);
    assert.match(String(logged[0]!.fields['problem']), /option 60 .*; .*option 93 has 0 bytes/);
    dhcp.stop();
  });
});
