// Sizes as people write them: 4096, 64KiB, 256M, 10G, 1TiB. Units are binary (K = KiB =
// 1024); decimal SI units (MB, GB) are refused rather than guessed.
import {FvmError} from '../errors.js'

const POWERS: Record<string, number> = {'': 0, b: 0, k: 1, m: 2, g: 3, t: 4, p: 5, e: 6}
const SIZE = /^(\d+)\s*(?:([kmgtpe])(i?b)?|(b))?$/i

export const ACCEPTED_SIZE_FORMS = '4096, 64KiB, 256M, 10G, 1TiB (units K, M, G, T, P, E, optionally with "iB"; binary)'

export function parseSize(text: string, what = 'size'): number {
  const match = SIZE.exec(text.trim())
  const bad = (why: string): never => {
    throw new FvmError('usage', `invalid ${what} "${text}": ${why}`, {hint: `sizes look like ${ACCEPTED_SIZE_FORMS}`})
  }
  if (!match) {
    if (/^\d+\s*[kmgtpe]b$/i.test(text.trim())) return bad('decimal units are ambiguous; write KiB, MiB, GiB (binary)')
    return bad(text.trim().startsWith('-') ? 'must not be negative' : 'not a size')
  }
  const [, digits, unit = '', suffix = ''] = match
  if (suffix && suffix.toLowerCase() === 'b' && unit) return bad('decimal units are ambiguous; write KiB, MiB, GiB (binary)')
  const value = Number(digits) * 1024 ** POWERS[unit.toLowerCase()]
  if (!Number.isSafeInteger(value)) return bad('too large')
  return value
}
