// The name this server gives itself upstream: the DSS accountName of GetAuthConfig/GetCookie and
// the FullDomainName of its rollup. Several servers on one host (the demo, tests, containers)
// would all be the host's name; `server.name` tells them apart.
import { hostname } from 'node:os';
import { SERVER_NAME_SETTING } from '../domain/settings.ts';
import type { Store } from '../store/index.ts';

/** `server.name` when set, else this host's name. */
export async function serverNameOf(store: Store): Promise<string> {
  const name = await store.settings.get(SERVER_NAME_SETTING);
  return typeof name === 'string' && name !== '' ? name : hostname();
}
