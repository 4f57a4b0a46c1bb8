// A fresh data file in its own temp directory for each test of a mocha group, closed and
// deleted after it: for the tests of the pool's file I/O.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {nodeFileSystem, type PoolFile} from '../../src/dm/pdata/file-io.js'

/** Call inside describe(); the returned function gives the current test's file. */
export function scratchPoolFile(prefix: string): () => PoolFile {
  let dir: string
  let file: PoolFile
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
    file = nodeFileSystem.open(path.join(dir, 'data'), 'wx')
  })
  afterEach(() => {
    file.close()
    fs.rmSync(dir, {recursive: true, force: true})
  })
  return () => file
}
