// A strict, streaming parser for thin_dump XML (0.9 and 1.x, including 1.x def/ref),
// driving a MetadataVisitor. It scans bytes and builds no per-line strings (about 0.3 µs
// per mapping line); memory stays bounded by the chunk size plus the <def>s.
import {FvmError} from '../../errors.js'
import {
  MAX_DATA_BLOCKS, MAX_DATA_BLOCK_SIZE, MAX_DEV_ID, MAX_MAPPING_TIME, MIN_DATA_BLOCK_SIZE,
  type DeviceIr, type MappingRun, type MetadataVisitor, type SuperblockIr,
} from './xml-ir.js'

const U32 = 2 ** 32 - 1
const SAFE = Number.MAX_SAFE_INTEGER

/** A single markup longer than this is refused, which keeps the carried-over tail small. */
const MAX_MARKUP = 1 << 20

const LF = 0x0a
const CR = 0x0d
const TAB = 0x09
const SPACE = 0x20
const LT = 0x3c
const GT = 0x3e
const SLASH = 0x2f
const BANG = 0x21
const QUESTION = 0x3f
const EQUALS = 0x3d
const QUOTE = 0x22
const APOSTROPHE = 0x27

interface AttrSpec {
  name: string
  bytes: Uint8Array
  /** Largest accepted value, or 'text' for a string attribute. */
  max: number | 'text'
  required: boolean
}

interface TagSpec {
  name: string
  bytes: Uint8Array
  attrs: AttrSpec[]
  /** One bit per required attribute, by index. */
  requiredMask: number
}

const encoder = new TextEncoder()

function tag(name: string, attrs: [string, number | 'text', boolean][]): TagSpec {
  return {
    name,
    bytes: encoder.encode(name),
    attrs: attrs.map(([attr, max, required]) => ({name: attr, bytes: encoder.encode(attr), max, required})),
    requiredMask: attrs.reduce((mask, [, , required], i) => (required ? mask | (1 << i) : mask), 0),
  }
}

// Attribute order is the order both tool generations print, so the first guess usually hits.
const SUPERBLOCK = tag('superblock', [
  ['uuid', 'text', true], ['time', U32, true], ['transaction', SAFE, true], ['flags', U32, false],
  ['version', U32, false], ['data_block_size', U32, true], ['nr_data_blocks', MAX_DATA_BLOCKS, true],
  ['metadata_snap', SAFE, false],
])
const DEVICE = tag('device', [
  ['dev_id', MAX_DEV_ID, true], ['mapped_blocks', SAFE, true], ['transaction', SAFE, true],
  ['creation_time', U32, true], ['snap_time', U32, true],
])
const DEF = tag('def', [['name', 'text', true]])
const REF = tag('ref', [['name', 'text', true]])
const RANGE_MAPPING = tag('range_mapping', [
  ['origin_begin', SAFE, true], ['data_begin', SAFE, true], ['length', SAFE, true], ['time', MAX_MAPPING_TIME, true],
])
const SINGLE_MAPPING = tag('single_mapping', [
  ['origin_block', SAFE, true], ['data_block', SAFE, true], ['time', MAX_MAPPING_TIME, true],
])
const TAGS = [SUPERBLOCK, DEVICE, DEF, REF, RANGE_MAPPING, SINGLE_MAPPING]

/** Where the parser is in the document. */
type Context = 'before' | 'superblock' | 'device' | 'def' | 'after'

interface Def {
  runs: MappingRun[]
  blocks: number
  /** First origin block, and one past the last. */
  begin: number
  end: number
}

const NAMED_ENTITIES: Record<string, string> = {lt: '<', gt: '>', amp: '&', quot: '"', apos: "'"}

/** Parses one document pushed in chunks: `write` each chunk, then `end`. */
export class MetadataXmlParser {
  private readonly visitor: MetadataVisitor
  // Scanned as a plain Uint8Array, which V8 indexes faster than a Buffer.
  private buf: Uint8Array = new Uint8Array(0)
  private pending: Uint8Array | undefined
  /** Absolute offset of buf[0] in the document. */
  private base = 0
  private line = 1
  /** Absolute offset of the first byte of the current line. */
  private lineStart = 0
  // Position of the markup being parsed, for messages about the element as a whole.
  private tagLine = 1
  private tagColumn = 1

