/** Log in with Basic (user and password) or a bearer JWT, and log out. */
import { useState } from 'preact/hooks';
import { basicLogin, bearerLogin, type Login } from './login.ts';

export function LoginForm({ login, onLogin }: { login: Login | undefined; onLogin: (login: Login | undefined) => void }) {
  const [open, setOpen] = useState(false);
  const [kind, setKind] = useState<'basic' | 'bearer'>('basic');
  const [user, setUser] = useState('');
  const [secret, setSecret] = useState('');

  if (login) {
    return (
      <p class="who">
        <span data-testid="logged-in">{login.kind === 'basic' ? 'digest' : 'jwt'}: {login.who}</span>{' '}
        <button type="button" onClick={() => onLogin(undefined)}>Log out</button>
      </p>
    );
  }
  if (!open) return <p class="who">anonymous (world:anyone) <button type="button" onClick={() => setOpen(true)}>Log in</button></p>;

  const submit = (e: Event) => {
    e.preventDefault();
    onLogin(kind === 'basic' ? basicLogin(user, secret) : bearerLogin(secret));
    setSecret('');
    setOpen(false);
  };
  return (
    <form class="login" onSubmit={submit} aria-label="Log in">
      <label>Scheme{' '}
        <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as 'basic' | 'bearer')}>
          <option value="basic">Basic (digest)</option>
          <option value="bearer">JWT (Bearer)</option>
        </select>
      </label>
      {kind === 'basic' && (
        <label>User <input autoComplete="username" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} required /></label>
      )}
      <label>{kind === 'basic' ? 'Password' : 'Token'}{' '}
        <input type="password" autoComplete={kind === 'basic' ? 'current-password' : 'off'} value={secret} onInput={(e) => setSecret((e.target as HTMLInputElement).value)} required />
      </label>
      <button type="submit">Log in</button>
      <button type="button" onClick={() => setOpen(false)}>Cancel</button>
    </form>
  );
}
