// Known hosts at the DHCP server (real server, fake sockets): a host's image wins over the
// architecture rules, its fixed address is offered, its host name goes out as option 12, and with
// `unknown_clients = ignore` only hosts are answered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeDhcp, DhcpMessageType, type DhcpMessage } from '../../../src/codec/dhcp-message.js';
import { plainDhcpPacket, testMac } from '../../support/dhcp-exchange.js';
import { startFakeDhcpServer } from '../../support/fake-dhcp-server.js';
import { settle } from '../../support/fake-socket.js';

async function server(unknownClients: 'serve' | 'ignore') {
  const { server: dhcp, wildcard, serving } = await startFakeDhcpServer(
    [
      '[tftp]', 'listen = 10.0.0.1', 'root = /srv',
      '[dhcp]', 'mode = full', 'interface = 10.0.0.1', `unknown_clients = ${unknownClients}`,
      '[pool lab]', 'first = 10.0.0.100', 'last = 10.0.0.150',
      '[image bios]', 'file = undionly.kpxe', 'arch = bios', 'default = true',
      '[image memtest]', 'file = memtest.bin',
      '[host node07]', `mac = ${testMac(7)}`, 'image = memtest', 'address = 10.0.0.57', 'hostname = node07',
      '',
    ].join('\n'),
    { '/srv/undionly.kpxe': Buffer.alloc(10), '/srv/memtest.bin': Buffer.alloc(10) },
  );
  /** A DISCOVER from client `mac` asking for options 12 and 67, as BIOS PXE (arch 0). */
  const discover = async (mac: number): Promise<DhcpMessage[]> => {
    const vendor = Buffer.from('PXEClient:Arch:00000:UNDI:002001');
    wildcard.deliver(plainDhcpPacket(DhcpMessageType.DISCOVER, mac, [60, vendor.length, ...vendor, 93, 2, 0, 0, 55, 3, 12, 66, 67]), { address: '0.0.0.0', port: 68 });
    await settle();
    return serving.sent.splice(0).map((d) => decodeDhcp(d.data));
  };
  return { dhcp, discover };
}

describe('known hosts', () => {
  it("a host gets its image (not the architecture's), its fixed address and its host name", async () => {
    const { dhcp, discover } = await server('serve');
    const [offer] = await discover(7);
    assert.equal(offer?.options[53], DhcpMessageType.OFFER);
    assert.equal(offer.yiaddr, '10.0.0.57');
    assert.equal(offer.file, 'memtest.bin', 'the assigned image, though arch 0 lists bios');
    assert.equal(offer.options[12], 'node07');
    const [other] = await discover(8);
    assert.equal(other?.file, 'undionly.kpxe', 'an unknown client follows the catalog');
    assert.equal(other.options[12], undefined);
    assert.notEqual(other.yiaddr, '10.0.0.57');
    dhcp.stop();
  });

  it('unknown_clients = ignore: unknown MACs get silence, hosts are served', async () => {
    const { dhcp, discover } = await server('ignore');
    assert.deepEqual(await discover(8), []);
    assert.equal(dhcp.counters.ignored['unknown client ([dhcp] unknown_clients = ignore)'], 1);
    const [offer] = await discover(7);
    assert.equal(offer?.yiaddr, '10.0.0.57');
    dhcp.stop();
  });
});
