// Thin-device plumbing: create, snapshot, delete, list and read mappings, by device id.
import {MAX_DEVICE_ID, type Mapping, type ThinDevice, ThinPool} from '../dm/thin/thin-pool.js'
import {lockExistingPool, type PoolOptions, parseCount, withPool} from './pool.js'

export function parseDeviceId(text: string): number {
  return parseCount(text, 'device id', MAX_DEVICE_ID)
}

export function createThin(o: PoolOptions & {id: number}): ThinDevice {
  return withPool(o, (pool) => {
    pool.createThin(o.id)
    return pool.details(o.id)
  })
}

export function snapThin(o: PoolOptions & {id: number, origin: number}): ThinDevice {
  return withPool(o, (pool) => {
    pool.createSnap(o.id, o.origin)
    return pool.details(o.id)
  })
}

export function deleteThin(o: PoolOptions & {id: number}): {id: number, deleted: true} {
  return withPool(o, (pool) => {
    pool.delete(o.id)
    return {id: o.id, deleted: true as const}
  })
}

export function listThins(o: PoolOptions): {devices: ThinDevice[]} {
  return withPool(o, (pool) => ({devices: pool.devices().map((id) => pool.details(id))}), true)
}

export interface DeviceMappings {
  device: ThinDevice
  /** In vblock order, read as iterated (bounded memory); the pool closes when the walk ends. */
  mappings: Generator<Mapping, void, undefined>
}

/** Opens the pool read-only, under its lock, for a streamed walk of one device's mappings. */
export function thinMappings(o: PoolOptions & {id: number}): DeviceMappings {
  const release = lockExistingPool(o)
  let pool: ThinPool | undefined
  let device: ThinDevice
  try {
    pool = ThinPool.open(o.pool, {fs: o.fs, readOnly: true})
    device = pool.details(o.id)
  } catch (error) {
    pool?.close()
    release()
    throw error
  }
  const open = pool
  function* walk(): Generator<Mapping, void, undefined> {
    try {
      yield* open.mappings(o.id)
    } finally {
      open.close()
      release()
    }
  }
  return {device, mappings: walk()}
}
