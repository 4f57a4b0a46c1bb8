// Hostile streams against the receiver: 10,000 mutations of a valid stream (bit flips,
// truncation at every offset, oversized lengths, extents past the end, wrong base, bad
// checksums, ...) applied in-process by the receiving code itself (stage, apply,
// publish), and 200 of them through a real `fvm serve` child. Each must be refused with
// one clear line, without a crash or a hang, leaving every name on the receiver reading
// as before; an interruption may leave staged data (never under a name), which the next
// stream or gc removes; thin_check passes at the end.
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {readVolume} from '../../src/dm/thin/volume-io.js'
import {FvmError} from '../../src/errors.js'
import type {CatalogState} from '../../src/plumbing/catalog/model.js'
import {type ReceiveRequest, abortReceive} from '../../src/plumbing/catalog/ops-receive.js'
import {gc} from '../../src/plumbing/catalog/ops-gc.js'
import {removeRemoteBranch} from '../../src/plumbing/catalog/ops-remote.js'
import {type OpenInstance, withInstance, withInstanceAsync} from '../../src/plumbing/instance-open.js'
import {applyStream, stageReceive} from '../../src/plumbing/replicate/receive.js'
import {MESSAGE_KIND, PROTOCOL_VERSION} from '../../src/plumbing/replicate/session.js'
import {DATA_PREFIX_LENGTH} from '../../src/plumbing/stream/format.js'
import {FRAME_HEAD_LENGTH, FrameReader, encodeJsonFrame, parseJsonPayload} from '../../src/plumbing/stream/frames.js'
import {commitOperation} from '../../src/plumbing/transaction.js'
import {fvm, fvmBin} from '../support/cli.js'
import {Random, buildValidStream, chunked, encodeStream, hostileStreams, streamHeader, uuids} from '../support/hostile-streams.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {assertHealthy, ok} from './porcelain-support.js'
import {contentHash, fill} from './replicate-support.js'

const IN_PROCESS = 10_000
const THROUGH_SERVE = 200
const header = streamHeader()
const request: ReceiveRequest = {
  instance: header.instance,
  volume: header.volume,
  branch: header.branch,
  snapshot: header.target,
  base: null,
  expected: null,
  force: false,
}

