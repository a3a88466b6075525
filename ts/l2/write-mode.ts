// --l2-write: when a write is answered, relative to its L2 step (docs/tiers.md).

export const L2_WRITE_MODES = ['through', 'behind'] as const
export type L2WriteMode = (typeof L2_WRITE_MODES)[number]
