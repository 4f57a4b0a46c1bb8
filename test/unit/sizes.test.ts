import {expect} from 'chai'
import {parseSize} from '../../src/plumbing/sizes.js'

describe('sizes', () => {
  const good: [string, number][] = [
    ['4096', 4096], ['0', 0], ['512B', 512], ['64KiB', 65536], ['64k', 65536], ['64K', 65536], ['256MiB', 256 * 2 ** 20],
    ['256M', 256 * 2 ** 20], ['10G', 10 * 2 ** 30], ['10GiB', 10 * 2 ** 30], ['1TiB', 2 ** 40], ['1t', 2 ** 40], [' 2 GiB ', 2 ** 31],
  ]
  for (const [text, bytes] of good) it(`reads ${JSON.stringify(text)} as ${bytes}`, () => expect(parseSize(text)).to.equal(bytes))

  const bad: [string, RegExp][] = [
    ['-1', /must not be negative/], ['12XB', /not a size/], ['', /not a size/], ['1.5G', /not a size/], ['10GB', /decimal units/],
    ['5MB', /decimal units/], ['99999999999E', /too large/], ['G', /not a size/],
  ]
  for (const [text, why] of bad) {
    it(`refuses ${JSON.stringify(text)}, listing the accepted forms`, () => {
      try {
        parseSize(text, 'volume size')
        expect.fail('accepted')
      } catch (error) {
        const e = error as {message: string, hint: string, exitCode: number}
        expect(e.message).to.match(/^invalid volume size ".*": /).and.match(why)
        expect(e.hint).to.include('64KiB, 256M, 10G, 1TiB')
        expect(e.exitCode).to.equal(2)
      }
    })
  }
})
