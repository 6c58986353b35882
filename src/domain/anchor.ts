// Anchors this server hands downstream servers (WSUS-PROTOCOLS §2.5): opaque to the protocol, so
// their content is ours to choose. They are positions in the change sequence (DESIGN §3), written
// in the shape a Windows WSUS uses, `<counter>,<yyyy-MM-dd HH:mm:ss.fff>` (UTC), so a log line or
// a downstream's database reads the same whichever kind of upstream issued it. The position
// decides what changed; the time is only there for people.

export interface Anchor {
  /** Position in the change sequence: everything at or before it was part of the answer. */
  readonly position: number;
  readonly issuedAt: Date;
}

const ANCHOR = /^([0-9]{1,15}),([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,7}))?$/;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export function formatAnchor(position: number, issuedAt: Date): string {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`an anchor position must be a whole number ≥ 0, got ${position}`);
  if (Number.isNaN(issuedAt.getTime())) throw new RangeError('an anchor needs a valid time');
  const d = issuedAt;
  return (
    `${position},${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

/** The anchor in `text`, or undefined when it is not one of ours (or a Windows WSUS's) shape. */
export function parseAnchor(text: string): Anchor | undefined {
  const m = ANCHOR.exec(text.trim());
  if (m === null) return undefined;
  const position = Number(m[1]);
  const [year, month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6], m[7]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = m[8] === undefined ? 0 : Number(m[8].slice(0, 3).padEnd(3, '0'));
  if (!Number.isSafeInteger(position) || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const issuedAt = new Date(0);
  issuedAt.setUTCFullYear(year, month - 1, day);
  if (issuedAt.getUTCDate() !== day) return undefined;
  issuedAt.setUTCHours(hour, minute, second, millis);
  return { position, issuedAt };
}

/** What a request's anchor parameter says: nothing sent, an anchor, or something unreadable. */
export type AnchorParameter = { readonly kind: 'none' } | { readonly kind: 'anchor'; readonly anchor: Anchor } | { readonly kind: 'invalid' };

/** The spec allows an absent, empty or valid anchor; anything else is the caller's error. */
export function readAnchorParameter(text: string | undefined): AnchorParameter {
  if (text === undefined || text.trim() === '') return { kind: 'none' };
  const anchor = parseAnchor(text);
  return anchor === undefined ? { kind: 'invalid' } : { kind: 'anchor', anchor };
}

/**
 * The position to answer "changes since" from, or undefined for "everything". An anchor past the
 * current position names changes this database never made (it was restored from a backup, or
 * replaced): resending everything is the only answer that cannot miss one.
 */
export function changesSincePosition(anchor: Anchor | undefined, current: number): number | undefined {
  if (anchor === undefined || anchor.position > current) return undefined;
  return anchor.position;
}
