// Tags for the porcelain: list, create, remove. References are parsed before the
// instance is opened (syntax only; existence is the catalog's question).
import {type TagSummary, listTags} from '../catalog/ops-lookups.js'
import {type CreateTagResult, type RemoveTagResult, createTag, removeTag} from '../catalog/ops-tags.js'
import {type InstanceContext, withInstance} from '../instance-open.js'
import {checkName} from '../names.js'
import {mutate} from '../transaction.js'
import {checkRef} from './entry.js'

/** Every tag, by volume then name; of one volume when `volume` is given. */
export function tagList(o: InstanceContext & {volume?: string}): TagSummary[] {
  if (o.volume !== undefined) checkName('volume', o.volume)
  return withInstance(o, ({catalog}) => listTags(catalog.committed().value, o.volume))
}

export interface TagCreateOptions extends InstanceContext {
  /** TAG@VOLUME */
  tag: string
  /** The branch or remote branch of that volume to tag; default its trunk. */
  from?: string
}

export function tagCreate(o: TagCreateOptions): CreateTagResult {
  checkRef(o.tag, ['tag'])
  if (o.from !== undefined) checkRef(o.from, ['branch', 'remote-branch'])
  return mutate(o, (state, context) => createTag(state, {tag: o.tag, from: o.from}, context))
}

export function tagRemove(o: InstanceContext & {tag: string}): RemoveTagResult {
  checkRef(o.tag, ['tag'])
  return mutate(o, (state) => removeTag(state, {tag: o.tag}))
}
