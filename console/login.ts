/**
 * Who the console acts as: HTTP Basic (ZooKeeper's digest identity) or a bearer JWT, kept in
 * memory and in this tab's sessionStorage (gone when the tab closes; never in localStorage or a
 * cookie, so no other tab or site request carries it).
 */
import { setAuthorization } from './api.ts';

export interface Login {
  readonly kind: 'basic' | 'bearer';
  /** Who, for display: the Basic user or the token's `sub` (unverified here; the node verifies). */
  readonly who: string;
  readonly authorization: string;
}

const KEY = 'corral-console-login';

const base64Utf8 = (text: string): string => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

export function basicLogin(user: string, password: string): Login {
  return { kind: 'basic', who: user, authorization: `Basic ${base64Utf8(`${user}:${password}`)}` };
}

export function bearerLogin(token: string): Login {
  let who = 'bearer token';
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    if (typeof payload.sub === 'string') who = payload.sub;
  } catch {
    // not a readable JWT: the node will say so (401)
  }
  return { kind: 'bearer', who, authorization: `Bearer ${token.trim()}` };
}

/** Makes `login` the one every request carries, and remembers it for this tab. */
export function applyLogin(login: Login | undefined): void {
  setAuthorization(login?.authorization);
  if (login === undefined) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, JSON.stringify(login));
}

export function restoredLogin(): Login | undefined {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Login | null;
    return saved && (saved.kind === 'basic' || saved.kind === 'bearer') && typeof saved.authorization === 'string' ? saved : undefined;
  } catch {
    return undefined;
  }
}
