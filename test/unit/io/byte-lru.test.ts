import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteLru, LruEntry } from '../../../src/io/byte-lru.js';

class Named extends LruEntry {
  constructor(
    readonly name: string,
    bytes: number,
  ) {
    super(bytes);
  }
}

function lru(capacity: number) {
  const evicted: string[] = [];
  const cache = new ByteLru<Named>(capacity, (e) => evicted.push(e.name));
  const order = () => [...cache.entries()].map((e) => e.name);
  return { cache, evicted, order };
}

describe('ByteLru', () => {
  it('evicts the least recently used entries once the bytes exceed the capacity', () => {
    const { cache, evicted, order } = lru(10);
    const [a, b, c] = [new Named('a', 4), new Named('b', 4), new Named('c', 4)];
    cache.add(a);
    cache.add(b);
    assert.deepEqual(evicted, []);
    cache.add(c);
    assert.deepEqual(evicted, ['a']);
    assert.deepEqual(order(), ['b', 'c']);
    assert.equal(cache.bytes, 8);
    assert.equal(cache.size, 2);
    assert.equal(a.listed, false);
  });

  it('touch makes an entry the most recently used, so it is evicted last', () => {
    const { cache, evicted, order } = lru(10);
    const [a, b, c] = [new Named('a', 4), new Named('b', 4), new Named('c', 4)];
    cache.add(a);
    cache.add(b);
    cache.touch(a);
    assert.deepEqual(order(), ['b', 'a']);
    cache.add(c);
    assert.deepEqual(evicted, ['b']);
    assert.deepEqual(order(), ['a', 'c']);
  });

  it('touch and remove leave an entry that is not listed alone', () => {
    const { cache, order } = lru(10);
    const [a, b] = [new Named('a', 4), new Named('b', 4)];
    cache.add(a);
    cache.touch(b);
    cache.remove(b);
    assert.deepEqual(order(), ['a']);
    cache.remove(a);
    cache.remove(a);
    assert.deepEqual(order(), []);
    assert.equal(cache.bytes, 0);
    assert.equal(cache.size, 0);
  });

  it('keeps the newest entry even when it alone is larger than the capacity', () => {
    const { cache, evicted, order } = lru(10);
    cache.add(new Named('a', 4));
    cache.add(new Named('big', 40));
    assert.deepEqual(evicted, ['a']);
    assert.deepEqual(order(), ['big']);
  });

  it('adding a listed entry again moves it instead of counting it twice', () => {
    const { cache, order } = lru(100);
    const [a, b] = [new Named('a', 4), new Named('b', 4)];
    cache.add(a);
    cache.add(b);
    cache.add(a);
    assert.deepEqual(order(), ['b', 'a']);
    assert.equal(cache.bytes, 8);
  });
});