  // Scratch space for the attributes of the current element.
  private readonly numbers = new Float64Array(8)
  private readonly texts: string[] = []
  private seen = 0
  private attrCount = 0
  /** The previous element's tag: mappings come in long runs of the same tag. */
  private lastTag = SINGLE_MAPPING

  private context: Context = 'before'
  private nrDataBlocks = 0
  private readonly devIds = new Set<number>()
  private readonly defs = new Map<string, Def>()
  private def: Def | undefined
  private defName = ''
  private mappedBlocks = 0
  private declaredMappedBlocks = 0
  private devId = 0
  /** Origin block of the previous run in the current device or def, and one past its end. */
  private prevBegin = 0
  private prevEnd = 0

  constructor(visitor: MetadataVisitor) {
    this.visitor = visitor
  }

  write(chunk: Uint8Array): void {
    const view = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const buf = this.pending ? concat(this.pending, view) : view
    this.buf = buf
    const n = buf.length
    let p = 0
    while (p < n) {
      const c = buf[p]
      if (c === LT) {
        const line = this.line
        const lineStart = this.lineStart
        const next = this.markup(p)
        if (next < 0) {
          this.line = line
          this.lineStart = lineStart
          break
        }
        p = next
      } else if (c === LF) {
        p++
        this.line++
        this.lineStart = this.base + p
      } else if (c === SPACE || c === TAB || c === CR) {
        p++
      } else {
        this.failText(p)
      }
    }
    // A copy: callers may reuse their chunk buffer.
    this.pending = p < n ? buf.slice(p) : undefined
    this.base += p
    if (this.pending && this.pending.length > MAX_MARKUP) {
      this.markStart(0)
      this.fail(this.tagLine, this.tagColumn, `markup longer than ${MAX_MARKUP} bytes`)
    }
  }

  end(): void {
    if (this.pending) {
      const pending = this.pending
      let nameEnd = 1
      while (nameEnd < pending.length && isNameByte(pending[nameEnd])) nameEnd++
      const name = nameEnd > 1 ? `<${Buffer.from(pending.subarray(1, nameEnd)).toString('utf8')}>` : 'markup'
      this.markStart(0)
      this.fail(this.tagLine, this.tagColumn, `unexpected end of input inside ${name}`)
    }
    const column = this.base - this.lineStart + 1
    switch (this.context) {
      case 'after':
        return
      case 'before':
        return this.fail(this.line, column, 'unexpected end of input: no <superblock>')
      case 'superblock':
        return this.fail(this.line, column, 'unexpected end of input: <superblock> not closed')
      case 'device':
        return this.fail(this.line, column, `unexpected end of input: <device> ${this.devId} not closed`)
      case 'def':
        return this.fail(this.line, column, `unexpected end of input: <def> "${this.defName}" not closed`)
    }
  }

  // --- scanning -------------------------------------------------------------

  /** Parses the markup starting at `p` (a '<'); returns the offset after it, or -1 if incomplete. */
  private markup(p: number): number {
    const buf = this.buf
    const n = buf.length
    this.markStart(p)
    if (p + 1 >= n) return -1
    const first = buf[p + 1]
    if (first === SLASH) return this.endTag(p)
    if (first === BANG) return this.comment(p)
    if (first === QUESTION) this.failTag('xml declarations and processing instructions are not supported')

    let spec = this.lastTag
    let q = this.matchName(p + 1, spec.bytes)
    if (q < 0) {
      q = this.nameEnd(p + 1)
      if (q < 0) return -1
      spec = this.tagAt(p + 1, q)
      this.lastTag = spec
    }
    this.seen = 0
    this.attrCount = 0
    let selfClosing = false
    for (;;) {
      const afterName = q
      while (q < n) {
        const c = buf[q]
        if (c === LF) {
          this.line++
          this.lineStart = this.base + q + 1
        } else if (c !== SPACE && c !== TAB && c !== CR) {
          break
        }
        q++
      }
      if (q >= n) return -1
      const c = buf[q]
      if (c === GT) {
        q++
        break
      }
      if (c === SLASH) {
        if (q + 1 >= n) return -1
        if (buf[q + 1] !== GT) this.failAt(q, `expected "/>" in <${spec.name}>`)
        q += 2
        selfClosing = true
        break
      }
      if (q === afterName) this.failAt(q, `expected whitespace before attribute in <${spec.name}>`)
      q = this.attribute(spec, q)
      if (q < 0) return -1
    }
    this.element(spec, selfClosing)
    return q
  }

