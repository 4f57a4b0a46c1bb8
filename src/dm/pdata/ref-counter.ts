// Expected reference counts for a checker: one byte per block, with the rare counts
// above 254 in a side map, so a 16M-block pool costs 16 MiB.
const SATURATED = 255

export class RefCounter {
  private readonly small: Uint8Array
  private readonly big = new Map<number, number>()

  constructor(readonly nrBlocks: number) {
    this.small = new Uint8Array(nrBlocks)
  }

  /** Adds one reference; false if b is outside the counted range. */
  inc(b: number): boolean {
    if (!Number.isInteger(b) || b < 0 || b >= this.nrBlocks) return false
    const c = this.small[b]
    if (c < SATURATED - 1) this.small[b] = c + 1
    else if (c === SATURATED - 1) {
      this.small[b] = SATURATED
      this.big.set(b, SATURATED)
    } else this.big.set(b, this.big.get(b)! + 1)
    return true
  }

  get(b: number): number {
    const c = this.small[b]
    return c === SATURATED ? this.big.get(b)! : c
  }
}
