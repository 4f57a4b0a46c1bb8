// fvm-stream(5) cannot drift from the code: the committed roff is what the markdown
// renders to, it names every record kind, the format number and the limits, its
// example is what the encoder writes, and man renders it without warnings.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import {expectedStreamManPage, renderStreamManPage, streamPageSource, streamPageTarget} from '../../scripts/gen-stream-man.js'
import {StreamEncoder} from '../../src/plumbing/stream/encoder.js'
import {
  DATA_PREFIX_LENGTH, MAX_DATA, MAX_HEADER_LENGTH, RecordKind, STREAM_FORMAT, TRAILER_PAYLOAD_LENGTH, ZERO_PAYLOAD_LENGTH,
} from '../../src/plumbing/stream/format.js'
import {needTools} from '../support/tools.js'

/** `hexdump -C`: offsets, 16 bytes a row in two halves, printable ASCII; repeated rows as '*'. */
function hexdump(bytes: Buffer): string {
  const lines: string[] = []
  let previous = ''
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16)
    const hex = row.toString('hex')
    if (hex === previous) {
      if (lines[lines.length - 1] !== '*') lines.push('*')
      continue
    }
    previous = hex
    const pairs = [...row].map((b) => b.toString(16).padStart(2, '0'))
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')
    lines.push(`${at.toString(16).padStart(8, '0')}  ${`${pairs.slice(0, 8).join(' ')}  ${pairs.slice(8).join(' ')}`.padEnd(48)}  |${text}|`)
  }
  lines.push(bytes.length.toString(16).padStart(8, '0'))
  return lines.join('\n')
}

/** The stream the page's EXAMPLE section describes. */
function exampleStream(): Buffer {
  const encoder = new StreamEncoder({
    format: STREAM_FORMAT,
    instance: 'alpha',
    volume: {uuid: '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a00', name: 'mydata', size: 1024 * 1024},
    branch: 'trunk',
    blockSize: 65536,
    base: null,
    target: {uuid: '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01', parent: null, created: '2024-05-01T12:00:00.000Z'},
    resumeFrom: 0,
    extents: 2,
    dataBytes: 512,
    zeroBytes: 65536,
  })
  return Buffer.concat([...encoder.header(), ...encoder.zero(0, 65536), ...encoder.data(65536, Buffer.alloc(512, 0xab)), ...encoder.trailer()])
}

describe('fvm-stream(5)', () => {
  const markdown = fs.readFileSync(streamPageSource, 'utf8')
  const page = fs.readFileSync(streamPageTarget, 'utf8')

  it('is the markdown rendered (run "npx tsx scripts/gen-stream-man.ts" after editing docs/fvm-stream.5.md)', () => {
    expect(page).to.equal(expectedStreamManPage())
  })

  it('names every record kind, the format number and the limits', () => {
    const sections: {[K in keyof typeof RecordKind]: string} = {header: 'header', data: 'data', zero: 'zeros', trailer: 'trailer'}
    for (const [name, kind] of Object.entries(RecordKind) as [keyof typeof RecordKind, number][]) {
      expect(page).to.include(`.SS ${String.fromCharCode(kind)}: ${sections[name]}\n`)
    }
    expect(page).to.include(`This page describes format ${STREAM_FORMAT}.`)
    expect(page).to.include(`at most ${MAX_HEADER_LENGTH} bytes`)
    expect(page).to.include(`from 512 to ${MAX_DATA} bytes`)
    expect(page).to.include(`${MAX_DATA + DATA_PREFIX_LENGTH} for 'D', ${ZERO_PAYLOAD_LENGTH} for 'Z', ${TRAILER_PAYLOAD_LENGTH} for 'T'`)
    expect(page).to.include(`exactly ${ZERO_PAYLOAD_LENGTH} for 'Z' and ${TRAILER_PAYLOAD_LENGTH} for 'T'`)
  })

  it('shows in its example exactly what the encoder writes', () => {
    const block = /## EXAMPLE\n[\s\S]*?```\n([\s\S]*?)\n```/.exec(markdown)
    expect(block, 'an EXAMPLE section with a fenced hexdump').to.not.equal(null)
    expect(block![1]).to.equal(hexdump(exampleStream()))
  })

  it('renders with man, without warnings', function () {
    needTools(this, 'man')
    const r = spawnSync('man', ['--warnings', '-l', streamPageTarget], {encoding: 'utf8', env: {...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat'}})
    expect(r.status, r.stderr).to.equal(0)
    expect(r.stderr).to.equal('')
    expect(r.stdout).to.match(/NAME\s+fvm-stream - the block-export stream/)
  })

  it('the renderer refuses markdown it does not know', () => {
    expect(() => renderStreamManPage('# x(5)\n| a | b |\n', '1')).to.throw('markdown this renderer does not know')
    expect(() => renderStreamManPage('# x(5)\n```\nopen\n', '1')).to.throw('a fenced block is not closed')
    expect(() => renderStreamManPage('no title', '1')).to.throw('the first line must be')
  })
})
