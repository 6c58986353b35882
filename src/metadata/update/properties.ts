// `upd:Properties` (WSUS-PROTOCOLS §3.3): attributes and the children the catalog uses.

import type { PublicationState, UpdateProperties, UpdateType } from '../../domain/update.ts';
import { attribute, textContent, type XmlElement } from '../../xml/index.ts';
import { UPD } from './document.ts';
import { boolean, oneOf, optionalInteger } from './values.ts';

const UPDATE_TYPES: readonly UpdateType[] = ['Software', 'Driver', 'Category', 'Detectoid'];
const PUBLICATION_STATES: readonly PublicationState[] = ['Published', 'Expired'];

/** What the Core fragment keeps of Properties; see fragments.ts. */
export interface CoreProperties {
  readonly updateType: UpdateType;
  readonly explicitlyDeployable: boolean;
  readonly autoSelectOnWebSites: boolean;
  readonly eulaId?: string;
  readonly osUpgrade?: string;
}

function where(name: string): string {
  return `Properties/@${name}`;
}

export function readCoreProperties(properties: XmlElement): CoreProperties {
  const updateType = attribute(properties, 'UpdateType');
  const eulaId = attribute(properties, 'EulaID');
  const osUpgrade = attribute(properties, 'OSUpgrade');
  const core: { -readonly [K in keyof CoreProperties]: CoreProperties[K] } = {
    // The schema's default; every real document states it.
    updateType: updateType === undefined ? 'Software' : oneOf(updateType, UPDATE_TYPES, where('UpdateType')),
    explicitlyDeployable: boolean(
      attribute(properties, 'ExplicitlyDeployable'),
      where('ExplicitlyDeployable'),
      false,
    ),
    autoSelectOnWebSites: boolean(
      attribute(properties, 'AutoSelectOnWebSites'),
      where('AutoSelectOnWebSites'),
      false,
    ),
  };
  if (eulaId !== undefined && eulaId !== '') core.eulaId = eulaId;
  if (osUpgrade !== undefined && osUpgrade !== '') core.osUpgrade = osUpgrade;
  return core;
}

/** Attributes of a behavior element (InstallationBehavior, UninstallationBehavior) by local name. */
function behavior(element: XmlElement): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const a of element.attributes) {
    if (a.uri === '' && !Object.hasOwn(out, a.local)) out[a.local] = a.value;
  }
  return out;
}

export function readProperties(properties: XmlElement): UpdateProperties {
  const core = readCoreProperties(properties);
  const text = (name: string): string | undefined => attribute(properties, name);
  const publicationState = text('PublicationState');
  const out: { -readonly [K in keyof UpdateProperties]: UpdateProperties[K] } = {
    updateType: core.updateType,
    publicationState:
      publicationState === undefined
        ? 'Published'
        : oneOf(publicationState, PUBLICATION_STATES, where('PublicationState')),
    explicitlyDeployable: core.explicitlyDeployable,
    autoSelectOnWebSites: core.autoSelectOnWebSites,
    isPublic: boolean(text('IsPublic'), where('IsPublic'), false),
    perUser: boolean(text('PerUser'), where('PerUser'), false),
    isBeta: boolean(text('IsBeta'), where('IsBeta'), false),
  };
  const optional = [
    ['defaultPropertiesLanguage', 'DefaultPropertiesLanguage'],
    ['handler', 'Handler'],
    ['creationDate', 'CreationDate'],
    ['publisherId', 'PublisherID'],
    ['legacyName', 'LegacyName'],
    ['detectoidType', 'DetectoidType'],
    ['msrcSeverity', 'MsrcSeverity'],
  ] as const;
  for (const [key, name] of optional) {
    const v = text(name);
    if (v !== undefined) out[key] = v;
  }
  if (core.eulaId !== undefined) out.eulaId = core.eulaId;
  if (core.osUpgrade !== undefined) out.osUpgrade = core.osUpgrade;
  const maxDownloadSize = optionalInteger(text('MaxDownloadSize'), where('MaxDownloadSize'));
  if (maxDownloadSize !== undefined) out.maxDownloadSize = maxDownloadSize;
  const minDownloadSize = optionalInteger(text('MinDownloadSize'), where('MinDownloadSize'));
  if (minDownloadSize !== undefined) out.minDownloadSize = minDownloadSize;

  for (const child of properties.children) {
    if (child.type !== 'element' || child.uri !== UPD) continue;
    switch (child.local) {
      case 'KBArticleID':
        out.kbArticleId ??= textContent(child).trim();
        break;
      case 'SecurityBulletinID':
        out.securityBulletinId ??= textContent(child).trim();
        break;
      case 'SupportUrl':
        out.supportUrl ??= textContent(child).trim();
        break;
      case 'MoreInfoUrl':
        out.moreInfoUrl ??= textContent(child).trim();
        break;
      case 'InstallationBehavior':
        out.installationBehavior ??= behavior(child);
        break;
      case 'UninstallationBehavior':
        out.uninstallationBehavior ??= behavior(child);
        break;
    }
  }
  return out;
}
