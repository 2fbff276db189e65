import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DhcpPoolConfig } from '../../../src/config/config-types.js';
import { DECLINE_QUARANTINE_MS, LeaseTable } from '../../../src/dhcp/leases.js';

const pool: DhcpPoolConfig = {
  name: 'lab',
  first: '10.0.0.10',
  last: '10.0.0.13',
  prefix: 24,
  router: '10.0.0.1',
  dns: null,
  reservations: [{ mac: 'aa:aa:aa:aa:aa:aa', address: '10.0.0.12' }],
};
const MAC = (n: number) => `52:54:00:00:00:0${n}`;

/**
 * Runs `body` and counts the Map operations it makes (get/has/set/delete and each step of an
 * iteration): a measure of the table's work that does not depend on how fast or loaded the
 * machine is. The lease table keeps all its state in Maps. Gives up with an error once `budget`
 * is exceeded, so a table that scans fails at once instead of running for minutes.
 */
function mapWork(budget: number, body: () => void): number {
  const proto = Map.prototype as unknown as Record<string | symbol, (...args: unknown[]) => unknown>;
  const names: Array<string | symbol> = ['get', 'has', 'set', 'delete', 'entries', 'keys', 'values', Symbol.iterator];
  const saved: Array<[string | symbol, (...args: unknown[]) => unknown]> = [];
  let count = 0;
  let counting = true;
  const tick = () => {
    if (counting && ++count > budget) throw new Error(`more than ${budget} Map operations`);
  };
  for (const name of names) {
    const original = proto[name]!;
    saved.push([name, original]);
    const iterates = name === 'entries' || name === 'keys' || name === 'values' || name === Symbol.iterator;
    proto[name] = function (this: Map<unknown, unknown>, ...args: unknown[]) {
      tick();
      const result = original.apply(this, args);
      if (!iterates) return result;
      const it = result as Iterator<unknown>;
      return {
        next: () => {
          tick();
          return it.next();
        },
        [Symbol.iterator]() {
          return this;
        },
      };
    };
  }
  try {
    body();
  } finally {
    counting = false;
    for (const [name, original] of saved) proto[name] = original;
  }
  return count;
}

function setup() {
  let t = 1_000_000;
  const table = new LeaseTable([pool], { leaseTimeMs: 3_600_000, offerTimeoutMs: 60_000, serverAddress: '10.0.0.11' }, () => t);
  return { table, advance: (ms: number) => (t += ms) };
}