  /** Parses `name = "value"` at `p`; returns the offset after the closing quote, or -1. */
  private attribute(spec: TagSpec, p: number): number {
    const buf = this.buf
    const n = buf.length
    // Attributes nearly always come in the order the tools print them.
    let index = this.attrCount++
    let q = index < spec.attrs.length ? this.matchName(p, spec.attrs[index].bytes) : -1
    if (q < 0) {
      q = this.nameEnd(p)
      if (q < 0) return -1
      if (q === p) this.failAt(p, `unexpected character ${quoteByte(buf[p])} in <${spec.name}>`)
      index = spec.attrs.findIndex((a) => bytesEqual(a.bytes, buf, p, q))
      if (index < 0) this.failAt(p, `unknown attribute "${this.string(p, q)}" in <${spec.name}>`)
    }
    const attr = spec.attrs[index]
    if (this.seen & (1 << index)) this.failAt(p, `duplicate attribute "${attr.name}" in <${spec.name}>`)
    this.seen |= 1 << index
    if (q < n && buf[q] !== EQUALS) q = this.skipSpace(q)
    if (q >= n) return -1
    if (buf[q] !== EQUALS) this.failAt(q, `expected "=" after attribute "${attr.name}" in <${spec.name}>`)
    q++
    if (q < n && buf[q] !== QUOTE) q = this.skipSpace(q)
    if (q >= n) return -1
    const quote = buf[q]
    if (quote !== QUOTE && quote !== APOSTROPHE) {
      this.failAt(q, `expected a quoted value for attribute "${attr.name}" in <${spec.name}>`)
    }
    const valueStart = q + 1
    let v = 0
    let e = valueStart
    if (attr.max === 'text') {
      while (e < n && buf[e] !== quote) {
        if (buf[e] === LT) this.failAt(e, `"<" in the value of attribute "${attr.name}" in <${spec.name}>`)
        e++
      }
      if (e >= n) return -1
      this.texts[index] = this.text(valueStart, e, attr, spec)
    } else {
      // Accumulating in a double stays exact below 2^53 and can only grow past the limit.
      for (; e < n; e++) {
        const d = buf[e] - 48
        if (d < 0 || d > 9) break
        v = v * 10 + d
      }
      if (e >= n) return -1
      if (buf[e] !== quote || e === valueStart) {
        let end = e
        while (end < n && buf[end] !== quote && buf[end] !== LT && buf[end] !== LF) end++
        const shown = this.string(valueStart, Math.min(end, valueStart + 40))
        this.failAt(valueStart, `invalid number "${shown}" for attribute "${attr.name}" in <${spec.name}>`)
      }
      if (v > attr.max) {
        this.failAt(valueStart,
          `attribute "${attr.name}" in <${spec.name}> out of range: ${this.string(valueStart, e)} (max ${attr.max})`)
      }
      this.numbers[index] = v
    }
    return e + 1
  }

  private text(start: number, end: number, attr: AttrSpec, spec: TagSpec): string {
    const raw = this.string(start, end)
    if (!raw.includes('&')) return raw
    let bad = false
    const decoded = raw.replace(/&([^;&]*)(;?)/g, (_match, name: string, semicolon: string) => {
      const char = NAMED_ENTITIES[name]
      if (char === undefined || semicolon === '') bad = true
      return char ?? ''
    })
    if (bad) this.failAt(start, `unsupported entity in attribute "${attr.name}" in <${spec.name}>`)
    return decoded
  }

