// The few HTTP headers SOAP dispatch reads: SOAPAction (1.1), the `action` parameter of
// Content-Type (1.2), and Accept-Encoding for XPRESS.

type HeaderValue = string | readonly string[] | undefined;

function single(value: HeaderValue): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

function unquote(value: string): string {
  const t = value.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/**
 * The action a SOAP 1.1 `SOAPAction` header names, quoted (as WSUS peers send it) or not.
 * `''` for an empty header (`""`), undefined without one.
 */
export function soapActionOf(header: HeaderValue): string | undefined {
  const value = single(header);
  return value === undefined ? undefined : unquote(value).trim();
}

/** The media type of a Content-Type header, lower-case, without parameters. */
export function mediaTypeOf(header: HeaderValue): string | undefined {
  const value = single(header);
  if (value === undefined) return undefined;
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
}

/** A parameter of a Content-Type header (`action` for SOAP 1.2), unquoted. */
export function contentTypeParameter(header: HeaderValue, name: string): string | undefined {
  const value = single(header);
  if (value === undefined) return undefined;
  // Parameters may be quoted strings containing ';', so scan rather than split.
  const re = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;
  const wanted = name.toLowerCase();
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    if (m[1]!.toLowerCase() !== wanted) continue;
    const raw = m[2]!;
    return raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return undefined;
}

/** Whether Accept-Encoding asks for `xpress` (with a non-zero q, if any). */
export function acceptsXpress(header: HeaderValue): boolean {
  const value = single(header);
  if (value === undefined) return false;
  for (const part of value.split(',')) {
    const [coding, ...params] = part.split(';');
    if (coding?.trim().toLowerCase() !== 'xpress') continue;
    const q = params.map((p) => p.trim()).find((p) => p.toLowerCase().startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}
