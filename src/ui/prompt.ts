// Prompts (inquirer, loaded on first use) that refuse to run without a terminal:
// there the command fails with a hint naming the flag or argument to pass instead.
import {FvmError} from '../errors.js'
import {canPrompt} from './interactive.js'

export interface PromptContext {
  json: boolean
  /** How to give the answer without a prompt, e.g. `pass --yes` or `pass the volume name`. */
  hint: string
}

function refuse(question: string, ctx: PromptContext): never {
  throw new FvmError('usage', `cannot ask "${question}": not a terminal`, {hint: ctx.hint})
}

export async function askConfirm(question: string, ctx: PromptContext): Promise<boolean> {
  if (!canPrompt(ctx.json)) refuse(question, ctx)
  const {confirm} = await import('@inquirer/prompts')
  return confirm({message: question, default: false}, {output: process.stderr})
}

export async function askText(
  question: string,
  validate: (value: string) => string | true,
  ctx: PromptContext,
): Promise<string> {
  if (!canPrompt(ctx.json)) refuse(question, ctx)
  const {input} = await import('@inquirer/prompts')
  return input({message: question, validate}, {output: process.stderr})
}

export async function askSelect(question: string, choices: string[], ctx: PromptContext): Promise<string> {
  if (!canPrompt(ctx.json)) refuse(question, ctx)
  if (choices.length === 0) throw new FvmError('notFound', `nothing to choose from for "${question}"`, {hint: ctx.hint})
  const {select} = await import('@inquirer/prompts')
  return select({message: question, choices: choices.map((value) => ({value}))}, {output: process.stderr})
}