  private endTag(p: number): number {
    const buf = this.buf
    const n = buf.length
    let q = this.nameEnd(p + 2)
    if (q < 0) return -1
    const spec = this.tagAt(p + 2, q)
    q = this.skipSpace(q)
    if (q >= n) return -1
    if (buf[q] !== GT) this.failAt(q, `expected ">" in </${spec.name}>`)
    this.close(spec)
    return q + 1
  }

  private comment(p: number): number {
    const buf = this.buf
    const n = buf.length
    if (p + 4 > n) return -1
    if (buf[p + 2] !== 0x2d || buf[p + 3] !== 0x2d) {
      this.failTag('doctype and cdata sections are not supported')
    }
    const close = Buffer.from(buf.buffer, buf.byteOffset, n).indexOf('-->', p + 4, 'latin1')
    if (close < 0) return -1
    for (let q = p + 4; q < close; q++) {
      if (buf[q] === LF) {
        this.line++
        this.lineStart = this.base + q + 1
      }
    }
    return close + 3
  }

  /** The end of `name` if the name starting at `p` is exactly that, else -1. */
  private matchName(p: number, name: Uint8Array): number {
    const buf = this.buf
    const end = p + name.length
    if (end >= buf.length) return -1
    for (let i = 0; i < name.length; i++) {
      if (buf[p + i] !== name[i]) return -1
    }
    return isNameByte(buf[end]) ? -1 : end
  }

  /** The end of the name starting at `p`, or -1 if the buffer ends first. */
  private nameEnd(p: number): number {
    const buf = this.buf
    const n = buf.length
    let q = p
    while (q < n && isNameByte(buf[q])) q++
    return q < n ? q : -1
  }

