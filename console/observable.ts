/** A tiny change signal for the console's models, and the hook that re-renders a component on it. */
import { useEffect, useState } from 'preact/hooks';

export class Observable {
  private readonly listeners = new Set<() => void>();

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected changed(): void {
    for (const listener of this.listeners) listener();
  }
}

/** Re-renders the calling component whenever `model` changes. */
export function useObservable(model: Observable): void {
  const [, setTick] = useState(0);
  useEffect(() => model.subscribe(() => setTick((n) => n + 1)), [model]);
}
