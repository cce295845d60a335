import { describe, expect, it } from 'vitest'
import { categoryIndex } from './categories'

interface TestNode {
  id: number
  slug: string
  name: string
  description: null
  icon: null
  module_count: number
  children: TestNode[]
}
const node = (slug: string, children: TestNode[] = []): TestNode => ({
  id: slug.length,
  slug,
  name: slug.toUpperCase(),
  description: null,
  icon: null,
  module_count: 1,
  children,
})

describe('categoryIndex', () => {
  it('finds nested categories with their parents', () => {
    const index = categoryIndex([node('auth', [node('sso', [node('saml')])]), node('charts')] as never)
    expect(index.get('saml')?.parents.map((p) => p.slug)).toEqual(['auth', 'sso'])
    expect(index.get('charts')?.parents).toEqual([])
    expect(index.get('missing')).toBeUndefined()
  })
})
