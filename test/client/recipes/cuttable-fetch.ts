// A fetch whose network a test can cut: every open request and stream is aborted and new ones
// fail until heal(), so the server expires the session while its client does not know yet.
export interface CuttableFetch {
  readonly fetch: typeof fetch;
  cut(): void;
  heal(): void;
}

export function cuttableFetch(): CuttableFetch {
  let cut = false;
  const open = new Set<AbortController>();
  return {
    fetch: async (input, init) => {
      if (cut) throw new TypeError('fetch failed (network cut by the test)');
      const controller = new AbortController();
      open.add(controller);
      const signal = init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
      return fetch(input, { ...init, signal }); // kept in `open`: a stream's body outlives the call
    },
    cut: () => {
      cut = true;
      for (const controller of open) controller.abort(new Error('network cut'));
      open.clear();
    },
    heal: () => {
      cut = false;
    },
  };
}
