// Writes one JSON document whose array member is streamed: {...head, "KEY": [items],
// ...tail}. Items are batched into large writes and the writer waits for stdout to
// drain, so memory stays bounded however many items there are.
import {once} from 'node:events'

const BATCH_BYTES = 1 << 16

export async function writeJsonWithArray<T>(
  out: NodeJS.WritableStream,
  head: Record<string, unknown>,
  key: string,
  items: Iterable<T>,
  tail: (count: number) => Record<string, unknown>,
): Promise<void> {
  const opening = JSON.stringify({...head, [key]: []})
  let batch = opening.slice(0, -2)
  let count = 0
  for (const item of items) {
    batch += `${count === 0 ? '\n' : ',\n'}${JSON.stringify(item)}`
    count++
    if (batch.length >= BATCH_BYTES) {
      if (!out.write(batch)) await once(out, 'drain')
      batch = ''
    }
  }
  const closing = JSON.stringify(tail(count)).slice(1)
  batch += `${count === 0 ? '' : '\n'}]${closing === '}' ? '}' : `,${closing}`}\n`
  if (!out.write(batch)) await once(out, 'drain')
}
