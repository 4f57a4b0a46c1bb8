// mocha's spec reporter plus one plain closing line, "N passed, N failed, N skipped",
// that CI reads whatever the runner.
const Mocha = require('mocha')

class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    runner.once('end', () => {
      const {passes, failures, pending} = this.stats
      process.stdout.write(`tests: ${passes} passed, ${failures} failed, ${pending} skipped\n`)
    })
  }
}

module.exports = SpecWithTotals
