// Locating the real tools the tests use. A group that needs a missing tool is skipped
// and listed at the end; under CI nothing may be skipped, so there it fails instead.
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** The strict thin-provisioning-tools 1.x, unpacked by scripts/install-system-tools.sh. */
export const pdataTools = path.join(repoRoot, '.tools/tpt1/usr/sbin/pdata_tools')

export const skippedGroups = new Map<string, string[]>()

export function which(tool: string): string | undefined {
  if (tool.includes('/')) return existsSync(tool) ? tool : undefined
  try {
    return execFileSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).trim() || undefined
  } catch {
    return undefined
  }
}

/**
 * Call in a `before` hook: skips the group (and records it) when a tool is missing,
 * or throws under CI, where every test must run.
 */
export function needTools(ctx: Mocha.Context, ...tools: string[]): void {
  skipUnless(ctx, tools.filter((t) => which(t) === undefined))
}

/** Like needTools, for tests that must run as root (installing packages, loop devices). */
export function needRoot(ctx: Mocha.Context): void {
  skipUnless(ctx, process.getuid?.() === 0 ? [] : ['root'])
}

function skipUnless(ctx: Mocha.Context, missing: string[]): void {
  if (missing.length === 0) return
  const group = ctx.test?.parent?.fullTitle() ?? 'unknown group'
  if (process.env.CI) throw new Error(`${group}: required tools missing in CI: ${missing.join(', ')}`)
  skippedGroups.set(group, missing)
  ctx.skip()
}
