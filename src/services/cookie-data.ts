// Both protocols carry a cookie as `<Expiration/><EncryptedData/>`; the sealed bytes are in the latter.
import { parseBase64, type SoapNode } from '../soap/index.ts';

/** The EncryptedData bytes of a cookie element, undefined when absent, empty or not base64. */
export function encryptedDataOf(cookie: SoapNode | undefined): Buffer | undefined {
  if (cookie === undefined) return undefined;
  let text: string | undefined;
  try {
    text = cookie.child('EncryptedData')?.asString();
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const bytes = parseBase64(text);
  return bytes === undefined || bytes.length === 0 ? undefined : bytes;
}
