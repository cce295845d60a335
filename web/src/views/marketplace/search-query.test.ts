import { describe, expect, it } from 'vitest'
import { facetEntries, readSearch, searchApiQuery, withFacet, writeSearch } from './search-query'

describe('search query', () => {
  it('reads the URL, ignoring what is not a known value', () => {
    expect(readSearch({ q: ' oauth ', license_type: 'stolen', page: '-2' })).toEqual({
      q: 'oauth',
      category: null,
      license_type: null,
      page: 1,
    })
    expect(readSearch({ q: 'x', category: 'payments', license_type: 'paid', page: '3' })).toEqual({
      q: 'x',
      category: 'payments',
      license_type: 'paid',
      page: 3,
    })
  })

  it('round-trips and narrows by a facet from page 1', () => {
    const state = readSearch({ q: 'chart', page: '2' })
    expect(readSearch(writeSearch(state) as never)).toEqual(state)
    expect(withFacet(state, 'category', 'data-charts')).toEqual({ q: 'chart', category: 'data-charts' })
    expect(withFacet({ ...state, license_type: 'free' }, 'license_type', null)).toEqual({ q: 'chart' })
  })

  it('asks the API for the page', () => {
    expect(searchApiQuery(readSearch({ q: 'a', page: '3' }))).toMatchObject({ q: 'a', limit: 10, offset: 20 })
  })

  it('orders facets by count and drops empty ones', () => {
    expect(facetEntries({ b: 2, a: 2, c: 5, d: 0 })).toEqual([
      ['c', 5],
      ['a', 2],
      ['b', 2],
    ])
    expect(facetEntries(undefined)).toEqual([])
  })
})
