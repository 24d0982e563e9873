/**
 * A read repeated every `periodMs` while the calling component is shown, one at a time; started
 * over (the last answer dropped) when one of `deps` changes, e.g. the page a panel shows.
 */
import { useEffect, useState } from 'preact/hooks';

export type Polled<T> = { readonly value?: T; readonly error?: unknown; readonly at?: Date };

export function usePolling<T>(read: () => Promise<T>, periodMs: number, deps: ReadonlyArray<unknown> = []): Polled<T> {
  const [state, setState] = useState<Polled<T>>({});
  useEffect(() => {
    setState({});
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const value = await read();
        if (!stopped) setState({ value, at: new Date() });
      } catch (error) {
        if (!stopped) setState((old) => ({ ...old, error, at: new Date() }));
      }
      if (!stopped) timer = setTimeout(() => void tick(), periodMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
  return state;
}
