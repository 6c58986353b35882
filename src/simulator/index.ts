// A Windows Update client simulator: computers that register, scan, download and report against
// an openwsus (or WSUS) server the way the Windows Update Agent does, over real HTTP. It is a
// client: it speaks MS-WUSP on the wire and imports nothing of the server.
//
//   import { simulateClients, SimulatedClient, ALL_NEEDED } from '../src/simulator/index.ts';
//
//   // 100 computers, client-side targeted at "Pilot", one scan each:
//   const results = await simulateClients({ serverUrl: 'http://127.0.0.1:8530', count: 100, group: 'Pilot', seed: 7, concurrency: 16 });
//   // results[i]: { clientId, dnsName, kind: 'first', ok, offered: [{ updateId, action, state, title }],
//   //               downloads: [{ updateId, files, bytes, ok }], reported: { accepted, eventIds }, timings }
//
//   // One computer over several scans (its cache, cookie and installs carry over):
//   const pc = new SimulatedClient({ serverUrl, index: 0, seed: 7, group: 'Pilot', profile: ALL_NEEDED, install: true });
//   await pc.scan();          // first scan: everything new
//   await pc.scan();          // incremental: ChangedUpdates / OutOfScopeRevisionIDs / what unlocked
//   pc.renewCookie();         // as after the cookie's hour: the next scan gets the computer's current groups
//
// Options: `seed` and `index` fix a computer's id and name (same seed, same computers: re-runs
// update the same computer records); `group` is the TargetGroup policy (client-side targeting;
// with server-side targeting, move computers with `openwsus computers move`); `profile` says what
// share of updates each computer has installed or cannot use (profile.ts; ALL_NEEDED = every
// update applicable and missing); `download: false` skips content; `report: false` skips
// ReportEventBatch; `install: true` installs what downloaded (events 181/183); `scans` (fleet)
// repeats the scan; `concurrency` bounds computers scanning at once.
// For timing many scans, build a `Fleet` and call `scanAll()` per round (bench/scan.ts).

export { ALL_NEEDED, type InstalledProfile, type LeafState } from './profile.ts';
export {
  CoreBook,
  SimulatedClient,
  type ClientScanResult,
  type DownloadedUpdate,
  type OfferedUpdate,
  type ScanTimings,
  type SimulatedClientOptions,
} from './client.ts';
export { Fleet, simulateClients, type FleetOptions } from './fleet.ts';
export { getConfig } from './wire.ts';
