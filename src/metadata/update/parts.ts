// The remaining parts of an update document: localized properties, files, category information and
// driver metadata (WSUS-PROTOCOLS §3.4, §3.6-§3.9).

import type {
  CategoryInformation,
  CategoryType,
  DriverMetadata,
  LocalizedProperties,
  UpdateFile,
} from '../../domain/update.ts';
import { NAMESPACES } from '../../domain/wellknown.ts';
import { attribute, findChild, textContent, type XmlElement } from '../../xml/index.ts';
import { UPD } from './document.ts';
import { UpdateDocumentError, quote } from './errors.ts';
import {
  boolean,
  canonicalOrText,
  languageTag,
  nonNegativeInteger,
  oneOf,
  optionalInteger,
  requireValue,
  sha1Base64,
  sha256Base64,
} from './values.ts';

function updChildren(parent: XmlElement | undefined, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  if (parent === undefined) return out;
  for (const c of parent.children) {
    if (c.type === 'element' && c.uri === UPD && c.local === local) out.push(c);
  }
  return out;
}

/** The language of one LocalizedProperties block, as the fragment key and the record use it. */
export function localizedLanguage(block: XmlElement): string {
  const language = findChild(block, 'Language', UPD);
  if (language === undefined) {
    throw new UpdateDocumentError('LocalizedPropertiesCollection/LocalizedProperties has no Language');
  }
  return languageTag(textContent(language), 'LocalizedProperties/Language');
}

export function localizedBlocks(collection: XmlElement | undefined): XmlElement[] {
  return updChildren(collection, 'LocalizedProperties');
}

export function readLocalized(collection: XmlElement | undefined): LocalizedProperties[] {
  const out: LocalizedProperties[] = [];
  const seen = new Set<string>();
  for (const block of localizedBlocks(collection)) {
    const language = localizedLanguage(block);
    if (seen.has(language)) continue;
    seen.add(language);
    const entry: { -readonly [K in keyof LocalizedProperties]: LocalizedProperties[K] } = { language, title: '' };
    for (const c of block.children) {
      if (c.type !== 'element' || c.uri !== UPD) continue;
      switch (c.local) {
        case 'Title':
          entry.title = textContent(c);
          break;
        case 'Description':
          entry.description ??= textContent(c);
          break;
        case 'UninstallNotes':
          entry.uninstallNotes ??= textContent(c);
          break;
        case 'MoreInfoUrl':
          entry.moreInfoUrl ??= textContent(c).trim();
          break;
        case 'SupportUrl':
          entry.supportUrl ??= textContent(c).trim();
          break;
      }
    }
    out.push(entry);
  }
  return out;
}

export function readFiles(files: XmlElement | undefined): UpdateFile[] {
  return updChildren(files, 'File').map((file, index) => {
    const where = `Files/File[${index + 1}]`;
    const algorithm = attribute(file, 'DigestAlgorithm');
    // Content is addressed by SHA-1 (WSUS-PROTOCOLS §2.10): a file without one cannot be served.
    if (algorithm !== undefined && algorithm.trim().toUpperCase() !== 'SHA1') {
      throw new UpdateDocumentError(`${where}/@DigestAlgorithm must be SHA1, got ${quote(algorithm)}`);
    }
    const fileName = requireValue(attribute(file, 'FileName'), `${where}/@FileName`);
    if (fileName.trim() === '') throw new UpdateDocumentError(`${where}/@FileName is empty`);
    const out: { -readonly [K in keyof UpdateFile]: UpdateFile[K] } = {
      sha1: sha1Base64(requireValue(attribute(file, 'Digest'), `${where}/@Digest`), `${where}/@Digest`),
      fileName,
      size: nonNegativeInteger(requireValue(attribute(file, 'Size'), `${where}/@Size`), `${where}/@Size`),
    };
    const modified = attribute(file, 'Modified');
    if (modified !== undefined) out.modified = modified;
    const patchingType = attribute(file, 'PatchingType');
    if (patchingType !== undefined) out.patchingType = patchingType;
    for (const extra of updChildren(file, 'AdditionalDigest')) {
      if (attribute(extra, 'Algorithm')?.trim().toUpperCase() === 'SHA256') {
        out.sha256 ??= sha256Base64(textContent(extra), `${where}/AdditionalDigest`);
      }
    }
    return out;
  });
}

const CATEGORY_TYPES: readonly CategoryType[] = ['Company', 'ProductFamily', 'Product', 'UpdateClassification'];

export function readCategory(handlerData: XmlElement | undefined): CategoryInformation | undefined {
  const info = handlerData === undefined ? undefined : findChild(handlerData, 'CategoryInformation', NAMESPACES.cat);
  if (info === undefined) return undefined;
  const where = 'HandlerSpecificData/CategoryInformation/@';
  const out: { -readonly [K in keyof CategoryInformation]: CategoryInformation[K] } = {
    prohibitsSubcategories: boolean(attribute(info, 'ProhibitsSubcategories'), `${where}ProhibitsSubcategories`, false),
    prohibitsUpdates: boolean(attribute(info, 'ProhibitsUpdates'), `${where}ProhibitsUpdates`, false),
    excludedByDefault: boolean(attribute(info, 'ExcludedByDefault'), `${where}ExcludedByDefault`, false),
  };
  const type = attribute(info, 'CategoryType');
  if (type !== undefined && type.trim() !== '') out.categoryType = oneOf(type, CATEGORY_TYPES, `${where}CategoryType`);
  const displayOrder = optionalInteger(attribute(info, 'DisplayOrder'), `${where}DisplayOrder`);
  if (displayOrder !== undefined) out.displayOrder = displayOrder;
  return out;
}

/** `drv:WindowsDriverMetaData` under ApplicabilityRules/Metadata. */
export function readDrivers(rules: XmlElement | undefined): DriverMetadata[] {
  const out: DriverMetadata[] = [];
  for (const metadata of updChildren(rules, 'Metadata')) {
    for (const d of metadata.children) {
      if (d.type !== 'element' || d.uri !== NAMESPACES.drv || d.local !== 'WindowsDriverMetaData') continue;
      const where = 'ApplicabilityRules/Metadata/WindowsDriverMetaData';
      const hardwareId = requireValue(attribute(d, 'HardwareID'), `${where}/@HardwareID`);
      const driver: { -readonly [K in keyof DriverMetadata]: DriverMetadata[K] } = {
        hardwareId,
        computerHardwareIds: [],
      };
      const optional = [
        ['whqlDriverId', 'WhqlDriverID'],
        ['manufacturer', 'Manufacturer'],
        ['company', 'Company'],
        ['provider', 'Provider'],
        ['driverVerDate', 'DriverVerDate'],
        ['driverVerVersion', 'DriverVerVersion'],
        ['driverClass', 'Class'],
      ] as const;
      for (const [key, name] of optional) {
        const v = attribute(d, name);
        if (v !== undefined) driver[key] = v;
      }
      const computerIds: string[] = [];
      for (const c of d.children) {
        if (
          c.type === 'element' &&
          c.uri === NAMESPACES.drv &&
          (c.local === 'TargetComputerHardwareId' || c.local === 'DistributionComputerHardwareId')
        ) {
          computerIds.push(canonicalOrText(textContent(c)));
        }
      }
      driver.computerHardwareIds = computerIds;
      out.push(driver);
    }
  }
  return out;
}
