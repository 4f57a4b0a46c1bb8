// Checking a reference's syntax at entry, before the instance is open, so bad input
// fails the same way (usage, exit 2) whether or not the home exists. This instance's
// name is not known yet, so HOST/VOLUME/BRANCH passes wherever a branch is taken: the
// catalog operation decides whether HOST is this instance.
import {type Ref, type RefKind, parseRef} from '../refs.js'

export function checkRef(text: string, accept: readonly RefKind[], volume?: string): Ref {
  const qualified = accept.includes('branch') && !text.includes('@') && text.split('/').length === 3
  return parseRef(text, {accept: qualified ? ['remote-branch'] : accept, volume})
}
