// Renders docs/fvm-stream.5.md, the stream format for people, as man/fvm-stream.5: one
// text, two forms. Knows only the markdown that page uses (a "# name(section)" title,
// ## and ### headings, paragraphs, "- " lists, fenced blocks, `code`) and refuses
// anything else. Deterministic (no dates) so a test can regenerate and compare.
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const streamPageSource = path.join(root, 'docs/fvm-stream.5.md')
export const streamPageTarget = path.join(root, 'man/fvm-stream.5')

/** Text safe for roff: backslashes and hyphens escaped, a leading control character neutralised. */
function escape(line: string): string {
  const text = line.replaceAll('\\', '\\e').replaceAll('-', '\\-')
  return /^[.']/.test(text) ? `\\&${text}` : text
}

/** A markdown line of prose: escaped, `code` in bold. */
function prose(line: string): string {
  return escape(line).replace(/`([^`]+)`/g, '\\fB$1\\fR')
}

export function renderStreamManPage(markdown: string, version: string): string {
  const lines = markdown.split('\n')
  const title = /^# ([a-z0-9-]+)\((\d)\)$/.exec(lines[0])
  if (!title) throw new Error(`the first line must be "# name(section)", not "${lines[0]}"`)
  const out = [`.TH ${escape(title[1].toUpperCase())} ${title[2]} "" "fvm ${escape(version)}" "fvm manual"`]
  let paragraph: string[] = []
  const flush = (): void => {
    if (paragraph.length === 0) return
    const text = paragraph.join(' ')
    if (text.startsWith('- ')) out.push('.IP \\(bu 2', prose(text.slice(2)))
    else out.push('.PP', prose(text))
    paragraph = []
  }
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]
    if (line.startsWith('```')) {
      flush()
      out.push('.PP', '.RS 4', '.nf')
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) out.push(escape(lines[i]))
      if (i === lines.length) throw new Error('a fenced block is not closed')
      out.push('.fi', '.RE')
    } else if (line.startsWith('## ')) {
      flush()
      out.push(`.SH ${escape(line.slice(3))}`)
    } else if (line.startsWith('### ')) {
      flush()
      out.push(`.SS ${prose(line.slice(4))}`)
    } else if (/^(#|\||\d+\. |\* |\s+- )/.test(line) || line.includes('**')) {
      throw new Error(`line ${i + 1}: markdown this renderer does not know: "${line}"`)
    } else if (line.trim() === '') {
      flush()
    } else {
      // A list item ends at the next one; a paragraph at a blank line.
      if (line.startsWith('- ')) flush()
      paragraph.push(line.trim())
    }
  }
  flush()
  return `${out.join('\n')}\n`
}

/** The page as it should be, from the committed markdown and package version. */
export function expectedStreamManPage(): string {
  const {version} = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string}
  return renderStreamManPage(fs.readFileSync(streamPageSource, 'utf8'), version)
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  fs.writeFileSync(streamPageTarget, expectedStreamManPage())
  process.stderr.write(`wrote ${path.relative(root, streamPageTarget)}\n`)
}
