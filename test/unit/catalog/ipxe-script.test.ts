import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCatalog } from '../../../src/catalog/build-catalog.js';
import { ipxeScriptUrl, parseIpxeScriptTarget, renderIpxeScript, unknownPlaceholders } from '../../../src/catalog/ipxe-script.js';
import { ConfigError, formatIssue } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { MemoryFileSystem } from '../../support/memory-fs.js';

const values = { mac: '52:54:00:12:34:56', ip: '10.0.0.57', arch: 'bios', image: 'lab', base_url: 'http://10.0.0.1:8080', host: 'node07', hostname: 'node07.lab' };

describe('iPXE script templates', () => {
  it('fills every placeholder, leaves iPXE ${settings} alone', () => {
    const template = '#!ipxe\necho {{ host }} {{mac}} {{ip}} {{arch}} {{image}} {{hostname}}\nkernel {{base_url}}/vmlinuz ip=${net0/ip}\n';
    assert.equal(
      renderIpxeScript(template, values),
      '#!ipxe\necho node07 52:54:00:12:34:56 10.0.0.57 bios lab node07.lab\nkernel http://10.0.0.1:8080/vmlinuz ip=${net0/ip}\n',
    );
  });

  it('names unknown placeholders (the catalog refuses them at load time)', () => {
    assert.deepEqual(unknownPlaceholders('{{mac}} {{serial}} {{ mac }} {{uuid}} {{serial}}'), ['serial', 'uuid']);
  });

  it('URL out, URL in: the client facts survive, ill-formed ones become `unknown`', () => {
    const url = ipxeScriptUrl('http://10.0.0.1:8080', 'lab one', '52:54:00:12:34:56', 'efi-x64');
    assert.equal(url, 'http://10.0.0.1:8080/_pxecast/ipxe/lab%20one?mac=52%3A54%3A00%3A12%3A34%3A56&arch=efi-x64');
    assert.deepEqual(parseIpxeScriptTarget(url.slice('http://10.0.0.1:8080'.length)), { image: 'lab one', mac: '52:54:00:12:34:56', arch: 'efi-x64' });
    assert.deepEqual(parseIpxeScriptTarget('/_pxecast/ipxe/lab?mac=%0Aboot%20evil&arch=bios%0a'), { image: 'lab', mac: 'unknown', arch: 'unknown' });
    assert.equal(parseIpxeScriptTarget('/boot.ipxe'), null);
  });

  it('the catalog reads a template at load time and refuses an unknown placeholder by file, line and key', async () => {
    const text = '[tftp]\nroot = /srv\n[image lab]\nfile = undionly.kpxe\nipxe_script = boot.tmpl\n';
    const good = new MemoryFileSystem().addFile('/srv/undionly.kpxe', Buffer.alloc(4)).addFile('/srv/boot.tmpl', Buffer.from('#!ipxe\nchain {{base_url}}/x\n'));
    const catalog = await buildCatalog(parseConfig(text, '/etc/pxecast/pxecast.ini'), good, 0);
    assert.deepEqual(catalog.images[0]!.ipxeScript, { file: 'boot.tmpl', template: '#!ipxe\nchain {{base_url}}/x\n' });
    const bad = new MemoryFileSystem().addFile('/srv/undionly.kpxe', Buffer.alloc(4)).addFile('/srv/boot.tmpl', Buffer.from('chain {{server}}/x\n'));
    await assert.rejects(buildCatalog(parseConfig(text, '/etc/pxecast/pxecast.ini'), bad, 0), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(formatIssue(e.issues[0]!), /^\/etc\/pxecast\/pxecast\.ini:5: \[image lab\] ipxe_script: boot\.tmpl: unknown placeholder \{\{server\}\}/);
      return true;
    });
  });
});
