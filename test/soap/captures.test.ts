// Every request a real WSUS peer sent in the captures reads into the operation its SOAPAction
// names, with the parameters it carried.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_REQUEST_LIMITS,
  readSoapEnvelope,
  SoapFault,
  SoapOperation,
  soapActionOf,
} from '../../src/soap/index.ts';
import { CLIENT_NS, DSS_AUTH_NS, NATIVE, readCaptures, SERVER_SYNC_NS, SIMPLE_AUTH_NS, WSUSSS, type Capture } from './helpers.ts';

function operationOf(capture: Capture): SoapOperation {
  const envelope = readSoapEnvelope(capture.requestBody, DEFAULT_REQUEST_LIMITS);
  const action = soapActionOf(capture.requestHeaders.get('soapaction'));
  assert.ok(action, `${capture.id} has a SOAPAction`);
  return new SoapOperation(envelope, action);
}

function expectInvalid(fn: () => unknown, path: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SoapFault, `expected a SoapFault, got ${String(error)}`);
    assert.equal(error.errorCode, 'InvalidParameters');
    assert.equal(error.message, path);
    assert.equal(error.faultCode, 'Client');
    return true;
  });
}

const COOKIE_EXPIRATION = new Date('2026-10-04T20:33:26.654Z');

function checkServerCookie(op: SoapOperation): void {
  const cookie = op.need('cookie');
  assert.deepEqual(cookie.dateTime('Expiration'), COOKIE_EXPIRATION);
  assert.equal(cookie.string('Expiration'), '2026-10-04T20:33:26.65455Z');
  assert.ok(cookie.base64('EncryptedData').length > 100);
}

function idAndDeltas(op: SoapOperation, list: string): Array<[string, boolean]> {
  return op.need('filter').list(list).map((item) => [item.guid('Id'), item.bool('Delta')] as [string, boolean]);
}

const DEFENDER = '8c3fcc84-7410-4a95-8b89-a166a0190486';
const SECURITY = '0fa1201d-4330-4fa8-8ae9-b877473b6441';
const DEFINITIONS = 'e0789628-ce08-4437-be74-2495b842f43b';

const WSUSSS_CHECKS: Record<string, (op: SoapOperation) => void> = {
  '000001': (op) => assert.equal(op.items().length, 0),
  '000002': (op) => {
    assert.equal(op.string('accountName'), 'probe.lab.invalid');
    assert.equal(op.guid('accountGuid'), '6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12');
    assert.deepEqual(op.guids('programKeys'), []);
  },
  '000003': (op) => {
    const cookies = op.needList('authCookies');
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]!.string('PlugInId'), 'DssTargeting');
    assert.equal(cookies[0]!.base64('CookieData').length, 432);
    assert.equal(op.child('oldCookie'), undefined);
    assert.equal(op.string('protocolVersion'), '1.20');
  },
  '000004': (op) => {
    checkServerCookie(op);
    assert.equal(op.string('configAnchor'), '9438,2026-10-04 16:09:27.167');
  },
  '000005': (op) => {
    checkServerCookie(op);
    assert.equal(op.optString('configAnchor'), undefined);
  },
  '000006': (op) => {
    checkServerCookie(op);
    const filter = op.need('filter');
    assert.equal(filter.bool('GetConfig'), true);
    assert.equal(filter.optString('Anchor'), undefined);
    assert.deepEqual(filter.list('Categories'), []);
  },
  '000007': (op) => {
    assert.equal(op.need('filter').bool('GetConfig'), false);
    assert.deepEqual(idAndDeltas(op, 'Categories'), [[DEFENDER, false]]);
    assert.equal(op.need('filter').has('Classifications'), false);
  },
  '000008': (op) => {
    assert.deepEqual(idAndDeltas(op, 'Categories'), [[DEFENDER, false]]);
    assert.deepEqual(idAndDeltas(op, 'Classifications'), [[SECURITY, false]]);
  },
  '000009': (op) => assert.deepEqual(idAndDeltas(op, 'Classifications'), [[DEFINITIONS, false]]),
  '000010': (op) => {
    assert.equal(op.need('filter').string('Anchor'), '9438,2026-10-04 16:09:27.371');
    assert.deepEqual(idAndDeltas(op, 'Categories'), [[DEFENDER, false]]);
  },
  '000011': (op) => {
    assert.equal(op.need('filter').string('Anchor'), '9438,2026-10-04 16:09:27.371');
    assert.deepEqual(idAndDeltas(op, 'Categories'), [[DEFENDER, true]]);
    assert.deepEqual(idAndDeltas(op, 'Classifications'), [[DEFINITIONS, true]]);
  },
  '000012': (op) => {
    assert.equal(op.need('filter').string('Anchor'), '9438,2026-10-04 16:09:27.371');
    assert.deepEqual(op.need('filter').list('Categories'), []);
  },
  '000013': (op) => {
    checkServerCookie(op);
    const ids = op.needList('updateIds').map((u) => [u.guid('UpdateID'), u.int('RevisionNumber')]);
    assert.deepEqual(ids, [['a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe', 200]]);
  },
  '000014': (op) => assert.equal(op.needList('updateIds')[0]!.guid('UpdateID'), '266f6222-c89d-43f2-9f8a-69340271e677'),
  '000015': (op) => assert.equal(op.needList('updateIds')[0]!.guid('UpdateID'), 'ccb78947-6453-4ecc-9de8-bc0305c98f2d'),
  '000016': (op) => assert.equal(op.needList('updateIds')[0]!.int('RevisionNumber'), 101),
  '000017': (op) => {
    const ids = op.needList('updateIds').map((u) => [u.guid('UpdateID'), u.int('RevisionNumber')]);
    assert.deepEqual(ids, [['00000000-0000-0000-0000-000000000001', 1]]);
  },
  '000018': (op) => {
    // The transport reads the anchor; deciding it is garbage (-> InvalidParameters `filter`) is the service's job.
    assert.equal(op.need('filter').string('Anchor'), 'garbage');
  },
  '000019': (op) => {
    // No cookie at all: WSUS answered InvalidCookie; what the reader reports is the missing parameter.
    expectInvalid(() => op.need('cookie'), 'cookie');
    assert.equal(op.need('filter').bool('GetConfig'), true);
  },
};

