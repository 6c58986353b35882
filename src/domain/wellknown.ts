// Identifiers every WSUS shares (WSUS-PROTOCOLS §2.8, §3.9, §3.10).

export const MICROSOFT_COMPANY_ID = '56309036-4c77-4dd9-951a-99ee9c246a94';
export const WINDOWS_PRODUCT_FAMILY_ID = '6964aab4-c5b5-43bd-a17d-ffb4346a8e1d';

export const CLASSIFICATIONS = {
  criticalUpdates: 'e6cf1350-c01b-414d-a61f-263d14d133b4',
  securityUpdates: '0fa1201d-4330-4fa8-8ae9-b877473b6441',
  definitionUpdates: 'e0789628-ce08-4437-be74-2495b842f43b',
  updates: 'cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83',
  updateRollups: '28bc880e-0592-4cbf-8f95-c79b17911d5f',
  servicePacks: '68c5b0a3-d1a6-4553-ae49-01d3a7827828',
  featurePacks: 'b54e7d24-7add-428f-8b75-90a396fa584f',
  tools: 'b4832bd8-e735-4761-8daf-37f882276dab',
  applications: '5c9376ab-8ce6-464a-b136-22113dd69801',
  connectors: '434de588-ed14-48f5-8eed-a15e09a991f6',
  developerKits: 'e140075d-8433-45c3-ad87-e72345b36078',
  guidance: '9511d615-35b2-47bb-927f-f73d8e9260bb',
  drivers: 'ebfc1fc5-71a4-4f7b-9aca-3b9a503104a0',
  upgrades: '3689bdc8-b205-4af4-8d4a-a63924c5e9d5',
} as const;

export const CLASSIFICATION_TITLES: Readonly<Record<string, string>> = {
  [CLASSIFICATIONS.criticalUpdates]: 'Critical Updates',
  [CLASSIFICATIONS.securityUpdates]: 'Security Updates',
  [CLASSIFICATIONS.definitionUpdates]: 'Definition Updates',
  [CLASSIFICATIONS.updates]: 'Updates',
  [CLASSIFICATIONS.updateRollups]: 'Update Rollups',
  [CLASSIFICATIONS.servicePacks]: 'Service Packs',
  [CLASSIFICATIONS.featurePacks]: 'Feature Packs',
  [CLASSIFICATIONS.tools]: 'Tools',
  [CLASSIFICATIONS.applications]: 'Applications',
  [CLASSIFICATIONS.connectors]: 'Connectors',
  [CLASSIFICATIONS.developerKits]: 'Developer Kits',
  [CLASSIFICATIONS.guidance]: 'Guidance',
  [CLASSIFICATIONS.drivers]: 'Drivers',
  [CLASSIFICATIONS.upgrades]: 'Upgrades',
};

export const ALL_COMPUTERS_GROUP_ID = 'a0a08746-4dbe-4a37-9adf-9e7652c0b421';
export const UNASSIGNED_COMPUTERS_GROUP_ID = 'b73ca6ed-5727-47f3-84de-015e03f6a88a';

export const NAMESPACES = {
  upd: 'http://schemas.microsoft.com/msus/2002/12/Update',
  pub: 'http://schemas.microsoft.com/msus/2002/12/Publishing',
  bar: 'http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules',
  lar: 'http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules',
  mar: 'http://schemas.microsoft.com/msus/2002/12/MsiApplicabilityRules',
  cat: 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Category',
  cmd: 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/CommandLineInstallation',
  cbs: 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Cbs',
  msp: 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsInstaller',
  psf: 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsPatch',
  wsi: 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsSetup',
  drv: 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver',
  osi: 'http://schemas.microsoft.com/msus/2016/01/UpdateHandlers/OSInstaller',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;
