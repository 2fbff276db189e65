import type { Catalog } from './catalog.js';

/** Holds the live catalog snapshot. Readers take `current()` once per request, so a reload swaps
 *  the whole snapshot atomically and running transfers keep the file they opened. */
export class CatalogStore {
  constructor(private snapshot: Catalog) {}

  current(): Catalog {
    return this.snapshot;
  }

  replace(next: Catalog): void {
    this.snapshot = next;
  }
}
