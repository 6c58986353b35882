// The name this server gives itself upstream: the DSS accountName of GetAuthConfig/GetCookie and
// the FullDomainName of its rollup. Several servers on one host (the demo, tests, containers)
// would all be the host's name; `server.name` tells them apart.
import { hostname } from 'node:os';
import { SERVER_NAME_SETTING } from '../domain/settings.ts';
import type { Dispatcher } from 'undici';
import type { Store } from '../store/index.ts';
import { UpstreamClient, type UpstreamClientOptions } from './upstream-client.ts';

/** `server.name` when set, else this host's name. */
export async function serverNameOf(store: Store): Promise<string> {
  const name = await store.settings.get(SERVER_NAME_SETTING);
  return typeof name === 'string' && name !== '' ? name : hostname();
}

/** This server as a client of its upstream: under its id and name, through the run's transport. */
export async function upstreamClientFor(
  store: Store,
  origin: string,
  dispatcher: Dispatcher,
  options: Pick<UpstreamClientOptions, 'retry' | 'timeoutMs' | 'signal' | 'onRetry'> & { readonly serverName?: string },
): Promise<UpstreamClient> {
  return new UpstreamClient({
    origin,
    serverId: store.serverId,
    serverName: options.serverName ?? (await serverNameOf(store)),
    dispatcher,
    ...(options.retry !== undefined && { retry: options.retry }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.signal !== undefined && { signal: options.signal }),
    ...(options.onRetry !== undefined && { onRetry: options.onRetry }),
  });
}
