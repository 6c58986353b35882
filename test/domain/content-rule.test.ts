import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentSourceUrl, isExpressFile, resolveContentSettings, retryDelayMs, wantsContent, type ContentCandidate, type ContentPolicy } from '../../src/domain/content-rule.ts';

const DEFERRED: ContentPolicy = { storeLocally: true, deferredDownloads: true, expressFiles: false };
const IMMEDIATE: ContentPolicy = { ...DEFERRED, deferredDownloads: false };

const cab = (extra: Partial<ContentCandidate> = {}): ContentCandidate => ({
  file: { fileName: 'windows11.0-kb5062553-x64.cab' },
  approvedForInstall: false,
  declined: false,
  expired: false,
  ...extra,
});

describe('wantsContent', () => {
  it('deferred: only files of updates approved for Install', () => {
    assert.equal(wantsContent(DEFERRED, cab()), false);
    assert.equal(wantsContent(DEFERRED, cab({ approvedForInstall: true })), true);
  });

  it('immediate: every file of a synchronized update', () => {
    assert.equal(wantsContent(IMMEDIATE, cab()), true);
    assert.equal(wantsContent(IMMEDIATE, cab({ approvedForInstall: true })), true);
  });

  it('declined and expired updates need no files, approved or not', () => {
    for (const policy of [DEFERRED, IMMEDIATE]) {
      assert.equal(wantsContent(policy, cab({ approvedForInstall: true, declined: true })), false);
      assert.equal(wantsContent(policy, cab({ approvedForInstall: true, expired: true })), false);
    }
  });

  it('catalog-only (storeLocally false) wants nothing, not even requested files', () => {
    const catalogOnly = { ...IMMEDIATE, storeLocally: false };
    assert.equal(wantsContent(catalogOnly, cab({ approvedForInstall: true })), false);
    assert.equal(wantsContent(catalogOnly, cab({ requested: true })), false);
  });

  it('a file a downstream asked for (DownloadFiles) is wanted without approval', () => {
    assert.equal(wantsContent(DEFERRED, cab({ requested: true })), true);
    assert.equal(wantsContent(DEFERRED, cab({ requested: true, declined: true })), true);
  });

  it('express files only with content.expressFiles', () => {
    const psf = cab({ approvedForInstall: true, file: { fileName: 'Windows11.0-KB5065431-arm64.psf', patchingType: 'SelfContained' } });
    const express = cab({ approvedForInstall: true, file: { fileName: 'old-express.exe', patchingType: 'Express' } });
    assert.equal(wantsContent(DEFERRED, psf), false);
    assert.equal(wantsContent(DEFERRED, express), false);
    assert.equal(wantsContent({ ...DEFERRED, expressFiles: true }, psf), true);
    assert.equal(wantsContent({ ...DEFERRED, expressFiles: true }, express), true);
    // The CAB beside the PSF is the full package, marked SelfContained too: always wanted.
    assert.equal(wantsContent(DEFERRED, cab({ approvedForInstall: true, file: { fileName: 'SSU-22621.5973-arm64.cab', patchingType: 'SelfContained' } })), true);
  });

  it('languages: a file marked only with unselected languages is skipped; unmarked files are kept', () => {
    const en = { ...IMMEDIATE, languages: ['en'] };
    assert.equal(wantsContent(en, cab({ languages: ['de'] })), false);
    assert.equal(wantsContent(en, cab({ languages: ['de', 'EN'] })), true);
    assert.equal(wantsContent(en, cab({ languages: [] })), true);
    assert.equal(wantsContent(en, cab()), true);
    // All languages selected: nothing skipped for its language.
    assert.equal(wantsContent(IMMEDIATE, cab({ languages: ['de'] })), true);
  });
});

describe('isExpressFile', () => {
  it('knows PSF payloads by name and old express packages by PatchingType', () => {
    assert.equal(isExpressFile({ fileName: 'x.PSF' }), true);
    assert.equal(isExpressFile({ fileName: 'x.cab', patchingType: 'express' }), true);
    assert.equal(isExpressFile({ fileName: 'x-express.cab', patchingType: 'SelfContained' }), false);
  });
});

describe('retryDelayMs', () => {
  it('doubles from the base and stops at the cap', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000)), [1000, 2000, 4000, 8000]);
    assert.equal(retryDelayMs(40, 1000, 60_000), 60_000);
    assert.equal(retryDelayMs(0, 1000), 1000);
  });
});

describe('resolveContentSettings', () => {
  it('takes the content.* settings and the selected languages', () => {
    const { policy, worker } = resolveContentSettings({ 'content.deferredDownloads': false, 'content.downloadConcurrency': 2, 'content.checkIntervalSeconds': 5, languages: ['en', 'de'] }, 'fr-FR');
    assert.deepEqual(policy, { deferredDownloads: false, expressFiles: false, storeLocally: true, languages: ['en', 'de'] });
    assert.deepEqual(worker, { concurrency: 2, checkIntervalMs: 5000, retryDelayMs: 300_000 });
  });

  it('defaults: deferred, no express files, all languages, 4 at once; a bad stored value falls back', () => {
    const { policy, worker } = resolveContentSettings({ 'content.downloadConcurrency': 999 }, 'en-US');
    assert.deepEqual(policy, { deferredDownloads: true, expressFiles: false, storeLocally: true });
    assert.equal(worker.concurrency, 4);
  });
});

describe('contentSourceUrl', () => {
  const file = { sha1: 'mp7SZRo2/01mFhmxp1uWTD5ezjk=', fileName: 'Windows11.0-KB5065431-arm64.psf', muUrl: 'http://download.windowsupdate.com/c/msdownload/update/x.psf' };
  it('an upstream server: its /Content/ path in the WSUS layout, whatever URL it announced', () => {
    assert.equal(contentSourceUrl(file, { origin: 'http://wsus.example:8530/', catalogOnly: false }), 'http://wsus.example:8530/Content/39/9A9ED2651A36FF4D661619B1A75B964C3E5ECE39.psf');
  });
  it('a catalog-only upstream or Microsoft Update: the URL GetUpdateData gave', () => {
    assert.equal(contentSourceUrl(file, { origin: 'http://wsus.example:8530', catalogOnly: true }), file.muUrl);
    assert.equal(contentSourceUrl(file, { catalogOnly: false }), file.muUrl);
    assert.equal(contentSourceUrl({ ...file, muUrl: undefined }, { catalogOnly: false }), undefined);
  });
});
