// Display helpers. No arithmetic on money: amounts are shown as the API wrote them.
import type { Schemas } from '../api/client'

type Priced = Pick<
  Schemas['ModuleSummary'],
  'license_type' | 'price' | 'currency' | 'subscription_period' | 'trial_days'
>

export function priceLabel(module: Priced): string {
  if (module.license_type === 'free' || module.price == null) return 'Free'
  const amount = `${module.price} ${module.currency}`
  if (module.license_type === 'subscription' && module.subscription_period) {
    return `${amount} / ${module.subscription_period === 'yearly' ? 'year' : 'month'}`
  }
  if (module.license_type === 'trial' && module.trial_days) {
    return `${amount} · ${module.trial_days}-day trial`
  }
  return amount
}
