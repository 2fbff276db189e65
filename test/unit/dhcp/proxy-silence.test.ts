// Proxy mode answers only PXE clients it has an image for: a client the catalog has nothing for
// gets silence on port 67 and on 4011, so the site's boot server (or another proxy) can answer it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeDhcp, DhcpMessageType } from '../../../src/codec/dhcp-message.js';
import { startFakeDhcpServer } from '../../support/fake-dhcp-server.js';
import { settle } from '../../support/fake-socket.js';
import { capture } from '../../support/fixtures.js';

/** A proxy whose catalog has one image, for `arch` only, and no default. */
async function proxyWith(arch: string) {
  const { server, wildcard, serving, pxe } = await startFakeDhcpServer(
    ['[tftp]', 'listen = 10.0.0.1', 'root = /srv', '[dhcp]', 'mode = proxy', 'interface = 10.0.0.1', '[image only]', 'file = ipxe.efi', `arch = ${arch}`, ''].join('\n'),
    { '/srv/ipxe.efi': Buffer.alloc(100, 1) },
  );
  /** Sends the captured iPXE BIOS packet to a port; what every socket sent in answer. */
  const ask = async (port: 'dhcp' | 'pxe', name: 'ipxe-dhcp-discover' | 'ipxe-dhcp-request') => {
    (port === 'dhcp' ? wildcard : pxe).deliver(capture(name), { address: '10.0.0.77', port: 68 });
    await settle();
    return [...serving.sent.splice(0), ...pxe.sent.splice(0), ...wildcard.sent.splice(0)].map((d) => decodeDhcp(d.data));
  };
  return { server, ask };
}

describe('proxy mode and clients the catalog has nothing for', () => {
  it('a BIOS PXE client, when the only image is for efi-x64 and none is default: no OFFER, no ACK on 4011', async () => {
    const { server, ask } = await proxyWith('efi-x64');
    assert.deepEqual(await ask('dhcp', 'ipxe-dhcp-discover'), [], 'silent on port 67');
    assert.deepEqual(await ask('pxe', 'ipxe-dhcp-request'), [], 'silent on port 4011');
    assert.equal(server.counters.sent['OFFER'] ?? 0, 0);
    server.stop();
  });

  it('the same client is answered once an image matches it (the silence is about the catalog, not the client)', async () => {
    const { server, ask } = await proxyWith('bios');
    const [offer] = await ask('dhcp', 'ipxe-dhcp-discover');
    assert.equal(offer?.options[53], DhcpMessageType.OFFER);
    assert.equal(offer.file, 'ipxe.efi');
    const [ack] = await ask('pxe', 'ipxe-dhcp-request');
    assert.equal(ack?.options[53], DhcpMessageType.ACK);
    server.stop();
  });
});
