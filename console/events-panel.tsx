/** The live feed's log: every watch event, reset and stream change, newest first. */
import type { LiveFeed } from './live-feed.ts';
import { useObservable } from './observable.ts';

export function EventsPanel({ feed, onOpen }: { feed: LiveFeed; onOpen: (path: string) => void }) {
  useObservable(feed);
  return (
    <div class="events">
      <p class="hint">One recursive watch of / (GET /v1/watch); resumes after {feed.lastEventId ?? 'the start'}.</p>
      <ol class="log" aria-label="Event log" data-testid="event-log">
        {feed.log.map((line) => (
          <li key={line.seq} class={`log-${line.kind}`}>
            <time>{line.at.toLocaleTimeString()}</time>{' '}
            {line.path ? <a href="#" onClick={(e) => { e.preventDefault(); onOpen(line.path!); }}>{line.text}</a> : line.text}
          </li>
        ))}
      </ol>
    </div>
  );
}
