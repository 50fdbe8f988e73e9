/**
 * Verified Basic credentials, so a scraper sending the same user and password every 15 s pays for bcrypt once.
 * Only successes are stored (keyed by a SHA-256 of user and password, never the password), so wrong guesses
 * can neither fill the cache nor evict the scraper's entry. Entries expire `ttlMs` after their last use
 * (a scraper that keeps scraping keeps its entry; one that stopped is forgotten) and the least recently used
 * goes first when `maxEntries` is reached.
 */
export class CredentialCache<V> {
  // Map iteration order is insertion order: re-inserting on every hit keeps the least recently used first.
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    const now = this.now();
    if (entry.expires <= now) return undefined;
    entry.expires = now + this.ttlMs;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expires: this.now() + this.ttlMs });
  }
}
