// hash-wasm's XXH64 on its own: its main entry bundles every algorithm it has (270 KB
// more in each of our bundles, compiled at every start), this file only the one we use.
declare module 'hash-wasm/dist/xxhash64.umd.min.js' {
  import type {IHasher} from 'hash-wasm'

  const xxhash64: {createXXHash64(seedLow?: number, seedHigh?: number): Promise<IHasher>}
  export default xxhash64
}
