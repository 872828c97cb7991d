import type { ComponentChildren, TargetedKeyboardEvent } from 'preact';
import { useRef } from 'preact/hooks';

/**
 * Keyboard navigation for a table body: ↑/↓ (or j/k) move between rows, Home/End jump, Enter opens the
 * row, Space toggles its selection. Rows carry `data-row`; only focus moves, so screen readers follow.
 */
export function KeyTable(props: {
  label: string;
  head: ComponentChildren;
  children: ComponentChildren;
  onOpen?: (index: number) => void;
  onToggle?: (index: number) => void;
  class?: string;
}) {
  const body = useRef<HTMLTableSectionElement>(null);
  const onKeyDown = (e: TargetedKeyboardEvent<HTMLTableSectionElement>) => {
    const rows = Array.from(body.current?.querySelectorAll<HTMLTableRowElement>('tr[data-row]') ?? []);
    if (!rows.length) return;
    const current = rows.findIndex((r) => r === document.activeElement || r.contains(document.activeElement));
    const focus = (i: number) => rows[Math.max(0, Math.min(rows.length - 1, i))].focus();
    switch (e.key) {
      case 'ArrowDown':
      case 'j':
        focus(current + 1);
        break;
      case 'ArrowUp':
      case 'k':
        focus(current <= 0 ? 0 : current - 1);
        break;
      case 'Home':
        focus(0);
        break;
      case 'End':
        focus(rows.length - 1);
        break;
      case 'Enter':
        if (current < 0 || !props.onOpen || (e.target as HTMLElement).tagName === 'A') return;
        props.onOpen(current);
        break;
      case ' ':
        if (current < 0 || !props.onToggle || (e.target as HTMLElement).tagName === 'INPUT') return;
        props.onToggle(current);
        break;
      default:
        return;
    }
    e.preventDefault();
  };
  return (
    <table class={`table ${props.class ?? ''}`} aria-label={props.label}>
      <thead>{props.head}</thead>
      <tbody ref={body} onKeyDown={onKeyDown}>
        {props.children}
      </tbody>
    </table>
  );
}