  private string(start: number, end: number): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength).toString('utf8', start, end)
  }

  private skipSpace(p: number): number {
    const buf = this.buf
    const n = buf.length
    while (p < n) {
      const c = buf[p]
      if (c === LF) {
        this.line++
        this.lineStart = this.base + p + 1
      } else if (c !== SPACE && c !== TAB && c !== CR) {
        break
      }
      p++
    }
    return p
  }

  private tagAt(start: number, end: number): TagSpec {
    for (const spec of TAGS) {
      if (bytesEqual(spec.bytes, this.buf, start, end)) return spec
    }
    if (start === end) this.failTag('expected an element name after "<"')
    return this.failTag(`unknown element <${this.string(start, end)}>`)
  }

  // --- document structure ---------------------------------------------------

  private element(spec: TagSpec, selfClosing: boolean): void {
    switch (spec) {
      case SUPERBLOCK:
        this.superblock()
        break
      case DEVICE:
        this.device()
        break
      case DEF:
        this.defBegin()
        break
      case REF:
        this.requireEmpty(spec, selfClosing)
        return this.ref()
      default:
        this.requireEmpty(spec, selfClosing)
        return this.mapping(spec)
    }
    if (selfClosing) this.close(spec)
  }

  /** Checked after the element's place in the document: that is the more basic error. */
  private requireAttributes(spec: TagSpec): void {
    if ((this.seen & spec.requiredMask) === spec.requiredMask) return
    const missing = spec.attrs.find((a, i) => a.required && !(this.seen & (1 << i)))!
    this.failTag(`missing attribute "${missing.name}" in <${spec.name}>`)
  }

  private requireEmpty(spec: TagSpec, selfClosing: boolean): void {
    if (!selfClosing) this.failTag(`<${spec.name}> must be an empty element ending in "/>"`)
  }

  private close(spec: TagSpec): void {
    const expected = {superblock: SUPERBLOCK, device: DEVICE, def: DEF, before: undefined, after: undefined}[this.context]
    if (spec !== expected) {
      this.failTag(expected ? `expected </${expected.name}>, found </${spec.name}>` : `unexpected </${spec.name}>`)
    }
    switch (this.context) {
      case 'superblock':
        this.context = 'after'
        return this.visitor.superblockEnd()
      case 'device':
        if (this.mappedBlocks !== this.declaredMappedBlocks) {
          this.failTag(`device ${this.devId} declares mapped_blocks="${this.declaredMappedBlocks}" ` +
            `but maps ${this.mappedBlocks} blocks`)
        }
        this.context = 'superblock'
        return this.visitor.deviceEnd()
      case 'def':
        this.defs.set(this.defName, this.def!)
        this.def = undefined
        this.context = 'superblock'
    }
  }

  private superblock(): void {
    if (this.context !== 'before') {
      this.failTag(this.context === 'after' ? 'content after </superblock>: <superblock>' : 'nested <superblock>')
    }
    this.requireAttributes(SUPERBLOCK)
    const v = this.numbers
    const dataBlockSize = v[5]
    if (dataBlockSize < MIN_DATA_BLOCK_SIZE || dataBlockSize > MAX_DATA_BLOCK_SIZE ||
      dataBlockSize % MIN_DATA_BLOCK_SIZE !== 0) {
      this.failTag(`invalid data_block_size ${dataBlockSize}: must be a multiple of ${MIN_DATA_BLOCK_SIZE} ` +
        `between ${MIN_DATA_BLOCK_SIZE} and ${MAX_DATA_BLOCK_SIZE} sectors`)
    }
    const has = (i: number) => (this.seen & (1 << i)) !== 0
    const sb: SuperblockIr = {
      uuid: this.texts[0],
      time: v[1],
      transaction: v[2],
      flags: has(3) ? v[3] : 0,
      version: has(4) ? v[4] : 2,
      dataBlockSize,
      nrDataBlocks: v[6],
    }
    if (has(7)) sb.metadataSnap = v[7]
    this.nrDataBlocks = sb.nrDataBlocks
    this.context = 'superblock'
    this.visitor.superblockBegin(sb)
  }

  private device(): void {
    this.expectInSuperblock('<device>')
    this.requireAttributes(DEVICE)
    const v = this.numbers
    const dev: DeviceIr = {devId: v[0], mappedBlocks: v[1], transaction: v[2], creationTime: v[3], snapTime: v[4]}
    if (this.devIds.has(dev.devId)) this.failTag(`duplicate device ${dev.devId}`)
    this.devIds.add(dev.devId)
    this.devId = dev.devId
    this.declaredMappedBlocks = dev.mappedBlocks
    this.mappedBlocks = 0
    this.prevBegin = 0
    this.prevEnd = 0
    this.context = 'device'
    this.visitor.deviceBegin(dev)
  }

  private defBegin(): void {
    this.expectInSuperblock('<def>')
    this.requireAttributes(DEF)
    const name = this.texts[0]
    if (this.defs.has(name)) this.failTag(`duplicate <def> "${name}"`)
    this.defName = name
    this.def = {runs: [], blocks: 0, begin: 0, end: 0}
    this.prevBegin = 0
    this.prevEnd = 0
    this.context = 'def'
  }

  private expectInSuperblock(what: string): void {
    switch (this.context) {
      case 'superblock':
        return
      case 'device':
        return this.failTag(`${what} inside <device>`)
      case 'def':
        return this.failTag(`${what} inside <def>`)
      case 'after':
        return this.failTag(`content after </superblock>: ${what}`)
      case 'before':
        return this.failTag(`${what} outside <superblock>`)
    }
  }

  private ref(): void {
    if (this.context !== 'device') {
      this.failTag(this.context === 'def' ? '<ref> inside <def>' : '<ref> outside <device>')
    }
    this.requireAttributes(REF)
    const name = this.texts[0]
    const def = this.defs.get(name)
    if (!def) return this.failTag(`<ref> to unknown <def> "${name}"`)
    if (def.runs.length === 0) return
    this.checkOrder(def.begin)
    this.prevBegin = def.runs[def.runs.length - 1].originBegin
    this.prevEnd = def.end
    this.mappedBlocks += def.blocks
    for (const run of def.runs) this.visitor.mapping(run)
  }

  private mapping(spec: TagSpec): void {
    if (this.context !== 'device' && this.context !== 'def') this.failTag(`<${spec.name}> outside <device>`)
    this.requireAttributes(spec)
    const v = this.numbers
    const single = spec === SINGLE_MAPPING
    const run: MappingRun = single
      ? {originBegin: v[0], dataBegin: v[1], length: 1, time: v[2]}
      : {originBegin: v[0], dataBegin: v[1], length: v[2], time: v[3]}
    if (run.length === 0) this.failTag('length must be at least 1 in <range_mapping>')
    if (run.originBegin + run.length - 1 > SAFE) this.failTag(`origin blocks beyond ${SAFE} in <${spec.name}>`)
    if (run.dataBegin + run.length > this.nrDataBlocks) {
      const block = Math.max(run.dataBegin, this.nrDataBlocks)
      this.failTag(`data block ${block} out of range in <${spec.name}> (nr_data_blocks is ${this.nrDataBlocks})`)
    }
    this.checkOrder(run.originBegin)
    this.prevBegin = run.originBegin
    this.prevEnd = run.originBegin + run.length
    if (this.def) {
      if (this.def.runs.length === 0) this.def.begin = run.originBegin
      this.def.runs.push(run)
      this.def.blocks += run.length
      this.def.end = this.prevEnd
    } else {
      this.mappedBlocks += run.length
      this.visitor.mapping(run)
    }
  }

  /** Mapping keys must be strictly ascending, so each run starts after the previous one ends. */
  private checkOrder(originBegin: number): void {
    if (originBegin >= this.prevEnd) return
    if (originBegin < this.prevBegin) {
      this.failTag(`mapping of origin block ${originBegin} out of order (after origin block ${this.prevBegin})`)
    }
    this.failTag(`mapping of origin block ${originBegin} overlaps the previous mapping ` +
      `(origin blocks ${this.prevBegin}-${this.prevEnd - 1})`)
  }

  // --- errors -------------------------------------------------------------------

  private markStart(p: number): void {
    this.tagLine = this.line
    this.tagColumn = this.base + p - this.lineStart + 1
  }

  private failText(p: number): never {
    let end = p
    const buf = this.buf
    while (end < buf.length && end < p + 40 && buf[end] !== LT && buf[end] !== LF) end++
    const what = this.context === 'after' ? 'content after </superblock>:' : 'unexpected text'
    return this.failAt(p, `${what} "${this.string(p, end).trimEnd()}"`)
  }

  private failAt(p: number, message: string): never {
    return this.fail(this.line, this.base + p - this.lineStart + 1, message)
  }

  private failTag(message: string): never {
    return this.fail(this.tagLine, this.tagColumn, message)
  }

  private fail(line: number, column: number, message: string): never {
    throw new FvmError('corrupt', `xml line ${line} column ${column}: ${message}`)
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length)
  joined.set(a)
  joined.set(b, a.length)
  return joined
}