describe('LeaseTable', () => {
  it('offers the lowest free address, skipping the server and reservations for others', () => {
    const { table } = setup();
    assert.equal(table.offer(MAC(1), pool, null)?.address, '10.0.0.10');
    assert.equal(table.offer(MAC(2), pool, null)?.address, '10.0.0.13', '11 is the server, 12 is reserved');
    assert.equal(table.offer(MAC(3), pool, null)?.address, '10.0.0.10', 'pool full: the oldest unrequested offer is reclaimed');
    table.request(MAC(2), pool, '10.0.0.13');
    table.request(MAC(3), pool, '10.0.0.10');
    assert.equal(table.offer(MAC(4), pool, null), null, 'full of bindings: nothing to offer');
  });

  it('an offer is held for its client: two clients never get the same address', () => {
    const { table } = setup();
    const a = table.offer(MAC(1), pool, null)!;
    const b = table.offer(MAC(2), pool, a.address)!;
    assert.notEqual(a.address, b.address);
    assert.equal(table.request(MAC(2), pool, a.address).ack, false);
  });

  it('an expired offer returns its address to the pool', () => {
    const { table, advance } = setup();
    table.offer(MAC(1), pool, null);
    table.offer(MAC(2), pool, null);
    table.request(MAC(1), pool, '10.0.0.10');
    table.request(MAC(2), pool, '10.0.0.13');
    table.release(MAC(2), '10.0.0.13');
    table.offer(MAC(2), pool, null);
    table.request(MAC(1), pool, '10.0.0.10');
    assert.equal(table.all().filter((l) => l.state === 'offered').length, 1);
    advance(60_001);
    assert.deepEqual(table.all().map((l) => `${l.address} ${l.state}`), ['10.0.0.10 bound'], 'the offer expired, the binding did not');
    assert.ok(table.offer(MAC(3), pool, null), 'free again once it expired');
  });

  it('hands out addresses round-robin, so a freed address is not reused at once', () => {
    const { table } = setup();
    assert.equal(table.offer(MAC(1), pool, null)?.address, '10.0.0.10');
    table.withdrawOffer(MAC(1));
    assert.equal(table.offer(MAC(2), pool, null)?.address, '10.0.0.13');
  });

  it('allocates from a /16 in linear time overall (20,000 clients)', () => {
    const big: DhcpPoolConfig = { ...pool, first: '10.1.0.1', last: '10.1.255.254', prefix: 16, reservations: [] };
    let t = 0;
    const table = new LeaseTable([big], { leaseTimeMs: 3_600_000, offerTimeoutMs: 60_000, serverAddress: '10.1.0.1' }, () => t);
    const seen = new Set<string>();
    const leases: Array<string | undefined> = [];
    // A scan from the first address per offer makes ~10,000 lookups per offer here; the cursor
    // makes 18 (counted; the budget allows 25).
    const work = mapWork(25 * 20_000, () => {
      for (let i = 0; i < 20_000; i++) {
        leases.push(table.offer(`02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`, big, null)?.address);
      }
    });
    for (const address of leases) {
      assert.ok(address !== undefined && !seen.has(address));
      seen.add(address);
    }
    assert.ok(work > 0, 'the count sees the table');
  });

  it('binds on REQUEST, keeps the address across DISCOVERs, and renews', () => {
    const { table, advance } = setup();
    table.offer(MAC(1), pool, null);
    const bound = table.request(MAC(1), pool, '10.0.0.10');
    assert.ok(bound.ack && bound.lease.state === 'bound');
    advance(1_800_000);
    assert.equal(table.offer(MAC(1), pool, null)?.address, '10.0.0.10');
    const renewed = table.request(MAC(1), pool, '10.0.0.10');
    assert.ok(renewed.ack && renewed.lease.expiresAt > bound.lease.expiresAt);
  });

  it('gives a reserved MAC its reserved address', () => {
    const { table } = setup();
    assert.equal(table.offer('aa:aa:aa:aa:aa:aa', pool, null)?.address, '10.0.0.12');
  });

  it('NAKs an address on another network or held by another MAC (init-reboot after a move)', () => {
    const { table } = setup();
    assert.equal(table.request(MAC(1), pool, '192.168.1.5').ack, false);
    table.request(MAC(1), pool, '10.0.0.10');
    assert.equal(table.request(MAC(2), pool, '10.0.0.10').ack, false);
  });

  it('NAKs a REQUEST for an address outside the pool range: the router, above `last`, even when the pool is full', () => {
    const { table } = setup();
    const outside = ['10.0.0.1', '10.0.0.9', '10.0.0.14', '10.0.0.200'];
    for (const address of outside) {
      const verdict = table.request(MAC(1), pool, address);
      assert.equal(verdict.ack, false, `${address} must be NAKed`);
      assert.match(verdict.ack ? '' : verdict.reason, /outside the pool 10\.0\.0\.10-10\.0\.0\.13/);
    }
    // Fill the pool's open addresses (10 and 13), then try to get around "pool full".
    assert.equal(table.request(MAC(2), pool, '10.0.0.10').ack, true);
    assert.equal(table.request(MAC(3), pool, '10.0.0.13').ack, true);
    assert.equal(table.offer(MAC(4), pool, null), null, 'full');
    assert.equal(table.request(MAC(4), pool, '10.0.0.14').ack, false, 'a full pool is not bypassed by asking above it');
    assert.equal(table.request(MAC(4), pool, '10.0.0.11').ack, false, 'nor by asking for the server');
    assert.deepEqual(table.all().map((l) => l.address), ['10.0.0.10', '10.0.0.13']);
  });

  it('a reservation outside the range is the one exception: its own MAC gets it, nobody else does', () => {
    const outsidePool: DhcpPoolConfig = { ...pool, reservations: [{ mac: 'bb:bb:bb:bb:bb:bb', address: '10.0.0.50' }] };
    const table = new LeaseTable([outsidePool], { leaseTimeMs: 3_600_000, offerTimeoutMs: 60_000, serverAddress: '10.0.0.11' }, () => 1);
    assert.equal(table.request(MAC(1), outsidePool, '10.0.0.50').ack, false);
    assert.equal(table.request('bb:bb:bb:bb:bb:bb', outsidePool, '10.0.0.50').ack, true);
  });

  it('quarantines a declined address', () => {
    const { table, advance } = setup();
    table.request(MAC(1), pool, '10.0.0.10');
    assert.ok(table.decline(MAC(1), '10.0.0.10'));
    assert.equal(table.offer(MAC(2), pool, '10.0.0.10')?.address, '10.0.0.13');
    advance(DECLINE_QUARANTINE_MS + 1);
    assert.equal(table.offer(MAC(3), pool, '10.0.0.10')?.address, '10.0.0.10');
  });

  it('frees a released address, only for its holder', () => {
    const { table } = setup();
    table.request(MAC(1), pool, '10.0.0.10');
    assert.equal(table.release(MAC(2), '10.0.0.10'), false);
    assert.ok(table.release(MAC(1), '10.0.0.10'));
    assert.equal(table.offer(MAC(2), pool, null)?.address, '10.0.0.10');
  });

  it('restores unexpired leases: a restart never hands a leased address to another MAC', () => {
    const { table } = setup();
    table.request(MAC(1), pool, '10.0.0.10');
    const saved = JSON.parse(JSON.stringify(table.all()));
    const again = setup();
    again.table.restore(saved);
    assert.equal(again.table.offer(MAC(2), pool, '10.0.0.10')?.address, '10.0.0.13');
    assert.equal(again.table.offer(MAC(1), pool, null)?.address, '10.0.0.10');
  });

  it('reports what to store: bindings, moves, quarantines and releases; not offers, restores or expiries', () => {
    const { table, advance } = setup();
    table.restore([{ address: '10.0.0.13', mac: MAC(3), pool: 'lab', state: 'bound', expiresAt: 1_000_000 + 60_000 }]);
    table.offer(MAC(1), pool, null);
    assert.deepEqual(table.takeChanges(), [], 'restored leases and offers are not changes');
    const bound = table.request(MAC(1), pool, '10.0.0.10');
    assert.ok(bound.ack);
    assert.deepEqual(table.takeChanges(), [{ address: '10.0.0.10', lease: bound.lease }]);
    assert.deepEqual(table.takeChanges(), [], 'taken once');
    assert.equal(table.request(MAC(2), pool, '10.0.0.12').ack, false, 'reserved for another MAC');
    assert.deepEqual(table.takeChanges(), [], 'a NAK changes nothing');
    advance(61_000);
    table.all(); // the restored lease of 10.0.0.13 expires
    assert.deepEqual(table.takeChanges(), [], 'expiries are not changes');
    const moved = table.request(MAC(1), pool, '10.0.0.13');
    assert.ok(moved.ack);
    assert.deepEqual(table.takeChanges(), [{ address: '10.0.0.10', lease: null }, { address: '10.0.0.13', lease: moved.lease }], 'a move frees the old address');
    assert.ok(table.decline(MAC(1), '10.0.0.13'));
    assert.deepEqual(table.takeChanges(), [{ address: '10.0.0.13', lease: table.all().find((l) => l.address === '10.0.0.13') }]);
    assert.ok(table.request(MAC(2), pool, '10.0.0.10').ack);
    assert.ok(table.release(MAC(2), '10.0.0.10'));
    assert.deepEqual(table.takeChanges(), [{ address: '10.0.0.10', lease: null }], 'bound then released: only the end state');
  });

  it('picks the pool by the relay address (giaddr) or the serving address', () => {
    const { table } = setup();
    assert.equal(table.poolFor('10.0.0.1')?.name, 'lab');
    assert.equal(table.poolFor('10.9.0.1'), null);
  });

  it('a DISCOVER flood from made-up MACs never locks real clients out: the oldest unrequested offer is reclaimed', () => {
    const lab: DhcpPoolConfig = { ...pool, first: '10.0.0.100', last: '10.0.0.149', reservations: [] };
    let t = 0;
    const table = new LeaseTable([lab], { leaseTimeMs: 3_600_000, offerTimeoutMs: 60_000, serverAddress: '10.0.0.1' }, () => t);
    const flood = (n: number, from: number) => {
      for (let i = 0; i < n; i++) {
        table.offer(`02:00:00:${((from + i) >> 16) & 255}:${((from + i) >> 8) & 255}:${(from + i) & 255}`, lab, null);
        t += 1; // 1000 DISCOVERs per second
      }
    };
    flood(5000, 0);
    let served = 0;
    for (let c = 0; c < 20; c++) {
      const mac = `52:54:00:aa:00:${c.toString(16).padStart(2, '0')}`;
      const offered = table.offer(mac, lab, null);
      flood(5, 10_000 + c * 5); // the flood goes on between OFFER and REQUEST
      if (offered && table.request(mac, lab, offered.address).ack) served++;
      flood(100, 20_000 + c * 100);
    }
    assert.equal(served, 20, 'every real client got an offer and its REQUEST was ACKed');
    assert.equal(table.all().filter((l) => l.state === 'bound').length, 20);
    assert.ok(table.reclaimedOffers > 5000, `reclaimed ${table.reclaimedOffers}`);
  });

  it('a client whose offer was reclaimed gets it back on REQUEST while the newer offer is unrequested', () => {
    const tiny: DhcpPoolConfig = { ...pool, first: '10.0.0.20', last: '10.0.0.20', reservations: [] };
    const table = new LeaseTable([tiny], { leaseTimeMs: 3_600_000, offerTimeoutMs: 60_000, serverAddress: '10.0.0.1' }, () => 0);
    assert.equal(table.offer(MAC(1), tiny, null)?.address, '10.0.0.20');
    assert.equal(table.offer(MAC(2), tiny, null)?.address, '10.0.0.20', 'reclaimed');
    assert.equal(table.request(MAC(1), tiny, '10.0.0.20').ack, true, 'the first offeree keeps its claim');
    assert.deepEqual(table.request(MAC(2), tiny, '10.0.0.20'), { ack: false, reason: `10.0.0.20 is held by ${MAC(1)}` });
    assert.equal(table.offer(MAC(3), tiny, null), null, 'a binding is never reclaimed');
    assert.equal(table.request(MAC(3), tiny, '10.0.0.20').ack, false, 'a MAC that was never offered it has no claim');
  });

  it('work per DISCOVER is bounded on a full /16 (no pool scan, no table scan): 20,000 DISCOVERs', () => {
    const big: DhcpPoolConfig = { ...pool, first: '10.2.0.1', last: '10.2.255.254', prefix: 16, reservations: [] };
    let t = 0;
    const table = new LeaseTable([big], { leaseTimeMs: 3_600_000, offerTimeoutMs: 5_000, serverAddress: '10.2.0.1' }, () => t);
    const mac = (i: number) => `02:01:${(i >> 24) & 255}:${(i >> 16) & 255}:${(i >> 8) & 255}:${i & 255}`;
    mapWork(25 * 65_533, () => {
      for (let i = 0; i < 65_533; i++) table.offer(mac(i), big, null); // fill the pool
    });
    // 50.5 Map operations per DISCOVER counted (the budget allows 75); a scan of the pool or of
    // the lease table would be tens of thousands.
    const work = mapWork(75 * 20_000, () => {
      for (let i = 0; i < 20_000; i++) {
        table.offer(mac(1_000_000 + i), big, null); // each one reclaims, or takes an expired offer
        t += 1;
      }
    });
    assert.ok(work > 0, 'the count sees the table');
  });
});

