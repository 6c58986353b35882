// Names the client services share on the wire (WSUS-PROTOCOLS §4.1-§4.3).
export const CLIENT_PATH = '/ClientWebService/client.asmx';
export const SIMPLE_AUTH_PATH = '/SimpleAuthWebService/SimpleAuth.asmx';
export const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
export const SIMPLE_AUTH_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService';
export const MONITORABLE_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/IMonitorable';

/** The one authorization plug-in a WSUS offers its clients, and where it is served (relative, as WSUS sends it). */
export const SIMPLE_TARGETING = 'SimpleTargeting';
export const SIMPLE_AUTH_SERVICE_URL = 'SimpleAuthWebService/SimpleAuth.asmx';

/** What a real WSUS advertises: with less than 3.2 the agent skips StartCategoryScan. */
export const PROTOCOL_VERSION = '3.2';
/** GetExtendedUpdateInfo ids per call, as advertised in GetConfig. */
export const MAX_EXTENDED_UPDATES_PER_REQUEST = 50;
/** Real WSUS cookies live one hour. */
export const COOKIE_LIFETIME_MS = 60 * 60_000;
/** WSUS refused 401 InstalledNonLeafUpdateIDs. */
export const MAX_INSTALLED_NON_LEAF = 400;
/** StartCategoryScan refuses 200 categories or more (MS-WUSP 3.1.4.5). */
export const MAX_SCAN_CATEGORIES = 199;
/** RefreshCache and GetFileLocations inputs per call: generous, bounded. */
export const MAX_IDS_PER_CALL = 10_000;
