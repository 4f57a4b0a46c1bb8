// What a person may pick when a command is missing a reference: the names the catalog
// holds now, cheap to list (no pool walk), sorted.
import {listBranches, listTags, listVolumes} from '../catalog/ops-lookups.js'
import {type InstanceContext, withInstance} from '../instance-open.js'

export type ChoiceKind = 'volume' | 'branch' | 'tag'

/** Volumes, branches (VOLUME/BRANCH) or tags (TAG@VOLUME), of one volume when `volume` is given. */
export function refChoices(o: InstanceContext & {kind: ChoiceKind; volume?: string}): string[] {
  return withInstance(o, ({catalog}) => {
    const state = catalog.committed().value
    switch (o.kind) {
      case 'volume':
        return listVolumes(state).map((v) => v.name)
      case 'branch':
        return listBranches(state, o.volume).map((b) => b.branch)
      case 'tag':
        return listTags(state, o.volume).map((t) => t.tag)
    }
  })
}
