// The console's shell: sign-in, who is signed in, what this server is (a replica refuses approval
// changes), and a hash router over the pages.
import { api, attempt, h, field, whenSignedOut } from './ui.js';
import { PAGES } from './pages.js';

const state = { session: null, server: null };
const main = () => document.getElementById('page');

function signInPage(message) {
  document.getElementById('nav').hidden = true;
  document.getElementById('sign-out').hidden = true;
  document.getElementById('who').textContent = '';
  const name = h('input', { name: 'name', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'problem', role: 'alert' }, message ?? '');
  const form = h(
    'form',
    {
      class: 'card login',
      'aria-label': 'Sign in',
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        try {
          await api('POST', '/session', { name: name.value, password: password.value });
          await start();
        } catch (e) {
          error.textContent = e.status === 429 ? 'Too many failed sign-ins: wait a moment and try again.' : e.message;
        }
      },
    },
    h('h1', {}, 'Sign in to openwsus'),
    field('Account', name),
    field('Password', password),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  main().replaceChildren(form);
  name.focus();
}

async function route() {
  if (state.session === null) return;
  const [path, search] = (location.hash.replace(/^#/, '') || '/overview').split('?');
  const name = path.split('/')[1] || 'overview';
  const page = PAGES[name] ?? PAGES.overview;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const params = new URLSearchParams(search ?? '');
  const root = main();
  root.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    await page({ root, params, ...context() });
  } catch (error) {
    if (error.status === 401) return;
    root.replaceChildren(h('h1', {}, 'Something went wrong'), h('p', { class: 'problem' }, error.message));
  }
  root.focus({ preventScroll: true });
}

function context() {
  const isAdmin = state.session.role === 'Administrators';
  return {
    session: state.session,
    server: state.server,
    isAdmin,
    // Approvals, declines and groups come from the upstream on a replica.
    canApprove: isAdmin && !state.server.replica,
    refresh: route,
  };
}

async function start() {
  let session;
  try {
    session = await api('GET', '/session');
  } catch {
    signInPage();
    return;
  }
  state.session = session;
  state.server = await api('GET', '/server');
  document.getElementById('nav').hidden = false;
  const signOut = document.getElementById('sign-out');
  signOut.hidden = false;
  document.getElementById('who').textContent = `${session.account} (${session.role === 'Administrators' ? 'Administrator' : 'Reporter'})`;
  document.getElementById('server-name').textContent = state.server.replica
    ? `replica of ${state.server.upstream ?? 'its upstream'}`
    : state.server.upstream === null
      ? 'root server'
      : /update\.microsoft\.com/i.test(state.server.upstream)
        ? 'synchronizes from Microsoft Update'
        : `downstream of ${state.server.upstream}`;
  for (const a of document.querySelectorAll('[data-admin-only]')) a.hidden = session.role !== 'Administrators';
  await route();
}

whenSignedOut(() => {
  state.session = null;
  signInPage('Your session ended: sign in again.');
});

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  document.getElementById('sign-out').addEventListener('click', async () => {
    await attempt(() => api('DELETE', '/session'));
    state.session = null;
    signInPage();
  });
  await start();
});
