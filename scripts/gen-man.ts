// Generates man/ from oclif.manifest.json: fvm.1 (overview) and one page per command
// (fvm-volume-create.1, ...). oclif has no man generator. Output is deterministic (no
// dates) so a test can regenerate and compare.
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {ExitCode, exitCodeMeanings} from '../src/errors.js'

interface ManifestFlag {
  name: string
  char?: string
  type: 'boolean' | 'option'
  description?: string
  summary?: string
  helpValue?: string
  options?: string[]
  env?: string
  default?: unknown
  hidden?: boolean
  multiple?: boolean
}

interface ManifestArg {
  name: string
  description?: string
  required?: boolean
}

interface ManifestExample {
  description?: string
  command: string
}

interface ManifestCommand {
  id: string
  summary?: string
  description?: string
  hidden?: boolean
  args: Record<string, ManifestArg>
  flags: Record<string, ManifestFlag>
  examples?: (string | ManifestExample)[]
}

export interface Manifest {
  version: string
  commands: Record<string, ManifestCommand>
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Escapes text for roff: backslashes, hyphens, and control characters at line start. */
function roff(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n')
}

function pageName(id: string): string {
  return `fvm-${id.replaceAll(':', '-').replaceAll(' ', '-')}`
}

function spacedId(id: string): string {
  return id.replaceAll(':', ' ')
}

function expandTemplate(text: string, id: string): string {
  return text.replaceAll('<%= config.bin %>', 'fvm').replaceAll('<%= command.id %>', spacedId(id))
}

function summaryOf(cmd: ManifestCommand): string {
  return cmd.summary ?? (cmd.description ?? '').split('\n')[0]
}

function flagSynopsis(flag: ManifestFlag): string {
  const name = `\\-\\-${roff(flag.name)}`
  const value = flag.type === 'option' ? ` \\fI${roff(flag.helpValue ?? flag.name.toUpperCase())}\\fR` : ''
  return `[\\fB${name}\\fR${value}]`
}

function synopsis(cmd: ManifestCommand): string {
  const args = Object.values(cmd.args).map((a) => (a.required ? `\\fI${roff(a.name.toUpperCase())}\\fR` : `[\\fI${roff(a.name.toUpperCase())}\\fR]`))
  const flags = Object.values(cmd.flags).filter((f) => !f.hidden).map(flagSynopsis)
  return `\\fBfvm ${roff(spacedId(cmd.id))}\\fR ${[...args, ...flags].join(' ')}`.trimEnd()
}

function optionsSection(cmd: ManifestCommand): string[] {
  const lines: string[] = ['.SH OPTIONS']
  for (const arg of Object.values(cmd.args)) {
    lines.push('.TP', `\\fI${roff(arg.name.toUpperCase())}\\fR`, roff(arg.description ?? ''))
  }
  for (const flag of Object.values(cmd.flags).filter((f) => !f.hidden)) {
    const short = flag.char ? `\\fB\\-${flag.char}\\fR, ` : ''
    const value = flag.type === 'option' ? ` \\fI${roff(flag.helpValue ?? flag.name.toUpperCase())}\\fR` : ''
    const text = flag.summary ?? flag.description ?? ''
    const extra = [
      flag.options ? `One of: ${flag.options.join(', ')}.` : '',
      flag.env ? `Environment: ${flag.env}.` : '',
    ].filter(Boolean)
    lines.push('.TP', `${short}\\fB\\-\\-${roff(flag.name)}\\fR${value}`, roff([text, ...extra].join(' ')))
  }
  return lines
}

function examplesSection(cmd: ManifestCommand): string[] {
  if (!cmd.examples?.length) return []
  const lines = ['.SH EXAMPLES']
  for (const example of cmd.examples) {
    const {description, command} = typeof example === 'string' ? {description: undefined, command: example} : example
    if (description) lines.push('.PP', roff(description))
    lines.push('.PP', '.RS 4', '.nf', roff(`$ ${expandTemplate(command, cmd.id)}`), '.fi', '.RE')
  }
  return lines
}

function exitStatusSection(): string[] {
  const lines = ['.SH EXIT STATUS']
  for (const [name, code] of Object.entries(ExitCode)) {
    lines.push('.TP', `\\fB${code}\\fR`, roff(exitCodeMeanings[name as keyof typeof ExitCode]))
  }
  return lines
}

function header(name: string, version: string): string[] {
  return [`.TH ${roff(name.toUpperCase())} 1 "" "fvm ${roff(version)}" "fvm manual"`]
}

function commandPage(cmd: ManifestCommand, all: ManifestCommand[], version: string): string {
  const name = pageName(cmd.id)
  const related = all.filter((c) => c.id !== cmd.id && c.id.split(':')[0] === cmd.id.split(':')[0]).map((c) => pageName(c.id))
  const seeAlso = ['fvm', ...related].map((p) => `\\fB${roff(p)}\\fR(1)`).join(', ')
  return [
    ...header(name, version),
    '.SH NAME',
    `${roff(name)} \\- ${roff(summaryOf(cmd))}`,
    '.SH SYNOPSIS',
    synopsis(cmd),
    '.SH DESCRIPTION',
    roff(cmd.description ?? summaryOf(cmd)),
    ...optionsSection(cmd),
    ...examplesSection(cmd),
    ...exitStatusSection(),
    '.SH SEE ALSO',
    seeAlso,
    '',
  ].join('\n')
}

function overviewPage(commands: ManifestCommand[], version: string): string {
  const list = commands.flatMap((c) => ['.TP', `\\fBfvm ${roff(spacedId(c.id))}\\fR`, `${roff(summaryOf(c))} See \\fB${roff(pageName(c.id))}\\fR(1).`])
  return [
    ...header('fvm', version),
    '.SH NAME',
    'fvm \\- a git\\-like volume manager on Linux dm\\-thin pools',
    '.SH SYNOPSIS',
    '\\fBfvm\\fR \\fICOMMAND\\fR [\\fIARGS\\fR] [\\fB\\-\\-json\\fR] [\\fB\\-\\-help\\fR]',
    '.SH DESCRIPTION',
    roff('fvm manages volumes as trees of branches (mydata/trunk), with read-only tags (v1@mydata), rollback, and ' +
      'incremental push to other instances. Every branch and tag is a thin device in a dm-thin pool whose metadata ' +
      'is in the Linux kernel\'s own format. Every command accepts --json and then prints one JSON object on stdout.'),
    '.SH COMMANDS',
    ...list,
    '.SH ENVIRONMENT',
    '.TP', '\\fBFVM_HOME\\fR', roff('the instance home when --home is not given (default ~/.fvm).'),
    '.TP', '\\fBNO_COLOR\\fR', roff('when set, output is never coloured.'),
    ...exitStatusSection(),
    '.SH SEE ALSO',
    commands.map((c) => `\\fB${roff(pageName(c.id))}\\fR(1)`).join(', '),
    '',
  ].join('\n')
}

/** Every man page for the manifest, by file name. */
export function renderManPages(manifest: Manifest): Map<string, string> {
  const commands = Object.values(manifest.commands).filter((c) => !c.hidden).sort((a, b) => a.id.localeCompare(b.id))
  const pages = new Map<string, string>([['fvm.1', overviewPage(commands, manifest.version)]])
  for (const cmd of commands) pages.set(`${pageName(cmd.id)}.1`, commandPage(cmd, commands, manifest.version))
  return pages
}

/** Rewrites the section 1 pages; other sections (fvm-stream.5) have their own generators. */
export function writeManPages(manifest: Manifest, dir: string): void {
  fs.mkdirSync(dir, {recursive: true})
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.1'))) fs.rmSync(path.join(dir, file))
  for (const [file, text] of renderManPages(manifest)) fs.writeFileSync(path.join(dir, file), text)
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as Manifest
  writeManPages(manifest, path.join(root, 'man'))
  process.stderr.write(`wrote ${renderManPages(manifest).size} man pages to man/\n`)
}
