// Child process for the catalog crash tests: runs one step on a catalog and SIGKILLs
// itself at the named failpoint, the nearest a test gets to pulling the plug.
// Usage: node --import tsx catalog-crash-child.ts <catalog file> <step> <failpoint>
// Exits 3 if the failpoint never fired.
import {STEPS, type Step, runStep} from './catalog-scenario.js'

const [file, step, target] = process.argv.slice(2)
if (!file || !(STEPS as readonly string[]).includes(step) || !target) {
  process.stderr.write('usage: catalog-crash-child.ts <catalog file> <step> <failpoint>\n')
  process.exit(2)
}
runStep(file, step as Step, {
  failpoint: (name) => {
    if (name === target) process.kill(process.pid, 'SIGKILL')
  },
})
process.exit(3)
