// The console's building blocks: DOM construction (text only, never HTML strings, so nothing an
// update title or a computer name carries can run), the API client with the session's CSRF token,
// notices, tables and the status chart.

export const API = '/api/v1';
const CSRF_COOKIE = 'openwsus_csrf';
const CSRF_HEADER = 'x-csrf-token';

/** `h('button', { onclick, class: 'x' }, 'text', child)`: attributes, listeners, text and child nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (name === 'for') el.htmlFor = value;
    else if (name === 'value') el.value = value;
    else if (name === 'checked' || name === 'disabled' || name === 'selected' || name === 'hidden') el[name] = Boolean(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

let onUnauthorized = () => {};
export function whenSignedOut(fn) {
  onUnauthorized = fn;
}

/** One API call; a problem document becomes an ApiError, a 401 sends the user to sign in. */
export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') {
    const token = csrfToken();
    if (token !== undefined) headers[CSRF_HEADER] = token;
  }
  const response = await fetch(API + path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const text = await response.text();
  const data = text === '' ? null : JSON.parse(text);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && path !== '/session') onUnauthorized(error);
    throw error;
  }
  return data;
}

/** `?a=1&b=x` from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

export function notify(message, kind = 'info') {
  const box = document.getElementById('notice');
  const toast = h('div', { class: `toast ${kind}` }, message);
  box.append(toast);
  setTimeout(() => toast.remove(), kind === 'error' ? 9000 : 5000);
}

/** Runs an action, showing its error (with the problem's field errors) instead of throwing. */
export async function attempt(fn, success) {
  try {
    const result = await fn();
    if (success !== undefined) notify(typeof success === 'function' ? success(result) : success);
    return result;
  } catch (error) {
    const fields = error.problem?.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
    notify(fields ? `${error.message} (${fields})` : error.message, 'error');
    return undefined;
  }
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
export const count = (n) => (typeof n === 'number' ? n.toLocaleString() : '–');

/** A table: `columns` are `{ title, value(row) -> node|text, num? }`. */
export function table(columns, rows, { caption, empty = 'Nothing to show.', rowAttrs } = {}) {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', { class: 'muted' }, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.title)))),
      h(
        'tbody',
        {},
        rows.map((row) => h('tr', rowAttrs ? rowAttrs(row) : {}, columns.map((c) => h('td', { class: c.num ? 'num' : undefined }, c.value(row))))),
      ),
    ),
  );
}

/** "1–50 of 1,234" with previous/next buttons. */
export function pager(page, onMove) {
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = Math.min(page.offset + page.limit, page.total);
  return h(
    'div',
    { class: 'row', role: 'navigation', 'aria-label': 'Pages' },
    h('button', { type: 'button', class: 'secondary', disabled: page.offset === 0, onclick: () => onMove(Math.max(0, page.offset - page.limit)) }, 'Previous'),
    h('span', { 'data-testid': 'page-range' }, `${count(first)}–${count(last)} of ${count(page.total)}`),
    h('button', { type: 'button', class: 'secondary', disabled: last >= page.total, onclick: () => onMove(page.offset + page.limit) }, 'Next'),
  );
}

export const STATUS_LABELS = { installed: 'Installed', needed: 'Needed', failed: 'Failed', notApplicable: 'Not applicable', unknown: 'No status' };

// Through the CSSOM: the console's CSP refuses inline style attributes.
function bar(key, percent) {
  const el = h('div', { class: `bar s-${key}` });
  el.style.width = `${percent}%`;
  return el;
}

/** Horizontal bars of status counts, with the numbers as text for screen readers and tests. */
export function statusChart(counts, label) {
  const total = Object.keys(STATUS_LABELS).reduce((n, k) => n + (counts[k] ?? 0), 0);
  return h(
    'figure',
    { class: 'chart', 'aria-label': label },
    Object.entries(STATUS_LABELS).map(([key, title]) =>
      h(
        'div',
        { class: 'bar-row' },
        h('span', {}, title),
        h('div', {}, bar(key, total === 0 ? 0 : (100 * (counts[key] ?? 0)) / total)),
        h('span', { class: 'num', 'data-status': key }, count(counts[key] ?? 0)),
      ),
    ),
  );
}

/** A labelled form control. */
export function field(label, control, help) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, h('span', { class: 'label' }, label)), control, help ? h('span', { class: 'help' }, help) : null);
}

export function select(options, value, attrs = {}) {
  return h(
    'select',
    attrs,
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
  );
}
