// Lexical forms of the XML Schema types WSUS messages carry, read the way .NET's XmlConvert reads
// them (surrounding whitespace ignored, nothing else forgiven) and written the way a real WSUS
// writes them. Each parser returns undefined for a value it refuses, so callers decide which
// error to raise.

const INT = /^[+-]?[0-9]+$/;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function parseInt32(text: string): number | undefined {
  const t = text.trim();
  if (!INT.test(t) || t.length > 12) return undefined;
  const n = Number(t);
  return n >= INT32_MIN && n <= INT32_MAX ? n : undefined;
}

export function parseInt64(text: string): bigint | undefined {
  const t = text.trim();
  if (!INT.test(t) || t.length > 21) return undefined;
  const n = BigInt(t);
  return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}

export function parseBoolean(text: string): boolean | undefined {
  switch (text.trim()) {
    case 'true':
    case '1':
      return true;
    case 'false':
    case '0':
      return false;
    default:
      return undefined;
  }
}

const GUID_D = /^\{?([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})\}?$/;
const GUID_N = /^([0-9a-fA-F]{8})([0-9a-fA-F]{4})([0-9a-fA-F]{4})([0-9a-fA-F]{4})([0-9a-fA-F]{12})$/;

/**
 * A GUID in canonical form (lower-case, hyphenated, no braces): WSUS writes GUIDs in both cases,
 * so every comparison and store key uses this form.
 */
export function parseGuid(text: string): string | undefined {
  const t = text.trim();
  const m = GUID_D.exec(t) ?? GUID_N.exec(t);
  if (m === null) return undefined;
  if (t.startsWith('{') !== t.endsWith('}')) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toLowerCase();
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (line breaks and spaces allowed, as XmlConvert allows them). */
export function parseBase64(text: string): Buffer | undefined {
  const t = /\s/.test(text) ? text.replace(/\s+/g, '') : text;
  if (!BASE64.test(t)) return undefined;
  return Buffer.from(t, 'base64');
}

// xs:dateTime, and xs:date alone (WUSP sends Deployment/LastChangeTime date-only). The year is
// four digits: .NET DateTime has no other.
const DATE_TIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|[+-][0-9]{2}:[0-9]{2})?$/;

/**
 * xs:dateTime as a Date. A value without a zone is taken as UTC, which is how WSUS means it
 * (`9999-12-31T23:59:59.9999999` in rollup cookies). Digits past milliseconds are dropped.
 */
export function parseDateTime(text: string): Date | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  // setUTCFullYear, not Date.UTC: the latter maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCDate() !== day) return undefined;
  date.setUTCHours(hour, minute, second, millis);
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(4, 6));
    if (zh > 14 || zm > 59) return undefined;
    date.setTime(date.getTime() - sign * (zh * 60 + zm) * 60_000);
  }
  return date;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * UTC xs:dateTime as WSUS writes it: `2026-10-04T13:17:07.59Z`, trailing zeros of the fraction
 * dropped and no fraction at all on a whole second.
 */
export function formatDateTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('cannot format an invalid Date');
  const ms = date.getUTCMilliseconds();
  const fraction = ms === 0 ? '' : `.${pad(ms, 3).replace(/0+$/, '')}`;
  return (
    `${formatDate(date)}T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:` +
    `${pad(date.getUTCSeconds(), 2)}${fraction}Z`
  );
}

/** xs:date of the UTC day: `2026-10-04`. */
export function formatDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('cannot format an invalid Date');
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`;
}
