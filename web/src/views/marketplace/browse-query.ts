// The browse page's state lives in the URL query, so a view can be shared and the back
// button returns to the previous one. Names are the API's own parameter names.
import type { LocationQuery, LocationQueryRaw } from 'vue-router'

export const SORTS = [
  ['downloads', 'Most downloaded'],
  ['rating', 'Best rated'],
  ['newest', 'Newest'],
  ['price_asc', 'Price: low to high'],
  ['price_desc', 'Price: high to low'],
] as const
export const LICENSE_TYPES = [
  ['free', 'Free'],
  ['paid', 'Paid'],
  ['subscription', 'Subscription'],
  ['trial', 'Free trial'],
] as const
export const PAGE_SIZE = 12

type Sort = (typeof SORTS)[number][0]
type License = (typeof LICENSE_TYPES)[number][0]

export interface BrowseState {
  category: string | null
  license_type: License | null
  min_price: string | null
  max_price: string | null
  fastvue_version: string | null
  verified_publisher: boolean
  sort: Sort | null
  page: number
}

function one(value: LocationQuery[string] | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value
  return typeof first === 'string' && first.trim() !== '' ? first.trim() : null
}

function oneOf<T extends string>(value: string | null, allowed: readonly (readonly [T, string])[]): T | null {
  return allowed.some(([key]) => key === value) ? (value as T) : null
}

export function readState(query: LocationQuery): BrowseState {
  const page = Number.parseInt(one(query.page) ?? '1', 10)
  return {
    category: one(query.category),
    license_type: oneOf(one(query.license_type), LICENSE_TYPES),
    min_price: one(query.min_price),
    max_price: one(query.max_price),
    fastvue_version: one(query.fastvue_version),
    verified_publisher: one(query.verified_publisher) === 'true',
    sort: oneOf(one(query.sort), SORTS),
    page: Number.isFinite(page) && page > 0 ? page : 1,
  }
}

/** The URL query for a state: only what differs from the defaults. */
export function writeState(state: BrowseState): LocationQueryRaw {
  const query: LocationQueryRaw = {}
  if (state.category) query.category = state.category
  if (state.license_type) query.license_type = state.license_type
  if (state.min_price) query.min_price = state.min_price
  if (state.max_price) query.max_price = state.max_price
  if (state.fastvue_version) query.fastvue_version = state.fastvue_version
  if (state.verified_publisher) query.verified_publisher = 'true'
  if (state.sort) query.sort = state.sort
  if (state.page > 1) query.page = String(state.page)
  return query
}

export function isFiltered(state: BrowseState): boolean {
  const { sort: _sort, page: _page, ...filters } = state
  return Object.values(filters).some((value) => value !== null && value !== false)
}

/** The API's query for a state. */
export function apiQuery(state: BrowseState) {
  return {
    category: state.category ?? undefined,
    license_type: state.license_type ?? undefined,
    min_price: state.min_price ?? undefined,
    max_price: state.max_price ?? undefined,
    fastvue_version: state.fastvue_version ?? undefined,
    verified_publisher: state.verified_publisher ? true : undefined,
    sort: state.sort ?? undefined,
    limit: PAGE_SIZE,
    offset: (state.page - 1) * PAGE_SIZE,
  }
}
