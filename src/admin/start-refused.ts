// Why a run (synchronization, cleanup, content verification) could not start: another runs
// already (409), the settings do not allow one (422), or this server lacks what it needs (503).
// The API answers it as a problem document with that status.
export class StartRefused extends Error {
  override name = 'StartRefused';
  readonly status: 409 | 422 | 503;
  constructor(status: 409 | 422 | 503, message: string) {
    super(message);
    this.status = status;
  }
}