const NATIVE_CHECKS: Record<string, (op: SoapOperation) => void> = {
  '000001': (op) => assert.equal(op.string('protocolVersion'), '2.90'),
  '000002': (op) => {
    assert.equal(op.guid('clientId'), 'e1da06a3-5601-43c9-bac3-52d5db701494');
    assert.equal(op.string('dnsName'), 'REDACTED3');
    assert.equal(op.optString('targetGroupName'), undefined);
  },
  '000003': (op) => {
    assert.equal(op.needList('authCookies')[0]!.string('PlugInId'), 'SimpleTargeting');
    const old = op.need('oldCookie');
    assert.deepEqual(old.dateTime('Expiration'), new Date('2026-10-04T15:03:36Z'));
    assert.equal(old.optBase64('EncryptedData'), undefined);
    assert.deepEqual(op.dateTime('lastChange'), new Date('2026-10-04T13:17:07.59Z'));
    assert.deepEqual(op.dateTime('currentTime'), new Date('2026-10-04T15:03:36Z'));
    assert.equal(op.string('protocolVersion'), '2.90');
  },
  '000004': (op) => {
    assert.deepEqual(op.need('cookie').dateTime('Expiration'), new Date('2026-10-04T16:03:35.996Z'));
    const info = op.need('computerInfo');
    assert.equal(info.string('DnsName'), 'REDACTED3');
    assert.equal(info.int('OSBuildNumber'), 26200);
    assert.equal(info.string('ProcessorArchitecture'), 'AMD64');
    assert.deepEqual(info.dateTime('BiosReleaseDate'), new Date('2022-02-02T00:00:00Z'));
    assert.equal(info.int('ClientVersionMajorNumber'), 1507);
    assert.equal(info.string('MobileOperator'), 'Not Present');
  },
  '000005': (op) => {
    const requested = op.needList('requestedCategories').map((c) => [c.int('IndexOfAndGroup'), c.guid('CategoryId')]);
    assert.deepEqual(requested, [[0, 'dd78b8a1-0b20-45c1-add6-4da72e9364cf']]);
  },
  '000006': (op) => {
    const p = op.need('parameters');
    assert.equal(p.bool('ExpressQuery'), false);
    // The first round omits the arrays: absent reads as empty.
    assert.deepEqual(p.ints('InstalledNonLeafUpdateIDs'), []);
    assert.deepEqual(p.ints('OtherCachedUpdateIDs'), []);
    assert.deepEqual(
      p.list('FilterCategoryIds').map((c) => c.guid('Id')),
      ['dd78b8a1-0b20-45c1-add6-4da72e9364cf'],
    );
    assert.equal(p.bool('NeedTwoGroupOutOfScopeUpdates'), true);
    assert.deepEqual(p.need('ComputerSpec').guids('HardwareIDs'), []);
    const products = p.need('ProductsParameters');
    assert.match(products.string('DeviceAttributes'), /^ActivationChannel=Retail;/);
    assert.deepEqual(products.list('Products'), []);
  },
  '000007': (op) => assert.deepEqual(op.need('parameters').ints('InstalledNonLeafUpdateIDs'), [108226]),
  '000008': (op) => assert.deepEqual(op.need('parameters').ints('InstalledNonLeafUpdateIDs'), [108226, 108231]),
  '000009': (op) => {
    const p = op.need('parameters');
    assert.deepEqual(p.ints('InstalledNonLeafUpdateIDs'), [108226, 108231]);
    const devices = p.need('SystemSpec').items();
    assert.ok(devices.length > 10, `${devices.length} devices`);
    const first = devices[0]!;
    assert.deepEqual(first.strings('HardwareIDs'), ['{6d170653-5280-44c2-ba44-2c04bc9d46da}']);
    const driver = first.need('installedDriver');
    // `a:nil="true"` with its own prefix for the XSI namespace: absent.
    assert.equal(driver.child('MatchingComputerHWID'), undefined);
    assert.equal(driver.long('DriverVerVersion'), 2814751477604196n);
    assert.equal(driver.int('DriverRank'), -1);
    assert.deepEqual(driver.dateTime('DriverVerDate'), new Date('2006-06-21T00:00:00Z'));
    assert.equal(p.need('ComputerSpec').guids('HardwareIDs').length, 6);
    assert.equal(p.need('ComputerSpec').guids('HardwareIDs')[0], '458ab48b-acb9-5863-b5a8-d2c32f0d3e6f');
    assert.equal(p.string('FeatureScoreMatchingKey'), 'AMD64.10.0');
  },
  '000010': (op) => {
    assert.deepEqual(op.ints('revisionIDs'), [72571, 108226, 108231]);
    assert.deepEqual(op.strings('infoTypes'), ['Extended', 'LocalizedProperties']);
    assert.deepEqual(op.strings('locales'), ['en-US', 'en']);
    assert.equal(op.string('GeoId'), 'USA');
  },
};