function isNameByte(c: number): boolean {
  // Letters, digits, "_", "-", ".", ":" and any non-ASCII byte, as XML names allow.
  return (c >= 0x61 && c <= 0x7a) || c === 0x5f || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || c === 0x2e || c === 0x3a || c >= 0x80
}

function bytesEqual(expected: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  if (end - start !== expected.length) return false
  for (let i = 0; i < expected.length; i++) {
    if (buf[start + i] !== expected[i]) return false
  }
  return true
}

function quoteByte(c: number): string {
  return c >= 0x21 && c < 0x7f ? `"${String.fromCharCode(c)}"` : `0x${c.toString(16).padStart(2, '0')}`
}

/** Parses a whole document from synchronous chunks (e.g. read from a file descriptor). */
export function parseMetadataXml(chunks: Iterable<Uint8Array>, visitor: MetadataVisitor): void {
  const parser = new MetadataXmlParser(visitor)
  for (const chunk of chunks) parser.write(chunk)
  parser.end()
}

/** Parses a whole document from a stream of chunks (e.g. fs.createReadStream). */
export async function parseMetadataXmlStream(chunks: AsyncIterable<Uint8Array>, visitor: MetadataVisitor): Promise<void> {
  const parser = new MetadataXmlParser(visitor)
  for await (const chunk of chunks) parser.write(chunk)
  parser.end()
}
