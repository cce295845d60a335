// The category tree (GET /marketplace/categories) looked up by slug.
import type { Schemas } from '../api/client'

type Node = Schemas['CategoryNode']

export interface Located {
  node: Node
  /** The categories above it, the root first. */
  parents: Node[]
}

/** Every category of the tree by slug, with the categories above it. */
export function categoryIndex(nodes: Node[]): Map<string, Located> {
  const index = new Map<string, Located>()
  const walk = (level: Node[], parents: Node[]) => {
    for (const node of level) {
      index.set(node.slug, { node, parents })
      walk(node.children, [...parents, node])
    }
  }
  walk(nodes, [])
  return index
}
