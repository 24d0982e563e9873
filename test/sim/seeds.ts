/** Which seeds a simulation test runs: SIM_SEED replays one, SIM_SEEDS/SIM_SEED_BASE choose a range. */
export const SEEDS_DEFAULT = 1000;

export function seeds(): number[] {
  const one = process.env['SIM_SEED'];
  if (one !== undefined) return [Number(one)];
  const count = Number(process.env['SIM_SEEDS'] ?? SEEDS_DEFAULT);
  const base = Number(process.env['SIM_SEED_BASE'] ?? 1);
  return Array.from({ length: count }, (_, i) => base + i);
}

/** A failure's kind: its message without numbers, so one bug is reported once. */
export function kindOf(message: string): string {
  return message.replace(/\d+/g, '#').slice(0, 140);
}