describe('hostile streams', function () {
  this.timeout(600_000)
  let dir: string
  let home: string
  let visible: string
  let keepHash: string
  let tagHash: string

  before(async function () {
    needTools(this, ...THIN_TOOLS)
    // tmpfs when there is one: thousands of commits, each synced.
    const base = fs.existsSync('/dev/shm') ? '/dev/shm' : undefined
    dir = fs.mkdtempSync(path.join(base ?? fs.realpathSync('/tmp'), 'fvm-hostile-'))
    home = path.join(dir, 'beta')
    expect(fvm(['init', '--home', home, '--size', '256MiB', '--name', 'beta']).status).to.equal(0)
    ok(home, 'volume', 'create', 'keep', '--size', '4MiB')
    fill(home, 'keep/trunk', 0, 1024 * 1024)
    ok(home, 'tag', 'v1@keep')
    fill(home, 'keep/trunk', 0, 65536)
    keepHash = contentHash(home, 'keep/trunk')
    tagHash = contentHash(home, 'v1@keep')
    // The valid stream once, accepted, its remote branch then removed: its volume stays, as after any receive.
    await withInstanceAsync({home}, async (instance) => {
      const staged = stageReceive(instance, request, {home})
      await applyStream(new FrameReader(chunked(buildValidStream(), 4096)), {instance, ctx: {home}, request, staged})
      forget(instance)
    })
    visible = JSON.stringify(namesOf(committed()))
  })

  after(() => {
    if (dir) fs.rmSync(dir, {recursive: true, force: true})
  })

  function committed(): CatalogState {
    return withInstance({home}, (i) => i.catalog.committed().value)
  }

  /** Takes back an accepted stream: its remote branch, then (gc) its snapshot, so the same stream can come again. */
  function forget(instance: OpenInstance): void {
    commitOperation(instance, (s) => removeRemoteBranch(s, {remoteBranch: 'sender/mydata/trunk'}))
    commitOperation(instance, (s) => gc(s))
  }

  /** What names show: volumes with their branches, tags and remote heads. */
  function namesOf(state: CatalogState): unknown {
    return Object.values(state.volumes).map((v) => ({name: v.name, branches: v.branches, tags: v.tags, remote: v.remoteBranches}))
  }

  /** Receives `bytes` in-process; then puts the receiver back as it was, checking that only allowed traces were left. */
  async function receive(instance: OpenInstance, bytes: Buffer, chunk: number): Promise<'accepted' | FvmError> {
    let outcome: 'accepted' | FvmError
    try {
      const staged = stageReceive(instance, request, {home})
      await applyStream(new FrameReader(chunked(bytes, chunk)), {instance, ctx: {home}, request, staged})
      outcome = 'accepted'
    } catch (error) {
      if (!(error instanceof FvmError)) throw error
      outcome = error
    }
    const state = instance.catalog.committed().value
    if (outcome === 'accepted') forget(instance)
    else {
      expect(JSON.stringify(namesOf(state))).to.equal(visible)
      const staged = Object.keys(state.receiving)
      if (staged.length > 0) {
        // Only an interruption keeps what arrived; a refusal leaves nothing.
        expect((outcome as {truncated?: boolean}).truncated, outcome.message).to.equal(true)
        commitOperation(instance, (s) => abortReceive(s, {snapshot: staged[0]}))
      }
    }
    return outcome
  }

  it(`refuses ${IN_PROCESS} mutated streams in-process, changing no name`, async () => {
    const valid = buildValidStream()
    const refusals = new Map<string, number>()
    let accepted = 0
    let count = 0
    await withInstanceAsync({home}, async (instance) => {
      expect(await receive(instance, valid, 4096)).to.equal('accepted')
      for (const hostile of hostileStreams(valid, {seed: 5, count: IN_PROCESS})) {
        const outcome = await receive(instance, hostile.bytes, 1 + (count % 7) * 997)
        count++
        if (outcome === 'accepted') {
          accepted++
          continue
        }
        expect(outcome.message, hostile.name).to.match(/^[^\n]+$/)
        const key = outcome.message.replace(/\d+/g, 'N').slice(0, 60)
        refusals.set(key, (refusals.get(key) ?? 0) + 1)
      }
      // A stream naming a base the receiver does not have: refused before any data moves.
      const wrongBase = {...request, base: uuids.base}
      expect(() => stageReceive(instance, wrongBase, {home})).to.throw(/delta base .* is not a snapshot/)
    })
    expect(count).to.be.at.least(IN_PROCESS)
    console.log(`      ${count} streams: ${accepted} still valid, ${count - accepted} refused in ${refusals.size} ways`)
    expect(JSON.stringify(namesOf(committed()))).to.equal(visible)
    expect(contentHash(home, 'keep/trunk')).to.equal(keepHash)
    expect(contentHash(home, 'v1@keep')).to.equal(tagHash)
    assertHealthy(home)
  })

  it('keeps every record of a cut stream that arrived whole, also those since the last progress commit', async () => {
    // Three records, under the bytes between progress commits: only the cut commits them.
    const random = new Random(7)
    const extents = [0, 1, 2].map((i) => ({offset: i * 256 * 1024, data: random.bytes(256 * 1024)}))
    const records = extents.map((e) => ({kind: 'data' as const, offset: e.offset, data: e.data}))
    const whole = encodeStream(streamHeader({extents}), records)
    const headerFrame = whole.readUInt32BE(1) + FRAME_HEAD_LENGTH
    const dataFrame = FRAME_HEAD_LENGTH + DATA_PREFIX_LENGTH + 256 * 1024
    // Inside the third record's data.
    const cut = whole.subarray(0, headerFrame + 2 * dataFrame + 1000)
    await withInstanceAsync({home}, async (instance) => {
      const staged = stageReceive(instance, request, {home})
      const error = await applyStream(new FrameReader(chunked(cut, 65536)), {instance, ctx: {home}, request, staged}).then(() => undefined, (e: unknown) => e)
      expect((error as {truncated?: boolean}).truncated).to.equal(true)
      const kept = instance.catalog.committed().value.receiving[request.snapshot.uuid]
      expect(kept.received).to.equal(512 * 1024)
      expect(readVolume(instance.pool, kept.device, 0, 512 * 1024).equals(Buffer.concat([extents[0].data, extents[1].data]))).to.equal(true)
      // The resume sends the rest; the result reads as the whole.
      const rest = encodeStream(streamHeader({extents: extents.slice(2), header: {resumeFrom: 512 * 1024}}), records.slice(2))
      const resumed = stageReceive(instance, request, {home})
      expect(resumed.received).to.equal(512 * 1024)
      await applyStream(new FrameReader(chunked(rest, 65536)), {instance, ctx: {home}, request, staged: resumed})
    })
    const expected = Buffer.alloc(1024 * 1024)
    for (const e of extents) e.data.copy(expected, e.offset)
    expect(contentHash(home, 'sender/mydata/trunk')).to.equal(createHash('sha256').update(expected).digest('hex'))
    withInstance({home}, forget)
  })

  /** Runs `fvm serve`, sends hello, a receive request and `bytes`; its answer and exit. */
  function throughServe(bytes: Buffer): Promise<{answers: Record<string, unknown>[]; code: number | null; ms: number}> {
    const started = Date.now()
    const child = spawn(process.execPath, [fvmBin, 'serve', '--home', home], {stdio: ['pipe', 'pipe', 'ignore']})
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.stdin.on('error', () => {})
    child.stdin.write(encodeJsonFrame(MESSAGE_KIND, {op: 'hello', protocol: PROTOCOL_VERSION, instance: {name: 'sender', uuid: uuids.volume}}))
    child.stdin.write(encodeJsonFrame(MESSAGE_KIND, {op: 'receive', ...request}))
    child.stdin.end(bytes)
    const answers: Record<string, unknown>[] = []
    const reading = (async () => {
      const reader = new FrameReader(child.stdout)
      for (;;) {
        const frame = await reader.next((kind) => (kind === MESSAGE_KIND ? 1 << 20 : 0))
        if (frame === null) return
        answers.push(parseJsonPayload(frame.payload, 'answer'))
      }
    })()
    return new Promise((resolve, reject) => {
      child.on('exit', (code) => {
        clearTimeout(killer)
        reading.then(() => resolve({answers, code, ms: Date.now() - started}), reject)
      })
    })
  }

  it(`refuses ${THROUGH_SERVE} of them through a real fvm serve, each within 10 seconds`, async () => {
    const valid = buildValidStream()
    const all = [...hostileStreams(valid, {seed: 11, count: IN_PROCESS})]
    let accepted = 0
    for (let i = 0; i < THROUGH_SERVE; i++) {
      const hostile = all[Math.floor((i * all.length) / THROUGH_SERVE)]
      const {answers, code, ms} = await throughServe(hostile.bytes)
      expect(ms, hostile.name).to.be.below(10_000)
      expect(answers[0]?.op, hostile.name).to.equal('hello')
      const last = answers.at(-1)!
      if (last.op === 'received' || (answers.some((a) => a.op === 'received') && last.op === 'error')) {
        accepted++
        withInstance({home}, forget)
        continue
      }
      expect(last.op, `${hostile.name}: ${JSON.stringify(answers)}`).to.equal('error')
      expect(String(last.message), hostile.name).to.match(/^[^\n]+$/)
      expect(code, hostile.name).to.not.equal(0)
      const state = committed()
      expect(JSON.stringify(namesOf(state)), hostile.name).to.equal(visible)
    }
    console.log(`      ${THROUGH_SERVE} streams through fvm serve: ${accepted} still valid, ${THROUGH_SERVE - accepted} refused`)
    // What interruptions staged, gc removes.
    ok(home, 'gc')
    expect(Object.keys(committed().receiving)).to.deep.equal([])
    expect(contentHash(home, 'keep/trunk')).to.equal(keepHash)
    assertHealthy(home)
  })
})
