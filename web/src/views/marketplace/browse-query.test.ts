import { describe, expect, it } from 'vitest'
import { apiQuery, isFiltered, readState, writeState } from './browse-query'

describe('browse state in the URL', () => {
  it('round-trips every filter, the sort and the page', () => {
    const query = {
      category: 'auth',
      license_type: 'paid',
      min_price: '5',
      max_price: '20.50',
      fastvue_version: '2.1',
      verified_publisher: 'true',
      sort: 'rating',
      page: '3',
    }
    expect(writeState(readState(query))).toEqual(query)
  })

  it('drops unknown or malformed values instead of sending them on', () => {
    const state = readState({ license_type: 'stolen', sort: 'evil', page: '-4', category: '  ' })
    expect(state.license_type).toBeNull()
    expect(state.sort).toBeNull()
    expect(state.page).toBe(1)
    expect(state.category).toBeNull()
    expect(writeState(state)).toEqual({})
    expect(isFiltered(state)).toBe(false)
  })

  it('asks the API for the page as an offset, prices as written', () => {
    const query = apiQuery(readState({ page: '2', min_price: '9.99', category: 'tools' }))
    expect(query).toMatchObject({ offset: 12, limit: 12, min_price: '9.99', category: 'tools' })
    expect(isFiltered(readState({ category: 'tools' }))).toBe(true)
    expect(isFiltered(readState({ sort: 'newest', page: '2' }))).toBe(false)
  })
})
