// wire-tap.mjs COUNT_FILE CUT_BYTES COMMAND...: runs COMMAND (an ssh client, as FVM_SSH)
// with our stdin fed through a counter. Writes how many bytes reached COMMAND to
// COUNT_FILE when it ends; with CUT_BYTES > 0 the connection is cut after that many
// bytes (COMMAND's stdin closed, as when the network drops), to test resuming.
import {spawn} from 'node:child_process'
import fs from 'node:fs'

const [countFile, cutText, command, ...args] = process.argv.slice(2)
const cut = Number(cutText)
const child = spawn(command, args, {stdio: ['pipe', 'inherit', 'inherit']})
let passed = 0
let open = true
const record = () => fs.writeFileSync(countFile, String(passed))
process.stdin.on('data', (chunk) => {
  if (!open) return
  const room = cut > 0 ? cut - passed : chunk.length
  const piece = chunk.subarray(0, Math.min(room, chunk.length))
  passed += piece.length
  record()
  if (!child.stdin.write(piece)) {
    process.stdin.pause()
    child.stdin.once('drain', () => process.stdin.resume())
  }
  if (cut > 0 && passed >= cut) {
    open = false
    child.stdin.end()
    process.stdin.destroy()
  }
})
process.stdin.on('end', () => {
  if (open) child.stdin.end()
})
child.stdin.on('error', () => {})
child.on('exit', (code, signal) => {
  record()
  process.exit(code ?? (signal ? 1 : 0))
})