function checkFolder(folder: string, checks: Record<string, (op: SoapOperation) => void>, namespaces: Set<string>): void {
  const captures = readCaptures(folder);
  it('has the expected exchanges', () => assert.deepEqual(captures.map((c) => c.id), Object.keys(checks)));
  for (const capture of captures) {
    it(`${capture.id} ${capture.meta.soap_action.replaceAll('"', '').replace(/.*\//, '')}`, () => {
      const op = operationOf(capture);
      const action = soapActionOf(capture.requestHeaders.get('soapaction'))!;
      assert.equal(`${op.namespace}/${op.name}`, action);
      assert.ok(namespaces.has(op.namespace), op.namespace);
      assert.equal(op.version, '1.1');
      assert.equal(op.path, '');
      checks[capture.id]!(op);
    });
  }
}

describe('captured MS-WSUSSS requests', () => checkFolder(WSUSSS, WSUSSS_CHECKS, new Set([SERVER_SYNC_NS, DSS_AUTH_NS])));
describe('captured MS-WUSP requests of a real Windows Update Agent', () =>
  checkFolder(NATIVE, NATIVE_CHECKS, new Set([CLIENT_NS, SIMPLE_AUTH_NS])));

describe('parameter paths in faults', () => {
  it('names nested parameters as WSUS does', () => {
    const op = operationOf(readCaptures(NATIVE).find((c) => c.id === '000009')!);
    const p = op.need('parameters');
    expectInvalid(() => p.need('Nope'), 'parameters.Nope');
    expectInvalid(() => p.list('InstalledNonLeafUpdateIDs')[0]!.asGuid(), 'parameters.InstalledNonLeafUpdateIDs');
    expectInvalid(() => p.int('FeatureScoreMatchingKey'), 'parameters.FeatureScoreMatchingKey');
    expectInvalid(() => p.need('SystemSpec').items()[0]!.need('installedDriver').guid('MatchingComputerHWID'),
      'parameters.SystemSpec.installedDriver.MatchingComputerHWID');
  });
});
