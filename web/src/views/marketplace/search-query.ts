// The search page's state lives in the URL query (q, category, license_type, page), so a
// search can be shared and the back button works. Names are the API's own.
import type { LocationQuery, LocationQueryRaw } from 'vue-router'
import { LICENSE_TYPES } from './browse-query'

export const SEARCH_PAGE_SIZE = 10

type License = (typeof LICENSE_TYPES)[number][0]

export interface SearchState {
  q: string
  category: string | null
  license_type: License | null
  page: number
}

function one(value: LocationQuery[string] | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value
  return typeof first === 'string' && first.trim() !== '' ? first.trim() : null
}

export function readSearch(query: LocationQuery): SearchState {
  const page = Number.parseInt(one(query.page) ?? '1', 10)
  const license = one(query.license_type)
  return {
    q: one(query.q) ?? '',
    category: one(query.category),
    license_type: LICENSE_TYPES.some(([key]) => key === license) ? (license as License) : null,
    page: Number.isFinite(page) && page > 0 ? page : 1,
  }
}

/** The URL query for a state: only what is set. */
export function writeSearch(state: SearchState): LocationQueryRaw {
  const query: LocationQueryRaw = {}
  if (state.q) query.q = state.q
  if (state.category) query.category = state.category
  if (state.license_type) query.license_type = state.license_type
  if (state.page > 1) query.page = String(state.page)
  return query
}

/** The URL query of the same search narrowed (or widened, with null) by one facet, from page 1. */
export function withFacet(
  state: SearchState,
  facet: 'category' | 'license_type',
  value: string | null,
): LocationQueryRaw {
  return writeSearch({ ...state, [facet]: value, page: 1 } as SearchState)
}

/** The API's query for a state. */
export function searchApiQuery(state: SearchState) {
  return {
    q: state.q,
    category: state.category ?? undefined,
    license_type: state.license_type ?? undefined,
    limit: SEARCH_PAGE_SIZE,
    offset: (state.page - 1) * SEARCH_PAGE_SIZE,
  }
}

/** Facet counts, most first (ties by name), as [key, count] pairs without the empty ones. */
export function facetEntries(counts: Record<string, number> | undefined): [string, number][] {
  return Object.entries(counts ?? {})
    .filter(([, count]) => count > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
}
