// The downstream role (DESIGN §2 sync/): synchronizing this server's catalog from its upstream.
export { synchronize, describeSyncFailure, SyncError, UPDATES_FILTER_ANCHOR, UPSTREAM_CONFIG_SETTING } from './engine.ts';
export type { SyncEngineOptions, SyncProgress, SyncReport } from './engine.ts';
export { UpstreamClient, UpstreamProtocolError, DEFAULT_RETRY, DSS_PROTOCOL_VERSION, type RetryPolicy, type UpstreamConfigData } from './upstream-client.ts';
export { sealSecret, openSecret, SecretError, SECRET_KEY_SETTING } from './secrets.ts';
export { createSyncTransport, openSyncTransport, planTransport, dispatcherOptions, isPermanentTransportFailure, type SyncTransport, type TransportPlan } from './transport.ts';
