/**
 * Arrow keys in a tablist (the WAI-ARIA tabs pattern, automatic activation): Left/Right (and
 * Home/End) move to the neighbouring tab and show its panel; Tab leaves the list from the selected
 * tab, the only one in the tab order (its `tabIndex` is 0, the others' -1).
 */
export function onTablistKey(e: KeyboardEvent): void {
  const tabs = [...(e.currentTarget as HTMLElement).querySelectorAll<HTMLElement>('[role="tab"]')];
  const at = tabs.indexOf(e.target as HTMLElement);
  if (at < 0) return;
  const next = e.key === 'ArrowRight' ? tabs[(at + 1) % tabs.length]
    : e.key === 'ArrowLeft' ? tabs[(at - 1 + tabs.length) % tabs.length]
      : e.key === 'Home' ? tabs[0] : e.key === 'End' ? tabs.at(-1) : undefined;
  if (next === undefined) return;
  e.preventDefault();
  next.focus();
  next.click();
}
