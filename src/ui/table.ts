// Tables for lists (cli-table3, loaded on first use): borderless columns that read well
// on a terminal and split on whitespace in a pipe; headers bold only where colour is on.
import {colorFor} from './color.js'

export async function renderTable(head: string[], rows: (string | number)[][]): Promise<string> {
  const {default: Table} = await import('cli-table3')
  const chalk = await colorFor(process.stdout)
  const table = new Table({
    head: head.map((h) => chalk.bold(h)),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
      'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    style: {head: [], border: [], 'padding-left': 0, 'padding-right': 0},
  })
  for (const row of rows) table.push(row.map(String))
  return `${table.toString().split('\n').map((line) => line.trimEnd()).join('\n')}\n`
}
