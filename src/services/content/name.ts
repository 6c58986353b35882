// Reading a content URL (`/Content/XX/SHA1HEX.ext`, WSUS-PROTOCOLS §2.10) back into the file it names.
// Only names of this exact shape get anywhere near the disk: the path we open is rebuilt from the
// parsed digest and extension by the store, never taken from the request, so `..`, encoded
// slashes, backslashes and NULs cannot steer it.
import { contentFolder } from '../../domain/update.ts';
import type { ContentFile } from '../../content/index.ts';

export type ContentName =
  | { readonly kind: 'file'; readonly file: ContentFile; readonly sha1Hex: string }
  /** A digest with no extension: WSUS answers 403, whether or not such content exists. */
  | { readonly kind: 'no-extension' }
  /** Anything else, a wrong folder included: WSUS answers 404. */
  | { readonly kind: 'invalid' };

const FOLDER = /^[0-9A-F]{2}$/i;
const WITH_EXTENSION = /^([0-9A-F]{40})\.([A-Z0-9_-]{1,32})$/i;
const WITHOUT_EXTENSION = /^[0-9A-F]{40}\.?$/i;

/** Classifies the two path segments after `/Content/`, as the router decoded them. */
export function parseContentName(folder: string, name: string): ContentName {
  const match = WITH_EXTENSION.exec(name);
  if (!match) return WITHOUT_EXTENSION.test(name) && FOLDER.test(folder) ? { kind: 'no-extension' } : { kind: 'invalid' };
  const sha1Hex = match[1]!.toUpperCase();
  if (!FOLDER.test(folder) || folder.toUpperCase() !== contentFolder(sha1Hex)) return { kind: 'invalid' };
  return {
    kind: 'file',
    sha1Hex,
    // The store derives the on-disk name from these (folder + upper-case digest + lower-case
    // extension), which is what makes the URL case-insensitive on a case-sensitive filesystem.
    file: { sha1: Buffer.from(sha1Hex, 'hex').toString('base64'), fileName: `${sha1Hex}.${match[2]!}` },
  };
}
